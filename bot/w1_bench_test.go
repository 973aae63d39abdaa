package bot_test

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jimbot/jimbot/bot"
	"github.com/jimbot/jimbot/bot/internal/w1"
	"github.com/jimbot/jimbot/jmessage"
)

// nullTransport delivers a prepared stream and counts what goes out.
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

// w1Plugin is the W1 behaviour: a middleware drops and counts spam, !ping
// gets pong, a catch-all counts the rest.
type w1Plugin struct{ spam, ping, other atomic.Int64 }

func (p *w1Plugin) Info() bot.PluginInfo { return bot.PluginInfo{ID: "w1"} }

func (p *w1Plugin) Provision(env *bot.Env) error {
	env.Use(func(next bot.Handler) bot.Handler {
		return func(c *bot.Context) error {
			if strings.Contains(c.Event.Text, "spamword") {
				p.spam.Add(1)
				return nil
			}
			return next(c)
		}
	})
	env.Command(bot.Command{Name: "ping", Help: "answers pong", Handler: func(c *bot.Context) error {
		p.ping.Add(1)
		return c.Reply("pong")
	}})
	env.Fallback(func(c *bot.Context) error {
		p.other.Add(1)
		return nil
	})
	return nil
}

// w1Events builds the stream's events once.
func w1Events() []*bot.Event {
	s := w1.New()
	users := make([]bot.User, 1000)
	for u := range users {
		users[u] = bot.User{AppKey: "app", Username: w1.UserName(u), UID: int64(u + 1)}
	}
	evs := make([]*bot.Event, w1.N)
	for i := range evs {
		m := s.At(i)
		evs[i] = &bot.Event{Kind: bot.KindMessage, ID: fmt.Sprint("m:", i+1), Chat: bot.Chat{Group: int64(m.Group + 1)},
			Sender: users[m.User], Text: m.Text}
	}
	return evs
}

// BenchmarkW1Route routes the W1 stream (200,000 messages from 1,000 users
// in 50 groups) through the real intake, dispatcher, chain, router,
// handlers, ledger (in memory) and governor, with a null transport.
func BenchmarkW1Route(b *testing.B) {
	s := w1.New()
	sum := s.Sum(w1.N)
	if sum != w1.Checksum {
		b.Fatalf("stream checksum %08x, want %08x", sum, w1.Checksum)
	}
	evs := w1Events()
	b.ReportAllocs()
	var elapsed time.Duration
	var mallocs, allocBytes uint64
	var ms runtime.MemStats
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		tr := &nullTransport{in: make(chan bot.Delivery, 4096), done: make(chan struct{}), want: w1.N}
		bt, err := bot.New(bot.Options{Transport: tr, Logger: discard(), Send: bot.SendOptions{RatePerMinute: -1, MaxQueue: w1.N}, Workers: benchWorkers})
		if err != nil {
			b.Fatal(err)
		}
		p := &w1Plugin{}
		if err := bt.AddPlugin(p, nil); err != nil {
			b.Fatal(err)
		}
		if err := bt.Start(context.Background()); err != nil {
			b.Fatal(err)
		}
		runtime.ReadMemStats(&ms)
		mallocs0, bytes0 := ms.Mallocs, ms.TotalAlloc
		b.StartTimer()
		start := time.Now()
		for _, ev := range evs {
			tr.in <- bot.Delivery{Event: ev, Token: ev}
		}
		<-tr.done
		for tr.sent.Load() < w1.WantPong {
			time.Sleep(50 * time.Microsecond)
		}
		elapsed += time.Since(start)
		b.StopTimer()
		runtime.ReadMemStats(&ms)
		mallocs += ms.Mallocs - mallocs0
		allocBytes += ms.TotalAlloc - bytes0
		if err := bt.Stop(context.Background()); err != nil {
			b.Fatal(err)
		}
		if p.spam.Load() != w1.WantSpam || p.ping.Load() != w1.WantPing || p.other.Load() != w1.WantCatchAll || tr.sent.Load() != w1.WantPong {
			b.Fatalf("counts: spam %d ping %d catch-all %d pong %d", p.spam.Load(), p.ping.Load(), p.other.Load(), tr.sent.Load())
		}
		b.StartTimer()
	}
	b.StopTimer()
	msgs := float64(b.N) * w1.N
	b.ReportMetric(msgs/elapsed.Seconds(), "msgs/s")
	b.ReportMetric(float64(elapsed.Nanoseconds())/msgs, "ns/msg")
	b.ReportMetric(float64(mallocs)/msgs, "allocs/msg")
	b.ReportMetric(float64(allocBytes)/msgs, "B/msg")
	b.Logf("W1 checksum %08x; spam %d, ping %d, pong %d, catch-all %d per run", sum, w1.WantSpam, w1.WantPing, w1.WantPong, w1.WantCatchAll)
}

var benchWorkers = func() int {
	if s := os.Getenv("W1_WORKERS"); s != "" {
		n, _ := strconv.Atoi(s)
		return n
	}
	return 0
}()
