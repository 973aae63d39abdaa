package bot

import (
	"fmt"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"
)

// Command declares a chat command such as /roll 2d6.
type Command struct {
	// Name is the command word, without prefix: "roll".
	Name string
	// Aliases are other words for the same command.
	Aliases []string
	// Help is one line for /help.
	Help string
	// Usage overrides the usage line generated from Args and Flags.
	Usage string
	// Args and Flags declare typed arguments; with neither, Args().Raw()
	// holds the words as typed.
	Args  []Arg
	Flags []Flag
	// Permission is the least role that may run it. Default RoleMember.
	Permission Role
	// Cooldown is how long a user waits between two uses (per chat).
	Cooldown time.Duration
	// Examples are shown by /help name.
	Examples []string
	// Hidden commands are left out of /help.
	Hidden bool
	// Handler runs the command.
	Handler Handler
}

func (c *Command) flag(name string, short bool) *Flag {
	for i := range c.Flags {
		f := &c.Flags[i]
		if (!short && f.Name == name) || (short && f.Short == name) || (short && len(name) > 1 && f.Name == name) {
			return f
		}
	}
	return nil
}

// UsageLine returns "/name <arg> [opt] [--flag type]".
func (c *Command) UsageLine(prefix string) string {
	if c.Usage != "" {
		return prefix + c.Name + " " + c.Usage
	}
	var b strings.Builder
	b.WriteString(prefix + c.Name)
	for _, a := range c.Args {
		name := a.Name
		if a.Variadic || a.Rest {
			name += "..."
		}
		if a.Optional || a.Variadic {
			fmt.Fprintf(&b, " [%s]", name)
		} else {
			fmt.Fprintf(&b, " <%s>", name)
		}
	}
	for _, f := range c.Flags {
		if f.Type == ArgBool {
			fmt.Fprintf(&b, " [--%s]", f.Name)
		} else {
			fmt.Fprintf(&b, " [--%s %s]", f.Name, f.Type)
		}
	}
	return b.String()
}

var commandNameRe = regexp.MustCompile(`^[\p{L}\p{N}_][\p{L}\p{N}_.-]*$`)

// Router registers a plugin's handlers. Each plugin gets its own (in
// Env); Bot.Router returns the one of the built-in "main" plugin.
// Registration errors are returned and also kept: Start reports them all.
type Router struct {
	b *Bot
	p *pluginState
	// into is where registrations go: the plugin's routes before Start,
	// or a staging set during Bot.Reload.
	into *routes
}

func (r *Router) fail(err error) error {
	_, file, line, ok := runtime.Caller(2)
	if ok {
		err = fmt.Errorf("%s:%d: %w", file, line, err)
	}
	r.b.mu.Lock()
	r.into.errs = append(r.into.errs, err)
	r.b.mu.Unlock()
	return err
}

func (r *Router) check() error {
	if r.into == nil || (r.b.started.Load() && !r.into.staging) {
		return ErrLateRegistration
	}
	return nil
}

func (r *Router) add(f func(rs *routes)) {
	r.b.mu.Lock()
	f(r.into)
	r.b.mu.Unlock()
}

// Command registers a command.
func (r *Router) Command(cmd Command) error {
	if err := r.check(); err != nil {
		return err
	}
	if !commandNameRe.MatchString(cmd.Name) {
		return r.fail(fmt.Errorf("plugin %s: command name %q is not a word", r.p.id, cmd.Name))
	}
	if cmd.Handler == nil {
		return r.fail(fmt.Errorf("plugin %s: command %s has no handler", r.p.id, cmd.Name))
	}
	for i, a := range cmd.Args {
		if (a.Variadic || a.Rest) && i != len(cmd.Args)-1 {
			return r.fail(fmt.Errorf("plugin %s: command %s: argument %s takes the rest and must be last", r.p.id, cmd.Name, a.Name))
		}
	}
	for _, al := range cmd.Aliases {
		if !commandNameRe.MatchString(al) {
			return r.fail(fmt.Errorf("plugin %s: command %s: alias %q is not a word", r.p.id, cmd.Name, al))
		}
	}
	cmd.Name = strings.ToLower(cmd.Name)
	c := &command{spec: cmd, plugin: r.p, switchKey: commandKey(cmd.Name), what: "command " + r.b.prefix() + cmd.Name}
	r.add(func(rs *routes) { rs.commands = append(rs.commands, c) })
	return nil
}

// Hear registers a handler for text messages matching an RE2 pattern.
func (r *Router) Hear(pattern string, h Handler) error {
	if err := r.check(); err != nil {
		return err
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		return r.fail(fmt.Errorf("plugin %s: hear %q: %w", r.p.id, pattern, err))
	}
	return r.HearRegexp(re, h)
}

// HearRegexp is Hear with a compiled pattern.
func (r *Router) HearRegexp(re *regexp.Regexp, h Handler) error {
	if err := r.check(); err != nil {
		return err
	}
	if h == nil {
		return r.fail(fmt.Errorf("plugin %s: hear %q has no handler", r.p.id, re))
	}
	r.add(func(rs *routes) {
		rs.hears = append(rs.hears, &hear{re: re, h: h, plugin: r.p, name: "hear " + re.String()})
	})
	return nil
}

// On registers a handler for every event of a kind.
func (r *Router) On(kind Kind, h Handler) error {
	if err := r.check(); err != nil {
		return err
	}
	if kind == 0 || int(kind) >= len(kindNames) {
		return r.fail(fmt.Errorf("plugin %s: on: unknown event kind %d", r.p.id, kind))
	}
	if h == nil {
		return r.fail(fmt.Errorf("plugin %s: on %s has no handler", r.p.id, kind))
	}
	r.add(func(rs *routes) {
		rs.ons[kind] = append(rs.ons[kind], &hear{h: h, plugin: r.p, name: "on " + kind.String()})
	})
	return nil
}

// Use registers middleware. It wraps everything after this plugin in the
// chain (later plugins, and all routing).
func (r *Router) Use(mw Middleware) error {
	return r.addLayer("middleware", mw == nil, layerSpec{mw: mw})
}

// Gate registers a gate: a middleware that decides whether the event goes
// on, and does nothing after it. Prefer it to Use when a decision is all
// the plugin needs.
func (r *Router) Gate(g Gate) error {
	return r.addLayer("gate", g == nil, layerSpec{gate: g})
}

// addLayer adds a middleware or a gate (what) to the plugin's layers. The
// chain is built once, at start, so a reload cannot add one.
func (r *Router) addLayer(what string, isNil bool, l layerSpec) error {
	if err := r.check(); err != nil {
		return err
	}
	if r.into.staging {
		return r.fail(fmt.Errorf("plugin %s: a %s cannot be added by a reload (the chain is built once, at start)", r.p.id, what))
	}
	if isNil {
		return r.fail(fmt.Errorf("plugin %s: nil %s", r.p.id, what))
	}
	r.b.mu.Lock()
	r.p.layers = append(r.p.layers, l)
	r.b.mu.Unlock()
	return nil
}

// Fallback registers a handler for text messages that no command or hear
// matched.
func (r *Router) Fallback(h Handler) error {
	if err := r.check(); err != nil {
		return err
	}
	if h == nil {
		return r.fail(fmt.Errorf("plugin %s: fallback has no handler", r.p.id))
	}
	r.add(func(rs *routes) { rs.fallbacks = append(rs.fallbacks, &hear{h: h, plugin: r.p, name: "fallback"}) })
	return nil
}

// command is a registered command.
type command struct {
	spec      Command
	plugin    *pluginState
	switchKey string // commandKey(spec.Name)
	what      string // "command /name", for traces and errors
	mu        sync.Mutex
	last      map[cooldownKey]time.Time
}

type cooldownKey struct {
	chat ChatKey
	app  string
	user string
}

// cooldown reports how long the user must still wait, and starts a new
// cooldown when there is none.
func (c *command) cooldown(chat ChatKey, user User, now time.Time) time.Duration {
	if c.spec.Cooldown <= 0 {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	k := cooldownKey{chat, user.AppKey, user.Username}
	if t, ok := c.last[k]; ok {
		if left := c.spec.Cooldown - now.Sub(t); left > 0 {
			return left
		}
	}
	if c.last == nil {
		c.last = map[cooldownKey]time.Time{}
	}
	if len(c.last) > 10000 {
		for k, t := range c.last {
			if now.Sub(t) >= c.spec.Cooldown {
				delete(c.last, k)
			}
		}
	}
	c.last[k] = now
	return 0
}

// hear is a registered hear, event handler or fallback.
type hear struct {
	re     *regexp.Regexp
	h      Handler
	plugin *pluginState
	name   string
}

// routes are one plugin's registrations.
type routes struct {
	commands  []*command
	hears     []*hear
	ons       [len(kindNames)][]*hear
	fallbacks []*hear
	schedules []*schedEntry
	errs      []error
	staging   bool // made by Bot.Reload
}

// router is the frozen routing table, rebuilt (never changed) when a
// plugin reloads, and swapped atomically.
type router struct {
	prefixes  []string
	commands  map[string]*command
	list      []*command // unique commands, by plugin order
	hears     []*hear
	ons       [len(kindNames)][]*hear
	fallbacks []*hear
	schedules map[string]*schedEntry // by full name "plugin/name"
}

// buildRouter merges the plugins' routes (in chain order); it reports
// every command conflict.
func buildRouter(plugins []*pluginState, prefixes []string) (*router, []error) {
	rt := &router{prefixes: prefixes, commands: map[string]*command{}, schedules: map[string]*schedEntry{}}
	var errs []error
	for _, p := range plugins {
		rs := p.routes
		for _, c := range rs.commands {
			for _, name := range append([]string{c.spec.Name}, c.spec.Aliases...) {
				name = strings.ToLower(name)
				if prev, dup := rt.commands[name]; dup {
					if prev.plugin == c.plugin {
						errs = append(errs, fmt.Errorf("command %s: plugin %s registers it twice (name or alias)", name, c.plugin.id))
					} else {
						errs = append(errs, fmt.Errorf("command %s: claimed by plugin %s and by plugin %s", name, prev.plugin.id, c.plugin.id))
					}
					continue
				}
				rt.commands[name] = c
			}
			rt.list = append(rt.list, c)
		}
		rt.hears = append(rt.hears, rs.hears...)
		for k := range rs.ons {
			rt.ons[k] = append(rt.ons[k], rs.ons[k]...)
		}
		rt.fallbacks = append(rt.fallbacks, rs.fallbacks...)
		for _, s := range rs.schedules {
			if _, dup := rt.schedules[s.fullName]; dup {
				errs = append(errs, fmt.Errorf("schedule %s: registered twice", s.fullName))
				continue
			}
			rt.schedules[s.fullName] = s
		}
	}
	return rt, errs
}

// parseCommand splits "/name@bot rest" into name, the addressed bot and
// the rest. ok is false when text does not start with a prefix.
func (rt *router) parseCommand(text string) (name, bot, rest string, ok bool) {
	var body string
	for _, p := range rt.prefixes {
		if len(text) > len(p) && text[:len(p)] == p {
			body, ok = text[len(p):], true
			break
		}
	}
	if !ok {
		return
	}
	end := len(body)
	for i, r := range body {
		if unicode.IsSpace(r) {
			end = i
			break
		}
	}
	word := body[:end]
	rest = strings.TrimLeftFunc(body[end:], unicode.IsSpace)
	if at := strings.IndexByte(word, '@'); at >= 0 {
		word, bot = word[:at], word[at+1:]
	}
	if word == "" {
		return "", "", "", false
	}
	for i := 0; i < len(word); i++ {
		if c := word[i]; c >= utf8.RuneSelf || (c >= 'A' && c <= 'Z') {
			word = strings.ToLower(word)
			break
		}
	}
	return word, bot, rest, true
}

// CommandInfo describes a registered command (for help and tools).
type CommandInfo struct {
	Plugin string
	Command
}
