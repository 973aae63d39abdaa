package lua

import (
	"context"
	"fmt"
	"math"
	"strings"
	"sync/atomic"
	"time"
	"unsafe"

	glua "github.com/yuin/gopher-lua"

	"github.com/jimbot/jimbot/plugins/lua/internal/luapat"
)

// Limits of every LState. They are variables so that tests can see them;
// scripts cannot change them.
const (
	// callStackSize bounds Lua call depth: unbounded recursion fails with
	// "stack overflow" instead of eating memory.
	callStackSize = 200
	// registrySize is the initial value stack; it grows by
	// registryGrowStep up to registryMaxSize ("registry overflow").
	registrySize     = 1024 * 4
	registryMaxSize  = 1024 * 256
	registryGrowStep = 256
	// maxStringDefault caps the strings the string functions and `..`
	// make (Options.MaxString).
	maxStringDefault = 1 << 20
	// maxCoroutinesPerCall caps coroutine.create/wrap per call: each
	// coroutine is a new LState with its own stacks.
	maxCoroutinesPerCall = 256
	// maxFormatWidth is the widest %5.2f a format may ask for, as in C Lua.
	maxFormatWidth = 99
)

// guard is the per-LState bookkeeping of the bounded library functions.
type guard struct {
	maxString  int
	coroutines int // made in the current call
	// huge records that a cap on string size was hit during the current
	// call, even if the script caught the error with pcall: the call is
	// treated as a runaway. runaway does the same for other caps.
	huge    string
	runaway string
}

// newCoroutine runs coroutine.create or coroutine.wrap so that the new
// thread shares the state's long-lived context instead of getting a child
// of it: gopher-lua's NewThread derives a child context that nobody
// cancels, and a long-lived parent would keep every one of them for
// good. Sharing the context also means the watchdog's cancel stops
// coroutines too.
func newCoroutine(L *glua.LState, orig glua.LGFunction) int {
	ctx := L.RemoveContext()
	defer func() {
		if ctx != nil {
			L.SetContext(ctx)
		}
	}()
	n := orig(L)
	if ctx == nil {
		return n
	}
	var th *glua.LState
	switch v := L.Get(-1).(type) {
	case *glua.LState:
		th = v
	case *glua.LFunction: // coroutine.wrap: the thread is the closure's upvalue
		if len(v.Upvalues) > 0 {
			th, _ = v.Upvalues[0].Value().(*glua.LState)
		}
	}
	if th != nil {
		th.SetContext(ctx)
	}
	return n
}

// newSandbox returns an LState with only the safe libraries: base
// (without the loaders, collectgarbage, the environment functions and
// newproxy), package (preload-only require), table, string (bounded rep,
// format, gsub), math and coroutine (bounded). io, os, debug and channel
// are never opened, and SetMx is never called.
func newSandbox(g *guard, print glua.LGFunction) *glua.LState {
	L := glua.NewState(glua.Options{
		SkipOpenLibs:     true,
		CallStackSize:    callStackSize,
		RegistrySize:     registrySize,
		RegistryMaxSize:  registryMaxSize,
		RegistryGrowStep: registryGrowStep,
	})
	for _, lib := range []struct {
		name string
		fn   glua.LGFunction
	}{
		{glua.LoadLibName, glua.OpenPackage},
		{glua.BaseLibName, glua.OpenBase},
		{glua.TabLibName, glua.OpenTable},
		{glua.StringLibName, glua.OpenString},
		{glua.MathLibName, glua.OpenMath},
		{glua.CoroutineLibName, glua.OpenCoroutine},
	} {
		L.Push(L.NewFunction(lib.fn))
		L.Push(glua.LString(lib.name))
		L.Call(1, 0)
	}
	G := L.G.Global
	for _, name := range []string{"dofile", "loadfile", "load", "loadstring", "collectgarbage",
		"getfenv", "setfenv", "module", "newproxy", "_printregs", "_GOPHER_LUA_VERSION"} {
		G.RawSetString(name, glua.LNil)
	}
	G.RawSetString("print", L.NewFunction(print))

	// require resolves package.preload only: drop the file loader from
	// the loaders table that require really uses (the registry's), and
	// clear the search paths.
	pkg := G.RawGetString("package").(*glua.LTable)
	if loaders, ok := L.GetField(L.Get(glua.RegistryIndex), "_LOADERS").(*glua.LTable); ok {
		for i := loaders.Len(); i > 1; i-- {
			loaders.RawSetInt(i, glua.LNil)
		}
	}
	pkg.RawSetString("path", glua.LString(""))
	pkg.RawSetString("cpath", glua.LString(""))
	pkg.RawSetString("loadlib", glua.LNil)

	str := G.RawGetString("string").(*glua.LTable)
	format := str.RawGetString("format").(*glua.LFunction).GFunction
	str.RawSetString("rep", L.NewFunction(g.strRep))
	str.RawSetString("format", L.NewFunction(func(L *glua.LState) int { return g.strFormat(L, format) }))
	str.RawSetString("gsub", L.NewFunction(g.strGsub))
	str.RawSetString("find", L.NewFunction(strFind))
	str.RawSetString("match", L.NewFunction(strMatch))
	str.RawSetString("gmatch", L.NewFunction(strGmatch))
	str.RawSetString("dump", glua.LNil)

	tbl := G.RawGetString("table").(*glua.LTable)
	tbl.RawSetString("concat", L.NewFunction(g.tableConcat))

	co := G.RawGetString("coroutine").(*glua.LTable)
	for _, name := range []string{"create", "wrap"} {
		orig := co.RawGetString(name).(*glua.LFunction).GFunction
		co.RawSetString(name, L.NewFunction(func(L *glua.LState) int {
			if g.coroutines++; g.coroutines > maxCoroutinesPerCall {
				g.runaway = "too many coroutines"
				L.RaiseError("too many coroutines in one call (limit %d)", maxCoroutinesPerCall)
			}
			return newCoroutine(L, orig)
		}))
	}
	// The hidden concatenation function every `..` calls (see
	// rewriteChunk).
	G.RawSetString(catName, L.NewFunction(g.cat))
	return L
}

// tooLong raises the error for a string over the cap and records it.
func (g *guard) tooLong(L *glua.LState, what string) {
	g.huge = fmt.Sprintf("%s would make a string over %d bytes", what, g.maxString)
	L.RaiseError("%s: string too long (limit %d bytes)", what, g.maxString)
}

// cat is `..`: strings and numbers are joined (within the cap); other
// values go through __concat, right to left as in the VM.
func (g *guard) cat(L *glua.LState) int {
	n := L.GetTop()
	total := 0
	simple := true
	for i := 1; i <= n; i++ {
		switch v := L.Get(i).(type) {
		case glua.LString:
			total += len(v)
		case glua.LNumber:
			total += 24
		default:
			simple = false
		}
	}
	if simple {
		if total > g.maxString {
			// Numbers were estimated; measure exactly before refusing.
			total = 0
			for i := 1; i <= n; i++ {
				total += len(glua.LVAsString(L.Get(i)))
			}
			if total > g.maxString {
				g.tooLong(L, "'..'")
			}
		}
		var b strings.Builder
		b.Grow(total)
		for i := 1; i <= n; i++ {
			b.WriteString(glua.LVAsString(L.Get(i)))
		}
		L.Push(glua.LString(b.String()))
		return 1
	}
	acc := L.Get(n)
	for i := n - 1; i >= 1; i-- {
		acc = g.cat2(L, L.Get(i), acc)
	}
	L.Push(acc)
	return 1
}

func (g *guard) cat2(L *glua.LState, a, b glua.LValue) glua.LValue {
	if glua.LVCanConvToString(a) && glua.LVCanConvToString(b) {
		sa, sb := glua.LVAsString(a), glua.LVAsString(b)
		if len(sa)+len(sb) > g.maxString {
			g.tooLong(L, "'..'")
		}
		return glua.LString(sa + sb)
	}
	mm := L.GetMetaField(a, "__concat")
	if mm == glua.LNil {
		mm = L.GetMetaField(b, "__concat")
	}
	if mm == glua.LNil {
		bad := a
		if glua.LVCanConvToString(a) {
			bad = b
		}
		L.RaiseError("attempt to concatenate a %s value", bad.Type().String())
	}
	L.Push(mm)
	L.Push(a)
	L.Push(b)
	L.Call(2, 1)
	v := L.Get(-1)
	L.Pop(1)
	return v
}

// strRep is string.rep(s, n [, sep]) within the cap.
func (g *guard) strRep(L *glua.LState) int {
	s := L.CheckString(1)
	n := L.CheckNumber(2)
	sep := L.OptString(3, "")
	if n < 1 || math.IsNaN(float64(n)) {
		L.Push(glua.LString(""))
		return 1
	}
	count := float64(int64(n))
	size := count*float64(len(s)) + (count-1)*float64(len(sep))
	if size > float64(g.maxString) {
		g.tooLong(L, "string.rep")
	}
	var b strings.Builder
	b.Grow(int(size))
	for i := int64(0); i < int64(count); i++ {
		if i > 0 {
			b.WriteString(sep)
		}
		b.WriteString(s)
	}
	L.Push(glua.LString(b.String()))
	return 1
}

// strFormat checks the widths and the size of string.format's result,
// then formats with gopher-lua's implementation.
func (g *guard) strFormat(L *glua.LState, format glua.LGFunction) int {
	f := L.CheckString(1)
	estimate := len(f)
	for i := 0; i < len(f); i++ {
		if f[i] != '%' {
			continue
		}
		i++
		if i < len(f) && f[i] == '%' {
			continue
		}
		for i < len(f) && strings.IndexByte("-+ #0", f[i]) >= 0 {
			i++
		}
		w := 0
		for i < len(f) && f[i] >= '0' && f[i] <= '9' {
			w = w*10 + int(f[i]-'0')
			if w > maxFormatWidth {
				L.RaiseError("invalid format (width or precision over %d)", maxFormatWidth)
			}
			i++
		}
		if i < len(f) && f[i] == '.' {
			i++
			p := 0
			for i < len(f) && f[i] >= '0' && f[i] <= '9' {
				p = p*10 + int(f[i]-'0')
				if p > maxFormatWidth {
					L.RaiseError("invalid format (width or precision over %d)", maxFormatWidth)
				}
				i++
			}
			w += p
		}
		estimate += w + 32
	}
	for i := 2; i <= L.GetTop(); i++ {
		if s, ok := L.Get(i).(glua.LString); ok {
			estimate += len(s)
		}
	}
	if estimate > g.maxString {
		g.tooLong(L, "string.format")
	}
	return format(L)
}

// strGsub is string.gsub, linear in the size of its result (gopher-lua's
// copies the whole string for every match) and within the cap.
func (g *guard) strGsub(L *glua.LState) int {
	str := L.CheckString(1)
	pat := L.CheckString(2)
	L.CheckTypes(3, glua.LTString, glua.LTNumber, glua.LTTable, glua.LTFunction)
	repl := L.Get(3)
	limit := L.OptInt(4, -1)
	mds := findPattern(L, pat, str, 0, limit)
	var b strings.Builder
	last := 0
	for _, m := range mds {
		start, end := m.Capture(0), m.Capture(1)
		b.WriteString(str[last:start])
		rep, keep := g.replacement(L, repl, m, str)
		if keep {
			b.WriteString(str[start:end])
		} else {
			b.WriteString(rep)
		}
		last = end
		if b.Len() > g.maxString {
			g.tooLong(L, "string.gsub")
		}
	}
	b.WriteString(str[last:])
	if b.Len() > g.maxString {
		g.tooLong(L, "string.gsub")
	}
	L.Push(glua.LString(b.String()))
	L.Push(glua.LNumber(len(mds)))
	return 2
}

// capture returns capture idx (0 is the whole match; a match without
// captures has its whole match as capture 1), as gsub passes it.
func capture(L *glua.LState, m *luapat.MatchData, str string, n int) glua.LValue {
	idx := 2 * n
	if n == 0 || (n == 1 && m.CaptureLength() == 2) {
		idx = 0
	} else if idx >= m.CaptureLength() {
		L.RaiseError("invalid capture index %%%d", n)
	}
	if m.IsPosCapture(idx) {
		return glua.LNumber(m.Capture(idx))
	}
	return glua.LString(str[m.Capture(idx):m.Capture(idx+1)])
}

func (g *guard) replacement(L *glua.LState, repl glua.LValue, m *luapat.MatchData, str string) (string, bool) {
	switch r := repl.(type) {
	case glua.LString, glua.LNumber:
		tpl := glua.LVAsString(r)
		if strings.IndexByte(tpl, '%') < 0 {
			return tpl, false
		}
		var b strings.Builder
		for i := 0; i < len(tpl); i++ {
			c := tpl[i]
			if c != '%' {
				b.WriteByte(c)
				continue
			}
			i++
			switch {
			case i == len(tpl):
				L.RaiseError("invalid use of '%%' in replacement string")
			case tpl[i] == '%':
				b.WriteByte('%')
			case tpl[i] >= '0' && tpl[i] <= '9':
				b.WriteString(glua.LVAsString(capture(L, m, str, int(tpl[i]-'0'))))
			default:
				L.RaiseError("invalid use of '%%' in replacement string")
			}
			if b.Len() > g.maxString {
				g.tooLong(L, "string.gsub")
			}
		}
		return b.String(), false
	case *glua.LTable:
		v := L.GetTable(r, capture(L, m, str, 1))
		return g.replValue(L, v)
	case *glua.LFunction:
		L.Push(r)
		nargs := 1
		if m.CaptureLength() > 2 {
			nargs = m.CaptureLength()/2 - 1
		}
		for i := 1; i <= nargs; i++ {
			L.Push(capture(L, m, str, i))
		}
		L.Call(nargs, 1)
		v := L.Get(-1)
		L.Pop(1)
		return g.replValue(L, v)
	}
	return "", true
}

func (g *guard) replValue(L *glua.LState, v glua.LValue) (string, bool) {
	switch v := v.(type) {
	case glua.LString:
		return string(v), false
	case glua.LNumber:
		return v.String(), false
	case *glua.LNilType:
		return "", true
	case glua.LBool:
		if !bool(v) {
			return "", true
		}
	}
	L.RaiseError("invalid replacement value (a %s)", v.Type().String())
	return "", true
}

// tableConcat is table.concat within the cap.
func (g *guard) tableConcat(L *glua.LState) int {
	tbl := L.CheckTable(1)
	sep := L.OptString(2, "")
	i := L.OptInt(3, 1)
	j := L.OptInt(4, tbl.Len())
	var b strings.Builder
	for k := i; k <= j; k++ {
		v := tbl.RawGetInt(k)
		if !glua.LVCanConvToString(v) {
			L.RaiseError("invalid value (%s) at index %d in table for concat", v.Type().String(), k)
		}
		if k > i {
			b.WriteString(sep)
		}
		b.WriteString(glua.LVAsString(v))
		if b.Len() > g.maxString {
			g.tooLong(L, "table.concat")
		}
	}
	L.Push(glua.LString(b.String()))
	return 1
}

// stopCtx is the long-lived context of a state. gopher-lua checks
// Done before every VM instruction, so Done must be as cheap as a field
// read: a context.WithCancel context loads an atomic and asserts a type
// on every call, which costs a tenth of a script's time in a tight loop.
type stopCtx struct {
	done    chan struct{}
	stopped atomic.Bool
}

func newStopCtx() *stopCtx { return &stopCtx{done: make(chan struct{})} }

// stop cancels the context; later calls do nothing.
func (c *stopCtx) stop() {
	if c.stopped.CompareAndSwap(false, true) {
		close(c.done)
	}
}

// Deadline implements context.Context: a state has no deadline, the
// watchdog stops it.
func (c *stopCtx) Deadline() (time.Time, bool) { return time.Time{}, false }

// Done implements context.Context.
func (c *stopCtx) Done() <-chan struct{} { return c.done }

// Err implements context.Context.
func (c *stopCtx) Err() error {
	if c.stopped.Load() {
		return context.Canceled
	}
	return nil
}

// Value implements context.Context.
func (c *stopCtx) Value(any) any { return nil }

// The pattern functions (string.find, match, gmatch and gsub) are
// gopher-lua's, on its matcher copied into luapat so that the time budget
// can stop a match: gopher-lua's backtracks without bound and never looks
// at the context, so a small pattern could hang the script's goroutine
// for ever.

// findPattern returns up to limit matches (all when negative) of pat in
// str from byte offset init, raising a Lua error for a bad pattern or a
// match stopped by the time budget.
func findPattern(L *glua.LState, pat, str string, init, limit int) []*luapat.MatchData {
	var stop <-chan struct{}
	if ctx := L.Context(); ctx != nil {
		stop = ctx.Done()
	}
	// The matcher only reads src: no need to copy the string.
	mds, err := luapat.Find(pat, unsafe.Slice(unsafe.StringData(str), len(str)), init, limit, stop)
	if err == luapat.ErrInterrupted {
		L.RaiseError("pattern matching stopped: the call ran past its time budget")
	} else if err != nil {
		L.RaiseError("%s", err.Error())
	}
	return mds
}

// pushCaptures pushes a match's captures (positions as numbers) and
// returns how many.
func pushCaptures(L *glua.LState, m *luapat.MatchData, str string) int {
	for i := 2; i < m.CaptureLength(); i += 2 {
		if m.IsPosCapture(i) {
			L.Push(glua.LNumber(m.Capture(i)))
		} else {
			L.Push(glua.LString(str[m.Capture(i):m.Capture(i+1)]))
		}
	}
	return m.CaptureLength()/2 - 1
}

// strFind is string.find(s, pattern [, init [, plain]]).
func strFind(L *glua.LState) int {
	str := L.CheckString(1)
	pat := L.CheckString(2)
	if len(pat) == 0 {
		L.Push(glua.LNumber(1))
		L.Push(glua.LNumber(0))
		return 2
	}
	init := L.OptInt(3, 1)
	if init > 0 {
		init--
	} else if init < 0 {
		init = max(len(str)+init, 0)
	}
	if L.GetTop() == 4 && glua.LVAsBool(L.Get(4)) {
		if init > len(str) {
			L.Push(glua.LNil)
			return 1
		}
		pos := strings.Index(str[init:], pat)
		if pos < 0 {
			L.Push(glua.LNil)
			return 1
		}
		L.Push(glua.LNumber(init + pos + 1))
		L.Push(glua.LNumber(init + pos + len(pat)))
		return 2
	}
	mds := findPattern(L, pat, str, init, 1)
	if len(mds) == 0 {
		L.Push(glua.LNil)
		return 1
	}
	m := mds[0]
	L.Push(glua.LNumber(m.Capture(0) + 1))
	L.Push(glua.LNumber(m.Capture(1)))
	return 2 + pushCaptures(L, m, str)
}

// strMatch is string.match(s, pattern [, init]): nil when nothing matches.
func strMatch(L *glua.LState) int {
	str := L.CheckString(1)
	pat := L.CheckString(2)
	init := L.OptInt(3, 1)
	if init < 0 {
		init = len(str) + init + 1
	}
	init = max(init-1, 0)
	mds := findPattern(L, pat, str, init, 1)
	if len(mds) == 0 {
		L.Push(glua.LNil)
		return 1
	}
	m := mds[0]
	if m.CaptureLength() == 2 {
		L.Push(glua.LString(str[m.Capture(0):m.Capture(1)]))
		return 1
	}
	return pushCaptures(L, m, str)
}

// strGmatch is string.gmatch(s, pattern): the matches are found at once,
// within the call's budget, and the iterator hands them out.
func strGmatch(L *glua.LState) int {
	str := L.CheckString(1)
	pat := L.CheckString(2)
	mds := findPattern(L, pat, str, 0, -1)
	next := 0
	L.Push(L.NewFunction(func(L *glua.LState) int {
		if next == len(mds) {
			return 0
		}
		m := mds[next]
		next++
		if m.CaptureLength() == 2 {
			L.Push(glua.LString(str[m.Capture(0):m.Capture(1)]))
			return 1
		}
		return pushCaptures(L, m, str)
	}))
	return 1
}
