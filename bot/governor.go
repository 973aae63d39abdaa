package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/jimbot/jimbot/bot/clock"
	"github.com/jimbot/jimbot/jmessage"
)

// SendOptions configure the outbound governor. Zero values get the
// documented defaults (DefaultSendOptions).
type SendOptions struct {
	// RatePerMinute is the sustained number of outbound actions a minute.
	// JMessage allows a user about 60 messages a minute; the default, 50,
	// keeps a margin. A negative rate means no limit (benchmarks).
	RatePerMinute float64
	// Burst is how many actions may go at once after a quiet period.
	// Default 5.
	Burst int
	// Retries is how often a failed action with a temporary error is
	// tried again before it is given up. Default 5.
	Retries int
	// RetryBackoff is the first retry delay; it doubles (with jitter) up
	// to a minute. Default 2s.
	RetryBackoff time.Duration
	// MaxQueue bounds the queued replies and announcements; beyond it the
	// oldest of the lowest lane is dropped, logged and counted. Moderation
	// actions are never dropped. Default 1000.
	MaxQueue int
}

// DefaultSendOptions are the governor's defaults.
var DefaultSendOptions = SendOptions{RatePerMinute: 50, Burst: 5, Retries: 5, RetryBackoff: 2 * time.Second, MaxQueue: 1000}

func (o *SendOptions) fill() {
	d := DefaultSendOptions
	if o.RatePerMinute == 0 {
		o.RatePerMinute = d.RatePerMinute
	}
	setDefault(&o.Burst, d.Burst)
	setDefault(&o.Retries, d.Retries)
	setDefault(&o.RetryBackoff, d.RetryBackoff)
	setDefault(&o.MaxQueue, d.MaxQueue)
}

func setDefault[T comparable](p *T, v T) {
	var zero T
	if *p == zero {
		*p = v
	}
}

// governor is the bot's single outbound queue: every action of the
// account goes through it, in lane priority order, under one token
// bucket. It runs on one goroutine.
type governor struct {
	opts      SendOptions
	transport Transport
	ledger    Ledger
	clock     clock.Clock
	log       *slog.Logger
	metrics   *Metrics

	mu      sync.Mutex
	lanes   [4]opQueue // indexed by Lane; ready ops in FIFO order
	delayed []*Op      // retries waiting for their notBefore
	wake    chan struct{}
	closed  bool
	stopped chan struct{}
	drainCh chan struct{}

	tokens float64
	last   time.Time
}

func newGovernor(o SendOptions, t Transport, l Ledger, c clock.Clock, log *slog.Logger, m *Metrics) *governor {
	o.fill()
	return &governor{opts: o, transport: t, ledger: l, clock: c, log: log, metrics: m,
		wake: make(chan struct{}, 1), stopped: make(chan struct{}), drainCh: make(chan struct{}),
		tokens: float64(o.Burst)}
}

// submit queues ops (already journaled).
func (g *governor) submit(ops ...*Op) {
	if len(ops) == 0 {
		return
	}
	g.mu.Lock()
	var dropped []*Op
	for _, o := range ops {
		g.lanes[o.Lane].push(o)
		g.metrics.queued(o.Lane, 1)
		if o.Lane != LaneModeration && g.lanes[LaneReply].len()+g.lanes[LaneAnnouncement].len() > g.opts.MaxQueue {
			low := LaneAnnouncement
			if g.lanes[low].len() == 0 {
				low = LaneReply
			}
			dropped = append(dropped, g.lanes[low].pop())
			g.metrics.queued(low, -1)
		}
	}
	g.mu.Unlock()
	for _, d := range dropped {
		g.log.Error("send queue full: dropping the oldest queued action", "op", d.String(), "plugin", d.Plugin, "max_queue", g.opts.MaxQueue)
		g.metrics.sent(d, "dropped")
		g.finish(d, OpResult{Err: errors.New("bot: dropped, send queue full")})
	}
	select {
	case g.wake <- struct{}{}:
	default:
	}
}

// queueLen returns the number of queued ops per lane.
func (g *governor) queueLen() (mod, reply, ann int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	mod, reply, ann = g.lanes[LaneModeration].len(), g.lanes[LaneReply].len(), g.lanes[LaneAnnouncement].len()
	for _, o := range g.delayed {
		switch o.Lane {
		case LaneModeration:
			mod++
		case LaneReply:
			reply++
		default:
			ann++
		}
	}
	return mod, reply, ann
}

// next returns the first op that may go now, in lane order, and the
// earliest time a waiting op becomes due. With take false it only looks.
func (g *governor) next(now time.Time, take bool) (*Op, time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	var due time.Time
	// Retries whose time has come go back to the front of their lane.
	kept := g.delayed[:0]
	for _, o := range g.delayed {
		if o.notBefore.After(now) {
			if due.IsZero() || o.notBefore.Before(due) {
				due = o.notBefore
			}
			kept = append(kept, o)
			continue
		}
		g.lanes[o.Lane].pushFront(o)
	}
	clear(g.delayed[len(kept):])
	g.delayed = kept
	for lane := LaneModeration; lane <= LaneAnnouncement; lane++ {
		if g.lanes[lane].len() > 0 {
			if !take {
				return g.lanes[lane].ops[g.lanes[lane].head], time.Time{}
			}
			g.metrics.queued(lane, -1)
			return g.lanes[lane].pop(), time.Time{}
		}
	}
	return nil, due
}

func (g *governor) empty() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.lanes[1].len()+g.lanes[2].len()+g.lanes[3].len()+len(g.delayed) == 0
}

// take waits for a token of the bucket; false if the governor must stop.
func (g *governor) take(quit <-chan struct{}) bool {
	if g.opts.RatePerMinute < 0 {
		return true
	}
	for {
		now := g.clock.Now()
		if g.last.IsZero() {
			g.last = now
		}
		g.tokens += now.Sub(g.last).Minutes() * g.opts.RatePerMinute
		if max := float64(g.opts.Burst); g.tokens > max {
			g.tokens = max
		}
		g.last = now
		if g.tokens >= 1 {
			g.tokens--
			return true
		}
		wait := time.Duration((1 - g.tokens) / g.opts.RatePerMinute * float64(time.Minute))
		t, ok := clock.NewTimerAt(g.clock, now, now.Add(wait))
		if !ok {
			continue // the clock moved on meanwhile: count again
		}
		select {
		case <-t.C():
		case <-quit:
			t.Stop()
			return false
		}
	}
}

// run sends until stop; when draining it stops once the queue is empty.
func (g *governor) run(quit <-chan struct{}) {
	defer close(g.stopped)
	for {
		now := g.clock.Now()
		op, due := g.next(now, false)
		if op == nil {
			select {
			case <-g.drainCh:
				if g.empty() {
					return
				}
			default:
			}
			var timer clock.Timer
			var fire <-chan time.Time
			if !due.IsZero() {
				var ok bool
				if timer, ok = clock.NewTimerAt(g.clock, now, due); !ok {
					continue // the clock moved on meanwhile: look again
				}
				fire = timer.C()
			}
			select {
			case <-g.wake:
			case <-fire:
			case <-quit:
			case <-g.drainCh:
			}
			if timer != nil {
				timer.Stop()
			}
			select {
			case <-quit:
				return
			default:
			}
			continue
		}
		// Wait for a token first, then take the most urgent op: one that
		// arrived while waiting may outrank the one seen before.
		if !g.take(quit) {
			return
		}
		if op, _ = g.next(g.clock.Now(), true); op == nil {
			g.tokens++ // nothing to spend it on after all
			continue
		}
		g.execute(op)
	}
}

func (g *governor) requeueFront(op *Op) {
	g.mu.Lock()
	if op.notBefore.After(g.clock.Now()) {
		g.delayed = append(g.delayed, op)
	} else {
		g.lanes[op.Lane].pushFront(op)
	}
	g.metrics.queued(op.Lane, 1)
	g.mu.Unlock()
}

// opQueue is a FIFO of ops.
type opQueue struct {
	ops  []*Op
	head int
}

func (q *opQueue) len() int { return len(q.ops) - q.head }

func (q *opQueue) push(o *Op) {
	if q.head > 0 && q.head == len(q.ops) {
		q.ops, q.head = q.ops[:0], 0
	} else if q.head > 1024 && q.head > len(q.ops)/2 {
		n := copy(q.ops, q.ops[q.head:])
		clear(q.ops[n:])
		q.ops, q.head = q.ops[:n], 0
	}
	q.ops = append(q.ops, o)
}

func (q *opQueue) pushFront(o *Op) {
	if q.head > 0 {
		q.head--
		q.ops[q.head] = o
		return
	}
	q.ops = append([]*Op{o}, q.ops...)
}

func (q *opQueue) pop() *Op {
	o := q.ops[q.head]
	q.ops[q.head] = nil
	q.head++
	return o
}

// execute carries out op, retrying temporary failures with backoff.
func (g *governor) execute(op *Op) {
	// The transport bounds each call (the JMessage client's request
	// timeout); no per-call context is made here.
	start := g.clock.Now()
	msgID, err := g.do(context.Background(), op)
	g.metrics.sendLatency(op.Lane, g.clock.Now().Sub(start))
	if err == nil {
		g.metrics.sent(op, "ok")
		g.finish(op, OpResult{MsgID: msgID})
		return
	}
	op.attempts++
	if temporary(err) && op.attempts <= g.opts.Retries {
		backoff := g.opts.RetryBackoff << (op.attempts - 1)
		if backoff > time.Minute || backoff <= 0 {
			backoff = time.Minute
		}
		backoff = backoff/2 + time.Duration(rand.Int64N(int64(backoff)))
		op.notBefore = g.clock.Now().Add(backoff)
		g.metrics.sent(op, "retry")
		g.log.Warn("send failed, will retry", "op", op.String(), "plugin", op.Plugin, "attempt", op.attempts, "in", backoff.Round(time.Millisecond), "err", err)
		g.requeueFront(op)
		return
	}
	g.metrics.sent(op, "failed")
	g.log.Error("send failed for good", "op", op.String(), "plugin", op.Plugin, "attempts", op.attempts, "err", err)
	g.finish(op, OpResult{Err: err})
}

func temporary(err error) bool {
	return jmessage.IsTemporary(err) || errors.Is(err, context.DeadlineExceeded)
}

func (g *governor) finish(op *Op, res OpResult) {
	if op.ID != 0 {
		if err := g.ledger.Done([]*Op{op}); err != nil {
			g.log.Error("remove carried-out op from the journal", "op", op.String(), "err", err)
		}
	}
	if op.result != nil {
		op.result <- res
	}
}

func (g *governor) do(ctx context.Context, op *Op) (int64, error) {
	switch op.Kind {
	case OpSend:
		return g.transport.Send(ctx, op.To, op.Body)
	case OpAddMembers, OpRemoveMembers:
		ga, ok := g.transport.(GroupAdmin)
		if !ok {
			return 0, ErrNotSupported
		}
		if op.Kind == OpAddMembers {
			return 0, ga.AddMembers(ctx, op.To.Group, op.Users)
		}
		return 0, ga.RemoveMembers(ctx, op.To.Group, op.Users)
	case OpBlacklistAdd, OpBlacklistRemove:
		ba, ok := g.transport.(BlacklistAdmin)
		if !ok {
			return 0, ErrNotSupported
		}
		if op.Kind == OpBlacklistAdd {
			return 0, ba.BlacklistAdd(ctx, op.Users)
		}
		return 0, ba.BlacklistRemove(ctx, op.Users)
	}
	return 0, fmt.Errorf("bot: unknown op kind %d", op.Kind)
}

// drain asks run to stop once the queue is empty.
func (g *governor) drain() {
	g.mu.Lock()
	if !g.closed {
		g.closed = true
		close(g.drainCh)
	}
	g.mu.Unlock()
}
