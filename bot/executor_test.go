package bot_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jimbot/jimbot/bot"
)

// execPlugin is a plugin with a goroutine of its own (a bot.Executor),
// like the Lua host.
type execPlugin struct {
	id     string
	prov   func(p *execPlugin, env *bot.Env) error
	refuse atomic.Bool // Execute reports false

	mu    sync.Mutex
	queue []func()
	wake  chan struct{}
	quit  chan struct{}
	dead  chan struct{}
	ran   atomic.Int64 // functions run on the goroutine
}

func newExecPlugin(id string, prov func(p *execPlugin, env *bot.Env) error) *execPlugin {
	p := &execPlugin{id: id, prov: prov, wake: make(chan struct{}, 1), quit: make(chan struct{}), dead: make(chan struct{})}
	go p.loop()
	return p
}

func (p *execPlugin) Info() bot.PluginInfo         { return bot.PluginInfo{ID: p.id} }
func (p *execPlugin) Provision(env *bot.Env) error { return p.prov(p, env) }

func (p *execPlugin) Execute(fn func()) bool {
	if p.refuse.Load() {
		return false
	}
	p.mu.Lock()
	p.queue = append(p.queue, fn)
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
	return true
}

func (p *execPlugin) loop() {
	defer close(p.dead)
	for {
		select {
		case <-p.wake:
		case <-p.quit:
			return
		}
		p.mu.Lock()
		q := p.queue
		p.queue = nil
		p.mu.Unlock()
		for _, fn := range q {
			p.ran.Add(1)
			fn()
		}
	}
}

func (p *execPlugin) stop() { close(p.quit); <-p.dead }

// A step of an Executor plugin runs on its goroutine: the worker does not
// wait for it, so a stuck executor stalls neither the workers nor the
// chats other plugins handle; within each chat events still run one at a
// time, in order, and are committed in order.
func TestExecutorFreesWorkersAndKeepsOrder(t *testing.T) {
	var mu sync.Mutex
	seen := map[int64][]int{}
	onExec := atomic.Int64{}
	release := make(chan struct{})
	blocked := make(chan struct{})
	var blockOnce sync.Once
	ex := newExecPlugin("exec", func(p *execPlugin, env *bot.Env) error {
		return env.Hear(`^\d+$`, func(c *bot.Context) error {
			if c.OnExecutor(p) {
				onExec.Add(1)
			}
			var n int
			fmt.Sscan(c.Event.Text, &n)
			if c.Event.Chat.Group == 1 && n == 0 {
				blockOnce.Do(func() { close(blocked) })
				<-release
			}
			mu.Lock()
			seen[c.Event.Chat.Group] = append(seen[c.Event.Chat.Group], n)
			mu.Unlock()
			return c.Replyf("%d", n)
		})
	})
	defer ex.stop()
	var others atomic.Int64
	goPlugin := plugin("go", func(env *bot.Env) error {
		return env.On(bot.KindMessage, func(c *bot.Context) error {
			if c.Event.Chat.Group == 9 {
				others.Add(1)
			}
			return nil
		})
	})
	// One worker: before executors, it would have waited for the stuck
	// handler and nothing else would have run.
	_, tr := newTestBot(t, bot.Options{Workers: 1}, ex, goPlugin)
	const per = 100
	for i := 0; i < per; i++ {
		for g := int64(1); g <= 5; g++ {
			tr.deliver(fmt.Sprintf("m:%d-%d", g, i), g, "alice", fmt.Sprint(i))
		}
	}
	<-blocked
	for i := 0; i < 50; i++ {
		tr.deliver(fmt.Sprintf("o:%d", i), 9, "bobby", "hi")
	}
	waitUntil(t, func() bool { return others.Load() == 50 })
	close(release)
	tr.waitSends(t, 5*per)
	mu.Lock()
	for g := int64(1); g <= 5; g++ {
		if len(seen[g]) != per {
			t.Fatalf("group %d: %d events handled, want %d", g, len(seen[g]), per)
		}
		for i, n := range seen[g] {
			if n != i {
				t.Fatalf("group %d: event %d handled at position %d", g, n, i)
			}
		}
	}
	mu.Unlock()
	if onExec.Load() != 5*per {
		t.Fatalf("%d of %d handler calls ran on the executor", onExec.Load(), 5*per)
	}
	// The replies of each chat went out in order.
	next := map[int64]int{}
	for _, s := range tr.sends() {
		g := s.To.Group
		if s.Text != fmt.Sprint(next[g]) {
			t.Fatalf("group %d: reply %q, want %d", g, s.Text, next[g])
		}
		next[g]++
	}
	waitUntil(t, func() bool { tr.mu.Lock(); defer tr.mu.Unlock(); return len(tr.acked) == 5*per+50 })
}

// A gate of an Executor plugin runs on its goroutine too, and so does the
// rest of the event, other plugins' handlers included. A middleware that
// wraps the rest of the chain keeps the event on the worker; a refused
// hand-over runs the step on the worker; a panic on the executor is
// recovered like anywhere else.
func TestExecutorGatesMiddlewareRefusalAndPanics(t *testing.T) {
	type step struct {
		what   string
		onExec bool
	}
	var mu sync.Mutex
	var steps []step
	record := func(what string, on bool) {
		mu.Lock()
		steps = append(steps, step{what, on})
		mu.Unlock()
	}
	take := func() []step {
		mu.Lock()
		defer mu.Unlock()
		s := steps
		steps = nil
		return s
	}
	var ex *execPlugin
	ex = newExecPlugin("exec", func(p *execPlugin, env *bot.Env) error {
		if err := env.Gate(func(c *bot.Context) (bool, error) {
			if c.Event.Kind == bot.KindMessage {
				record("gate", c.OnExecutor(p))
			}
			return c.Event.Text != "drop", nil
		}); err != nil {
			return err
		}
		return env.Hear(`^boom$`, func(c *bot.Context) error { panic("kaboom") })
	})
	defer ex.stop()
	wrap := atomic.Bool{}
	mw := plugin("mw", func(env *bot.Env) error {
		return env.Use(func(next bot.Handler) bot.Handler {
			return func(c *bot.Context) error {
				if wrap.Load() && c.Event.Kind == bot.KindMessage {
					record("mw", c.OnExecutor(ex))
				}
				return next(c)
			}
		})
	})
	after := plugin("after", func(env *bot.Env) error {
		return env.On(bot.KindMessage, func(c *bot.Context) error {
			record("after", c.OnExecutor(ex))
			return c.Reply("ok " + c.Event.Text)
		})
	})
	// With "mw" first, its middleware wraps the gate: no hand-over.
	_, tr := newTestBot(t, bot.Options{Workers: 2}, ex, after)
	tr.deliver("a", 1, "alice", "hello")
	tr.waitSends(t, 1)
	if got := take(); len(got) != 2 || got[0] != (step{"gate", true}) || got[1] != (step{"after", false}) {
		t.Fatalf("steps %v: want the gate on the executor and the next plugin's handler back on a worker", got)
	}
	tr.deliver("b", 1, "alice", "drop")
	waitUntil(t, func() bool { tr.mu.Lock(); defer tr.mu.Unlock(); return len(tr.acked) == 2 })
	if got := take(); len(got) != 1 || got[0].what != "gate" {
		t.Fatalf("steps %v: the gate should have dropped the event", got)
	}
	tr.deliver("c", 1, "alice", "boom")
	tr.waitSends(t, 2)
	if s := tr.sends(); s[1].Text != "ok boom" {
		t.Fatalf("after a panic on the executor: %v", s)
	}
	take()
	ex.refuse.Store(true)
	tr.deliver("d", 1, "alice", "refused")
	tr.waitSends(t, 3)
	if got := take(); len(got) != 2 || got[0] != (step{"gate", false}) || got[1] != (step{"after", false}) {
		t.Fatalf("steps %v: a refused hand-over runs on the worker", got)
	}
	ex.refuse.Store(false)

	ex2 := newExecPlugin("exec", ex.prov)
	defer ex2.stop()
	ex = ex2
	wrap.Store(true)
	_, tr2 := newTestBot(t, bot.Options{Workers: 2}, mw, ex2, after)
	tr2.deliver("e", 1, "alice", "hello")
	tr2.waitSends(t, 1)
	if got := take(); len(got) != 3 || got[0].onExec || got[1].onExec || got[2].onExec {
		t.Fatalf("steps %v: under a wrapping middleware the event stays on the worker", got)
	}
	if ex2.ran.Load() != 0 {
		t.Fatalf("the executor ran %d functions", ex2.ran.Load())
	}
}

// Steps of plugins without an executor that come after a hand-over go
// back to the workers: a Go handler that blocks holds up its own chat,
// not the executor's other chats.
func TestStepsAfterAnExecutorGoBackToWorkers(t *testing.T) {
	ex := newExecPlugin("exec", func(p *execPlugin, env *bot.Env) error {
		return env.Gate(func(c *bot.Context) (bool, error) { return true, nil })
	})
	defer ex.stop()
	release := make(chan struct{})
	entered := make(chan int64, 4)
	slow := plugin("slow", func(env *bot.Env) error {
		return env.On(bot.KindMessage, func(c *bot.Context) error {
			if c.OnExecutor(ex) {
				t.Errorf("the Go handler ran on the executor's goroutine")
			}
			entered <- c.Event.Chat.Group
			if c.Event.Chat.Group == 1 {
				<-release
			}
			return nil
		})
	})
	_, tr := newTestBot(t, bot.Options{Workers: 2}, ex, slow)
	tr.deliver("a", 1, "alice", "blocks")
	if g := <-entered; g != 1 {
		t.Fatalf("first handler in group %d", g)
	}
	tr.deliver("b", 2, "bob", "goes through")
	select {
	case g := <-entered:
		if g != 2 {
			t.Fatalf("second handler in group %d", g)
		}
	case <-time.After(5 * time.Second):
		close(release)
		t.Fatal("group 2 waited for group 1's handler: it ran on the executor")
	}
	close(release)
	waitUntil(t, func() bool { tr.mu.Lock(); defer tr.mu.Unlock(); return len(tr.acked) == 2 })
}
