package lua

import (
	"fmt"
	"log/slog"
	"regexp"
	"sort"
	"strings"
	"time"

	glua "github.com/yuin/gopher-lua"

	"github.com/jimbot/jimbot/bot"
)

type regKind uint8

const (
	regCommand regKind = iota
	regHear
	regOn
	regFallback
	regEvery
	regAt
)

var regKindNames = [...]string{"command", "hear", "on", "fallback", "every", "at"}

// reg is one registration a script made while loading.
type reg struct {
	kind  regKind
	fn    *glua.LFunction
	cmd   bot.Command // regCommand, without Handler
	re    *regexp.Regexp
	event bot.Kind
	name  string // schedule name
	spec  string
	sched bot.Schedule
	at    time.Time
	what  string // "command /roll", "hear ^hi", … for errors and traces
	where string // "file:line:" of the registration
}

// signature describes what a state registered, to tell whether a rebuilt
// state registers the same things.
func signature(regs []*reg) string {
	var b strings.Builder
	for _, r := range regs {
		fmt.Fprintf(&b, "%s|%s|%s|%s|%d|%s|%v|%s|%s|%d|%v|%v\n", regKindNames[r.kind], r.cmd.Name, r.cmd.Aliases, r.cmd.Help,
			r.cmd.Permission, r.cmd.Usage, r.cmd.Args, r.name, r.spec, r.event, r.at.UnixNano(), r.cmd.Cooldown)
		if r.re != nil {
			b.WriteString(r.re.String())
		}
	}
	return b.String()
}

// build makes a new state from prog and runs its top level, which
// registers the script's handlers. It runs on the actor.
func (rt *runtime) build(prog *program, gen uint64) (*state, error) {
	g := &guard{maxString: rt.opts.MaxString}
	st := &state{gen: gen, g: g, loading: true}
	L := newSandbox(g, rt.luaPrint)
	ctx := newStopCtx()
	L.SetContext(ctx)
	st.L, st.cancel = L, ctx.stop
	st.ctx = newCtxObject(rt, L)
	st.next = L.NewFunction(func(L *glua.LState) int {
		rt.passed = true
		return 0
	})

	mod := rt.module(st)
	preload := L.GetField(L.GetField(L.Get(glua.GlobalsIndex), "package"), "preload").(*glua.LTable)
	preload.RawSetString("jimbot", L.NewFunction(func(L *glua.LState) int { L.Push(mod); return 1 }))
	preload.RawSetString("json", L.NewFunction(func(L *glua.LState) int { L.Push(mod.RawGetString("json")); return 1 }))
	preload.RawSetString("time", L.NewFunction(func(L *glua.LState) int { L.Push(mod.RawGetString("time")); return 1 }))
	for _, name := range sortedKeys(prog.modules) {
		preload.RawSetString(name, L.NewFunctionFromProto(prog.modules[name]))
	}

	rt.begin(st, nil, 5*rt.opts.Timeout)
	L.Push(L.NewFunctionFromProto(prog.main))
	err := L.PCall(0, 0, nil)
	rt.callStart.Store(0)
	overran := rt.overran.Swap(false)
	st.loading = false
	if err == nil && !overran && g.huge == "" {
		st.sig = signature(st.regs)
		return st, nil
	}
	e := &Error{Script: rt.id, Handler: "load"}
	if err != nil {
		e.Message, e.Traceback = splitLuaError(err)
	}
	switch {
	case overran:
		e.Message = fmt.Sprintf("%s: loading ran past its time budget of %s", prog.path, 5*rt.opts.Timeout)
	case g.huge != "":
		e.Message = fmt.Sprintf("%s: %s", prog.path, g.huge)
	}
	st.close()
	return nil, e
}

// luaPrint sends print(...) to the script's log at info level.
func (rt *runtime) luaPrint(L *glua.LState) int {
	parts := make([]string, L.GetTop())
	for i := range parts {
		parts[i] = L.ToStringMeta(L.Get(i + 1)).String()
	}
	rt.log.Info(truncate(strings.Join(parts, "\t"), 4096), "source", "print")
	return 0
}

// module builds the jimbot module of one state.
func (rt *runtime) module(st *state) *glua.LTable {
	L := st.L
	m := L.NewTable()
	fn := func(name string, f glua.LGFunction) { m.RawSetString(name, L.NewFunction(f)) }
	m.RawSetString("version", glua.LNumber(APIVersion))
	m.RawSetString("id", glua.LString(rt.id))
	self := rt.b.Self()
	selfT := L.NewTable()
	selfT.RawSetString("username", glua.LString(self.Username))
	selfT.RawSetString("appkey", glua.LString(self.AppKey))
	m.RawSetString("self", selfT)
	m.RawSetString("config", toLua(L, map[string]any(rt.settings), 0))
	fn("command", func(L *glua.LState) int { return rt.luaCommand(st, L) })
	fn("hear", func(L *glua.LState) int { return rt.luaHear(st, L) })
	fn("on", func(L *glua.LState) int { return rt.luaOn(st, L) })
	fn("use", func(L *glua.LState) int { return rt.luaUse(st, L) })
	fn("fallback", func(L *glua.LState) int { return rt.luaFallback(st, L) })
	fn("every", func(L *glua.LState) int { return rt.luaEvery(st, L) })
	fn("at", func(L *glua.LState) int { return rt.luaAt(st, L) })
	m.RawSetString("store", rt.storeModule(L))
	m.RawSetString("log", rt.logModule(L))
	m.RawSetString("json", jsonModule(L))
	m.RawSetString("time", timeModule(L, rt.b.Clock().Now))
	return m
}

func (rt *runtime) registering(st *state, L *glua.LState, what string) {
	if !st.loading {
		L.RaiseError("bot.%s: register while the script loads (at its top level), not from a handler", what)
	}
}

func (rt *runtime) add(st *state, L *glua.LState, r *reg) {
	r.where = L.Where(1)
	st.regs = append(st.regs, r)
}

var commandNameRe = regexp.MustCompile(`^[\p{L}\p{N}_][\p{L}\p{N}_.-]*$`)

// optsAndFn reads the "(first, [opts,] fn)" arguments.
func optsAndFn(L *glua.LState, what string) (*glua.LTable, *glua.LFunction) {
	switch L.GetTop() {
	case 2:
		return nil, L.CheckFunction(2)
	case 3:
		var opts *glua.LTable
		if L.Get(2) != glua.LNil {
			opts = L.CheckTable(2)
		}
		return opts, L.CheckFunction(3)
	}
	L.RaiseError("bot.%s: want (%s, [options,] function)", what, map[string]string{"command": "name", "every": "spec", "at": "time"}[what])
	return nil, nil
}

// optReader reads an options table, reporting unknown keys.
type optReader struct {
	L    *glua.LState
	t    *glua.LTable
	what string
	used map[string]bool
}

func newOptReader(L *glua.LState, t *glua.LTable, what string) *optReader {
	return &optReader{L: L, t: t, what: what, used: map[string]bool{}}
}

func (o *optReader) get(key string) glua.LValue {
	o.used[key] = true
	if o.t == nil {
		return glua.LNil
	}
	return o.t.RawGetString(key)
}

func (o *optReader) str(key string) string {
	switch v := o.get(key).(type) {
	case *glua.LNilType:
		return ""
	case glua.LString:
		return string(v)
	case glua.LNumber:
		return v.String()
	default:
		o.L.RaiseError("%s: %s must be a string, not a %s", o.what, key, v.Type())
	}
	return ""
}

func (o *optReader) boolean(key string) bool {
	switch v := o.get(key).(type) {
	case *glua.LNilType:
		return false
	case glua.LBool:
		return bool(v)
	default:
		o.L.RaiseError("%s: %s must be true or false, not a %s", o.what, key, v.Type())
	}
	return false
}

func (o *optReader) list(key string) []glua.LValue {
	switch v := o.get(key).(type) {
	case *glua.LNilType:
		return nil
	case *glua.LTable:
		out := make([]glua.LValue, 0, v.Len())
		for i := 1; i <= v.Len(); i++ {
			out = append(out, v.RawGetInt(i))
		}
		return out
	default:
		o.L.RaiseError("%s: %s must be a list, not a %s", o.what, key, v.Type())
	}
	return nil
}

func (o *optReader) strings(key string) []string {
	var out []string
	for _, v := range o.list(key) {
		s, ok := v.(glua.LString)
		if !ok {
			o.L.RaiseError("%s: %s must be a list of strings", o.what, key)
		}
		out = append(out, string(s))
	}
	return out
}

func (o *optReader) duration(key string) time.Duration {
	switch v := o.get(key).(type) {
	case *glua.LNilType:
		return 0
	case glua.LNumber:
		return time.Duration(float64(v) * float64(time.Second))
	case glua.LString:
		d, err := bot.ParseDuration(string(v))
		if err != nil {
			o.L.RaiseError("%s: %s: %v", o.what, key, err)
		}
		return d
	default:
		o.L.RaiseError("%s: %s must be a duration such as \"10s\" or a number of seconds", o.what, key)
	}
	return 0
}

// done raises an error for keys that were not read.
func (o *optReader) done() {
	if o.t == nil {
		return
	}
	var unknown []string
	o.t.ForEach(func(k, _ glua.LValue) {
		if ks, ok := k.(glua.LString); !ok || !o.used[string(ks)] {
			unknown = append(unknown, k.String())
		}
	})
	if len(unknown) > 0 {
		sort.Strings(unknown)
		known := make([]string, 0, len(o.used))
		for k := range o.used {
			known = append(known, k)
		}
		sort.Strings(known)
		o.L.RaiseError("%s: unknown option(s) %s (known: %s)", o.what, strings.Join(unknown, ", "), strings.Join(known, ", "))
	}
}

func (rt *runtime) luaCommand(st *state, L *glua.LState) int {
	rt.registering(st, L, "command")
	name := strings.TrimLeft(L.CheckString(1), "/!")
	opts, fn := optsAndFn(L, "command")
	what := "bot.command " + name
	if !commandNameRe.MatchString(name) {
		L.RaiseError("%s: the name must be one word of letters, digits, '_', '.' or '-'", what)
	}
	o := newOptReader(L, opts, what)
	cmd := bot.Command{Name: strings.ToLower(name), Help: o.str("help"), Usage: o.str("usage"),
		Hidden: o.boolean("hidden"), Cooldown: o.duration("cooldown")}
	cmd.Aliases = o.strings("aliases")
	cmd.Examples = o.strings("examples")
	if o.boolean("admin") {
		cmd.Permission = bot.RoleAdmin
	}
	if p := o.str("permission"); p != "" {
		role, err := bot.ParseRole(p)
		if err != nil {
			L.RaiseError("%s: permission: %v", what, err)
		}
		cmd.Permission = max(cmd.Permission, role)
	}
	for i, v := range o.list("args") {
		t, ok := v.(*glua.LTable)
		if !ok {
			L.RaiseError("%s: args[%d] must be a table such as {name = \"n\", type = \"int\"}", what, i+1)
		}
		ao := newOptReader(L, t, fmt.Sprintf("%s: args[%d]", what, i+1))
		a := bot.Arg{Name: ao.str("name"), Optional: ao.boolean("optional"), Rest: ao.boolean("rest"),
			Variadic: ao.boolean("variadic"), Default: ao.str("default"), Help: ao.str("help")}
		typ, err := bot.ParseArgType(ao.str("type"))
		if err != nil {
			L.RaiseError("%s: args[%d]: %v", what, i+1, err)
		}
		a.Type = typ
		if a.Default != "" {
			a.Optional = true
		}
		ao.done()
		if a.Name == "" {
			L.RaiseError("%s: args[%d] needs a name", what, i+1)
		}
		cmd.Args = append(cmd.Args, a)
	}
	for i, v := range o.list("flags") {
		t, ok := v.(*glua.LTable)
		if !ok {
			L.RaiseError("%s: flags[%d] must be a table such as {name = \"count\", type = \"int\"}", what, i+1)
		}
		fo := newOptReader(L, t, fmt.Sprintf("%s: flags[%d]", what, i+1))
		f := bot.Flag{Name: fo.str("name"), Short: fo.str("short"), Default: fo.str("default"), Help: fo.str("help")}
		typ, err := bot.ParseArgType(fo.str("type"))
		if err != nil {
			L.RaiseError("%s: flags[%d]: %v", what, i+1, err)
		}
		f.Type = typ
		fo.done()
		if f.Name == "" {
			L.RaiseError("%s: flags[%d] needs a name", what, i+1)
		}
		cmd.Flags = append(cmd.Flags, f)
	}
	o.done()
	for i, a := range cmd.Args {
		if (a.Rest || a.Variadic) && i != len(cmd.Args)-1 {
			L.RaiseError("%s: argument %s takes the rest of the line and must be last", what, a.Name)
		}
	}
	for _, al := range cmd.Aliases {
		if !commandNameRe.MatchString(al) {
			L.RaiseError("%s: alias %q is not a word", what, al)
		}
	}
	names := append([]string{cmd.Name}, cmd.Aliases...)
	for _, r := range st.regs {
		if r.kind != regCommand {
			continue
		}
		for _, n := range append([]string{r.cmd.Name}, r.cmd.Aliases...) {
			for _, m := range names {
				if strings.EqualFold(n, m) {
					L.RaiseError("%s: /%s is already registered at %s", what, m, strings.TrimSuffix(r.where, ":"))
				}
			}
		}
	}
	rt.add(st, L, &reg{kind: regCommand, fn: fn, cmd: cmd, what: "command " + rt.b.Prefix() + cmd.Name})
	return 0
}

func (rt *runtime) luaHear(st *state, L *glua.LState) int {
	rt.registering(st, L, "hear")
	pattern := L.CheckString(1)
	fn := L.CheckFunction(2)
	re, err := regexp.Compile(pattern)
	if err != nil {
		L.RaiseError("bot.hear: %v", err)
	}
	rt.add(st, L, &reg{kind: regHear, fn: fn, re: re, what: "hear " + pattern})
	return 0
}

func (rt *runtime) luaOn(st *state, L *glua.LState) int {
	rt.registering(st, L, "on")
	name := L.CheckString(1)
	fn := L.CheckFunction(2)
	kind, ok := bot.ParseKind(name)
	if !ok {
		var names []string
		for _, k := range bot.Kinds() {
			names = append(names, k.String())
		}
		L.RaiseError("bot.on: unknown event %q (want one of %s)", name, strings.Join(names, ", "))
	}
	rt.add(st, L, &reg{kind: regOn, fn: fn, event: kind, what: "on " + name})
	return 0
}

func (rt *runtime) luaUse(st *state, L *glua.LState) int {
	rt.registering(st, L, "use")
	st.uses = append(st.uses, L.CheckFunction(1))
	return 0
}

func (rt *runtime) luaFallback(st *state, L *glua.LState) int {
	rt.registering(st, L, "fallback")
	rt.add(st, L, &reg{kind: regFallback, fn: L.CheckFunction(1), what: "fallback"})
	return 0
}

var nonWord = regexp.MustCompile(`[^A-Za-z0-9_.:-]+`)

// scheduleName returns opts.name or a name made from base, unique within
// the state: the same script always names its schedules the same, so a
// reload keeps their next run.
func scheduleName(st *state, L *glua.LState, o *optReader, base string) string {
	name := o.str("name")
	if strings.ContainsAny(name, "/ \t") {
		L.RaiseError("%s: name %q must be one word without '/'", o.what, name)
	}
	if name == "" {
		name = strings.Trim(nonWord.ReplaceAllString(base, "_"), "_")
	}
	taken := func(n string) bool {
		for _, r := range st.regs {
			if (r.kind == regEvery || r.kind == regAt) && r.name == n {
				return true
			}
		}
		return false
	}
	if taken(name) {
		if o.get("name") != glua.LNil {
			L.RaiseError("%s: a schedule named %q is already registered", o.what, name)
		}
		for i := 2; ; i++ {
			if n := fmt.Sprintf("%s_%d", name, i); !taken(n) {
				return n
			}
		}
	}
	return name
}

func (rt *runtime) luaEvery(st *state, L *glua.LState) int {
	rt.registering(st, L, "every")
	spec := L.CheckString(1)
	opts, fn := optsAndFn(L, "every")
	o := newOptReader(L, opts, "bot.every "+spec)
	sched, err := bot.ParseSchedule(spec, nil)
	if err != nil {
		L.RaiseError("bot.every: %v", err)
	}
	name := scheduleName(st, L, o, "every_"+spec)
	o.done()
	rt.add(st, L, &reg{kind: regEvery, fn: fn, name: name, spec: spec, sched: sched, what: "schedule " + name})
	return 0
}

func (rt *runtime) luaAt(st *state, L *glua.LState) int {
	rt.registering(st, L, "at")
	now := rt.b.Clock().Now()
	var at time.Time
	switch v := L.Get(1).(type) {
	case glua.LNumber:
		at = unixTime(float64(v)).In(now.Location())
	case glua.LString:
		t, err := parseWhen(string(v), now)
		if err != nil {
			L.RaiseError("bot.at: %v", err)
		}
		at = t
	default:
		L.RaiseError("bot.at: want a unix time, \"15:04\" or an RFC 3339 time, not a %s", v.Type())
	}
	opts, fn := optsAndFn(L, "at")
	o := newOptReader(L, opts, "bot.at")
	name := scheduleName(st, L, o, "at_"+at.UTC().Format("20060102T150405Z"))
	o.done()
	rt.add(st, L, &reg{kind: regAt, fn: fn, name: name, at: at, what: "schedule " + name})
	return 0
}

// parseWhen parses "15:04" (the next such time, in now's zone), RFC 3339,
// or "2006-01-02 15:04".
func parseWhen(s string, now time.Time) (time.Time, error) {
	if t, err := time.ParseInLocation("15:04", s, now.Location()); err == nil {
		at := time.Date(now.Year(), now.Month(), now.Day(), t.Hour(), t.Minute(), 0, 0, now.Location())
		if !at.After(now) {
			at = at.AddDate(0, 0, 1)
		}
		return at, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.ParseInLocation("2006-01-02 15:04", s, now.Location()); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("cannot read %q as a time (want \"15:04\", \"2006-01-02 15:04\" or RFC 3339)", s)
}

func unixTime(sec float64) time.Time {
	s := int64(sec)
	return time.Unix(s, int64((sec-float64(s))*1e9))
}

// logModule is bot.log: debug, info, warn and error(msg, ...), where ...
// are key, value pairs or one table of attributes.
func (rt *runtime) logModule(L *glua.LState) *glua.LTable {
	t := L.NewTable()
	for name, level := range map[string]slog.Level{"debug": slog.LevelDebug, "info": slog.LevelInfo, "warn": slog.LevelWarn, "error": slog.LevelError} {
		t.RawSetString(name, L.NewFunction(func(L *glua.LState) int {
			msg := L.ToStringMeta(L.Get(1)).String()
			var attrs []any
			if tbl, ok := L.Get(2).(*glua.LTable); ok && L.GetTop() == 2 {
				tbl.ForEach(func(k, v glua.LValue) {
					attrs = append(attrs, k.String(), logValue(v))
				})
			} else {
				for i := 2; i <= L.GetTop(); i += 2 {
					attrs = append(attrs, L.ToStringMeta(L.Get(i)).String(), logValue(L.Get(i+1)))
				}
			}
			rt.log.Log(L.Context(), level, truncate(msg, 4096), attrs...)
			return 0
		}))
	}
	return t
}

func logValue(v glua.LValue) any {
	switch v := v.(type) {
	case glua.LString:
		return truncate(string(v), 1024)
	case glua.LNumber:
		return float64(v)
	case glua.LBool:
		return bool(v)
	case *glua.LNilType:
		return nil
	case *glua.LTable:
		if x, err := fromLua(v, 0); err == nil {
			return x
		}
	}
	return v.String()
}
