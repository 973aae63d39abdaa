package bot_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jimbot/jimbot/bot"
	"github.com/jimbot/jimbot/bot/clock"
	"github.com/jimbot/jimbot/jmessage"
	"github.com/jimbot/jimbot/storage"
)

func TestOrderingWithinChatConcurrencyAcross(t *testing.T) {
	var mu sync.Mutex
	seen := map[int64][]int{}
	release := make(chan struct{})
	var blockedOnce sync.Once
	blocked := make(chan struct{})
	p := plugin("order", func(env *bot.Env) error {
		return env.On(bot.KindMessage, func(c *bot.Context) error {
			var n int
			fmt.Sscan(c.Event.Text, &n)
			if c.Event.Chat.Group == 1 && n == 0 {
				// The first event of group 1 blocks; group 2 must go on.
				blockedOnce.Do(func() { close(blocked) })
				<-release
			}
			mu.Lock()
			seen[c.Event.Chat.Group] = append(seen[c.Event.Chat.Group], n)
			mu.Unlock()
			return nil
		})
	})
	b, tr := newTestBot(t, bot.Options{Workers: 4}, p)
	const per = 200
	for i := 0; i < per; i++ {
		for g := int64(1); g <= 5; g++ {
			tr.deliver(fmt.Sprintf("m:%d-%d", g, i), g, "alice", fmt.Sprint(i))
		}
	}
	<-blocked
	// While group 1 is stuck on its first event, the other groups finish.
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		done := len(seen[2]) == per && len(seen[3]) == per && len(seen[4]) == per && len(seen[5]) == per && len(seen[1]) == 0
		mu.Unlock()
		if done {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("other chats did not proceed while one chat was blocked")
		}
		time.Sleep(time.Millisecond)
	}
	close(release)
	waitUntil(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(seen[1]) == per })
	for g, ns := range seen {
		for i, n := range ns {
			if n != i {
				t.Fatalf("group %d: event %d handled at position %d", g, n, i)
			}
		}
	}
	_ = b
}

func waitFor(cond func() bool) bool {
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(time.Millisecond)
	}
	return true
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestBackpressureBoundsQueue(t *testing.T) {
	release := make(chan struct{})
	var handled atomic.Int64
	p := plugin("slow", func(env *bot.Env) error {
		return env.On(bot.KindMessage, func(c *bot.Context) error {
			<-release
			handled.Add(1)
			return nil
		})
	})
	b, tr := newTestBot(t, bot.Options{Workers: 2, MaxQueued: 10}, p)
	for i := 0; i < 50; i++ {
		tr.deliver(fmt.Sprint("m:", i), int64(i%3+1), "alice", "x")
	}
	time.Sleep(50 * time.Millisecond)
	// The intake stops taking deliveries at the bound: the rest wait in
	// the transport's channel.
	if left := len(tr.in); left < 50-10-3 {
		t.Fatalf("intake took too much: %d left in the transport", left)
	}
	close(release)
	waitUntil(t, func() bool { return handled.Load() == 50 })
	_ = b
}

func TestPanicsAreRecoveredAndBreakerTrips(t *testing.T) {
	fc := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	var okCount atomic.Int64
	bad := plugin("bad", func(env *bot.Env) error {
		return env.On(bot.KindMessage, func(c *bot.Context) error {
			switch c.Event.Text {
			case "int":
				panic(42)
			case "nil-map":
				var m map[string]int
				//lint:ignore SA5000 the test needs a runtime panic
				m["x"] = 1
			case "error":
				return errors.New("plain failure")
			}
			panic(struct{ Reason string }{"a struct"})
		})
	})
	good := plugin("good", func(env *bot.Env) error {
		return env.On(bot.KindMessage, func(c *bot.Context) error { okCount.Add(1); return nil })
	})
	var errs []error
	var emu sync.Mutex
	b, tr := newTestBot(t, bot.Options{Clock: fc, Admins: []string{"boss"},
		Breaker: bot.BreakerOptions{Failures: 3, Cooldown: time.Minute},
		OnError: func(c *bot.Context, err error) { emu.Lock(); errs = append(errs, err); emu.Unlock() }}, bad, good)
	texts := []string{"int", "nil-map", "error"}
	for i, text := range texts {
		tr.deliver(fmt.Sprint("m:", i), 1, "alice", text)
	}
	waitUntil(t, func() bool { return okCount.Load() == 3 })
	emu.Lock()
	if len(errs) != 3 {
		t.Fatalf("errors: %v", errs)
	}
	var pe *bot.PluginError
	if !errors.As(errs[0], &pe) || pe.Plugin != "bad" || pe.Panic != 42 {
		t.Fatalf("first error: %#v", errs[0])
	}
	if !strings.Contains(errs[1].Error(), "assignment to entry in nil map") || !strings.Contains(errs[2].Error(), "plain failure") {
		t.Fatalf("errors: %v", errs)
	}
	emu.Unlock()
	// Three failures in a row: the plugin is off and the admin is told.
	s := tr.waitSends(t, 1)
	if s[0].To.Peer.Username != "boss" || !strings.Contains(s[0].Text, "plugin bad failed 3 times") {
		t.Fatalf("admin notice: %+v", s)
	}
	tr.deliver("m:10", 1, "alice", "int")
	waitUntil(t, func() bool { return okCount.Load() == 4 })
	if trc, ok := b.Traces().Find("m:10"); !ok || trc.Steps[0].Outcome != bot.Disabled {
		t.Fatalf("trace of an event while disabled: %+v", trc)
	}
	// After the cool-down it runs again.
	fc.Advance(time.Minute + time.Second)
	tr.deliver("m:11", 1, "alice", "error")
	waitUntil(t, func() bool { return okCount.Load() == 5 })
	emu.Lock()
	n := len(errs)
	emu.Unlock()
	if n != 4 {
		t.Fatalf("after the cool-down the plugin should run (and fail) again: %d errors", n)
	}
}

func TestMiddlewareOrderAndStop(t *testing.T) {
	var mu sync.Mutex
	var order []string
	rec := func(s string) { mu.Lock(); order = append(order, s); mu.Unlock() }
	mk := func(id string, prio int, before, after []string) bot.Plugin {
		p := plugin(id, func(env *bot.Env) error {
			env.Use(func(next bot.Handler) bot.Handler {
				return func(c *bot.Context) error {
					if c.Event.Kind != bot.KindMessage {
						return next(c)
					}
					rec(id + ":in")
					err := next(c)
					rec(id + ":out")
					return err
				}
			})
			return env.On(bot.KindMessage, func(c *bot.Context) error {
				rec(id + ":on")
				if id == "b" {
					c.Stop()
				}
				return nil
			})
		})
		p.info.Priority, p.info.Before, p.info.After = prio, before, after
		return p
	}
	// c has the lowest priority but must run after a; b before a.
	_, tr := newTestBot(t, bot.Options{}, mk("a", 0, nil, nil), mk("b", 5, []string{"a"}, nil), mk("c", -5, nil, []string{"a"}))
	tr.deliver("m:1", 1, "alice", "hi")
	b := waitFor(func() bool { mu.Lock(); defer mu.Unlock(); return len(order) >= 7 })
	if !b {
		mu.Lock()
		t.Fatalf("order so far: %v", order)
	}
	want := "b:in a:in c:in b:on c:out a:out b:out"
	if got := strings.Join(order, " "); got != want {
		t.Fatalf("order %q, want %q (b stops propagation after its handler)", got, want)
	}
}

func TestMiddlewareBlocks(t *testing.T) {
	var handled atomic.Int64
	guard := plugin("guard", func(env *bot.Env) error {
		return env.Use(func(next bot.Handler) bot.Handler {
			return func(c *bot.Context) error {
				if strings.Contains(c.Event.Text, "spam") {
					return nil
				}
				return next(c)
			}
		})
	})
	worker := plugin("worker", func(env *bot.Env) error {
		return env.Fallback(func(c *bot.Context) error { handled.Add(1); return nil })
	})
	b, tr := newTestBot(t, bot.Options{}, guard, worker)
	tr.deliver("m:1", 1, "alice", "buy spam now")
	tr.deliver("m:2", 1, "alice", "hello")
	waitUntil(t, func() bool { return handled.Load() == 1 && len(b.Traces().Recent(10, "")) >= 3 })
	trc, _ := b.Traces().Find("m:1")
	if len(trc.Steps) != 1 || trc.Steps[0].Outcome != bot.Blocked || trc.Steps[0].Plugin != "guard" {
		t.Fatalf("trace of the blocked message: %+v", trc)
	}
	trc, _ = b.Traces().Find("m:2")
	if len(trc.Steps) != 2 || trc.Steps[0].Outcome != bot.Passed || trc.Steps[1].Outcome != bot.Matched {
		t.Fatalf("trace of the passed message: %+v", trc)
	}
}

func TestConflictsReportedAtStart(t *testing.T) {
	mk := func(id string) bot.Plugin {
		return plugin(id, func(env *bot.Env) error {
			env.Command(bot.Command{Name: "roll", Handler: func(*bot.Context) error { return nil }})
			env.Hear(`(`, func(*bot.Context) error { return nil })
			return nil
		})
	}
	b, err := bot.New(bot.Options{Transport: newMemTransport(nil), Logger: discard()})
	if err != nil {
		t.Fatal(err)
	}
	b.AddPlugin(mk("dice"), nil)
	b.AddPlugin(mk("games"), nil)
	err = b.Start(context.Background())
	if err == nil {
		t.Fatal("start succeeded despite conflicts")
	}
	for _, want := range []string{"command roll: claimed by plugin dice and by plugin games", "hear \"(\"", "runtime_test.go"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if err := b.AddPlugin(mk("late"), nil); err != nil {
		t.Fatalf("a failed start must not freeze the bot: %v", err)
	}
}

func TestLateRegistrationIsAnError(t *testing.T) {
	var env *bot.Env
	p := plugin("p", func(e *bot.Env) error { env = e; return nil })
	b, _ := newTestBot(t, bot.Options{}, p)
	if err := env.Command(bot.Command{Name: "late", Handler: func(*bot.Context) error { return nil }}); !errors.Is(err, bot.ErrLateRegistration) {
		t.Fatalf("late command: %v", err)
	}
	if err := env.Use(func(h bot.Handler) bot.Handler { return h }); !errors.Is(err, bot.ErrLateRegistration) {
		t.Fatalf("late use: %v", err)
	}
	if err := b.AddPlugin(plugin("q", func(*bot.Env) error { return nil }), nil); !errors.Is(err, bot.ErrLateRegistration) {
		t.Fatalf("late plugin: %v", err)
	}
}

func TestCommandsArgsPermissionsCooldown(t *testing.T) {
	fc := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	var mu sync.Mutex
	var got []string
	p := plugin("cmds", func(env *bot.Env) error {
		env.Command(bot.Command{Name: "roll", Aliases: []string{"r"}, Cooldown: 10 * time.Second,
			Args:  []bot.Arg{{Name: "n", Type: bot.ArgInt}, {Name: "label", Rest: true, Optional: true}},
			Flags: []bot.Flag{{Name: "loud", Short: "l", Type: bot.ArgBool}},
			Handler: func(c *bot.Context) error {
				mu.Lock()
				got = append(got, fmt.Sprintf("roll n=%d label=%q loud=%v", c.Args().Int("n"), c.Args().String("label"), c.Args().Bool("loud")))
				mu.Unlock()
				return nil
			}})
		env.Command(bot.Command{Name: "ban", Permission: bot.RoleAdmin, Args: []bot.Arg{{Name: "who", Type: bot.ArgUser}},
			Handler: func(c *bot.Context) error {
				mu.Lock()
				got = append(got, "ban "+c.Args().String("who"))
				mu.Unlock()
				return nil
			}})
		return nil
	})
	_, tr := newTestBot(t, bot.Options{Clock: fc, Admins: []string{"boss"}}, p)
	tr.deliver("m:1", 1, "alice", `/roll 3 "big one"  --loud`)
	tr.deliver("m:2", 1, "alice", "!r 4")                // cooldown (10s) for alice
	tr.deliver("m:3", 1, "bobby", "/ROLL@jimbot 5 x  y") // other user, addressed to the bot
	tr.deliver("m:4", 1, "bobby", "/roll@otherbot 6")    // for another bot: ignored
	tr.deliver("m:5", 1, "carol", "/roll six")           // bad argument
	tr.deliver("m:6", 1, "alice", "/ban @mallory")       // not an admin
	tr.deliver("m:7", 1, "boss", "/ban @mallory")
	sends := tr.waitSends(t, 3)
	time.Sleep(50 * time.Millisecond)
	mu.Lock()
	want := []string{`roll n=3 label="\"big one\"  --loud" loud=false`, `roll n=5 label="x  y" loud=false`, "ban mallory"}
	mu.Unlock()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("handled:\n%q\nwant\n%q", got, want)
	}
	var texts []string
	for _, s := range sends {
		texts = append(texts, s.Text)
	}
	all := strings.Join(texts, "\n")
	for _, w := range []string{"wait 10s", "n: \"six\" is not an integer\nusage: /roll <n> [label...] [--loud]", "⛔ /ban needs admin (you are member)"} {
		if !strings.Contains(all, w) {
			t.Errorf("replies %q lack %q", all, w)
		}
	}
	// After the cooldown alice may roll again.
	fc.Advance(11 * time.Second)
	tr.deliver("m:8", 1, "alice", "/roll 7 -l")
	waitUntil(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(got) == 4 })
	mu.Lock()
	if got[3] != `roll n=7 label="" loud=true` {
		t.Fatalf("after cooldown: %q", got[3])
	}
	mu.Unlock()
}

func TestGovernorRateAndPriority(t *testing.T) {
	fc := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	tr := newMemTransport(fc)
	p := plugin("p", func(env *bot.Env) error {
		env.Command(bot.Command{Name: "go", Handler: func(c *bot.Context) error {
			// One event queues an announcement-lane send, a reply and a
			// moderation action.
			c.Kick(bot.User{Username: "mallory"})
			return c.Reply("reply")
		}})
		return nil
	})
	b, _ := newTestBot(t, bot.Options{Transport: tr, Clock: fc, Send: bot.SendOptions{RatePerMinute: 60, Burst: 1}}, p)
	// Use up the burst.
	res, err := b.Send(bot.Chat{Group: 1}, jmessage.Text("first"), bot.LaneAnnouncement, "test")
	if err != nil {
		t.Fatal(err)
	}
	if r := <-res; r.Err != nil {
		t.Fatal(r.Err)
	}
	// Queue an announcement, then the command's reply and kick.
	if _, err := b.Send(bot.Chat{Group: 1}, jmessage.Text("announcement"), bot.LaneAnnouncement, "test"); err != nil {
		t.Fatal(err)
	}
	tr.deliver("m:1", 1, "boss", "/go")
	waitUntil(t, func() bool { m, r, a := b.QueueLen(); return m == 1 && r == 1 && a == 1 })
	// One token a second: each advance lets exactly one action go, highest
	// lane first.
	var order []string
	for i := 0; i < 3; i++ {
		fc.WaitForTimers(1)
		fc.Advance(time.Second)
		s := tr.waitSends(t, 2+i)
		last := s[len(s)-1]
		order = append(order, last.Kind+":"+last.Text)
		if gap := last.At.Sub(s[len(s)-2].At); gap != time.Second {
			t.Fatalf("send %d came %s after the previous one, want 1s", i, gap)
		}
	}
	if got := strings.Join(order, " "); got != "remove:mallory send:reply send:announcement" {
		t.Fatalf("order %q", got)
	}
}

func TestGovernorRetriesTemporaryErrors(t *testing.T) {
	fc := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	tr := newMemTransport(fc)
	var calls atomic.Int64
	tr.fail = func(text string) error {
		switch n := calls.Add(1); {
		case text == "doomed":
			return jmessage.ErrTargetUserNotExist
		case n <= 2:
			return jmessage.ErrRateLimited
		}
		return nil
	}
	b, _ := newTestBot(t, bot.Options{Transport: tr, Clock: fc, Send: bot.SendOptions{RatePerMinute: -1, RetryBackoff: time.Second}})
	res, _ := b.Send(bot.Chat{Group: 1}, jmessage.Text("hello"), bot.LaneReply, "test")
	for i := 0; i < 2; i++ {
		fc.WaitForTimers(1)
		fc.Advance(time.Minute)
	}
	if r := <-res; r.Err != nil {
		t.Fatalf("after retries: %v", r.Err)
	}
	if calls.Load() != 3 {
		t.Fatalf("calls %d, want 3", calls.Load())
	}
	res, _ = b.Send(bot.Chat{Group: 1}, jmessage.Text("doomed"), bot.LaneReply, "test")
	if r := <-res; !errors.Is(r.Err, jmessage.ErrTargetUserNotExist) {
		t.Fatalf("permanent error: %v", r.Err)
	}
}

func TestDeduplicatedEventsAreAckedNotHandled(t *testing.T) {
	var handled atomic.Int64
	p := plugin("p", func(env *bot.Env) error {
		return env.On(bot.KindMessage, func(*bot.Context) error { handled.Add(1); return nil })
	})
	_, tr := newTestBot(t, bot.Options{}, p)
	tr.deliver("m:1", 1, "alice", "x")
	waitUntil(t, func() bool { tr.mu.Lock(); defer tr.mu.Unlock(); return len(tr.acked) == 1 })
	tr.deliver("m:1", 1, "alice", "x") // redelivered
	waitUntil(t, func() bool { tr.mu.Lock(); defer tr.mu.Unlock(); return len(tr.acked) == 2 })
	if handled.Load() != 1 {
		t.Fatalf("handled %d times", handled.Load())
	}
}

func TestBreakerTripsDespitePassingMiddleware(t *testing.T) {
	var good atomic.Int64
	bad := plugin("bad", func(env *bot.Env) error {
		env.Use(func(next bot.Handler) bot.Handler { return next })
		return env.On(bot.KindMessage, func(*bot.Context) error { return errors.New("broken") })
	})
	ok := plugin("ok", func(env *bot.Env) error {
		return env.On(bot.KindMessage, func(*bot.Context) error { good.Add(1); return nil })
	})
	b, tr := newTestBot(t, bot.Options{Admins: []string{"boss"}, Breaker: bot.BreakerOptions{Failures: 3, Cooldown: time.Hour}}, bad, ok)
	for i := 0; i < 4; i++ {
		tr.deliver(fmt.Sprint("m:", i), 1, "alice", "x")
	}
	waitUntil(t, func() bool { return good.Load() == 4 })
	if s := tr.waitSends(t, 1); !strings.Contains(s[0].Text, "plugin bad failed 3 times") {
		t.Fatalf("notice: %+v", s)
	}
	trc, _ := b.Traces().Find("m:3")
	if trc.Steps[0].Outcome != bot.Disabled {
		t.Fatalf("after tripping: %+v", trc.Steps)
	}
}

func TestDuplicateOfAnEventInFlightIsHandledOnce(t *testing.T) {
	db, err := storage.Open(filepath.Join(t.TempDir(), "bot.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	entered, release := make(chan struct{}, 1), make(chan struct{})
	var handled atomic.Int64
	p := plugin("p", func(env *bot.Env) error {
		return env.On(bot.KindMessage, func(*bot.Context) error {
			handled.Add(1)
			entered <- struct{}{}
			<-release
			return nil
		})
	})
	b, tr := newTestBot(t, bot.Options{Store: db}, p)
	acked := func() int { tr.mu.Lock(); defer tr.mu.Unlock(); return len(tr.acked) }
	tr.deliver("m:1", 1, "alice", "x")
	<-entered
	tr.deliver("m:1", 1, "alice", "x") // redelivered while the first is handled
	tr.deliver("m:2", 2, "alice", "y") // a later event goes through
	<-entered
	if n := acked(); n != 0 {
		t.Fatalf("%d acknowledgements before the first delivery was committed", n)
	}
	close(release)
	// m:1, its duplicate (with it) and m:2.
	waitUntil(t, func() bool { return acked() == 3 })
	tr.deliver("m:1", 1, "alice", "x") // redelivered after the commit
	waitUntil(t, func() bool { return acked() == 4 })
	if handled.Load() != 2 {
		t.Fatalf("handled %d times, want 2 (m:1 once, m:2 once)", handled.Load())
	}
	_ = b
}
