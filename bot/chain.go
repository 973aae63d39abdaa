package bot

import (
	"errors"
	"strings"
	"time"
)

// Gate is a middleware that only decides: pass the event on, or drop it.
// Unlike a Middleware it does no work after the rest of the chain, so the
// bot can run it, and the rest of the event, on the plugin's own goroutine
// when the plugin is an Executor (the Lua host registers its bot.use
// functions this way).
type Gate func(c *Context) (pass bool, err error)

// Executor is an optional ability of a plugin whose handlers must run on
// a goroutine of its own (the Lua host: one goroutine owns each script's
// state). When a step of such a plugin comes up and nothing on the
// worker's stack would have to wait for it, the bot hands the rest of the
// event to the plugin's goroutine instead of blocking a worker on it; the
// worker goes on with other chats, and the chat's next event waits until
// this one is done. Steps of other plugins that follow run on that
// goroutine too, until another Executor's step hands the event on again.
type Executor interface {
	// Execute runs fn on the plugin's goroutine, later. It reports false
	// when it cannot take fn now (the bot then runs the step normally).
	Execute(fn func()) bool
}

// errMigrated unwinds a worker's stack after the rest of its event was
// handed to an Executor.
var errMigrated = errors.New("bot: event handed to an executor")

// layer is one step of the chain before routing: a plugin's middleware
// (which nests the rest of the chain) or gate (which does not).
type layer struct {
	p    *pluginState
	gate Gate
	// mw is the plugin's middleware composed once with the rest of the
	// chain as its next.
	mw Handler
	// flat reports whether no middleware (only gates) follows this layer:
	// only then can the event be handed to an executor here.
	flat bool
}

// layerSpec is a registered middleware or gate, in registration order.
type layerSpec struct {
	mw   Middleware
	gate Gate
}

// buildChain flattens every plugin's middleware and gates, in plugin
// order, into the chain. It runs once, at Start.
func (b *Bot) buildChain() {
	var chain []layer
	for _, p := range b.plugins {
		for _, s := range p.layers {
			chain = append(chain, layer{p: p, gate: s.gate})
		}
	}
	flat := true
	for i := len(chain) - 1; i >= 0; i-- {
		chain[i].flat = flat
		if chain[i].gate == nil {
			flat = false
		}
	}
	b.chain = chain
	i := 0
	for _, p := range b.plugins {
		for _, s := range p.layers {
			if s.mw != nil {
				next := i + 1
				chain[i].mw = s.mw(func(c *Context) error {
					c.reached = next
					saved := c.plugin
					err := b.chainFrom(c, next)
					c.plugin = saved
					return err
				})
			}
			i++
		}
	}
}

// chainFrom runs the chain from layer i, then the router. It returns
// errMigrated when the rest of the event went to an executor.
func (b *Bot) chainFrom(c *Context, i int) error {
	for ; i < len(b.chain); i++ {
		l := &b.chain[i]
		c.reached = i
		if !b.active(l.p, c) {
			c.tr.step(l.p, "middleware", Disabled, nil)
			continue
		}
		if l.gate == nil {
			return b.runMiddleware(c, l, i)
		}
		if l.flat && canMigrate(c, l.p) && b.migrateGate(c, l.p, i) {
			return errMigrated
		}
		if !b.runGate(c, l) {
			return nil
		}
	}
	c.reached = len(b.chain)
	return b.routeFrom(c, routePos{})
}

// migrateGate hands the event to p's executor at gate i.
func (b *Bot) migrateGate(c *Context, p *pluginState, i int) bool {
	c.hop = hop{p: p, gate: i}
	return b.migrate(c, p)
}

// resumeGate continues an event handed to an executor at gate i.
func (b *Bot) resumeGate(c *Context, i int) {
	l := &b.chain[i]
	if b.runGate(c, l) {
		if err := b.chainFrom(c, i+1); errors.Is(err, errMigrated) {
			return
		}
	}
	b.finishMigrated(c)
}

// runGate runs a gate as its plugin and traces its decision.
func (b *Bot) runGate(c *Context, l *layer) bool {
	p := l.p
	saved := c.plugin
	c.plugin = p
	step := c.tr.begin(p, "middleware")
	var pass bool
	err := protect(func(c *Context) error {
		var err error
		pass, err = l.gate(c)
		return err
	}, c, p.id, "middleware")
	c.plugin = saved
	switch {
	case err != nil && !errors.Is(err, ErrStop):
		c.tr.end(step, Failed, err)
		p.metrics.count(true)
		b.failure(p, c, err)
		return true // a broken plugin must not silence the others
	case pass:
		c.tr.end(step, Passed, nil)
		p.metrics.count(false)
		return true
	default:
		c.tr.end(step, Blocked, nil)
		p.metrics.count(false)
		return false
	}
}

// runMiddleware runs a middleware layer as its plugin: panics are
// recovered and whether it handed the event on is traced.
func (b *Bot) runMiddleware(c *Context, l *layer, i int) error {
	p := l.p
	saved := c.plugin
	c.plugin = p
	c.depth++
	step := c.tr.begin(p, "middleware")
	err := protect(l.mw, c, p.id, "middleware")
	c.depth--
	c.plugin = saved
	passed := c.reached > i
	switch {
	case err != nil && !errors.Is(err, ErrStop):
		c.tr.end(step, Failed, err)
		p.metrics.count(true)
		b.failure(p, c, err)
		if !passed {
			// A broken plugin must not silence the others.
			return b.chainFrom(c, i+1)
		}
	case passed:
		// Passing an event on is not a success that clears the breaker:
		// a plugin whose handlers keep failing must trip it even though
		// its middleware runs fine.
		c.tr.end(step, Passed, nil)
		p.metrics.count(false)
	default:
		c.tr.end(step, Blocked, nil)
		p.metrics.count(false)
	}
	return nil
}

// canMigrate reports whether the rest of c's event should move to where
// p's steps run: to p's executor, or back to the workers for a plugin
// without one when the event is on an executor (a slow step there would
// hold up the executor's other chats). Not when the event is there
// already, nor with a middleware frame on the stack (a middleware waits
// for the rest of the chain).
func canMigrate(c *Context, p *pluginState) bool {
	return c.exec != p.exec && c.depth == 0 && !c.noMigrate
}

// hop is where an event handed to an executor resumes: at gate (an index
// in the chain), or at a routed handler h, then routing from next.
type hop struct {
	p    *pluginState
	gate int
	h    Handler // nil for a gate
	what string
	next routePos
}

// migrate hands the rest of c's event, from c.hop, to p's executor
// (canMigrate must hold). It reports whether the executor took it.
func (b *Bot) migrate(c *Context, p *pluginState) bool {
	// Once handed over, c may finish at any moment: what the worker
	// handled before it must be committed first.
	b.flushPending(c)
	if c.deferHandOver {
		// The worker hands c over itself, with the chat's next events.
		return true
	}
	if p.exec == nil {
		b.disp.handBack(c.resumeFn)
		return true
	}
	return p.exec.Execute(c.resumeFn)
}

// resume runs the rest of a handed-over event on the executor.
func (c *Context) resume() {
	b, h := c.bot, c.hop
	c.exec = h.p.exec
	defer func() {
		// The steps recover their own panics; this guards the runtime's
		// code between them, so an executor's goroutine never dies.
		if r := recover(); r != nil {
			b.log.Error("panic continuing an event on an executor", "plugin", h.p.id, "event", c.Event.ID, "panic", r)
			b.finishMigrated(c)
		}
	}()
	if h.h == nil {
		b.resumeGate(c, h.gate)
		return
	}
	b.invoke(c, h.p, h.what, h.h)
	b.resumeRoute(c, h.next)
}

// active reports whether p may see c's event: not tripped by its breaker
// and switched on in the chat. A yes is kept for the event (one plugin at
// a time), so that the gate and the handler of one plugin (a script's
// bot.use and its command) ask once; a failure forgets it.
func (b *Bot) active(p *pluginState, c *Context) bool {
	if p == c.activeP {
		return true
	}
	if b.activeAt(p, &c.Event.Chat, c.start) {
		c.activeP = p
		return true
	}
	return false
}

// activeAt reports whether p may see an event of chat that started at at.
func (b *Bot) activeAt(p *pluginState, chat *Chat, at time.Time) bool {
	if until := p.disabledUntil.Load(); until != 0 {
		if at.UnixNano() < until {
			return false
		}
		if p.disabledUntil.CompareAndSwap(until, 0) {
			p.log.Info("plugin re-enabled after its cool-down")
		}
	}
	return chat.IsZero() || b.switches.pluginOn(p, chat.Key())
}

// Routing phases, in order.
const (
	phaseCommand uint8 = iota
	phaseHears
	phaseOns
	phaseTick
	phaseFallbacks
	phaseDone
)

// routePos is where routing stands: a phase and an index in it.
type routePos struct {
	phase uint8
	idx   int
}

// routeFrom routes the event from pos: the command, or the matching hears;
// then the event handlers; then, when nothing matched, the fallbacks. It
// returns errMigrated when the rest went to an executor.
func (b *Bot) routeFrom(c *Context, pos routePos) error {
	if c.rt == nil {
		c.rt = b.rt.Load()
	}
	rt, ev := c.rt, c.Event
	text := ev.Kind == KindMessage && ev.Text != ""
	for {
		switch pos.phase {
		case phaseCommand:
			pos = routePos{phase: phaseHears}
			if !text {
				pos.phase = phaseOns
				continue
			}
			if name, to, rest, ok := rt.parseCommand(ev.Text); ok && (to == "" || strings.EqualFold(to, b.self.Username)) {
				if cmd := rt.commands[name]; cmd != nil {
					c.matched = true
					next := routePos{phase: phaseOns}
					if err := b.runCommand(c, cmd, rest, next); err != nil {
						return err
					}
					pos = next
				}
			}
		case phaseHears:
			for ; pos.idx < len(rt.hears) && !c.stopped; pos.idx++ {
				h := rt.hears[pos.idx]
				if !h.re.MatchString(ev.Text) {
					continue
				}
				if !b.active(h.plugin, c) {
					c.tr.step(h.plugin, h.name, Disabled, nil)
					continue
				}
				c.matched = true
				c.match = h.re.FindStringSubmatch(ev.Text)
				if err := b.invokeAt(c, h.plugin, h.name, h.h, routePos{phaseHears, pos.idx + 1}); err != nil {
					return err
				}
			}
			c.match = nil
			pos = routePos{phase: phaseOns}
		case phaseOns:
			if int(ev.Kind) < len(rt.ons) {
				for ons := rt.ons[ev.Kind]; pos.idx < len(ons) && !c.stopped; pos.idx++ {
					h := ons[pos.idx]
					if !b.active(h.plugin, c) {
						c.tr.step(h.plugin, h.name, Disabled, nil)
						continue
					}
					if err := b.invokeAt(c, h.plugin, h.name, h.h, routePos{phaseOns, pos.idx + 1}); err != nil {
						return err
					}
				}
			}
			pos = routePos{phase: phaseTick}
		case phaseTick:
			pos = routePos{phase: phaseFallbacks}
			if ev.Kind == KindTick && !c.stopped {
				if s := rt.schedules[ev.Schedule]; s != nil {
					if !b.active(s.plugin, c) {
						c.tr.step(s.plugin, s.what, Disabled, nil)
					} else if err := b.invokeAt(c, s.plugin, s.what, s.h, pos); err != nil {
						return err
					}
				}
			}
		case phaseFallbacks:
			if !c.matched && ev.Kind == KindMessage {
				for ; pos.idx < len(rt.fallbacks) && !c.stopped; pos.idx++ {
					h := rt.fallbacks[pos.idx]
					if !b.active(h.plugin, c) {
						continue
					}
					if err := b.invokeAt(c, h.plugin, h.name, h.h, routePos{phaseFallbacks, pos.idx + 1}); err != nil {
						return err
					}
				}
			}
			pos = routePos{phase: phaseDone}
		default:
			return nil
		}
	}
}

// invokeAt runs a routed handler, on its plugin's executor when the event
// can be handed there; next is where routing resumes afterwards.
func (b *Bot) invokeAt(c *Context, p *pluginState, what string, h Handler, next routePos) error {
	if canMigrate(c, p) && b.migrateHandler(c, p, what, h, next) {
		return errMigrated
	}
	b.invoke(c, p, what, h)
	return nil
}

// migrateHandler hands the event to p's executor at a routed handler.
func (b *Bot) migrateHandler(c *Context, p *pluginState, what string, h Handler, next routePos) bool {
	c.hop = hop{p: p, h: h, what: what, next: next}
	return b.migrate(c, p)
}

// resumeRoute continues routing an event on an executor.
func (b *Bot) resumeRoute(c *Context, pos routePos) {
	if err := b.routeFrom(c, pos); errors.Is(err, errMigrated) {
		return
	}
	b.finishMigrated(c)
}

// runCommand checks switches, permission, cooldown and arguments, then
// runs the command's handler.
func (b *Bot) runCommand(c *Context, cmd *command, rest string, next routePos) error {
	p := cmd.plugin
	chat := c.Event.Chat.Key()
	if !b.active(p, c) || !b.switches.commandOn(cmd, chat) {
		c.tr.step(p, cmd.what, Disabled, nil)
		return nil
	}
	if cmd.spec.Permission > RoleMember {
		if role := c.Role(); role < cmd.spec.Permission {
			c.tr.step(p, cmd.what, Denied, nil)
			if b.notices.allow(chat, c.Event.Sender.Username, cmd.spec.Name, c.start) {
				_ = c.Replyf("⛔ %s%s needs %s (you are %s).", b.prefix(), cmd.spec.Name, cmd.spec.Permission, role)
			}
			return nil
		}
	}
	if left := cmd.cooldown(chat, c.Event.Sender, c.start); left > 0 {
		c.tr.step(p, cmd.what, Cooling, nil)
		if b.notices.allow(chat, c.Event.Sender.Username, cmd.spec.Name, c.start) {
			_ = c.Replyf("⏳ %s%s: wait %s.", b.prefix(), cmd.spec.Name, left.Round(time.Second))
		}
		return nil
	}
	c.args.raw = c.args.raw[:0]
	if err := parseArgs(&cmd.spec, rest, &c.args); err != nil {
		c.tr.step(p, cmd.what, BadArgs, err)
		_ = c.Replyf("%s\nusage: %s", err, cmd.spec.UsageLine(b.prefix()))
		return nil
	}
	c.cmd = cmd
	return b.invokeAt(c, p, cmd.what, cmd.spec.Handler, next)
}

// invoke runs one handler as its plugin, recovering panics and recording
// the outcome.
func (b *Bot) invoke(c *Context, p *pluginState, what string, h Handler) {
	saved := c.plugin
	c.plugin = p
	step := c.tr.begin(p, what)
	err := protect(h, c, p.id, what)
	c.plugin = saved
	switch {
	case err == nil || errors.Is(err, ErrStop):
		if errors.Is(err, ErrStop) {
			c.stopped = true
		}
		o := Matched
		if c.stopped {
			o = Stopped
		}
		c.tr.end(step, o, nil)
		p.metrics.count(false)
		b.success(p)
	default:
		c.tr.end(step, Failed, err)
		p.metrics.count(true)
		b.failure(p, c, err)
	}
}
