package bot

import (
	"errors"
	"strings"
	"time"
)

// buildRoot composes every plugin's middleware, in plugin order, around
// the router. It runs once, at Start.
func (b *Bot) buildRoot() Handler {
	layers := 0
	for _, p := range b.plugins {
		layers += len(p.mws)
	}
	b.layers = layers + 1
	h := Handler(b.route)
	layer := layers
	for i := len(b.plugins) - 1; i >= 0; i-- {
		p := b.plugins[i]
		for j := len(p.mws) - 1; j >= 0; j-- {
			h = b.wrapMiddleware(p, p.mws[j], h, layer)
			layer--
		}
	}
	return h
}

// wrapMiddleware puts the plugin's guards around one middleware: it is
// skipped where the plugin is off, it runs as the plugin (store, logger),
// its panics are recovered, and whether it handed the event on is traced.
func (b *Bot) wrapMiddleware(p *pluginState, mw Middleware, next Handler, layer int) Handler {
	inner := mw(func(c *Context) error {
		c.reached = layer
		saved := c.plugin
		err := next(c)
		c.plugin = saved
		return err
	})
	return func(c *Context) error {
		c.reached = layer - 1
		if !b.active(p, c) {
			c.tr.step(p, "middleware", Disabled, nil)
			return next(c)
		}
		saved := c.plugin
		c.plugin = p
		step := c.tr.begin(p, "middleware")
		err := protect(inner, c, p.id, "middleware")
		c.plugin = saved
		passed := c.reached >= layer
		switch {
		case err != nil && !errors.Is(err, ErrStop):
			c.tr.end(step, Failed, err)
			p.metrics.count(true)
			b.failure(p, c, err)
			if !passed {
				// A broken plugin must not silence the others.
				return next(c)
			}
		case passed:
			// Passing an event on is not a success that clears the
			// breaker: a plugin whose handlers keep failing must trip it
			// even though its middleware runs fine.
			c.tr.end(step, Passed, nil)
			p.metrics.count(false)
		default:
			c.tr.end(step, Blocked, nil)
			p.metrics.count(false)
		}
		return nil
	}
}

// active reports whether p may see c's event: not tripped by its breaker
// and switched on in the chat.
func (b *Bot) active(p *pluginState, c *Context) bool {
	if until := p.disabledUntil.Load(); until != 0 {
		if c.start.UnixNano() < until {
			return false
		}
		if p.disabledUntil.CompareAndSwap(until, 0) {
			p.log.Info("plugin re-enabled after its cool-down")
		}
	}
	return c.Event.Chat.IsZero() || b.switches.pluginOn(p, c.Event.Chat.Key())
}

// route is the innermost handler: commands, then hears, then event
// handlers, then fallbacks.
func (b *Bot) route(c *Context) error {
	c.reached = b.layers
	ev := c.Event
	rt := b.rt.Load()
	command := false
	if ev.Kind == KindMessage && ev.Text != "" {
		if name, to, rest, ok := rt.parseCommand(ev.Text); ok && (to == "" || strings.EqualFold(to, b.self.Username)) {
			if cmd := rt.commands[name]; cmd != nil {
				command, c.matched = true, true
				b.runCommand(c, cmd, rest)
			}
		}
		if !command {
			for _, h := range rt.hears {
				if c.stopped {
					break
				}
				if !h.re.MatchString(ev.Text) {
					continue
				}
				if !b.active(h.plugin, c) {
					c.tr.step(h.plugin, h.name, Disabled, nil)
					continue
				}
				c.matched = true
				c.match = h.re.FindStringSubmatch(ev.Text)
				b.invoke(c, h.plugin, h.name, h.h)
			}
			c.match = nil
		}
	}
	if int(ev.Kind) < len(rt.ons) {
		for _, h := range rt.ons[ev.Kind] {
			if c.stopped {
				break
			}
			if !b.active(h.plugin, c) {
				c.tr.step(h.plugin, h.name, Disabled, nil)
				continue
			}
			b.invoke(c, h.plugin, h.name, h.h)
		}
	}
	if ev.Kind == KindTick && !c.stopped {
		if s := rt.schedules[ev.Schedule]; s != nil {
			if b.active(s.plugin, c) {
				b.invoke(c, s.plugin, s.what, s.h)
			} else {
				c.tr.step(s.plugin, s.what, Disabled, nil)
			}
		}
	}
	if !c.matched && ev.Kind == KindMessage {
		for _, h := range rt.fallbacks {
			if c.stopped {
				break
			}
			if !b.active(h.plugin, c) {
				continue
			}
			b.invoke(c, h.plugin, h.name, h.h)
		}
	}
	return nil
}

// runCommand checks switches, permission, cooldown and arguments, then
// runs the command's handler.
func (b *Bot) runCommand(c *Context, cmd *command, rest string) {
	p := cmd.plugin
	chat := c.Event.Chat.Key()
	if !b.active(p, c) || !b.switches.commandOn(cmd, chat) {
		c.tr.step(p, cmd.what, Disabled, nil)
		return
	}
	if cmd.spec.Permission > RoleMember {
		if role := c.Role(); role < cmd.spec.Permission {
			c.tr.step(p, cmd.what, Denied, nil)
			if b.notices.allow(chat, c.Event.Sender.Username, cmd.spec.Name, c.start) {
				_ = c.Replyf("⛔ %s%s needs %s (you are %s).", b.prefix(), cmd.spec.Name, cmd.spec.Permission, role)
			}
			return
		}
	}
	if left := cmd.cooldown(chat, c.Event.Sender, c.start); left > 0 {
		c.tr.step(p, cmd.what, Cooling, nil)
		if b.notices.allow(chat, c.Event.Sender.Username, cmd.spec.Name, c.start) {
			_ = c.Replyf("⏳ %s%s: wait %s.", b.prefix(), cmd.spec.Name, left.Round(time.Second))
		}
		return
	}
	c.args.raw = c.args.raw[:0]
	if err := parseArgs(&cmd.spec, rest, &c.args); err != nil {
		c.tr.step(p, cmd.what, BadArgs, err)
		_ = c.Replyf("%s\nusage: %s", err, cmd.spec.UsageLine(b.prefix()))
		return
	}
	c.cmd = cmd
	b.invoke(c, p, cmd.what, cmd.spec.Handler)
	c.cmd = nil
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
