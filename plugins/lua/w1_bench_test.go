package lua

import (
	"context"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	glua "github.com/yuin/gopher-lua"

	"github.com/jimbot/jimbot/bot"
	"github.com/jimbot/jimbot/jmessage"
)

// The W1 "route" workload of shared/bench/W1.md. The generator is a copy
// of bot/internal/w1, which is internal to bot/ and cannot be imported
// from here.
const (
	w1N            = 200000
	w1Checksum     = 0x4780767f
	w1WantSpam     = 10000
	w1WantPing     = 20000
	w1WantPong     = 20000
	w1WantCatchAll = 170000
)

var w1Words = strings.Fields(`hello world lunch today meeting later coffee deploy build green anyone seen the new release notes
cat picture weekend plans thanks great idea agree maybe tomorrow review please ticket fixed nice work`)

type w1Msg struct {
	user, group int
	text        string
}

type w1Stream struct{ ordinary, spam []string }

func newW1() *w1Stream {
	s := &w1Stream{ordinary: make([]string, 997), spam: make([]string, 61)}
	for j := range s.ordinary {
		s.ordinary[j] = fmt.Sprintf("%s %s %s %s #%d", w1Words[j%32], w1Words[(j*7+3)%32], w1Words[(j*13+5)%32], w1Words[(j*17+11)%32], j)
	}
	for j := range s.spam {
		s.spam[j] = fmt.Sprintf("buy %s now spamword deal #%d", w1Words[j%32], j)
	}
	return s
}

func (s *w1Stream) at(i int) w1Msg {
	user := (i*7919 + 13) % 1000
	m := w1Msg{user: user, group: user % 50}
	switch k := (i * 37) % 100; {
	case k < 10:
		m.text = "!ping"
	case k < 15:
		m.text = s.spam[i%61]
	default:
		m.text = s.ordinary[i%997]
	}
	return m
}

func (s *w1Stream) sum(n int) uint32 {
	h := fnv.New32a()
	for i := 0; i < n; i++ {
		m := s.at(i)
		fmt.Fprintf(h, "u%04d|g%02d|%s\n", m.user, m.group, m.text)
	}
	return h.Sum32()
}

func w1Events() []*bot.Event {
	s := newW1()
	users := make([]bot.User, 1000)
	for u := range users {
		users[u] = bot.User{AppKey: "app", Username: fmt.Sprintf("u%04d", u), UID: int64(u + 1)}
	}
	evs := make([]*bot.Event, w1N)
	for i := range evs {
		m := s.at(i)
		evs[i] = &bot.Event{Kind: bot.KindMessage, ID: "m:" + strconv.Itoa(i+1), Chat: bot.Chat{Group: int64(m.group + 1)},
			Sender: users[m.user], Text: m.text}
	}
	return evs
}

// nullTransport delivers a prepared stream and counts what goes out (a
// copy of bot's).
type nullTransport struct {
	in    chan bot.Delivery
	acked atomic.Int64
	sent  atomic.Int64
	done  chan struct{}
	want  int64
}

func (n *nullTransport) Self() bot.User                  { return bot.User{AppKey: "app", Username: "jimbot"} }
func (n *nullTransport) Deliveries() <-chan bot.Delivery { return n.in }
func (n *nullTransport) Ack(_ context.Context, tokens []any) error {
	if n.acked.Add(int64(len(tokens))) == n.want {
		close(n.done)
	}
	return nil
}
func (n *nullTransport) Send(context.Context, bot.Chat, jmessage.Body) (int64, error) {
	return n.sent.Add(1), nil
}

// w1Script is the whole W1 behaviour in Lua: a middleware drops and
// counts spam, !ping gets pong, a catch-all counts the rest.
const w1Script = `
local bot = require("jimbot")
local spam, ping, other = 0, 0, 0

bot.use(function(ctx, next)
  if ctx.text:find("spamword", 1, true) then
    spam = spam + 1
    return          -- not calling next() drops the event
  end
  next()
end)

bot.command("ping", {help = "answers pong"}, function(ctx)
  ping = ping + 1
  ctx:reply("pong")
end)

bot.fallback(function(ctx)
  other = other + 1
end)

-- read back by the benchmark
function counts() return spam, ping, other end
`

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// luaCounts calls the script's global counts() on its goroutine.
func luaCounts(tb testing.TB, s *Script) []int64 {
	var out []int64
	rt := s.rt
	var err error
	if derr := rt.do(func() {
		L := rt.cur.L
		err = L.CallByParam(glua.P{Fn: L.GetGlobal("counts"), NRet: 3, Protect: true})
		if err == nil {
			for i := -3; i < 0; i++ {
				out = append(out, int64(glua.LVAsNumber(L.Get(i))))
			}
			L.Pop(3)
		}
	}); derr != nil {
		tb.Fatal(derr)
	}
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// BenchmarkW1Lua routes the W1 stream through the real bot runtime
// (intake, dispatcher, chain, router, in-memory ledger, governor) with a
// null transport, with all of the logic in one Lua script run by the real
// host.
func BenchmarkW1Lua(b *testing.B) {
	s := newW1()
	sum := s.sum(w1N)
	if sum != w1Checksum {
		b.Fatalf("stream checksum %08x, want %08x", sum, w1Checksum)
	}
	evs := w1Events()
	path := filepath.Join(b.TempDir(), "w1.lua")
	if err := os.WriteFile(path, []byte(w1Script), 0o644); err != nil {
		b.Fatal(err)
	}
	workers := 0
	if v := os.Getenv("W1_WORKERS"); v != "" {
		workers, _ = strconv.Atoi(v)
	}
	b.ReportAllocs()
	var elapsed time.Duration
	var mallocs, allocBytes uint64
	var ms goruntime.MemStats
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		ps, err := Load(Options{Scripts: []string{path}, Logger: discardLogger()})
		if err != nil {
			b.Fatal(err)
		}
		tr := &nullTransport{in: make(chan bot.Delivery, 4096), done: make(chan struct{}), want: w1N}
		bt, err := bot.New(bot.Options{Transport: tr, Logger: discardLogger(), Send: bot.SendOptions{RatePerMinute: -1, MaxQueue: w1N}, Workers: workers})
		if err != nil {
			b.Fatal(err)
		}
		if err := bt.AddPlugin(ps[0], nil); err != nil {
			b.Fatal(err)
		}
		if err := bt.Start(context.Background()); err != nil {
			b.Fatal(err)
		}
		goruntime.ReadMemStats(&ms)
		mallocs0, bytes0 := ms.Mallocs, ms.TotalAlloc
		b.StartTimer()
		start := time.Now()
		for _, ev := range evs {
			tr.in <- bot.Delivery{Event: ev, Token: ev}
		}
		<-tr.done
		for tr.sent.Load() < w1WantPong {
			time.Sleep(50 * time.Microsecond)
		}
		elapsed += time.Since(start)
		b.StopTimer()
		goruntime.ReadMemStats(&ms)
		mallocs += ms.Mallocs - mallocs0
		allocBytes += ms.TotalAlloc - bytes0
		got := luaCounts(b, ps[0].(*Script))
		if err := bt.Stop(context.Background()); err != nil {
			b.Fatal(err)
		}
		if got[0] != w1WantSpam || got[1] != w1WantPing || got[2] != w1WantCatchAll || tr.sent.Load() != w1WantPong {
			b.Fatalf("counts: spam %d ping %d catch-all %d pong %d", got[0], got[1], got[2], tr.sent.Load())
		}
		b.StartTimer()
	}
	b.StopTimer()
	msgs := float64(b.N) * w1N
	b.ReportMetric(msgs/elapsed.Seconds(), "msgs/s")
	b.ReportMetric(float64(elapsed.Nanoseconds())/msgs, "ns/msg")
	b.ReportMetric(float64(mallocs)/msgs, "allocs/msg")
	b.ReportMetric(float64(allocBytes)/msgs, "B/msg")
	b.Logf("W1 checksum %08x; spam %d, ping %d, pong %d, catch-all %d per run (counted in Lua)", sum, w1WantSpam, w1WantPing, w1WantPong, w1WantCatchAll)
}
