package w1

import (
	"context"
	"os"
	"runtime"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jimbot/jimbot/bot"
	"github.com/jimbot/jimbot/jmessage"
)

// Events builds the stream's N events once: group messages from users
// "u0000".."u0999" of app "app" in groups 1..50.
func Events() []*bot.Event {
	s := New()
	users := make([]bot.User, 1000)
	for u := range users {
		users[u] = bot.User{AppKey: "app", Username: UserName(u), UID: int64(u + 1)}
	}
	evs := make([]*bot.Event, N)
	for i := range evs {
		m := s.At(i)
		evs[i] = &bot.Event{Kind: bot.KindMessage, ID: "m:" + strconv.Itoa(i+1), Chat: bot.Chat{Group: int64(m.Group + 1)},
			Sender: users[m.User], Text: m.Text}
	}
	return evs
}

// NullTransport is a bot.Transport that delivers a prepared stream and
// counts what goes out, with no network.
type NullTransport struct {
	in    chan bot.Delivery
	acked atomic.Int64
	sent  atomic.Int64
	done  chan struct{}
	want  int64
}

// NewNullTransport returns a NullTransport that reports done once want
// events were acknowledged.
func NewNullTransport(want int) *NullTransport {
	return &NullTransport{in: make(chan bot.Delivery, 4096), done: make(chan struct{}), want: int64(want)}
}

// Self implements bot.Transport.
func (n *NullTransport) Self() bot.User { return bot.User{AppKey: "app", Username: "jimbot"} }

// Deliveries implements bot.Transport.
func (n *NullTransport) Deliveries() <-chan bot.Delivery { return n.in }

// Ack implements bot.Transport.
func (n *NullTransport) Ack(_ context.Context, tokens []any) error {
	if n.acked.Add(int64(len(tokens))) == n.want {
		close(n.done)
	}
	return nil
}

// Send implements bot.Transport: it only counts.
func (n *NullTransport) Send(context.Context, bot.Chat, jmessage.Body) (int64, error) {
	return n.sent.Add(1), nil
}

// Sent returns the number of messages sent.
func (n *NullTransport) Sent() int64 { return n.sent.Load() }

// Counts are what the bot under test counted in one run.
type Counts struct{ Spam, Ping, CatchAll int64 }

// Run is one run of the bench: the bot, started over the transport it was
// given, and a func that reads its counts once the stream is handled.
type Run struct {
	Bot    *bot.Bot
	Counts func() Counts
}

// Options are the bot options the bench uses over tr: no rate limit, a
// send queue for every pong, and otherwise the defaults, except that the
// variables W1_WORKERS and W1_QUEUE, when set, give Workers and MaxQueued
// (to study their effect).
func Options(tr bot.Transport) bot.Options {
	o := bot.Options{Transport: tr, Send: bot.SendOptions{RatePerMinute: -1, MaxQueue: N}}
	if s := os.Getenv("W1_WORKERS"); s != "" {
		o.Workers, _ = strconv.Atoi(s)
	}
	if s := os.Getenv("W1_QUEUE"); s != "" {
		o.MaxQueued, _ = strconv.Atoi(s)
	}
	return o
}

// cpuTime returns the CPU time the process has used so far, user and
// system, on all threads.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// Bench routes the stream b.N times through bots made by setup, checks the
// checksum and the exact counts, and reports over the streaming only
// (building and stopping the bots is not timed): msgs/s, ns/msg,
// cpu-ns/msg (the CPU time of the whole process on every core, which
// shows the cost of a message even when the cores are shared), allocs/msg
// and B/msg.
func Bench(b *testing.B, setup func(tr *NullTransport) (Run, error)) {
	if sum := New().Sum(N); sum != Checksum {
		b.Fatalf("stream checksum %08x, want %08x", sum, Checksum)
	}
	evs := Events()
	b.ReportAllocs()
	var elapsed, cpu time.Duration
	var mallocs, allocBytes uint64
	var ms runtime.MemStats
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		tr := NewNullTransport(N)
		run, err := setup(tr)
		if err != nil {
			b.Fatal(err)
		}
		runtime.ReadMemStats(&ms)
		mallocs0, bytes0 := ms.Mallocs, ms.TotalAlloc
		b.StartTimer()
		cpu0 := cpuTime()
		start := time.Now()
		for _, ev := range evs {
			tr.in <- bot.Delivery{Event: ev, Token: ev}
		}
		<-tr.done
		for tr.sent.Load() < WantPong {
			time.Sleep(50 * time.Microsecond)
		}
		elapsed += time.Since(start)
		cpu += cpuTime() - cpu0
		b.StopTimer()
		runtime.ReadMemStats(&ms)
		mallocs += ms.Mallocs - mallocs0
		allocBytes += ms.TotalAlloc - bytes0
		got := run.Counts()
		if err := run.Bot.Stop(context.Background()); err != nil {
			b.Fatal(err)
		}
		if got != (Counts{WantSpam, WantPing, WantCatchAll}) || tr.sent.Load() != WantPong {
			b.Fatalf("counts: spam %d ping %d catch-all %d pong %d", got.Spam, got.Ping, got.CatchAll, tr.sent.Load())
		}
		b.StartTimer()
	}
	b.StopTimer()
	msgs := float64(b.N) * N
	b.ReportMetric(msgs/elapsed.Seconds(), "msgs/s")
	b.ReportMetric(float64(elapsed.Nanoseconds())/msgs, "ns/msg")
	b.ReportMetric(float64(cpu.Nanoseconds())/msgs, "cpu-ns/msg")
	b.ReportMetric(float64(mallocs)/msgs, "allocs/msg")
	b.ReportMetric(float64(allocBytes)/msgs, "B/msg")
	b.Logf("W1 checksum %08x; spam %d, ping %d, pong %d, catch-all %d per run", uint32(Checksum), WantSpam, WantPing, WantPong, WantCatchAll)
}
