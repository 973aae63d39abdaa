package bot_test

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/jimbot/jimbot/bot"
)

// unitBot is an Executor plugin with a gate (its first event blocks until
// release is closed, so that the chats' next events queue up behind it)
// and a handler for texts "e<n>"; a Go plugin handles texts "g<n>", so an
// event of that kind leaves the executor in the middle of a unit. Both
// record, per group, the numbers they handled, in one list.
type unitBot struct {
	ex      *execPlugin
	goP     *funcPlugin
	release chan struct{}
	blocked chan struct{}

	mu    sync.Mutex
	seen  map[int64][]int
	gates map[bool]int // gate calls on the executor (true) or not
}

func newUnitBot() *unitBot {
	u := &unitBot{release: make(chan struct{}), blocked: make(chan struct{}), seen: map[int64][]int{}, gates: map[bool]int{}}
	var once sync.Once
	record := func(c *bot.Context) error {
		var n int
		fmt.Sscan(c.Event.Text[1:], &n)
		u.mu.Lock()
		u.seen[c.Event.Chat.Group] = append(u.seen[c.Event.Chat.Group], n)
		u.mu.Unlock()
		return c.Reply(c.Event.Text)
	}
	u.ex = newExecPlugin("exec", func(p *execPlugin, env *bot.Env) error {
		if err := env.Gate(func(c *bot.Context) (bool, error) {
			if c.Event.Kind != bot.KindMessage {
				return true, nil
			}
			once.Do(func() { close(u.blocked); <-u.release })
			u.mu.Lock()
			u.gates[c.OnExecutor(p)]++
			u.mu.Unlock()
			return true, nil
		}); err != nil {
			return err
		}
		return env.Hear(`^e\d+$`, record)
	})
	u.goP = plugin("go", func(env *bot.Env) error { return env.Hear(`^g\d+$`, record) })
	return u
}

// check verifies that every group saw 0..per-1 in order, and that the
// replies went out in that order too.
func (u *unitBot) check(t *testing.T, tr *memTransport, groups, per int) {
	t.Helper()
	tr.waitSends(t, groups*per)
	u.mu.Lock()
	defer u.mu.Unlock()
	for g := int64(1); g <= int64(groups); g++ {
		if len(u.seen[g]) != per {
			t.Fatalf("group %d: %d events handled, want %d", g, len(u.seen[g]), per)
		}
		for i, n := range u.seen[g] {
			if n != i {
				t.Fatalf("group %d: event %d handled at position %d", g, n, i)
			}
		}
	}
	next := map[int64]int{}
	for _, s := range tr.sends() {
		if got := strings.TrimLeft(s.Text, "eg"); got != fmt.Sprint(next[s.To.Group]) {
			t.Fatalf("group %d: reply %q, want number %d", s.To.Group, s.Text, next[s.To.Group])
		}
		next[s.To.Group]++
	}
	waitUntil(t, func() bool { tr.mu.Lock(); defer tr.mu.Unlock(); return len(tr.acked) == groups*per })
}

// kind gives event i of a group its kind: every third event is for the Go
// plugin, so units often end in the middle.
func kind(i int) string {
	if i%3 == 2 {
		return "g"
	}
	return "e"
}

// The events of a chat queued behind one on an executor go to it together
// (a unit), in order. An event that leaves the executor in the middle of
// a unit (a Go handler) ends it: the events after it wait until it is
// done, and then go again. Order, replies and acknowledgements all hold.
func TestUnitsKeepOrderWhenEventsLeaveTheExecutor(t *testing.T) {
	u := newUnitBot()
	defer u.ex.stop()
	_, tr := newTestBot(t, bot.Options{Workers: 2}, u.ex, u.goP)
	const groups, per = 3, 150
	tr.deliver("first", 1, "alice", "e0")
	<-u.blocked
	for i := 1; i < per; i++ {
		tr.deliver(fmt.Sprintf("m:1-%d", i), 1, "alice", kind(i)+fmt.Sprint(i))
	}
	for g := int64(2); g <= groups; g++ {
		for i := 0; i < per; i++ {
			tr.deliver(fmt.Sprintf("m:%d-%d", g, i), g, "bob", kind(i)+fmt.Sprint(i))
		}
	}
	waitUntil(t, func() bool { return tr.queued() == 0 })
	close(u.release)
	u.check(t, tr, groups, per)
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.gates[false] != 0 || u.gates[true] != groups*per {
		t.Fatalf("gate calls %v: want all %d on the executor", u.gates, groups*per)
	}
	// Each unit is one function run on the executor; so is each return
	// to it after a Go handler. Event by event, that would be at least
	// one per event.
	if ran := u.ex.ran.Load(); ran >= groups*per {
		t.Fatalf("the executor ran %d functions for %d events: no units formed", ran, groups*per)
	}
}

// An executor that refuses a unit (it is stopping) has it run on the
// worker instead, in order, every step included.
func TestRefusedUnitRunsOnTheWorker(t *testing.T) {
	u := newUnitBot()
	defer u.ex.stop()
	_, tr := newTestBot(t, bot.Options{Workers: 2}, u.ex, u.goP)
	const per = 60
	tr.deliver("first", 1, "alice", "e0")
	<-u.blocked
	for i := 1; i < per; i++ {
		tr.deliver(fmt.Sprintf("m:%d", i), 1, "alice", kind(i)+fmt.Sprint(i))
	}
	waitUntil(t, func() bool { return tr.queued() == 0 })
	u.ex.refuse.Store(true)
	close(u.release)
	u.check(t, tr, 1, per)
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.gates[true] < 1 || u.gates[false] < 1 || u.gates[true]+u.gates[false] != per {
		t.Fatalf("gate calls %v: want the first on the executor and the refused ones on a worker, %d in all", u.gates, per)
	}
}

// Many chats, events of every path mixed at random: dropped by a gate on
// executor A, handled on A, handed on to executor B, handed back to the
// workers for a Go handler; A refuses hand-overs now and then. Every chat
// still sees its events once each, in order, and every event is
// acknowledged once.
func TestUnitsUnderMixedLoad(t *testing.T) {
	var mu sync.Mutex
	seen := map[int64][]int{}
	record := func(c *bot.Context) {
		var n int
		fmt.Sscan(c.Event.Text[1:], &n)
		mu.Lock()
		seen[c.Event.Chat.Group] = append(seen[c.Event.Chat.Group], n)
		mu.Unlock()
	}
	handler := func(c *bot.Context) error { record(c); return nil }
	a := newExecPlugin("a", func(p *execPlugin, env *bot.Env) error {
		if err := env.Gate(func(c *bot.Context) (bool, error) {
			if c.Event.Kind == bot.KindMessage && c.Event.Text[0] == 'd' {
				record(c)
				return false, nil
			}
			return true, nil
		}); err != nil {
			return err
		}
		return env.Hear(`^a\d+$`, handler)
	})
	defer a.stop()
	b := newExecPlugin("b", func(p *execPlugin, env *bot.Env) error { return env.Hear(`^b\d+$`, handler) })
	defer b.stop()
	goP := plugin("go", func(env *bot.Env) error { return env.Hear(`^g\d+$`, handler) })
	_, tr := newTestBot(t, bot.Options{Workers: 3}, a, b, goP)

	const groups, per = 8, 300
	rng := rand.New(rand.NewPCG(1, 2))
	stop := make(chan struct{})
	toggled := make(chan struct{})
	go func() {
		defer close(toggled)
		for i := 0; ; i++ {
			select {
			case <-stop:
				a.refuse.Store(false)
				return
			default:
			}
			a.refuse.Store(i%7 == 0)
			runtime.Gosched()
		}
	}()
	for i := 0; i < per; i++ {
		for g := int64(1); g <= groups; g++ {
			kind := "dabg"[rng.IntN(4)]
			tr.deliver(fmt.Sprintf("m:%d-%d", g, i), g, "alice", fmt.Sprintf("%c%d", kind, i))
		}
	}
	waitUntil(t, func() bool { tr.mu.Lock(); defer tr.mu.Unlock(); return len(tr.acked) >= groups*per })
	close(stop)
	<-toggled
	mu.Lock()
	defer mu.Unlock()
	for g := int64(1); g <= groups; g++ {
		if len(seen[g]) != per {
			t.Fatalf("group %d: %d events handled, want %d", g, len(seen[g]), per)
		}
		for i, n := range seen[g] {
			if n != i {
				t.Fatalf("group %d: event %d handled at position %d", g, n, i)
			}
		}
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	acked := map[any]int{}
	for _, tok := range tr.acked {
		acked[tok]++
	}
	if len(tr.acked) != groups*per || len(acked) != groups*per {
		t.Fatalf("%d acknowledgements of %d events, want each of %d once", len(tr.acked), len(acked), groups*per)
	}
}
