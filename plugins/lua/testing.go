package lua

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	glua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/ast"
	"github.com/yuin/gopher-lua/parse"

	"github.com/jimbot/jimbot/bot"
	"github.com/jimbot/jimbot/bot/bottest"
	"github.com/jimbot/jimbot/jmessage"
	"github.com/jimbot/jimbot/jmessage/jmtest"
	"github.com/jimbot/jimbot/plugins/lua/internal/luapat"
)

// Summary is the outcome of RunTests.
type Summary struct {
	// Files is the number of test files run.
	Files int
	// Passed and Failed count test functions; a test file that does not
	// load counts as one failure.
	Passed, Failed int
	// Results lists every test in the order run.
	Results []TestResult
	// Duration is the wall time of the run.
	Duration time.Duration
}

// TestResult is one test function's outcome.
type TestResult struct {
	File     string // the *_test.lua file
	Name     string // the test function, e.g. "test_roll"
	Passed   bool
	Message  string // the failure, with its file:line
	Duration time.Duration
}

// testFile is a *_test.lua file and the script it tests.
type testFile struct {
	path   string
	script string
	proto  *glua.FunctionProto
	tests  []string // test_* functions in the order defined
	setup  bool     // it defines setup(t)
}

// RunTests runs the Lua tests (*_test.lua) found in paths (files, or
// folders searched recursively; a script file stands for its test file)
// against the real runtime, as `jimbot test` does. It prints one line per
// test and a summary to out. The error is only for paths that cannot be
// read or hold no tests; failing tests are counted in the Summary (the
// CLI should exit non-zero when Failed > 0).
//
// Each test function gets a fresh bot with the script under test, a test
// server with virtual users, and a fake clock (see bot/bottest).
func RunTests(ctx context.Context, paths []string, out io.Writer) (Summary, error) {
	start := time.Now()
	var sum Summary
	files, err := findTests(paths)
	if err != nil {
		return sum, err
	}
	// jmtest's logger asks testing.Verbose, which panics unless the
	// command line was parsed; outside `go test` nobody parses it.
	if !flag.Parsed() {
		_ = flag.CommandLine.Parse(nil)
	}
	for _, path := range files {
		if ctx.Err() != nil {
			break
		}
		sum.Files++
		fmt.Fprintf(out, "--- %s\n", path)
		tf, err := loadTestFile(path)
		if err != nil {
			r := TestResult{File: path, Name: "(load)", Message: err.Error()}
			sum.Failed++
			sum.Results = append(sum.Results, r)
			fmt.Fprintf(out, "FAIL %s\n%s\n", r.Name, indent(r.Message))
			continue
		}
		for _, name := range tf.tests {
			if ctx.Err() != nil {
				break
			}
			tb := newShimTB(path + ":" + name)
			t0 := time.Now()
			msg, logs := runLuaTest(ctx, tb, tf, name)
			tb.cleanup()
			r := TestResult{File: path, Name: name, Passed: msg == "", Message: msg, Duration: time.Since(t0)}
			sum.Results = append(sum.Results, r)
			if r.Passed {
				sum.Passed++
				fmt.Fprintf(out, "ok   %s (%.2fs)\n", name, r.Duration.Seconds())
			} else {
				sum.Failed++
				fmt.Fprintf(out, "FAIL %s (%.2fs)\n%s\n", name, r.Duration.Seconds(), indent(msg))
				if logs != "" {
					fmt.Fprintf(out, "     log:\n%s\n", indent(indent(lastLines(logs, 30))))
				}
			}
		}
	}
	sum.Duration = time.Since(start)
	status := "PASS"
	if sum.Failed > 0 {
		status = "FAIL"
	}
	fmt.Fprintf(out, "%s: %d passed, %d failed, %d file(s) in %.2fs\n", status, sum.Passed, sum.Failed, sum.Files, sum.Duration.Seconds())
	return sum, nil
}

// TestFiles runs the Lua tests found in paths as Go subtests (one per
// file, one per test function), so `go test` runs them too:
//
//	func TestScripts(t *testing.T) { lua.TestFiles(t, "../../scripts") }
func TestFiles(t *testing.T, paths ...string) {
	t.Helper()
	files, err := findTests(paths)
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			tf, err := loadTestFile(path)
			if err != nil {
				t.Fatal(err)
			}
			for _, name := range tf.tests {
				t.Run(name, func(t *testing.T) {
					msg, logs := runLuaTest(context.Background(), t, tf, name)
					if msg != "" {
						if logs != "" {
							t.Log("script log:\n" + lastLines(logs, 40))
						}
						t.Error(msg)
					}
				})
			}
		})
	}
}

func indent(s string) string {
	return "     " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n     ")
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = append([]string{"…"}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}

// findTests expands paths into test files.
func findTests(paths []string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	add := func(p string) {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("lua test: %w", err)
		}
		switch {
		case fi.IsDir():
			err := filepath.WalkDir(p, func(file string, d fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				if !d.IsDir() && isTestFile(d.Name()) {
					add(file)
				}
				return nil
			})
			if err != nil {
				return nil, fmt.Errorf("lua test: %w", err)
			}
		case isTestFile(fi.Name()):
			add(p)
		case strings.HasSuffix(p, ".lua"):
			t := strings.TrimSuffix(p, ".lua") + "_test.lua"
			if _, err := os.Stat(t); err != nil {
				return nil, fmt.Errorf("lua test: %s has no test file (%s)", p, t)
			}
			add(t)
		default:
			return nil, fmt.Errorf("lua test: %s is not a .lua file or a folder", p)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("lua test: no *_test.lua files in %s", strings.Join(paths, ", "))
	}
	return out, nil
}

// scriptUnderTest finds the script a test file tests: roll_test.lua
// tests roll.lua (or the folder roll/) beside it; init_test.lua and
// <folder>_test.lua inside a script folder test that folder.
func scriptUnderTest(path string) (string, error) {
	dir := filepath.Dir(path)
	base := strings.TrimSuffix(filepath.Base(path), "_test.lua")
	exists := func(p string) bool { _, err := os.Stat(p); return err == nil }
	switch {
	case (base == "init" || base == filepath.Base(dir)) && exists(filepath.Join(dir, "init.lua")):
		return dir, nil
	case exists(filepath.Join(dir, base+".lua")):
		return filepath.Join(dir, base+".lua"), nil
	case exists(filepath.Join(dir, base, "init.lua")):
		return filepath.Join(dir, base), nil
	}
	return "", fmt.Errorf("%s: no script to test (want %s.lua or %s/init.lua beside it)", path, base, base)
}

func loadTestFile(path string) (*testFile, error) {
	script, err := scriptUnderTest(path)
	if err != nil {
		return nil, err
	}
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	tf := &testFile{path: path, script: script}
	chunk, err := parse.Parse(bytes.NewReader(src), path)
	if err != nil {
		return nil, syntaxError(path, err)
	}
	for _, st := range chunk {
		var name string
		switch st := st.(type) {
		case *ast.FuncDefStmt:
			if id, ok := st.Name.Func.(*ast.IdentExpr); ok && st.Name.Receiver == nil {
				name = id.Value
			}
		case *ast.AssignStmt:
			if len(st.Lhs) == 1 && len(st.Rhs) == 1 {
				if id, ok := st.Lhs[0].(*ast.IdentExpr); ok {
					if _, ok := st.Rhs[0].(*ast.FunctionExpr); ok {
						name = id.Value
					}
				}
			}
		}
		switch {
		case strings.HasPrefix(name, "test_"):
			tf.tests = append(tf.tests, name)
		case name == "setup":
			tf.setup = true
		}
	}
	if len(tf.tests) == 0 {
		return nil, fmt.Errorf("%s: no test_* functions", path)
	}
	if tf.proto, err = compileSource(src, path); err != nil {
		return nil, err
	}
	return tf, nil
}

// tbFailure is how a failing bottest expectation (t.Fatalf) comes back
// to the Lua binding that called it, to be raised as a Lua error at the
// test's line.
type tbFailure struct{ msg string }

// failTB turns the failures of the wrapped testing.TB into tbFailure
// panics.
type failTB struct{ testing.TB }

func (f failTB) Helper()                        {}
func (f failTB) Fatalf(format string, a ...any) { panic(tbFailure{fmt.Sprintf(format, a...)}) }
func (f failTB) Fatal(a ...any)                 { panic(tbFailure{fmt.Sprint(a...)}) }
func (f failTB) Errorf(format string, a ...any) { panic(tbFailure{fmt.Sprintf(format, a...)}) }
func (f failTB) Error(a ...any)                 { panic(tbFailure{fmt.Sprint(a...)}) }
func (f failTB) FailNow()                       { panic(tbFailure{"test failed"}) }

// shimTB is the testing.TB that bottest gets outside `go test`. Only the
// methods bottest and jmtest use are implemented.
type shimTB struct {
	testing.TB
	name string

	mu       sync.Mutex
	cleanups []func()
	dirs     []string
	failed   bool
}

func newShimTB(name string) *shimTB { return &shimTB{name: name} }

func (s *shimTB) Name() string              { return s.name }
func (s *shimTB) Helper()                   {}
func (s *shimTB) Log(args ...any)           {}
func (s *shimTB) Logf(string, ...any)       {}
func (s *shimTB) Failed() bool              { s.mu.Lock(); defer s.mu.Unlock(); return s.failed }
func (s *shimTB) fail()                     { s.mu.Lock(); s.failed = true; s.mu.Unlock() }
func (s *shimTB) Fail()                     { s.fail() }
func (s *shimTB) FailNow()                  { s.fail(); panic(tbFailure{"test failed"}) }
func (s *shimTB) Fatal(a ...any)            { s.fail(); panic(tbFailure{fmt.Sprint(a...)}) }
func (s *shimTB) Fatalf(f string, a ...any) { s.fail(); panic(tbFailure{fmt.Sprintf(f, a...)}) }
func (s *shimTB) Error(a ...any)            { s.fail(); panic(tbFailure{fmt.Sprint(a...)}) }
func (s *shimTB) Errorf(f string, a ...any) { s.fail(); panic(tbFailure{fmt.Sprintf(f, a...)}) }
func (s *shimTB) Context() context.Context  { return context.Background() }

func (s *shimTB) Cleanup(f func()) {
	s.mu.Lock()
	s.cleanups = append(s.cleanups, f)
	s.mu.Unlock()
}

func (s *shimTB) TempDir() string {
	dir, err := os.MkdirTemp("", "jimbot-test-")
	if err != nil {
		panic(tbFailure{"TempDir: " + err.Error()})
	}
	s.mu.Lock()
	s.dirs = append(s.dirs, dir)
	s.mu.Unlock()
	return dir
}

// cleanup runs the cleanups, last first, and removes the temp dirs.
func (s *shimTB) cleanup() {
	s.mu.Lock()
	fns, dirs := s.cleanups, s.dirs
	s.cleanups, s.dirs = nil, nil
	s.mu.Unlock()
	for i := len(fns) - 1; i >= 0; i-- {
		func() {
			defer func() { _ = recover() }()
			fns[i]()
		}()
	}
	for _, d := range dirs {
		os.RemoveAll(d)
	}
}

// harness is the `t` of one Lua test: a lazily started kit with the
// script under test, and virtual users whose messages from the bot are
// tracked per conversation (a group, or a user's 1:1 chat with the bot):
// each expectation takes the next message of its conversation that no
// expectation took yet, whichever member looks.
type harness struct {
	stop   <-chan struct{} // closed when the test file's time is up
	tb     testing.TB
	tf     *testFile
	logs   *jmtest.Buffer
	kit    *bottest.Kit
	script *Script

	admins   []string
	settings bot.Settings
	groups   map[string]int64
	lastUser string
	lastGid  int64

	mu    sync.Mutex
	users map[string]*vuser
	taken map[jmessage.ID]bool // messages an expectation consumed
}

// vuser is a virtual user with its own client.
type vuser struct {
	name   string
	client *jmessage.Client
	mu     sync.Mutex
	msgs   []*jmessage.Message // from the bot, in arrival order
	notify chan struct{}
}

func (u *vuser) pump() {
	for in := range u.client.Inbound() {
		if m := in.Message; m != nil && m.Content.FromID == bottest.BotName {
			u.mu.Lock()
			u.msgs = append(u.msgs, m)
			u.mu.Unlock()
			select {
			case u.notify <- struct{}{}:
			default:
			}
		}
		_ = in.Ack(context.Background())
	}
}

// runLuaTest runs one test function; it returns "" or the failure, and
// the script's log.
func runLuaTest(ctx context.Context, tb testing.TB, tf *testFile, name string) (failure, logs string) {
	h := &harness{tb: failTB{tb}, tf: tf, logs: &jmtest.Buffer{Max: 1 << 20}, groups: map[string]int64{},
		users: map[string]*vuser{}, taken: map[jmessage.ID]bool{}}
	g := &guard{maxString: 16 << 20}
	L := newSandbox(g, func(L *glua.LState) int {
		parts := make([]string, L.GetTop())
		for i := range parts {
			parts[i] = L.ToStringMeta(L.Get(i + 1)).String()
		}
		fmt.Fprintf(h.logs, "print: %s\n", strings.Join(parts, "\t"))
		return 0
	})
	defer L.Close()
	tctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	L.SetContext(tctx)
	h.stop = tctx.Done()
	preload := L.GetField(L.GetField(L.Get(glua.GlobalsIndex), "package"), "preload").(*glua.LTable)
	jm := jsonModule(L)
	tm := timeModule(L, h.now)
	preload.RawSetString("json", L.NewFunction(func(L *glua.LState) int { L.Push(jm); return 1 }))
	preload.RawSetString("time", L.NewFunction(func(L *glua.LState) int { L.Push(tm); return 1 }))
	t := h.table(L)
	defer func() {
		if r := recover(); r != nil {
			if f, ok := r.(tbFailure); ok {
				failure = f.msg
			} else {
				failure = fmt.Sprintf("panic: %v", r)
			}
		}
		logs = h.logs.String()
	}()
	run := func(fn glua.LValue) error {
		return L.CallByParam(glua.P{Fn: fn, NRet: 0, Protect: true}, t)
	}
	if err := L.CallByParam(glua.P{Fn: L.NewFunctionFromProto(tf.proto), NRet: 0, Protect: true}); err != nil {
		return luaFailure(err), h.logs.String()
	}
	if tf.setup {
		if err := run(L.GetGlobal("setup")); err != nil {
			return luaFailure(err), h.logs.String()
		}
	}
	if err := run(L.GetGlobal(name)); err != nil {
		return luaFailure(err), h.logs.String()
	}
	return "", h.logs.String()
}

func luaFailure(err error) string {
	msg, tb := splitLuaError(err)
	if msg == "" {
		return err.Error()
	}
	if !strings.Contains(msg, ".lua:") && tb != "" {
		msg += "\n" + tb
	}
	return msg
}

var defaultStart = time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)

func (h *harness) now() time.Time {
	if h.kit != nil {
		return h.kit.Now()
	}
	return defaultStart
}

// start builds the kit on first use: t:admin and t:config must come
// before.
func (h *harness) start() *bottest.Kit {
	if h.kit != nil {
		return h.kit
	}
	ps, err := Load(Options{Scripts: []string{h.tf.script}, Settings: map[string]bot.Settings{}})
	if err != nil {
		panic(tbFailure{err.Error()})
	}
	h.script = ps[0].(*Script)
	// The failure report shows the script's own log: its prints, bot.log
	// calls and handler errors.
	logger := slog.New(filterHandler{slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}), h.script.id})
	h.kit = bottest.New(h.tb, bottest.PluginWithSettings(h.script, h.settings), bottest.Admins(h.admins...),
		bottest.BotOptions(func(o *bot.Options) { o.Logger = logger }))
	// The usual names exist from the start, so the bot can message them
	// before a test makes them speak.
	for _, name := range append(append([]string(nil), presetUsers...), h.admins...) {
		h.ensureUser(name)
	}
	return h.kit
}

// presetUsers exist on the test server before each test runs.
var presetUsers = []string{"alice", "bobby", "carol", "dave", "erin"}

func (h *harness) ensureUser(name string) {
	k := h.kit
	if _, err := k.Server.EnsureUser(k.Server.AppKey, name, jmtest.Password(name), ""); err != nil {
		failf("user %s: %v", name, err)
	}
}

// binding wraps a t method: failures (a bottest expectation, or ours)
// become Lua errors at the caller's line.
func (h *harness) binding(name string, f func(L *glua.LState) int) glua.LGFunction {
	return func(L *glua.LState) (n int) {
		defer func() {
			if r := recover(); r != nil {
				if f, ok := r.(tbFailure); ok {
					L.RaiseError("t:%s: %s", name, strings.TrimPrefix(f.msg, "bottest: "))
				}
				panic(r)
			}
		}()
		return f(L)
	}
}

func failf(format string, a ...any) { panic(tbFailure{fmt.Sprintf(format, a...)}) }

// gid resolves a group argument: a name from t:group, or a gid.
func (h *harness) gid(v glua.LValue) int64 {
	switch v := v.(type) {
	case glua.LNumber:
		return int64(v)
	case glua.LString:
		if gid, ok := h.groups[string(v)]; ok {
			return gid
		}
		failf("no group %q (make it with t:group)", string(v))
	case *glua.LNilType:
		if h.lastGid == 0 {
			failf("no group given, and the last message was not in a group")
		}
		return h.lastGid
	}
	failf("a group must be a name or a gid, not a %s", v.Type())
	return 0
}

func duration(v glua.LValue) time.Duration {
	switch v := v.(type) {
	case glua.LNumber:
		return time.Duration(float64(v) * float64(time.Second))
	case glua.LString:
		d, err := bot.ParseDuration(string(v))
		if err != nil {
			failf("%v", err)
		}
		return d
	}
	failf("want a duration such as \"10m\" or a number of seconds")
	return 0
}

// luaMatch reports whether text matches the Lua pattern; closing stop
// ends a match that runs too long.
func luaMatch(pattern, text string, stop <-chan struct{}) bool {
	mds, err := luapat.Find(pattern, []byte(text), 0, 1, stop)
	if err != nil {
		failf("bad pattern %q: %v", pattern, err)
	}
	return len(mds) > 0
}

// user returns the virtual user name, registering and connecting it on
// first use.
func (h *harness) user(name string) *vuser {
	k := h.start()
	h.mu.Lock()
	u := h.users[name]
	h.mu.Unlock()
	if u != nil {
		return u
	}
	if len(name) < 4 {
		failf("username %q: JMessage usernames have at least 4 characters", name)
	}
	h.ensureUser(name)
	u = &vuser{name: name, client: k.Server.Dial(h.tb, name), notify: make(chan struct{}, 1)}
	go u.pump()
	h.mu.Lock()
	h.users[name] = u
	h.mu.Unlock()
	return u
}

// say sends text as user (to the bot, or to group gid) and waits until
// the bot has handled it.
func (h *harness) say(user, text string, gid int64) {
	u := h.user(user)
	var sent *jmessage.Sent
	var err error
	if gid != 0 {
		// Work around the runtime computing handler deadlines from the
		// injected clock: under the kit's fake clock the event's context
		// is already past its deadline, so the bot's own lookup of the
		// group owner (for command permissions) fails. Looking the role
		// up here, with a real context, fills the bot's owner cache.
		h.kit.Bot.Role(context.Background(), bot.User{AppKey: h.kit.Server.AppKey, Username: user}, bot.Chat{Group: gid})
	}
	if gid == 0 {
		sent, err = u.client.SendSingle(context.Background(), bottest.BotName, jmessage.Text(text))
	} else {
		sent, err = u.client.SendGroup(context.Background(), jmessage.ID(gid), jmessage.Text(text))
	}
	if err != nil {
		failf("%s says %q: %v", user, text, err)
	}
	h.kit.WaitHandled("m:" + sent.MsgID.String())
	h.lastUser, h.lastGid = user, gid
}

// next returns the next message of the conversation (1:1 when gid is 0)
// that user received and no expectation took, waiting up to wait; nil
// if none came.
func (h *harness) next(user string, gid int64, wait time.Duration) *jmessage.Message {
	u := h.user(user)
	deadline := time.Now().Add(wait)
	for {
		u.mu.Lock()
		msgs := u.msgs
		u.mu.Unlock()
		h.mu.Lock()
		for _, m := range msgs {
			if int64(m.GroupID) == gid && !h.taken[m.ID] {
				h.mu.Unlock()
				return m
			}
		}
		h.mu.Unlock()
		left := time.Until(deadline)
		if left <= 0 {
			return nil
		}
		select {
		case <-u.notify:
		case <-time.After(left):
		}
	}
}

func where(user string, gid int64) string {
	if gid == 0 {
		return user + "'s 1:1 chat with the bot"
	}
	return fmt.Sprintf("group %d (as %s sees it)", gid, user)
}

// expectText takes the next message of the conversation and checks it
// against the Lua pattern.
func (h *harness) expectText(user string, gid int64, pattern string) string {
	m := h.next(user, gid, bottest.Wait)
	if m == nil {
		hint := ""
		if mo, re, an := h.kit.Bot.QueueLen(); mo+re+an > 0 {
			hint = fmt.Sprintf("; the bot still has %d action(s) queued", mo+re+an)
		}
		failf("no message from the bot in %s within %s (want one matching %q)%s", where(user, gid), bottest.Wait, pattern, hint)
	}
	h.mu.Lock()
	h.taken[m.ID] = true
	h.mu.Unlock()
	text := m.Content.Text()
	if !luaMatch(pattern, text, h.stop) {
		failf("the next message from the bot in %s was %q, which does not match %q", where(user, gid), text, pattern)
	}
	return text
}

// expectNothing fails if a message the tests did not take yet is in the
// conversation, or comes within d.
func (h *harness) expectNothing(user string, gid int64, d time.Duration) {
	if m := h.next(user, gid, d); m != nil {
		failf("the bot sent %q in %s; want nothing", m.Content.Text(), where(user, gid))
	}
}

// table makes the t object.
func (h *harness) table(L *glua.LState) *glua.LTable {
	t := L.NewTable()
	def := func(name string, f func(L *glua.LState) int) {
		t.RawSetString(name, L.NewFunction(h.binding(name, func(L *glua.LState) int {
			if L.Get(1) != t {
				failf("call it with a colon: t:%s(...)", name)
			}
			return f(L)
		})))
	}
	def("send_as", func(L *glua.LState) int {
		user, text := L.CheckString(2), L.CheckString(3)
		var gid int64
		if L.Get(4) != glua.LNil {
			gid = h.gid(L.Get(4))
		}
		h.say(user, text, gid)
		return 0
	})
	def("expect_reply", func(L *glua.LState) int {
		pattern := L.OptString(2, "")
		if h.lastUser == "" {
			failf("nobody said anything yet (use t:send_as first)")
		}
		L.Push(glua.LString(h.expectText(h.lastUser, h.lastGid, pattern)))
		return 1
	})
	def("expect_dm", func(L *glua.LState) int {
		user, pattern := L.CheckString(2), L.OptString(3, "")
		L.Push(glua.LString(h.expectText(user, 0, pattern)))
		return 1
	})
	def("expect_in", func(L *glua.LState) int {
		gid := h.gid(L.Get(2))
		pattern := L.OptString(3, "")
		user := L.OptString(4, h.lastUser)
		if user == "" {
			failf("say which member looks: t:expect_in(group, pattern, user)")
		}
		L.Push(glua.LString(h.expectText(user, gid, pattern)))
		return 1
	})
	def("expect_no_reply", func(L *glua.LState) int {
		d := 300 * time.Millisecond
		if L.Get(2) != glua.LNil {
			d = duration(L.Get(2))
		}
		if h.lastUser == "" {
			failf("nobody said anything yet (use t:send_as first)")
		}
		h.expectNothing(h.lastUser, h.lastGid, d)
		return 0
	})
	def("advance", func(L *glua.LState) int {
		h.advance(duration(L.Get(2)))
		return 0
	})
	def("expect_kick", func(L *glua.LState) int {
		user := L.CheckString(2)
		gid := h.gid(L.Get(3))
		h.start().ExpectRemoved(gid, user)
		return 0
	})
	def("expect_blacklisted", func(L *glua.LState) int {
		h.start().ExpectBlacklisted(L.CheckString(2))
		return 0
	})
	def("group", func(L *glua.LState) int {
		name := L.CheckString(2)
		var members []string
		for i := 3; i <= L.GetTop(); i++ {
			members = append(members, L.CheckString(i))
		}
		if len(members) == 0 {
			failf("t:group(name, owner, members...) needs at least the owner")
		}
		k := h.start()
		others := members[1:]
		if members[0] != bottest.BotName {
			// The bot joins as a member; it owns the group when named
			// first (only an owner may remove members).
			others = append(others, bottest.BotName)
		}
		for _, m := range members {
			if m != bottest.BotName {
				h.user(m)
			}
		}
		gid, err := k.Server.CreateGroup(k.Server.AppKey, members[0], name, "", others...)
		if err != nil {
			failf("create group %s: %v", name, err)
		}
		k.Settle()
		h.groups[name] = gid
		L.Push(glua.LNumber(gid))
		return 1
	})
	def("join", func(L *glua.LState) int {
		user := L.CheckString(2)
		gid := h.gid(L.Get(3))
		k := h.start()
		h.user(user)
		if err := k.Server.AddMembers(gid, k.Server.AppKey, user); err != nil {
			failf("add %s to group %d: %v", user, gid, err)
		}
		k.Settle()
		h.lastUser, h.lastGid = user, gid
		return 0
	})
	def("leave", func(L *glua.LState) int {
		user := L.CheckString(2)
		gid := h.gid(L.Get(3))
		k := h.start()
		if err := h.user(user).client.ExitGroup(context.Background(), jmessage.ID(gid)); err != nil {
			failf("%s leaves group %d: %v", user, gid, err)
		}
		k.Settle()
		return 0
	})
	def("admin", func(L *glua.LState) int {
		if h.kit != nil {
			failf("call t:admin before the first message (the bot is already running)")
		}
		for i := 2; i <= L.GetTop(); i++ {
			h.admins = append(h.admins, L.CheckString(i))
		}
		return 0
	})
	def("config", func(L *glua.LState) int {
		if h.kit != nil {
			failf("call t:config before the first message (the bot is already running)")
		}
		x, err := fromLua(L.CheckTable(2), 0)
		m, ok := x.(map[string]any)
		if err != nil || !ok {
			failf("config must be a table with string keys")
		}
		h.settings = m
		return 0
	})
	def("restart", func(L *glua.LState) int {
		h.start().Restart()
		return 0
	})
	def("now", func(L *glua.LState) int {
		L.Push(glua.LNumber(float64(h.now().UnixNano()) / 1e9))
		return 1
	})
	def("store", func(L *glua.LState) int {
		key := L.CheckString(2)
		k := h.start()
		data, err := k.Store.Namespace("plugin:" + h.script.id).Get(key)
		if err != nil {
			L.Push(glua.LNil)
			return 1
		}
		v, err := decodeJSON(L, data)
		if err != nil {
			failf("store %q: %v", key, err)
		}
		L.Push(v)
		return 1
	})
	def("log", func(L *glua.LState) int {
		parts := make([]string, 0, L.GetTop()-1)
		for i := 2; i <= L.GetTop(); i++ {
			parts = append(parts, L.ToStringMeta(L.Get(i)).String())
		}
		fmt.Fprintf(h.logs, "t:log: %s\n", strings.Join(parts, " "))
		return 0
	})
	def("eq", func(L *glua.LState) int {
		a, b := L.Get(2), L.Get(3)
		if !luaEqual(a, b, 0) {
			msg := L.OptString(4, "")
			if msg != "" {
				msg += ": "
			}
			failf("%sexpected %s, got %s", msg, show(b), show(a))
		}
		return 0
	})
	def("ok", func(L *glua.LState) int {
		if !glua.LVAsBool(L.Get(2)) {
			failf("%s", L.OptString(3, "expected a true value, got "+show(L.Get(2))))
		}
		return 0
	})
	return t
}

// advance moves the fake clock and waits until every schedule that came
// due has been handled.
func (h *harness) advance(d time.Duration) {
	k := h.start()
	var seq0 uint64
	if rs := k.Bot.Traces().Recent(1, ""); len(rs) > 0 {
		seq0 = rs[0].Seq
	}
	target := k.Now().Add(d)
	due := 0
	for _, r := range k.Bot.Upcoming() {
		if !r.At.After(target) {
			due++
		}
	}
	k.Advance(d)
	deadline := time.Now().Add(bottest.Wait)
	for {
		ticks := 0
		for _, tr := range k.Bot.Traces().Recent(1000, "") {
			if tr.Seq > seq0 && tr.Kind == bot.KindTick.String() {
				ticks++
			}
		}
		if ticks >= due {
			return
		}
		if time.Now().After(deadline) {
			failf("advance: %d schedule(s) came due but only %d ran within %s", due, ticks, bottest.Wait)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func luaEqual(a, b glua.LValue, depth int) bool {
	if a == b {
		return true
	}
	ta, ok1 := a.(*glua.LTable)
	tb, ok2 := b.(*glua.LTable)
	if !ok1 || !ok2 || depth > maxDepth {
		if na, ok := a.(glua.LNumber); ok {
			if nb, ok := b.(glua.LNumber); ok {
				return na == nb
			}
		}
		return false
	}
	xa, err1 := fromLua(ta, 0)
	xb, err2 := fromLua(tb, 0)
	return err1 == nil && err2 == nil && reflect.DeepEqual(xa, xb)
}

func show(v glua.LValue) string {
	switch v := v.(type) {
	case glua.LString:
		return fmt.Sprintf("%q", string(v))
	case *glua.LTable:
		if data, err := encodeJSON(v); err == nil {
			return string(data)
		}
	}
	return v.String()
}

// filterHandler keeps the records of one plugin.
type filterHandler struct {
	slog.Handler
	id string
}

func (f filterHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	for _, a := range attrs {
		if a.Key == "plugin" && a.Value.String() == f.id {
			return f.Handler.WithAttrs(attrs)
		}
	}
	return filterHandler{f.Handler.WithAttrs(attrs), f.id}
}

func (f filterHandler) Handle(ctx context.Context, r slog.Record) error {
	return nil
}
