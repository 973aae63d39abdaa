package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jimbot/jimbot/bot/clock"
	"github.com/jimbot/jimbot/jmessage"
	"github.com/jimbot/jimbot/storage"
)

// Options configure a Bot. Zero values get the defaults in the comments
// (DefaultOptions lists them).
type Options struct {
	// Transport connects the bot to JMessage (required).
	Transport Transport
	// Store persists plugin state, de-duplication records, the outbox and
	// switchboard settings. Without one everything is kept in memory.
	Store *storage.DB
	// Logger receives the bot's logs. Default: slog.Default().
	Logger *slog.Logger
	// Clock is the bot's time source. Default: clock.Real.
	Clock clock.Clock
	// Prefixes start commands. Default: "/" and "!".
	Prefixes []string
	// Admins are users with RoleAdmin in every chat: "username" (of the
	// bot's app) or "appkey/username". Group owners are RoleOwner in their
	// group.
	Admins []string
	// Workers is the number of event handlers running at once. Default
	// 4 × GOMAXPROCS, at least 4 and at most 64.
	Workers int
	// MaxQueued bounds the events waiting for a worker; intake waits
	// beyond it. Default 10000.
	MaxQueued int
	// HandlerTimeout is the deadline of each event's handlers. Default 30s.
	HandlerTimeout time.Duration
	// Send configures the outbound governor.
	Send SendOptions
	// Breaker configures the per-plugin circuit breaker.
	Breaker BreakerOptions
	// TraceSize is how many event traces are kept. Default 1000.
	TraceSize int
	// DedupTTL is how long handled event ids are remembered. Default 7 days.
	DedupTTL time.Duration
	// Ledger overrides the de-duplication and outbox ledger. Default: in
	// Store, or in memory without one.
	Ledger Ledger
	// Metrics receives the bot's metrics; nil records none.
	Metrics *Metrics
	// Switches are per-chat plugin and command switches from the config:
	// chat ("group:<gid>" or "user:<appkey>/<name>") → "plugin:<id>" or
	// "command:<name>" → on.
	Switches map[string]map[string]bool
	// OnError is called for every handler error, after it is logged.
	OnError func(c *Context, err error)
	// OnCommit is called with the ids of events whose handling was
	// recorded and acknowledged (test kits wait on it). It runs on the
	// committer's goroutine and must not block.
	OnCommit func(ids []string)
}

// BreakerOptions configure the per-plugin circuit breaker.
type BreakerOptions struct {
	// Failures in a row that disable a plugin. Default 5; negative turns
	// the breaker off.
	Failures int
	// Cooldown is how long a tripped plugin stays disabled. Default 1m.
	Cooldown time.Duration
}

// DefaultOptions returns the defaults (without a Transport).
func DefaultOptions() Options {
	var o Options
	o.fill()
	return o
}

func (o *Options) fill() {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Clock == nil {
		o.Clock = clock.Real
	}
	if len(o.Prefixes) == 0 {
		o.Prefixes = []string{"/", "!"}
	}
	setDefault(&o.Workers, min(max(4*runtime.GOMAXPROCS(0), 4), 64))
	setDefault(&o.MaxQueued, 10000)
	setDefault(&o.HandlerTimeout, 30*time.Second)
	setDefault(&o.TraceSize, 1000)
	setDefault(&o.DedupTTL, 7*24*time.Hour)
	setDefault(&o.Breaker.Failures, 5)
	setDefault(&o.Breaker.Cooldown, time.Minute)
	o.Send.fill()
}

// Bot is a running chat bot: one account, one middleware chain of plugins,
// one outbound governor. Make it with New, add plugins, then Run.
type Bot struct {
	opts      Options
	log       *slog.Logger
	clock     clock.Clock
	transport Transport
	db        *storage.DB
	self      User
	admins    map[string]bool
	realClock bool
	wall      wallClock

	// waiting holds the tokens of duplicates that came while the first
	// delivery of their id was being handled, acknowledged with it.
	waitingMu sync.Mutex
	waiting   map[string][]any

	mu      sync.Mutex
	plugins []*pluginState
	byID    map[string]*pluginState
	main    *pluginState
	started atomic.Bool
	stopped atomic.Bool

	rt    atomic.Pointer[router]
	chain []layer // the middleware and gates of every plugin, built at Start

	disp                 *dispatcher
	gov                  *governor
	ledger               Ledger
	switches             *Switchboard
	traces               *TraceRing
	metrics              *Metrics
	sched                *scheduler
	schedQuit, schedDone chan struct{}
	reloadMu             sync.Mutex
	owners               ownerCache
	notices              noticeLimiter
	contexts             sync.Pool  // *Context, with its trace entry
	slots                []workSlot // one per dispatcher worker

	life     context.Context
	cancel   context.CancelFunc
	commits  chan *[]completion // from the batches pool
	batches  sync.Pool          // *[]completion
	wg       sync.WaitGroup
	intake   chan struct{} // closed when intake has stopped
	stopOnce sync.Once
	stopErr  error
	fatal    chan error
}

// Errors Run returns when the server ends the session.
var (
	ErrKicked          = errors.New("bot: the bot's user logged in elsewhere (kicked)")
	ErrPasswordChanged = errors.New("bot: the bot's password was changed")
)

// completion is a handled event on its way to the ledger.
type completion struct {
	id    string
	token any
	ops   []*Op
	done  func()
}

// New returns a bot. Add plugins with AddPlugin or register handlers on
// Router, then call Run (or Start).
func New(opts Options) (*Bot, error) {
	if opts.Transport == nil {
		return nil, errors.New("bot: Options.Transport is required")
	}
	opts.fill()
	b := &Bot{
		opts: opts, log: opts.Logger, clock: opts.Clock, transport: opts.Transport, db: opts.Store,
		self: opts.Transport.Self(), admins: map[string]bool{}, byID: map[string]*pluginState{},
		traces: NewTraceRing(opts.TraceSize), metrics: opts.Metrics,
		commits: make(chan *[]completion, 256), intake: make(chan struct{}), fatal: make(chan error, 1),
	}
	b.batches.New = func() any { s := make([]completion, 0, 64); return &s }
	for _, a := range opts.Admins {
		if !strings.Contains(a, "/") {
			a = b.self.AppKey + "/" + a
		}
		b.admins[a] = true
	}
	b.ledger = opts.Ledger
	if b.ledger == nil {
		if b.db != nil {
			b.ledger = NewStoreLedger(b.db, opts.DedupTTL)
		} else {
			b.ledger = NewMemoryLedger(opts.DedupTTL, opts.Clock)
		}
	}
	b.realClock = clock.IsReal(opts.Clock)
	b.switches = newSwitchboard(b)
	if b.metrics != nil {
		b.metrics.rateLimit.Set(opts.Send.RatePerMinute)
	}
	return b, nil
}

// AddPlugin adds a plugin instance with its settings. Plugins are ordered
// by PluginInfo (priority, before/after), then by the order added.
func (b *Bot) AddPlugin(p Plugin, settings Settings) error {
	if b.started.Load() {
		return ErrLateRegistration
	}
	info := p.Info()
	if !pluginIDRe.MatchString(info.ID) {
		return fmt.Errorf("bot: plugin ID %q: use lowercase letters, digits, '-', '_' and '.'", info.ID)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, dup := b.byID[info.ID]; dup {
		return fmt.Errorf("bot: plugin %s added twice", info.ID)
	}
	ps := &pluginState{id: info.ID, info: info, p: p, settings: settings, added: len(b.plugins), routes: &routes{},
		switchKey: pluginKey(info.ID), log: b.log.With("plugin", info.ID), metrics: b.metrics.forPlugin(info.ID)}
	b.plugins = append(b.plugins, ps)
	b.byID[info.ID] = ps
	return nil
}

// mainPlugin is where Bot.Router registers: handlers added directly to the
// bot rather than through a plugin.
type mainPlugin struct{}

func (mainPlugin) Info() PluginInfo {
	return PluginInfo{ID: "main", Description: "handlers registered directly on the bot"}
}

// Router returns the registration API of the bot's own "main" plugin, for
// small bots that need no plugin of their own.
func (b *Bot) Router() *Router {
	b.mu.Lock()
	p := b.main
	b.mu.Unlock()
	if p == nil {
		if err := b.AddPlugin(mainPlugin{}, nil); err != nil && !errors.Is(err, ErrLateRegistration) {
			b.log.Error("add main plugin", "err", err)
		}
		b.mu.Lock()
		p = b.byID["main"]
		b.main = p
		b.mu.Unlock()
	}
	if p == nil {
		p = &pluginState{id: "main", routes: &routes{}}
	}
	return &Router{b: b, p: p, into: p.routes}
}

// Self returns the bot's user.
func (b *Bot) Self() User { return b.self }

// Clock returns the bot's clock.
func (b *Bot) Clock() clock.Clock { return b.clock }

// Logger returns the bot's logger.
func (b *Bot) Logger() *slog.Logger { return b.log }

// Store returns the bot's store, or nil.
func (b *Bot) Store() *storage.DB { return b.db }

// Switchboard returns the per-chat plugin and command switches.
func (b *Bot) Switchboard() *Switchboard { return b.switches }

// Traces returns the ring of recent event traces.
func (b *Bot) Traces() *TraceRing { return b.traces }

// Metrics returns the bot's metrics, or nil.
func (b *Bot) Metrics() *Metrics { return b.metrics }

// Transport returns the bot's transport.
func (b *Bot) Transport() Transport { return b.transport }

func (b *Bot) prefix() string { return b.opts.Prefixes[0] }

// Prefix returns the first command prefix, as shown in help.
func (b *Bot) Prefix() string { return b.prefix() }

func (b *Bot) pluginByID(id string) *pluginState {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.byID[id]
}

// Plugins returns the plugins' infos in chain order (after Start).
func (b *Bot) Plugins() []PluginInfo {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]PluginInfo, len(b.plugins))
	for i, p := range b.plugins {
		out[i] = p.info
	}
	return out
}

// Commands returns every registered command, in plugin order (after
// Start).
func (b *Bot) Commands() []CommandInfo {
	rt := b.rt.Load()
	if rt == nil {
		return nil
	}
	out := make([]CommandInfo, 0, len(rt.list))
	for _, c := range rt.list {
		out = append(out, CommandInfo{Plugin: c.plugin.id, Command: c.spec})
	}
	return out
}

// IsAdmin reports whether u is one of the admins named in Options.Admins.
func (b *Bot) IsAdmin(u User) bool { return b.admins[u.String()] }

// AdminUsers returns the configured admins.
func (b *Bot) AdminUsers() []User {
	var out []User
	for a := range b.admins {
		app, name, _ := strings.Cut(a, "/")
		out = append(out, User{AppKey: app, Username: name})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

// Start provisions and validates every plugin, builds the chain once,
// and starts handling events. Registration problems (a conflict between
// two plugins over a command, an invalid pattern, a failing Provision or
// Validate) are all reported together, and nothing is started then.
func (b *Bot) Start(ctx context.Context) error {
	if b.started.Load() {
		return errors.New("bot: already started")
	}
	if err := b.switches.load(); err != nil {
		return fmt.Errorf("bot: switchboard: %w", err)
	}
	b.switches.configure(b.opts.Switches)
	b.mu.Lock()
	ordered, err := orderPlugins(b.plugins, func(w string) { b.log.Warn(w) })
	b.mu.Unlock()
	if err != nil {
		return err
	}
	var errs []error
	for _, p := range ordered {
		if pv, ok := p.p.(Provisioner); ok {
			env := &Env{Router: &Router{b: b, p: p, into: p.routes}, ID: p.id, Settings: p.settings, Log: p.log, Bot: b}
			if b.db != nil {
				env.Store = b.db.Namespace("plugin:" + p.id)
			}
			if err := callSafely(func() error { return pv.Provision(env) }); err != nil {
				errs = append(errs, fmt.Errorf("plugin %s: provision: %w", p.id, err))
			}
		} else if len(p.settings) > 0 {
			errs = append(errs, fmt.Errorf("plugin %s: has settings but does not read them (no Provision)", p.id))
		}
	}
	for _, p := range ordered {
		if v, ok := p.p.(Validator); ok {
			if err := callSafely(v.Validate); err != nil {
				errs = append(errs, fmt.Errorf("plugin %s: validate: %w", p.id, err))
			}
		}
	}
	b.mu.Lock()
	b.plugins = ordered
	for _, p := range ordered {
		errs = append(errs, p.routes.errs...)
	}
	rt, conflicts := buildRouter(ordered, b.opts.Prefixes)
	b.mu.Unlock()
	errs = append(errs, conflicts...)
	if len(errs) > 0 {
		return fmt.Errorf("bot: cannot start:\n  %w", errors.Join(errs...))
	}
	b.rt.Store(rt)
	for _, p := range ordered {
		if e, ok := p.p.(Executor); ok {
			p.exec = e
		}
	}
	b.buildChain()
	b.started.Store(true)

	b.life, b.cancel = context.WithCancel(context.WithoutCancel(ctx))
	b.contexts.New = func() any {
		c := &Context{tr: &traceEntry{}}
		c.resumeFn = c.resume
		c.unitFn = c.runUnit
		return c
	}
	b.slots = make([]workSlot, b.opts.Workers)
	b.disp = newDispatcher(b.opts.Workers, b.opts.MaxQueued, b.handleTasks)
	b.disp.watch(b.life)
	b.metrics.watchDispatch(b.disp)
	b.gov = newGovernor(b.opts.Send, b.transport, b.ledger, b.clock, b.log.With("part", "governor"), b.metrics)
	pending, err := b.ledger.Pending()
	if err != nil {
		b.log.Error("outbox of the previous run is partly unreadable", "err", err)
	}
	if len(pending) > 0 {
		b.log.Info("resuming queued actions from the previous run", "count", len(pending))
		b.gov.submit(pending...)
	}
	b.disp.start()
	b.wg.Add(2)
	go func() { defer b.wg.Done(); b.commitLoop() }()
	go func() { defer b.wg.Done(); b.gov.run(b.life.Done()) }()

	for i, p := range b.plugins {
		if s, ok := p.p.(Starter); ok {
			if err := callSafely(func() error { return s.Start(ctx) }); err != nil {
				b.stopPlugins(ctx, i)
				b.shutdown(ctx, false)
				return fmt.Errorf("bot: plugin %s: start: %w", p.id, err)
			}
		}
	}
	go b.intakeLoop()
	b.sched = newScheduler(b)
	b.sched.update(rt)
	b.schedQuit, b.schedDone = make(chan struct{}), make(chan struct{})
	go func() { defer close(b.schedDone); b.sched.run(b.schedQuit) }()
	b.log.Info("bot started", "user", b.self.String(), "plugins", len(b.plugins), "commands", len(rt.list))
	return b.Emit(ctx, &Event{Kind: KindStartup, ID: "", Time: b.clock.Now()})
}

// callSafely turns a panic in plugin setup code into an error.
func callSafely(fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return fn()
}

// Run starts the bot and handles events until ctx ends or the transport
// stops for good (kicked, password changed); then it stops gracefully
// within stopTimeout.
func (b *Bot) Run(ctx context.Context, stopTimeout time.Duration) error {
	if err := b.Start(ctx); err != nil {
		return err
	}
	var runErr error
	select {
	case <-ctx.Done():
	case <-b.intake:
	case runErr = <-b.fatal:
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), stopTimeout)
	defer cancel()
	if err := b.Stop(sctx); err != nil {
		return err
	}
	return runErr
}

// Done is closed when the transport has stopped delivering (it was closed,
// kicked or its password changed).
func (b *Bot) Done() <-chan struct{} { return b.intake }

// Stop stops the bot gracefully: no new events are taken, queued events
// are handled and recorded, queued sends go out until ctx ends (those
// left are kept in the store for the next start), and plugins stop in
// reverse order.
func (b *Bot) Stop(ctx context.Context) error {
	if !b.started.Load() {
		return nil
	}
	b.stopOnce.Do(func() {
		b.stopped.Store(true)
		b.stopErr = b.shutdown(ctx, true)
	})
	return b.stopErr
}

func (b *Bot) stopPlugins(ctx context.Context, n int) {
	for i := n - 1; i >= 0; i-- {
		p := b.plugins[i]
		if s, ok := p.p.(Stopper); ok {
			if err := callSafely(func() error { return s.Stop(ctx) }); err != nil {
				p.log.Error("stop", "err", err)
			}
		}
	}
}

// shutdown drains the pipeline: schedules stop, queued events are handled,
// plugins stop (when stopPlugins), handled events are committed and the
// governor sends what it can.
func (b *Bot) shutdown(ctx context.Context, stopPlugins bool) error {
	if b.schedQuit != nil {
		close(b.schedQuit)
		<-b.schedDone
	}
	b.disp.stop()
	if stopPlugins {
		b.stopPlugins(ctx, len(b.plugins))
	}
	close(b.commits)
	b.gov.drain()
	done := make(chan struct{})
	go func() { b.wg.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		b.cancel()
		<-done
		if m, r, a := b.gov.queueLen(); m+r+a > 0 {
			b.log.Warn("stopped with actions still queued; they are kept for the next start", "moderation", m, "reply", r, "announcement", a)
		}
	}
	b.cancel()
	return err
}

// intakeBatch is the most deliveries intake takes from the transport at
// once: it claims their ids in one call to the ledger.
const intakeBatch = 64

// intakeLoop moves deliveries from the transport to the dispatcher,
// acknowledging at once those already handled. It takes what the
// transport has ready, up to intakeBatch deliveries, and claims their
// ids together: a ledger looks them up in one go (one transaction for a
// store, overlapping memory fetches for memory).
func (b *Bot) intakeLoop() {
	defer close(b.intake)
	in := b.transport.Deliveries()
	batch := make([]Delivery, 0, intakeBatch)
	ids := make([]string, 0, intakeBatch)
	claims := make([]Claim, intakeBatch)
	for {
		var d Delivery
		var ok bool
		select {
		case d, ok = <-in:
		case <-b.life.Done():
			return
		}
		closed := !ok
		batch = batch[:0]
		if ok {
			batch = append(batch, d)
		}
		// Take no more than the dispatcher has room for, so that the
		// rest waits in the transport (backpressure).
		limit := min(intakeBatch, b.disp.room())
	more:
		for ok && len(batch) < limit {
			select {
			case d, ok = <-in:
				if !ok {
					closed = true
					break more
				}
				batch = append(batch, d)
			default:
				break more
			}
		}
		if !b.intakeDeliveries(batch, ids[:0], claims) || closed {
			return
		}
		clear(batch)
	}
}

// intakeDeliveries claims and submits a batch of deliveries; it reports
// false when intake must end. claims has room for the batch.
func (b *Bot) intakeDeliveries(batch []Delivery, ids []string, claims []Claim) bool {
	if b.stopped.Load() {
		return false
	}
	for _, d := range batch {
		ev := d.Event
		b.metrics.eventIn(ev.Kind)
		switch ev.Kind {
		case KindReconnected:
			b.metrics.reconnected()
		case KindKicked, KindPasswordChanged:
			err := ErrKicked
			if ev.Kind == KindPasswordChanged {
				err = ErrPasswordChanged
			}
			b.log.Error("the server ended the bot's session", "reason", ev.Kind.String())
			select {
			case b.fatal <- err:
			default:
			}
		case KindMemberAdded, KindMemberRemoved, KindMemberExited, KindGroupUpdated, KindGroupCreated:
			b.owners.forget(ev.Chat.Group)
		}
		if claimable(d) {
			ids = append(ids, ev.ID)
		}
	}
	// claims[k] is the claim of ids[k]; an event that is not claimed
	// (no id, or the lookup failed) counts as Fresh but holds no claim.
	claims = claims[:len(ids)]
	held := len(ids) > 0
	if held {
		if err := b.ledger.Claim(ids, claims); err != nil {
			b.log.Error("de-duplication lookup failed; handling the events anyway", "events", len(ids), "err", err)
			clear(claims)
			held = false
		}
	}
	k := 0
	for _, d := range batch {
		claim := Fresh
		if claimable(d) {
			claim = claims[k]
			k++
		}
		switch claim {
		case Committed:
			b.metrics.duplicate()
			if err := b.transport.Ack(b.life, []any{d.Token}); err != nil {
				b.log.Debug("ack of a duplicate failed", "id", d.Event.ID, "err", err)
			}
		case InFlight:
			// Acknowledged once the delivery being handled is committed,
			// not before: if that one is lost, the server delivers this
			// one again.
			b.metrics.duplicate()
			b.waitingMu.Lock()
			if b.waiting == nil {
				b.waiting = map[string][]any{}
			}
			b.waiting[d.Event.ID] = append(b.waiting[d.Event.ID], d.Token)
			b.waitingMu.Unlock()
		default:
			if err := b.disp.submit(b.life, task{ev: d.Event, token: d.Token}); err != nil {
				// Stopping: the fresh claims from here on will not be
				// committed, so a redelivery must be handled.
				if held {
					from := k
					if claimable(d) {
						from-- // this one's
					}
					var left []string
					for n := from; n < len(ids); n++ {
						if claims[n] == Fresh {
							left = append(left, ids[n])
						}
					}
					b.ledger.Release(left)
				}
				return false
			}
		}
	}
	return true
}

// claimable reports whether d's event is de-duplicated: it has an id, and
// a token to acknowledge it with.
func claimable(d Delivery) bool { return d.Event.ID != "" && d.Token != nil }

// Emit hands an internal event (a tick, a test event) to the chain, as if
// it had been received. It does not wait for the handlers.
func (b *Bot) Emit(ctx context.Context, ev *Event) error {
	if !b.started.Load() || b.stopped.Load() {
		return errors.New("bot: not running")
	}
	if ev.Time.IsZero() {
		ev.Time = b.clock.Now()
	}
	return b.disp.submit(ctx, task{ev: ev})
}

// Handle is Emit that waits until the event is handled and recorded and
// its actions are queued.
func (b *Bot) Handle(ctx context.Context, ev *Event) error {
	if !b.started.Load() || b.stopped.Load() {
		return errors.New("bot: not running")
	}
	if ev.Time.IsZero() {
		ev.Time = b.clock.Now()
	}
	done := make(chan struct{})
	if err := b.disp.submit(ctx, task{ev: ev, done: func() { close(done) }}); err != nil {
		return err
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// workSlot is a worker's batch of completions not yet handed to the
// committer.
type workSlot struct{ batch *[]completion }

// handleTasks runs on a worker: it commits resumed (a unit of the chat's
// events an executor gave back, see unit.go), then handles tasks, the
// chat's next events, in order, and hands the results to the committer in
// one piece. When an event goes to an executor, the chat's next events
// whose first step is on that executor go with it, as a unit; the chat is
// then parked until the executor gives the unit back (finishMigrated). It
// reports how many tasks it took and how many events it finished, and
// whether the chat is parked.
func (b *Bot) handleTasks(worker int, q *chatQueue, resumed *Context, tasks []task) (taken, done int, parked bool) {
	sl := &b.slots[worker]
	sl.batch = b.batches.Get().(*[]completion)
	var u unit
	for c := resumed; c != nil; {
		next := c.unitNext
		if next == nil && c.unitRest != nil {
			// Events the executor did not run: they go first.
			u.addAll(c.unitRest)
		}
		*sl.batch = append(*sl.batch, b.finishEvent(c))
		done++
		c = next
	}
	for taken < len(tasks) {
		t := tasks[taken]
		if u.head != nil {
			if u.size >= unitCap(u.p) {
				break
			}
			gate, ok := b.unitGate(t.ev, u.head.start, u.exec)
			if !ok {
				break
			}
			b.joinUnit(&u, t, q, gate)
			taken++
			continue
		}
		c := b.startEvent(t)
		taken++
		c.chatQ = q
		c.pending = sl
		c.deferHandOver = true
		err := b.chainFrom(c, 0)
		c.deferHandOver = false
		if errors.Is(err, errMigrated) {
			u.add(c) // migrate committed what came before c
			continue
		}
		if err != nil {
			b.log.Error("chain returned an error", "event", c.Event.ID, "err", err)
		}
		if sl.batch == nil {
			sl.batch = b.batches.Get().(*[]completion)
		}
		*sl.batch = append(*sl.batch, b.finishEvent(c))
		done++
	}
	if u.head != nil {
		// Once handed over, the unit may finish at any moment: what was
		// handled before it is committed first.
		if sl.batch != nil {
			if len(*sl.batch) > 0 {
				b.commits <- sl.batch
			} else {
				b.batches.Put(sl.batch)
			}
			sl.batch = nil
		}
		if b.handOver(&u, sl) {
			return taken, done, true
		}
		done += u.size
	}
	b.commits <- sl.batch
	sl.batch = nil
	return taken, done, false
}

// flushPending commits the events a worker handled before c, so that they
// are committed before c (which an executor may finish at any moment).
func (b *Bot) flushPending(c *Context) {
	if sl := c.pending; sl != nil {
		c.pending = nil
		if sl.batch != nil && len(*sl.batch) > 0 {
			b.commits <- sl.batch
			sl.batch = nil
		}
	}
}

// wallClock reads the time from the monotonic clock, which costs half as
// much as time.Now here, and reads the wall clock again once a second:
// a step of the system clock shows within a second.
type wallClock struct{ base atomic.Pointer[time.Time] }

func (w *wallClock) now() time.Time {
	if base := w.base.Load(); base != nil {
		if d := time.Since(*base); d < time.Second {
			return base.Add(d)
		}
	}
	t := time.Now()
	w.base.Store(&t)
	return t
}

// startEvent takes a Context for t's event from the pool and starts its
// trace.
func (b *Bot) startEvent(t task) *Context { return b.startEventAt(t, b.wall.now()) }

// startEventAt is startEvent at now, a reading of b.wall: the events of a
// unit start together, on one reading.
func (b *Bot) startEventAt(t task, now time.Time) *Context {
	c := b.contexts.Get().(*Context)
	tr := c.tr
	c.reset(b, b.life, t.ev)
	c.task = t
	if b.realClock {
		c.start = now
	} else {
		c.start = b.clock.Now()
	}
	if b.opts.HandlerTimeout > 0 {
		// The deadline is a real one even under a fake clock: it bounds
		// real work (network calls), not simulated time.
		c.deadline = now.Add(b.opts.HandlerTimeout)
	}
	tr.t = Trace{EventID: t.ev.ID, Kind: t.ev.Kind.String(), Start: c.start, Steps: tr.t.Steps[:0]}
	clear(tr.plugins)
	tr.plugins = tr.plugins[:0]
	tr.chat, tr.sender, tr.t0 = t.ev.Chat, t.ev.Sender, now
	if len(t.ev.Text) > maxTraceText {
		tr.t.Text = t.ev.Text[:maxTraceText]
	} else {
		tr.t.Text = t.ev.Text
	}
	return c
}

// finishEvent records c's trace, returns its completion and puts c back
// in the pool.
func (b *Bot) finishEvent(c *Context) completion {
	tr := c.tr
	tr.finish(time.Since(tr.t0))
	tr.t.Matched = c.matched
	tr.t.Outbox = len(c.outbox)
	c.tr = b.traces.swap(tr)
	t := c.task
	done := completion{id: t.ev.ID, token: t.token, done: t.done}
	if len(c.outbox) > 0 {
		done.ops = make([]*Op, len(c.outbox))
		for i, o := range c.outbox {
			o.Created = c.start
			done.ops[i] = o
		}
		clear(c.outbox)
	}
	c.release()
	c.Event, c.parent, c.derived, c.cancel, c.log, c.plugin, c.task = nil, nil, nil, nil, nil, nil, task{}
	c.rt, c.exec, c.cmd, c.match, c.pending, c.chatQ = nil, nil, nil, nil, nil, nil
	b.contexts.Put(c)
	return done
}

// finishMigrated ends an event an executor ran to its end: a worker
// commits it, and the chat's next event can start.
func (b *Bot) finishMigrated(c *Context) {
	c.exec = nil
	head := c.unitHead
	if head == nil {
		b.disp.resume(c)
		return
	}
	if atomic.CompareAndSwapInt32(&c.unitState, unitRunning, unitFinished) {
		return // the unit's executor goes on with the next event
	}
	// c left its unit's executor and ends here: the unit ends with it.
	b.disp.resume(head)
}

// recycle empties a batch and puts it back in the pool.
func (b *Bot) recycle(bp *[]completion) {
	clear(*bp)
	*bp = (*bp)[:0]
	b.batches.Put(bp)
}

// commitLoop records handled events and their ops in the ledger in
// batches, then acknowledges the events and hands the ops to the
// governor. Batches form under load by themselves: it commits whatever
// has arrived as soon as the previous commit is done.
func (b *Bot) commitLoop() {
	var batch []completion
	ids := make([]string, 0, 512)
	tokens := make([]any, 0, 512)
	var ops []*Op
	for first := range b.commits {
		batch = append(batch[:0], *first...)
		b.recycle(first)
	more:
		for len(batch) < 1024 {
			select {
			case c, ok := <-b.commits:
				if !ok {
					break more
				}
				batch = append(batch, *c...)
				b.recycle(c)
			default:
				break more
			}
		}
		ids, tokens, ops = ids[:0], tokens[:0], ops[:0]
		for _, c := range batch {
			if c.id != "" && c.token != nil {
				ids = append(ids, c.id)
			}
			if c.token != nil {
				tokens = append(tokens, c.token)
			}
			ops = append(ops, c.ops...)
		}
		tokens = b.takeWaiting(ids, tokens)
		if err := b.ledger.Commit(ids, ops); err != nil {
			// Not acknowledged: the server delivers the events again and
			// they are handled again; their ops are made again then.
			b.log.Error("cannot record handled events; they will be handled again when redelivered", "events", len(ids), "err", err)
			b.ledger.Release(ids)
		} else {
			if len(tokens) > 0 {
				if err := b.transport.Ack(b.life, tokens); err != nil {
					b.log.Warn("acknowledgement failed; the server will redeliver and the duplicates will be skipped", "events", len(tokens), "err", err)
				}
			}
			b.gov.submit(ops...)
			if b.opts.OnCommit != nil {
				b.opts.OnCommit(ids)
			}
		}
		for _, c := range batch {
			if c.done != nil {
				c.done()
			}
		}
		clear(batch)
		clear(tokens)
		clear(ops)
	}
}

// takeWaiting appends to tokens those of the duplicates waiting for ids.
func (b *Bot) takeWaiting(ids []string, tokens []any) []any {
	b.waitingMu.Lock()
	defer b.waitingMu.Unlock()
	if len(b.waiting) == 0 {
		return tokens
	}
	for _, id := range ids {
		if ts, ok := b.waiting[id]; ok {
			tokens = append(tokens, ts...)
			delete(b.waiting, id)
		}
	}
	return tokens
}

// Send queues an action outside of event handling (schedules, the admin
// API): it is journaled first, then queued. The returned channel gets the
// outcome.
func (b *Bot) Send(to Chat, body jmessage.Body, lane Lane, plugin string) (<-chan OpResult, error) {
	if !b.started.Load() || b.stopped.Load() {
		return nil, errors.New("bot: not running")
	}
	if to.IsZero() || body == nil {
		return nil, errors.New("bot: send needs a target and a body")
	}
	res := make(chan OpResult, 1)
	op := &Op{Kind: OpSend, Lane: lane, To: to, Body: body, Plugin: plugin, Created: b.clock.Now(), result: res}
	if err := b.ledger.Commit(nil, []*Op{op}); err != nil {
		return nil, err
	}
	b.gov.submit(op)
	return res, nil
}

// QueueLen returns the queued outbound actions per lane.
func (b *Bot) QueueLen() (moderation, reply, announcement int) {
	if b.gov == nil {
		return 0, 0, 0
	}
	return b.gov.queueLen()
}

// success resets p's breaker.
func (b *Bot) success(p *pluginState) {
	if p.failures.Load() != 0 {
		p.failures.Store(0)
	}
}

// failure logs a handler error and trips p's breaker after too many in a
// row, telling the admins.
func (b *Bot) failure(p *pluginState, c *Context, err error) {
	c.activeP = nil // the breaker may trip: ask again
	attrs := []any{"event", c.Event.Kind.String(), "id", c.Event.ID, "chat", c.Event.Chat.String(), "err", err}
	var pe *PluginError
	if errors.As(err, &pe) && pe.Panic != nil {
		attrs = append(attrs, "stack", string(pe.Stack))
	}
	p.log.Error("handler failed", attrs...)
	if b.opts.OnError != nil {
		b.opts.OnError(c, err)
	}
	if b.opts.Breaker.Failures < 0 {
		return
	}
	if n := p.failures.Add(1); int(n) >= b.opts.Breaker.Failures {
		until := c.start.Add(b.opts.Breaker.Cooldown)
		if p.disabledUntil.Swap(until.UnixNano()) != 0 {
			return
		}
		p.failures.Store(0)
		b.metrics.tripped(p.id)
		msg := fmt.Sprintf("⚠️ plugin %s failed %d times in a row and is disabled for %s. Last error: %v",
			p.id, n, b.opts.Breaker.Cooldown, truncate(err.Error(), 300))
		p.log.Warn("circuit breaker tripped: plugin disabled", "for", b.opts.Breaker.Cooldown, "failures", n)
		for _, a := range b.AdminUsers() {
			if _, err := b.Send(Chat{Peer: a}, jmessage.Text(msg), LaneReply, "jimbot"); err != nil {
				b.log.Error("tell admin about the breaker", "admin", a.String(), "err", err)
			}
		}
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// SetDefaultOff overrides plugin id's PluginInfo.DefaultOff (the config
// file's default_off), before Start.
func (b *Bot) SetDefaultOff(id string, off bool) error {
	if b.started.Load() {
		return ErrLateRegistration
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	p := b.byID[id]
	if p == nil {
		return fmt.Errorf("bot: no plugin %q", id)
	}
	if off && p.info.Essential {
		return fmt.Errorf("bot: plugin %s is essential and cannot be off by default", id)
	}
	p.info.DefaultOff = off
	return nil
}
