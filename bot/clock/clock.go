// Package clock lets jimbot's time-driven parts (the send governor,
// cooldowns, the scheduler, Lua's time module) run on an injected clock,
// so that tests move time forward instead of sleeping.
//
//	c := clock.NewFake(time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC))
//	t := c.NewTimer(time.Minute)
//	c.Advance(time.Minute) // t fires now, without waiting
//	<-t.C()
package clock

import (
	"sort"
	"sync"
	"time"
)

// Clock tells time and makes timers.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// NewTimer returns a timer that fires once after d.
	NewTimer(d time.Duration) Timer
}

// Timer is a one-shot timer, like time.Timer.
type Timer interface {
	// C returns the channel the timer fires on.
	C() <-chan time.Time
	// Stop prevents the timer from firing; it reports whether it did.
	Stop() bool
	// Reset makes the timer fire after d from now; it reports whether it
	// was active.
	Reset(d time.Duration) bool
}

// NewTimerAt returns a timer of c that fires at due, where now is a
// reading of c just taken. It reports false, and arms nothing, when c has
// moved on by more than a millisecond since that reading, as a fake clock
// that a test advances meanwhile can: the timer would then fire late (a
// timer's wait starts when it is armed). Read the time again and retry.
func NewTimerAt(c Clock, now, due time.Time) (Timer, bool) {
	t := c.NewTimer(due.Sub(now))
	if c.Now().Sub(now) > time.Millisecond {
		t.Stop()
		return nil, false
	}
	return t, true
}

// Real is the system clock.
var Real Clock = realClock{}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) NewTimer(d time.Duration) Timer { return realTimer{time.NewTimer(d)} }

type realTimer struct{ t *time.Timer }

func (r realTimer) C() <-chan time.Time        { return r.t.C }
func (r realTimer) Stop() bool                 { return r.t.Stop() }
func (r realTimer) Reset(d time.Duration) bool { return r.t.Reset(d) }

// Fake is a clock that moves only when told to. It is safe for
// concurrent use.
type Fake struct {
	mu      sync.Mutex
	now     time.Time
	timers  []*fakeTimer
	waiters []chan struct{}
}

// NewFake returns a fake clock set to t.
func NewFake(t time.Time) *Fake { return &Fake{now: t} }

// Now returns the fake time.
func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// NewTimer returns a timer that fires when the clock has been advanced by
// d.
func (f *Fake) NewTimer(d time.Duration) Timer {
	f.mu.Lock()
	defer f.mu.Unlock()
	t := &fakeTimer{f: f, c: make(chan time.Time, 1)}
	t.when, t.active = f.now.Add(d), true
	f.timers = append(f.timers, t)
	if d <= 0 {
		f.fireLocked()
	}
	for _, w := range f.waiters {
		close(w)
	}
	f.waiters = nil
	return t
}

// Advance moves the clock forward by d, firing every timer that comes due,
// in order of due time.
func (f *Fake) Advance(d time.Duration) {
	f.Set(f.Now().Add(d))
}

// Set moves the clock to t (never backwards) and fires due timers.
func (f *Fake) Set(t time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if t.After(f.now) {
		f.now = t
	}
	f.fireLocked()
}

func (f *Fake) fireLocked() {
	sort.SliceStable(f.timers, func(i, j int) bool { return f.timers[i].when.Before(f.timers[j].when) })
	kept := f.timers[:0]
	for _, t := range f.timers {
		if t.active && !t.when.After(f.now) {
			t.active = false
			select {
			case t.c <- t.when:
			default:
			}
			continue
		}
		if t.active {
			kept = append(kept, t)
		}
	}
	f.timers = kept
}

// Timers returns how many timers are waiting to fire.
func (f *Fake) Timers() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, t := range f.timers {
		if t.active {
			n++
		}
	}
	return n
}

// WaitForTimers blocks until at least n timers are waiting, so that a test
// can advance the clock only once the code under test is waiting on it.
func (f *Fake) WaitForTimers(n int) {
	for {
		f.mu.Lock()
		count := 0
		for _, t := range f.timers {
			if t.active {
				count++
			}
		}
		if count >= n {
			f.mu.Unlock()
			return
		}
		w := make(chan struct{})
		f.waiters = append(f.waiters, w)
		f.mu.Unlock()
		<-w
	}
}

type fakeTimer struct {
	f      *Fake
	c      chan time.Time
	when   time.Time
	active bool
}

func (t *fakeTimer) C() <-chan time.Time { return t.c }

func (t *fakeTimer) Stop() bool {
	t.f.mu.Lock()
	defer t.f.mu.Unlock()
	was := t.active
	t.active = false
	for i, o := range t.f.timers {
		if o == t {
			t.f.timers = append(t.f.timers[:i], t.f.timers[i+1:]...)
			break
		}
	}
	return was
}

func (t *fakeTimer) Reset(d time.Duration) bool {
	t.f.mu.Lock()
	defer t.f.mu.Unlock()
	was := t.active
	t.when, t.active = t.f.now.Add(d), true
	if !was {
		t.f.timers = append(t.f.timers, t)
	}
	if d <= 0 {
		t.f.fireLocked()
	}
	for _, w := range t.f.waiters {
		close(w)
	}
	t.f.waiters = nil
	return was
}

// IsReal reports whether c is the system clock.
func IsReal(c Clock) bool {
	_, ok := c.(realClock)
	return ok
}
