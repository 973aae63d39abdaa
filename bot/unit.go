package bot

import (
	"sync/atomic"
	"time"
)

// Units: events of one chat handed to an executor together.
//
// A worker that hands an event of a chat to an executor used to park the
// chat until the executor was done with that one event; every event then
// cost a round trip between a worker and the executor. Now the worker
// hands over a unit: the event, followed by the chat's next queued events
// whose first step is a gate of the same executor (nothing runs for them
// on the worker). The executor runs them in order, one after another, and
// gives the chat back once, with all of them. The chat keeps its order:
// nothing of an event runs before the event ahead of it is done.
//
// An event of a unit may leave the executor (a later step belongs to a
// plugin without one, or to another executor). The executor then stops
// the unit there: the events after it have not run, and they go back to
// the chat with it, once it is done wherever it went. The worker hands
// them over again, as the next unit, ahead of the chat's queue.
//
// A unit's first event waits for the others before it is committed, so a
// unit is kept to about unitBudget of the executor's time, from what its
// recent units took per event.

const (
	// maxUnit is the most events in a unit.
	maxUnit = 16
	// unitBudget is about how long a unit may keep an executor.
	unitBudget = time.Millisecond
)

// The states of an event of a unit while its executor runs it.
const (
	unitIdle     int32 = iota
	unitRunning        // the executor runs it
	unitFinished       // done; the executor goes on with the next
	unitLeft           // it went on elsewhere; the unit ends with it
)

// unit is a unit being formed on a worker.
type unit struct {
	head, tail *Context
	size       int
	exec       Executor
	p          *pluginState
	start      time.Time // when the events that joined it started
}

// add appends c, whose hop is set, to the unit.
func (u *unit) add(c *Context) {
	if u.head == nil {
		u.head, u.exec, u.p = c, c.hop.p.exec, c.hop.p
	} else {
		u.tail.unitNext = c
	}
	c.unitHead = u.head
	u.tail = c
	u.size++
}

// addAll appends the events of a unit that did not run (linked by
// unitNext), keeping their hops.
func (u *unit) addAll(rest *Context) {
	for c := rest; c != nil; {
		next := c.unitNext
		c.unitNext = nil
		u.add(c)
		c = next
	}
}

// unitCap returns how many events a unit for p's executor may hold.
func unitCap(p *pluginState) int {
	ns := p.unitNs.Load()
	if ns <= 0 {
		return maxUnit
	}
	return int(min(max(int64(unitBudget)/ns, 1), maxUnit))
}

// noteUnit records how long a unit of n events took on p's executor (a
// moving average per event). Only the executor's goroutine writes it.
func (p *pluginState) noteUnit(d time.Duration, n int) {
	per := int64(d) / int64(n)
	if per <= 0 {
		per = 1
	}
	if old := p.unitNs.Load(); old > 0 {
		per = old + (per-old)/8
	}
	p.unitNs.Store(per)
}

// unitGate returns the chain index of the gate at which ev would be handed
// to exec, if that is its first step: every layer before it is switched
// off. at is the time the breakers are checked at.
func (b *Bot) unitGate(ev *Event, at time.Time, exec Executor) (int, bool) {
	for i := range b.chain {
		l := &b.chain[i]
		if !b.activeAt(l.p, &ev.Chat, at) {
			continue
		}
		return i, l.gate != nil && l.flat && l.p.exec == exec
	}
	return 0, false
}

// joinUnit starts t's event as the next event of u, handed over at gate.
func (b *Bot) joinUnit(u *unit, t task, q *chatQueue, gate int) {
	if u.start.IsZero() {
		u.start = b.wall.now()
	}
	c := b.startEventAt(t, u.start)
	c.chatQ = q
	for i := 0; i < gate; i++ {
		c.tr.step(b.chain[i].p, "middleware", Disabled, nil)
	}
	c.hop = hop{p: b.chain[gate].p, gate: gate}
	c.activeP = c.hop.p
	u.add(c)
}

// handOver gives u to its executor. When the executor refuses it, the
// events run here instead, in order, and their completions go to a new
// batch of sl; it reports whether the executor took the unit.
func (b *Bot) handOver(u *unit, sl *workSlot) bool {
	if u.exec.Execute(u.head.unitFn) {
		return true
	}
	sl.batch = b.batches.Get().(*[]completion)
	batch := sl.batch
	for c := u.head; c != nil; {
		next := c.unitNext
		c.unitNext, c.unitHead = nil, nil
		c.noMigrate = true
		h := c.hop
		if h.h == nil {
			if b.runGate(c, &b.chain[h.gate]) {
				_ = b.chainFrom(c, h.gate+1)
			}
		} else {
			b.invoke(c, h.p, h.what, h.h)
			_ = b.routeFrom(c, h.next)
		}
		*batch = append(*batch, b.finishEvent(c))
		c = next
	}
	return false
}

// runUnit runs the unit c heads on its executor (it is c.unitFn).
func (c *Context) runUnit() {
	b, p := c.bot, c.hop.p
	start := time.Now()
	n := 0
	for e := c; e != nil; {
		next := e.unitNext
		// Set before e runs: if e leaves, whoever finishes it finds the
		// events after it here.
		e.unitNext, e.unitRest = nil, next
		atomic.StoreInt32(&e.unitState, unitRunning)
		e.resume()
		n++
		if atomic.CompareAndSwapInt32(&e.unitState, unitRunning, unitLeft) {
			// e went on elsewhere: its finishMigrated gives the unit back.
			p.noteUnit(time.Since(start), n)
			return
		}
		e.unitNext, e.unitRest = next, nil
		e = next
	}
	p.noteUnit(time.Since(start), n)
	b.disp.resume(c)
}
