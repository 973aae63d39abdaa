package lua

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	goruntime "runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	glua "github.com/yuin/gopher-lua"

	"github.com/jimbot/jimbot/bot"
	"github.com/jimbot/jimbot/jmessage"
	"github.com/jimbot/jimbot/storage"
)

// runtime is one script inside one bot: the goroutine that owns the
// script's LState (the actor) and what the Go side needs to reach it.
type runtime struct {
	s        *Script
	id       string
	opts     *Options
	b        *bot.Bot
	log      *slog.Logger
	store    storage.Namespace
	settings bot.Settings

	inbox chan *call
	// Rests of events handed over by the bot (Script.Execute). The queue
	// is unbounded, so a hand-over never waits (two scripts handing
	// events to each other cannot deadlock); the bot's dispatcher bounds
	// the events in flight, one per chat at most.
	execMu    sync.Mutex
	execQ     []func()
	execSpare []func()
	execWake  chan struct{} // one token: execQ became non-empty
	// execClosed refuses hand-overs once stop began; the actor runs
	// those already queued before it ends.
	execClosed bool
	quit       chan struct{}
	dead       chan struct{}
	stopOnce   sync.Once
	inflight   atomic.Int64 // synchronous calls (send) in flight
	stopping   atomic.Bool

	// Owned by the actor goroutine.
	prog     *program
	cur      *state       // the state handlers run in
	pending  *state       // loaded by a reload, waiting for Bot.Reload
	gen      uint64       // the last generation number given out
	liveGen  uint64       // the generation registered with the bot
	liveSig  string       // and its registrations' signature
	errs     int          // failed calls in a row
	c        *bot.Context // the event of the running call
	reg      *reg         // the registration being run, nil in middleware
	sends    int          // actions queued by the running call
	passed   bool         // the running middleware called next()
	retryAt  time.Time    // when to retry building a state that failed
	censusAt int64        // coarse time of the last memory census
	// The script's store quota: what it held at the last count, at
	// storeAt, plus what it wrote since.
	storeUsed    int64
	storeAt      int64
	storeCounted bool
	lastFail     error

	hasUse atomic.Bool // cur has bot.use functions
	hasMW  bool        // the forwarding gate is registered

	// The watchdog's view of the running call.
	callStart atomic.Int64 // coarse monotonic ns; 0 when idle
	budget    atomic.Int64 // ns
	overran   atomic.Bool
	watch     atomic.Pointer[state]
	watched   *state // actor's copy of watch
	budgetNs  int64  // actor's copy of budget

	noticeMu sync.Mutex
	notices  map[string]time.Time
}

// state is one LState and what its chunk registered.
type state struct {
	gen     uint64
	L       *glua.LState
	cancel  func()
	g       *guard
	regs    []*reg
	uses    []*glua.LFunction
	ctx     *ctxObject
	next    *glua.LFunction
	loading bool
	sig     string
}

func (st *state) close() {
	if st == nil || st.L == nil {
		return
	}
	st.cancel()
	st.L.Close()
	st.L = nil
}

type callOp uint8

const (
	opHandler callOp = iota
	opMiddleware
	opFunc
)

// call is one request to the actor.
type call struct {
	op   callOp
	gen  uint64
	idx  int
	c    *bot.Context
	fn   func()
	err  error
	pass bool
	done chan struct{}
}

var callPool = sync.Pool{New: func() any { return &call{done: make(chan struct{}, 1)} }}

// Before parking, a worker waiting for the actor's answer, and the actor
// waiting for the next call, yield a few times: a call takes about a
// microsecond, and parking and waking a goroutine costs about as much on
// both sides. (Measured on W1, 2 cores, when every call was such a
// round trip: 455k msgs/s without, 690k with. Events handed over by the
// bot no longer wait: see Script.Execute.)
const (
	workerSpin = 30
	actorSpin  = 20
)

var errStopped = errors.New("lua: script stopped")

func newRuntime(s *Script, env *bot.Env, settings bot.Settings) *runtime {
	rt := &runtime{
		s: s, id: s.id, opts: s.opts, b: env.Bot, log: env.Log, store: env.Store, settings: settings,
		inbox: make(chan *call, 256), execWake: make(chan struct{}, 1), quit: make(chan struct{}), dead: make(chan struct{}),
		notices: map[string]time.Time{},
	}
	if rt.log == nil {
		rt.log = s.opts.Logger.With("plugin", s.id)
	}
	go rt.loop()
	watchdogAdd(rt)
	return rt
}

func (rt *runtime) loop() {
	defer close(rt.dead)
	defer func() {
		rt.cur.close()
		rt.pending.close()
		rt.cur, rt.pending = nil, nil
	}()
	for {
		for i := 0; i < actorSpin; i++ {
			select {
			case cl := <-rt.inbox:
				rt.serve(cl)
				cl.done <- struct{}{}
				i = -1
			case <-rt.execWake:
				rt.runExecuted()
				i = -1
			default:
				goruntime.Gosched()
			}
		}
		select {
		case cl := <-rt.inbox:
			rt.serve(cl)
			cl.done <- struct{}{}
		case <-rt.execWake:
			rt.runExecuted()
		case <-rt.quit:
			// No hand-over is taken after stop closed the queue: run
			// what is left of it, then end.
			for rt.execPending() {
				rt.runExecuted()
			}
			return
		}
	}
}

// execPending reports whether hand-overs wait in the queue.
func (rt *runtime) execPending() bool {
	rt.execMu.Lock()
	defer rt.execMu.Unlock()
	return len(rt.execQ) > 0
}

// execute queues fn (the rest of an event the bot hands over) for the
// actor. It reports false once the script is stopping.
func (rt *runtime) execute(fn func()) bool {
	rt.execMu.Lock()
	if rt.execClosed {
		rt.execMu.Unlock()
		return false
	}
	rt.execQ = append(rt.execQ, fn)
	first := len(rt.execQ) == 1
	rt.execMu.Unlock()
	if first {
		select {
		case rt.execWake <- struct{}{}:
		default:
		}
	}
	return true
}

// runExecuted runs the queued rests of events, on the actor.
func (rt *runtime) runExecuted() {
	rt.execMu.Lock()
	q := rt.execQ
	rt.execQ = rt.execSpare
	rt.execSpare = nil
	rt.execMu.Unlock()
	for i, fn := range q {
		q[i] = nil
		rt.runOne(fn)
	}
	rt.execMu.Lock()
	if rt.execSpare == nil {
		rt.execSpare = q[:0]
	}
	rt.execMu.Unlock()
}

// runOne runs fn; the bot recovers the panics of the steps it runs, this
// keeps the actor alive whatever happens between them.
func (rt *runtime) runOne(fn func()) {
	defer func() {
		if r := recover(); r != nil {
			rt.log.Error("panic in the rest of an event run on the script's goroutine", "panic", r)
		}
	}()
	fn()
}

func (rt *runtime) serve(cl *call) {
	switch cl.op {
	case opHandler:
		cl.err = rt.runHandler(cl.gen, cl.idx, cl.c)
	case opMiddleware:
		cl.pass, cl.err = rt.runMiddleware(cl.c)
	case opFunc:
		cl.fn()
	}
}

// stop ends the actor; calls after it return errStopped.
func (rt *runtime) stop() {
	rt.stopOnce.Do(func() {
		rt.stopping.Store(true)
		rt.execMu.Lock()
		rt.execClosed = true
		rt.execMu.Unlock()
		for rt.inflight.Load() > 0 {
			time.Sleep(100 * time.Microsecond)
		}
		close(rt.quit)
		<-rt.dead // after the hand-overs still queued ran, watched
		watchdogRemove(rt)
	})
}

// send hands cl to the actor and waits for it. The actor answers every
// call it is given: stop waits for the calls in flight before it ends the
// actor, and refuses new ones.
func (rt *runtime) send(cl *call) error {
	rt.inflight.Add(1)
	if rt.stopping.Load() {
		rt.inflight.Add(-1)
		return errStopped
	}
	rt.inbox <- cl
	for i := 0; i < workerSpin; i++ {
		select {
		case <-cl.done:
			rt.inflight.Add(-1)
			return nil
		default:
			goruntime.Gosched()
		}
	}
	<-cl.done
	rt.inflight.Add(-1)
	return nil
}

// do runs fn on the actor and waits.
func (rt *runtime) do(fn func()) error {
	cl := callPool.Get().(*call)
	cl.op, cl.fn = opFunc, fn
	err := rt.send(cl)
	cl.fn = nil
	callPool.Put(cl)
	return err
}

// handler returns the Go handler of registration idx of generation gen.
func (rt *runtime) handler(gen uint64, idx int) bot.Handler {
	return func(c *bot.Context) error {
		if c.OnExecutor(rt.s) {
			// The bot handed the event to this script's goroutine: this
			// is it.
			return rt.runHandler(gen, idx, c)
		}
		cl := callPool.Get().(*call)
		cl.op, cl.gen, cl.idx, cl.c, cl.err = opHandler, gen, idx, c, nil
		err := rt.send(cl)
		if err == nil {
			err = cl.err
		} else if errors.Is(err, errStopped) {
			err = nil // the bot is stopping; nothing to do
		}
		cl.c, cl.err = nil, nil
		callPool.Put(cl)
		return err
	}
}

// gate is the one gate of the script (a bot.Gate): it runs the script's
// bot.use functions (if any) and passes the event on when they all called
// next().
func (rt *runtime) gate(c *bot.Context) (bool, error) {
	if !rt.hasUse.Load() {
		return true, nil
	}
	if c.OnExecutor(rt.s) {
		return rt.runMiddleware(c)
	}
	cl := callPool.Get().(*call)
	cl.op, cl.c, cl.err, cl.pass = opMiddleware, c, nil, false
	err := rt.send(cl)
	pass := cl.pass
	if err == nil {
		err = cl.err
	} else {
		err, pass = nil, true // the script is stopping
	}
	cl.c, cl.err = nil, nil
	callPool.Put(cl)
	// On an error the bot passes the event on anyway: a broken script
	// must not silence the others.
	return pass, err
}

// first builds the first state (at Provision) on the actor.
func (rt *runtime) first(prog *program) (*state, error) {
	var st *state
	var err error
	if derr := rt.do(func() {
		rt.prog = prog
		rt.gen++
		st, err = rt.build(prog, rt.gen)
		if err == nil {
			rt.setCur(st)
		}
	}); derr != nil {
		return nil, derr
	}
	return st, err
}

func (rt *runtime) setCur(st *state) {
	old := rt.cur
	rt.cur = st
	if old != nil && old != st {
		old.close()
	}
	if st != nil {
		rt.liveGen, rt.liveSig = st.gen, st.sig
	}
	rt.hasUse.Store(st != nil && len(st.uses) > 0)
	rt.errs = 0
}

// stateFor returns the state that serves generation gen: a handler of a
// pending (just reloaded) generation promotes it; handlers of a replaced
// generation are skipped (nil).
func (rt *runtime) stateFor(gen uint64) *state {
	if rt.pending != nil && gen == rt.pending.gen {
		p := rt.pending
		rt.pending = nil
		rt.setCur(p)
	}
	if rt.cur == nil && rt.prog != nil && time.Now().After(rt.retryAt) {
		rt.rebuild("", "")
	}
	if rt.cur != nil && rt.cur.gen == gen {
		return rt.cur
	}
	return nil
}

var errNotLoaded = errors.New("script not loaded (its state failed to build; see the log)")

func (rt *runtime) runHandler(gen uint64, idx int, c *bot.Context) error {
	st := rt.stateFor(gen)
	if st == nil {
		if rt.cur == nil {
			return &Error{Script: rt.id, Message: errNotLoaded.Error() + ": " + errString(rt.lastFail)}
		}
		return nil // a handler of a replaced version
	}
	if idx >= len(st.regs) {
		return nil
	}
	r := st.regs[idx]
	rt.begin(st, c, rt.opts.Timeout)
	rt.reg = r
	L := st.L
	L.Push(r.fn)
	L.Push(st.ctx.tbl)
	err := L.PCall(1, 0, nil)
	return rt.end(st, err, r.what)
}

func (rt *runtime) runMiddleware(c *bot.Context) (bool, error) {
	if rt.cur == nil && rt.prog != nil && time.Now().After(rt.retryAt) {
		rt.rebuild("", "")
	}
	st := rt.cur
	if st == nil || len(st.uses) == 0 {
		return true, nil
	}
	rt.begin(st, c, rt.opts.Timeout)
	L := st.L
	for _, fn := range st.uses {
		rt.passed = false
		L.Push(fn)
		L.Push(st.ctx.tbl)
		L.Push(st.next)
		if err := L.PCall(2, 0, nil); err != nil {
			return false, rt.end(st, err, "middleware")
		}
		if !rt.passed {
			break
		}
	}
	pass := rt.passed
	return pass, rt.end(st, nil, "middleware")
}

// begin prepares st for a call about c.
func (rt *runtime) begin(st *state, c *bot.Context, budget time.Duration) {
	rt.c = c
	rt.sends = 0
	st.g.coroutines = 0
	st.g.huge, st.g.runaway = "", ""
	if c != nil {
		st.ctx.prepare(c)
	}
	if rt.watched != st {
		rt.watched = st
		rt.watch.Store(st)
	}
	if int64(budget) != rt.budgetNs {
		rt.budgetNs = int64(budget)
		rt.budget.Store(rt.budgetNs)
	}
	rt.callStart.Store(coarseNow())
}

// end closes a call: it turns a Lua error into an *Error, detects
// runaways and rebuilds the state after one.
func (rt *runtime) end(st *state, err error, what string) error {
	rt.callStart.Store(0)
	overran := rt.overran.Load()
	if overran {
		rt.overran.Store(false)
	}
	rt.c, rt.reg = nil, nil
	huge := st.g.huge
	if huge == "" {
		huge = st.g.runaway
	}
	if err == nil && !overran && huge == "" {
		if rt.errs != 0 {
			rt.errs = 0
		}
		return rt.checkMemory(st, what)
	}
	e := &Error{Script: rt.id, Handler: what}
	if err != nil {
		e.Message, e.Traceback = splitLuaError(err)
	}
	switch {
	case overran:
		e.Runaway = fmt.Sprintf("ran past its time budget of %s", rt.budgetDuration())
		if err == nil {
			e.Message = "ran past its time budget"
		} else if strings.HasSuffix(e.Message, context.Canceled.Error()) {
			at := strings.TrimSuffix(strings.TrimSpace(strings.TrimSuffix(e.Message, context.Canceled.Error())), ":")
			e.Message = fmt.Sprintf("%s: stopped after running past its time budget of %s", at, rt.budgetDuration())
		}
	case huge != "":
		e.Runaway = huge
		if err == nil {
			e.Message = huge
		}
	case strings.Contains(e.Message, "stack overflow") || strings.Contains(e.Message, "registry overflow"):
		e.Runaway = "stack overflow (runaway recursion)"
	}
	if e.Runaway == "" {
		rt.errs++
		if rt.errs >= rt.opts.MaxErrors {
			e.Runaway = fmt.Sprintf("error storm (%d failed calls in a row)", rt.errs)
		}
	}
	if e.Runaway != "" {
		rt.rebuild(e.Runaway, e.Message)
	}
	return e
}

func (rt *runtime) budgetDuration() time.Duration { return time.Duration(rt.budget.Load()) }

// rebuild throws the current state away and builds a fresh one from the
// compiled program; bot.store data, being in the store, survives. reason
// is told to the admins ("" for a silent retry).
func (rt *runtime) rebuild(reason, detail string) {
	old := rt.cur
	if old != nil {
		old.close()
		rt.cur = nil
	}
	st, err := rt.build(rt.prog, rt.liveGen)
	if err != nil {
		rt.lastFail = err
		rt.retryAt = time.Now().Add(10 * time.Second)
		rt.hasUse.Store(false)
		rt.log.Error("cannot rebuild the script's state", "err", err)
		rt.notify("rebuild", fmt.Sprintf("⚠️ Lua script %s: %s; rebuilding its state failed, so it is off until it loads again: %s",
			rt.id, orString(reason, "its state was lost"), truncate(err.Error(), 300)))
		return
	}
	if st.sig != rt.liveSig {
		// The script registered something else this time (its top level
		// depends on data or chance): register the new set.
		rt.gen++
		st.gen = rt.gen
		if rerr := rt.b.Reload(rt.id, func(r *bot.Router) error { return registerAll(r, rt, st) }); rerr != nil {
			rt.log.Error("the rebuilt state registers other handlers, and they could not be swapped in", "err", rerr)
			rt.notify("reregister", fmt.Sprintf("⚠️ Lua script %s: after a rebuild it registers other handlers, which could not be swapped in; its old handlers are off until it is reloaded: %s",
				rt.id, truncate(rerr.Error(), 300)))
		}
	}
	rt.setCur(st)
	if reason != "" {
		rt.log.Warn("runaway script: state rebuilt", "reason", reason, "err", detail)
		rt.notify(reason, fmt.Sprintf("⚠️ Lua script %s: %s. It was stopped and its state rebuilt (bot.store data kept); other plugins were not affected.\n%s",
			rt.id, reason, truncate(detail, 300)))
	}
}

func orString(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// reload compiles the script from disk, loads it into a new state beside
// the running one, and swaps both the state and the bot's registrations;
// on any error the running version stays.
func (rt *runtime) reload() error {
	prog, err := compileScript(rt.s.path)
	if err != nil {
		return err
	}
	var st *state
	if derr := rt.do(func() {
		rt.gen++
		st, err = rt.build(prog, rt.gen)
		if err == nil {
			rt.pending.close()
			rt.pending = st
		}
	}); derr != nil {
		return derr
	}
	if err == nil && len(st.uses) > 0 && !rt.hasMW {
		err = errors.New("this version adds bot.use, and middleware is wired when the bot starts: restart the bot, or run it with reload on")
	}
	if err != nil {
		if st != nil {
			_ = rt.do(func() {
				if rt.pending == st {
					rt.pending = nil
					st.close()
				}
			})
		}
		return err
	}
	if err := rt.b.Reload(rt.id, func(r *bot.Router) error { return registerAll(r, rt, st) }); err != nil {
		_ = rt.do(func() {
			if rt.pending == st {
				rt.pending = nil
				st.close()
			}
		})
		return err
	}
	_ = rt.do(func() {
		if rt.pending == st {
			rt.pending = nil
			rt.setCur(st)
		}
		rt.prog = prog
	})
	rt.s.setProgram(prog)
	return nil
}

// notify tells every admin, at most once a minute per kind of notice.
func (rt *runtime) notify(kind, msg string) {
	now := rt.b.Clock().Now()
	rt.noticeMu.Lock()
	if last, ok := rt.notices[kind]; ok && now.Sub(last) < time.Minute {
		rt.noticeMu.Unlock()
		return
	}
	rt.notices[kind] = now
	rt.noticeMu.Unlock()
	for _, a := range rt.b.AdminUsers() {
		if _, err := rt.b.Send(bot.Chat{Peer: a}, jmessage.Text(msg), bot.LaneReply, rt.id); err != nil {
			rt.log.Warn("cannot tell an admin", "admin", a.String(), "err", err)
		}
	}
}

// splitLuaError returns a Lua error's message and traceback.
func splitLuaError(err error) (msg, traceback string) {
	var ae *glua.ApiError
	if errors.As(err, &ae) {
		if ae.Object != nil {
			msg = ae.Object.String()
		}
		traceback = ae.StackTrace
		if msg == "" && ae.Cause != nil {
			msg = ae.Cause.Error()
		}
		return msg, traceback
	}
	return err.Error(), ""
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// registerAll registers st's commands, hears, handlers, fallbacks and
// schedules on r, bound to st's generation.
func registerAll(r *bot.Router, rt *runtime, st *state) error {
	var errs []error
	for i, reg := range st.regs {
		h := rt.handler(st.gen, i)
		var err error
		switch reg.kind {
		case regCommand:
			cmd := reg.cmd
			cmd.Handler = h
			err = r.Command(cmd)
		case regHear:
			err = r.HearRegexp(reg.re, h)
		case regOn:
			err = r.On(reg.event, h)
		case regFallback:
			err = r.Fallback(h)
		case regEvery:
			err = r.Schedule(reg.name, reg.sched, h)
		case regAt:
			err = r.At(reg.name, reg.at, h)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s %s", reg.where, err))
		}
	}
	return errors.Join(errs...)
}

// The watchdog: one goroutine for every running script, ticking while
// any script runs. Calls record their start on a coarse clock the
// watchdog keeps; a call past its budget gets its state's context
// cancelled, which stops the VM at the next instruction.
var (
	wdMu    sync.Mutex
	wdSet   = map[*runtime]struct{}{}
	wdStop  chan struct{}
	wdEpoch = time.Now()
	wdNow   atomic.Int64
)

const wdTick = 5 * time.Millisecond

func coarseNow() int64 { return wdNow.Load() }

func watchdogAdd(rt *runtime) {
	wdMu.Lock()
	defer wdMu.Unlock()
	wdSet[rt] = struct{}{}
	if wdStop == nil {
		wdNow.Store(int64(time.Since(wdEpoch)) + 1)
		wdStop = make(chan struct{})
		go watchdog(wdStop)
	}
}

func watchdogRemove(rt *runtime) {
	wdMu.Lock()
	defer wdMu.Unlock()
	delete(wdSet, rt)
	if len(wdSet) == 0 && wdStop != nil {
		close(wdStop)
		wdStop = nil
	}
}

func watchdog(stop chan struct{}) {
	t := time.NewTicker(wdTick)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-stop:
			return
		}
		now := int64(time.Since(wdEpoch)) + 1
		wdNow.Store(now)
		wdMu.Lock()
		for rt := range wdSet {
			start := rt.callStart.Load()
			if start == 0 || now-start <= rt.budget.Load() || rt.overran.Load() {
				continue
			}
			if st := rt.watch.Load(); st != nil {
				rt.overran.Store(true)
				st.cancel()
			}
		}
		wdMu.Unlock()
	}
}
