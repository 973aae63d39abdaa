package bot

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Outcome is what a plugin's step did with an event.
type Outcome uint8

// Step outcomes.
const (
	// Passed: a middleware handed the event on.
	Passed Outcome = iota + 1
	// Blocked: a middleware kept the event from later plugins.
	Blocked
	// Matched: a handler ran and succeeded.
	Matched
	// Failed: a handler or middleware returned an error or panicked.
	Failed
	// Disabled: skipped, switched off in this chat or by the breaker.
	Disabled
	// Denied: a command the sender's role may not run.
	Denied
	// Cooling: a command used again before its cooldown ended.
	Cooling
	// BadArgs: a command whose arguments did not parse.
	BadArgs
	// Stopped: propagation was stopped by this handler.
	Stopped
)

var outcomeNames = [...]string{"", "passed", "blocked", "matched", "failed", "disabled", "denied", "cooldown", "bad_args", "stopped"}

// String returns the outcome's name.
func (o Outcome) String() string {
	if int(o) < len(outcomeNames) {
		return outcomeNames[o]
	}
	return "?"
}

// MarshalText makes outcomes readable in JSON.
func (o Outcome) MarshalText() ([]byte, error) { return []byte(o.String()), nil }

// UnmarshalText parses an outcome's name.
func (o *Outcome) UnmarshalText(b []byte) error {
	for i, n := range outcomeNames {
		if i > 0 && n == string(b) {
			*o = Outcome(i)
			return nil
		}
	}
	return fmt.Errorf("bot: unknown outcome %q", b)
}

// TraceStep is one plugin step of an event's way through the chain. Its
// Duration runs from the step's start to the start of the next step (or
// the end of the event): for a middleware that passes the event on, that
// is the time it took before calling next.
type TraceStep struct {
	Plugin   string        `json:"plugin"`
	Handler  string        `json:"handler"`
	Outcome  Outcome       `json:"outcome"`
	Duration time.Duration `json:"duration_ns"`
	Error    string        `json:"error,omitempty"`
}

// Trace records what happened to one event.
type Trace struct {
	Seq      uint64        `json:"seq"`
	EventID  string        `json:"event_id"`
	Kind     string        `json:"kind"`
	Chat     string        `json:"chat"`
	Sender   string        `json:"sender,omitempty"`
	Text     string        `json:"text,omitempty"`
	Start    time.Time     `json:"start"`
	Duration time.Duration `json:"duration_ns"`
	Steps    []TraceStep   `json:"steps"`
	// Matched is false when no command, hear or handler took the event.
	Matched bool `json:"matched"`
	// Outbox counts the actions the event queued.
	Outbox int `json:"outbox"`
}

const maxTraceText = 200

// traceEntry is a Trace being written by one worker. It keeps the chat
// and sender as values and formats them only when the trace is read.
type traceEntry struct {
	t       Trace
	chat    Chat
	sender  User
	t0      time.Time      // monotonic reference for step timings
	plugins []*pluginState // the plugin of each step, for metrics
}

// begin opens a step at the current time and returns its index. The
// step's duration runs until the next step begins or the event ends,
// which costs one clock reading per step. The first step begins when the
// event started, a moment before, and costs none.
func (e *traceEntry) begin(p *pluginState, handler string) int {
	var at time.Duration
	if len(e.t.Steps) > 0 {
		at = time.Since(e.t0)
	}
	e.t.Steps = append(e.t.Steps, TraceStep{Plugin: p.id, Handler: handler, Duration: at})
	e.plugins = append(e.plugins, p)
	return len(e.t.Steps) - 1
}

// end records the outcome of step i.
func (e *traceEntry) end(i int, o Outcome, err error) {
	s := &e.t.Steps[i]
	s.Outcome = o
	if err != nil {
		s.Error = err.Error()
	}
}

// step records a step that took no time (a skip).
func (e *traceEntry) step(p *pluginState, handler string, o Outcome, err error) {
	e.t.Steps = append(e.t.Steps, TraceStep{Plugin: p.id, Handler: handler, Outcome: o, Duration: -1})
	e.plugins = append(e.plugins, nil)
	if err != nil {
		e.t.Steps[len(e.t.Steps)-1].Error = err.Error()
	}
}

// finish turns step start offsets into durations (skips, marked -1,
// take none) and reports each timed step to its plugin's metrics.
func (e *traceEntry) finish(total time.Duration) {
	e.t.Duration = total
	next := total
	for i := len(e.t.Steps) - 1; i >= 0; i-- {
		s := &e.t.Steps[i]
		if s.Duration < 0 {
			s.Duration = 0
			continue
		}
		start := s.Duration
		s.Duration = next - start
		next = start
		if p := e.plugins[i]; p != nil {
			p.metrics.observe(s.Duration)
		}
	}
}

// TraceRing keeps the traces of the last events in a fixed ring.
type TraceRing struct {
	slots []traceSlot
	seq   atomic.Uint64
}

type traceSlot struct {
	mu sync.Mutex
	e  *traceEntry // nil until the ring wraps to it
}

// NewTraceRing returns a ring for the last n traces.
func NewTraceRing(n int) *TraceRing {
	if n < 1 {
		n = 1
	}
	return &TraceRing{slots: make([]traceSlot, n)}
}

// swap puts e, a finished trace, in the ring and returns the entry it
// replaces (or a new one) for the next event: no trace is copied.
func (r *TraceRing) swap(e *traceEntry) *traceEntry {
	seq := r.seq.Add(1)
	e.t.Seq = seq
	s := &r.slots[seq%uint64(len(r.slots))]
	s.mu.Lock()
	old := s.e
	s.e = e
	s.mu.Unlock()
	if old == nil {
		old = &traceEntry{}
	}
	return old
}

// Recent returns up to n traces, newest first, optionally only those of
// chat (a Chat.String(), "" for all).
func (r *TraceRing) Recent(n int, chat string) []Trace {
	last := r.seq.Load()
	var out []Trace
	for i := uint64(0); i < uint64(len(r.slots)) && i < last && len(out) < n; i++ {
		seq := last - i
		s := &r.slots[seq%uint64(len(r.slots))]
		s.mu.Lock()
		if e := s.e; e != nil && e.t.Seq == seq && (chat == "" || e.chat.String() == chat) {
			t := e.t
			t.Chat = e.chat.String()
			if !e.sender.IsZero() {
				t.Sender = e.sender.String()
			}
			t.Steps = append([]TraceStep(nil), e.t.Steps...)
			out = append(out, t)
		}
		s.mu.Unlock()
	}
	return out
}

// Find returns the newest trace of an event id.
func (r *TraceRing) Find(eventID string) (Trace, bool) {
	for _, t := range r.Recent(len(r.slots), "") {
		if t.EventID == eventID {
			return t, true
		}
	}
	return Trace{}, false
}
