package bot_test

import (
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jimbot/jimbot/bot"
	"github.com/jimbot/jimbot/bot/clock"
)

// racingClock is a fake clock that moves on by step right after the
// scheduler's next reading of it, once armed: a test's Advance that lands
// between the scheduler reading the time and arming its timer.
type racingClock struct {
	*clock.Fake
	armed atomic.Bool
	step  time.Duration
}

func (c *racingClock) Now() time.Time {
	now := c.Fake.Now()
	if pc, _, _, ok := runtime.Caller(1); ok && strings.Contains(runtime.FuncForPC(pc).Name(), "(*scheduler).run") &&
		c.armed.CompareAndSwap(true, false) {
		c.Fake.Advance(c.step)
	}
	return now
}

// A schedule still fires when the clock moves on while the scheduler arms
// its timer: it used to arm the timer for a wait computed from the time it
// had read, so the timer came due a whole step late, after the test had
// stopped advancing.
func TestScheduleFiresWhenTheClockMovesWhileArming(t *testing.T) {
	rc := &racingClock{Fake: clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)), step: time.Hour}
	fired := make(chan time.Time, 4)
	p := plugin("tick", func(env *bot.Env) error {
		return env.Every("hourly", "@every 1h", func(c *bot.Context) error {
			fired <- c.Event.Time
			return nil
		})
	})
	b, _ := newTestBot(t, bot.Options{Clock: rc}, p)
	rc.WaitForTimers(1) // the scheduler waits for the first run
	// Reload makes the scheduler look again; as it does, the clock moves
	// on to the run's time.
	rc.armed.Store(true)
	if err := b.Reload("tick", func(r *bot.Router) error {
		return r.Every("hourly", "@every 1h", func(c *bot.Context) error { fired <- c.Event.Time; return nil })
	}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-fired:
	case <-time.After(5 * time.Second):
		t.Fatalf("the schedule did not fire (clock at %s, upcoming %v)", rc.Now(), b.Upcoming())
	}
}
