package clock_test

import (
	"testing"
	"time"

	"github.com/jimbot/jimbot/bot/clock"
)

// NewTimerAt arms a timer for a due time, and refuses when the clock has
// moved on since the reading it was given (the timer would fire late).
func TestNewTimerAt(t *testing.T) {
	c := clock.NewFake(time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC))
	now := c.Now()
	tm, ok := clock.NewTimerAt(c, now, now.Add(time.Minute))
	if !ok {
		t.Fatal("refused on a clock that did not move")
	}
	c.Advance(time.Minute)
	select {
	case <-tm.C():
	default:
		t.Fatal("did not fire at its due time")
	}
	now = c.Now()
	c.Advance(time.Hour)
	if _, ok := clock.NewTimerAt(c, now, now.Add(2*time.Hour)); ok {
		t.Fatal("armed after the clock moved on")
	}
	if n := c.Timers(); n != 0 {
		t.Fatalf("%d timers left armed", n)
	}
}
