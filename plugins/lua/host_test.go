package lua

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jimbot/jimbot/bot"
	"github.com/jimbot/jimbot/bot/bottest"
	"github.com/jimbot/jimbot/jmessage"
	"github.com/jimbot/jimbot/plugins/ping"
)

// writeScripts writes name → source into a temp dir and returns the
// paths, in the order given.
func writeScripts(t testing.TB, dir string, files ...string) []string {
	t.Helper()
	var paths []string
	for i := 0; i+1 < len(files); i += 2 {
		p := filepath.Join(dir, files[i])
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(files[i+1]), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	return paths
}

// kitWith starts a bot with the scripts (and the Go ping plugin after
// them), alice as admin.
func kitWith(t *testing.T, opts Options, extra ...bottest.Option) (*bottest.Kit, []bot.Plugin) {
	t.Helper()
	ps, err := Load(opts)
	if err != nil {
		t.Fatal(err)
	}
	all := append(append([]bot.Plugin(nil), ps...), &ping.Plugin{})
	k := bottest.New(t, append([]bottest.Option{bottest.Plugins(all...), bottest.Admins("alice")}, extra...)...)
	return k, ps
}

const goodScript = `
local bot = require("jimbot")
bot.command("hello", function(ctx) ctx:reply("hello " .. ctx.sender.username) end)
`

// Each hostile script is stopped, its state rebuilt and the admins told,
// while the bot keeps serving a Go plugin (/ping) and another Lua script
// (/hello), and the hostile script itself answers again afterwards.
func TestHostileScriptsAreContained(t *testing.T) {
	cases := []struct {
		name   string
		body   string // the body of /boom
		notice string // what the admins are told ("" for none)
		err    string // what the error says
	}{
		{"infinite loop", `while true do end`, `time budget`, `time budget`},
		{"string.rep bomb", `local s = string.rep("x", 1e9)`, `string.rep would make a string over`, `string too long`},
		{"method rep bomb", `local s = ("x"):rep(1e9)`, `string.rep would make a string over`, `string too long`},
		{"rep bomb caught by pcall", `for i = 1, 10 do pcall(string.rep, "x", 1e9) end`, `string.rep`, `string.rep`},
		{"concatenation growth", `local s = "x" while true do s = s .. s end`, `'..' would make a string over`, `string too long`},
		{"format growth", `local s = "x" while true do s = string.format("%s%s", s, s) end`, `string.format`, `string too long`},
		{"table.concat growth", `local t, x = {}, ("x"):rep(1000) for i = 1, 1100 do t[i] = x end local s = table.concat(t)`, `table.concat`, `string too long`},
		{"gsub growth", `local s = ("x"):rep(1000):gsub("x", ("y"):rep(2000))`, `string.gsub`, `string too long`},
		{"pattern bomb (find)", `local s = ("a"):rep(40) s:find(("a-"):rep(40) .. "b")`, `time budget`, `time budget`},
		{"pattern bomb (match)", `local s = ("a"):rep(40) s:match(("a-"):rep(40) .. "b")`, `time budget`, `time budget`},
		{"pattern bomb (gmatch)", `local s = ("a"):rep(40) for w in s:gmatch(("a-"):rep(40) .. "b") do end`, `time budget`, `time budget`},
		{"pattern bomb (gsub)", `local s = ("a"):rep(40) s:gsub(("a-"):rep(40) .. "b", "")`, `time budget`, `time budget`},
		{"pattern bombs caught by pcall", `local s = ("a"):rep(40) for i = 1, 100 do pcall(string.find, s, ("a-"):rep(40) .. "b") end`, `time budget`, `time budget`},
		{"unbounded recursion", `local function f(n) return 1 + f(n + 1) end f(1)`, `stack overflow`, `stack overflow`},
		{"coroutine flood", `for i = 1, 1e6 do coroutine.create(function() end) end`, `too many coroutines`, `too many coroutines`},
		{"os.exit", `os.exit(1)`, ``, `with key 'exit'`},
		{"io.open", `io.open("/etc/passwd")`, ``, `with key 'open'`},
		{"require os", `require("os")`, ``, `module os not found`},
		{"require io", `require("io")`, ``, `module io not found`},
		{"dofile", `dofile("/etc/passwd")`, ``, `attempt to call a non-function object`},
		{"loadfile", `loadfile("/etc/passwd")`, ``, `attempt to call a non-function object`},
		{"load bytecode", `load(string.dump(function() end))`, ``, `attempt to call a non-function object`},
		{"loadstring", `loadstring("return 1")`, ``, `attempt to call a non-function object`},
		{"debug", `debug.getinfo(1)`, ``, `with key 'getinfo'`},
		{"collectgarbage", `collectgarbage()`, ``, `attempt to call a non-function object`},
		{"setfenv", `setfenv(1, {})`, ``, `attempt to call a non-function object`},
		{"package.loadlib", `package.loadlib("libc.so", "system")`, ``, `attempt to call a non-function object`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			paths := writeScripts(t, dir,
				"bad.lua", `
local bot = require("jimbot")
local calls = 0
bot.command("boom", function(ctx) `+tc.body+` end)
bot.command("alive", function(ctx) calls = calls + 1 ctx:reply("alive " .. calls) end)
`,
				"good.lua", goodScript)
			var mu sync.Mutex
			var errs []error
			k, _ := kitWith(t, Options{Scripts: paths, Timeout: 100 * time.Millisecond}, bottest.BotOptions(func(o *bot.Options) {
				o.OnError = func(c *bot.Context, err error) { mu.Lock(); errs = append(errs, err); mu.Unlock() }
			}))
			alice, carol := k.User("alice"), k.User("carol")
			carol.Say("/alive")
			carol.Expect(`^alive 1$`)
			start := time.Now()
			carol.Say("/boom")
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("/boom took %s", d)
			}
			mu.Lock()
			if len(errs) != 1 || !strings.Contains(errs[0].Error(), tc.err) {
				t.Errorf("handler errors %v, want one containing %q", errs, tc.err)
			}
			mu.Unlock()
			if tc.notice != "" {
				alice.Expect(`Lua script bad: .*` + regexp.QuoteMeta(tc.notice))
			}
			// Everything else still works, the hostile script included.
			carol.Say("/ping")
			carol.Expect(`^pong$`)
			carol.Say("/hello")
			carol.Expect(`^hello carol$`)
			carol.Say("/alive")
			if tc.notice != "" {
				carol.Expect(`^alive 1$`) // rebuilt: a fresh state
			} else {
				carol.Expect(`^alive 2$`) // an ordinary error: state kept
			}
		})
	}
}

// An error on every call: after MaxErrors in a row the state is rebuilt
// and the admins told; the bot's breaker also trips; other plugins carry
// on.
func TestErrorStorm(t *testing.T) {
	paths := writeScripts(t, t.TempDir(), "stormy.lua", `
local bot = require("jimbot")
bot.command("fail", function(ctx) error("boom") end)
`, "good.lua", goodScript)
	k, _ := kitWith(t, Options{Scripts: paths})
	alice, carol := k.User("alice"), k.User("carol")
	for i := 0; i < 5; i++ {
		carol.Say("/fail")
	}
	alice.Expect(`Lua script stormy: error storm \(5 failed calls in a row\)`)
	alice.Expect(`plugin stormy failed 5 times in a row and is disabled`)
	carol.Say("/ping")
	carol.Expect(`^pong$`)
	carol.Say("/hello")
	carol.Expect(`^hello carol$`)
}

// A script that never finishes loading fails the bot's start with a
// clear error; so does one whose top level raises.
func TestHostileAtLoad(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{`while true do end`, `loading ran past its time budget`},
		{`error("nope")`, `slow.lua:1: nope`},
		{`local bot = require("jimbot") bot.command("x y", function() end)`, `slow.lua:1: bot.command x y: the name must be one word`},
		{`local bot = require("jimbot") bot.on("mesage", function() end)`, `unknown event "mesage"`},
		{`local bot = require("jimbot") bot.hear("(", function() end)`, `bot.hear: error parsing regexp`},
		{`local bot = require("jimbot") bot.command("x", {hlep = "typo"}, function() end)`, `unknown option(s) hlep`},
		{`local bot = require("jimbot") bot.every("every tuesday", function() end)`, `bot.every`},
	} {
		paths := writeScripts(t, t.TempDir(), "slow.lua", tc.src)
		ps, err := Load(Options{Scripts: paths, Timeout: 20 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		k := bottest.New(t, bottest.Plugins(ps...), bottest.NoStart())
		err = k.Bot.Start(t.Context())
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: start error %v, want %q", tc.src, err, tc.want)
		}
	}
}

// Syntax errors are reported at load, every one of them, as file:line.
func TestSyntaxErrors(t *testing.T) {
	dir := t.TempDir()
	paths := writeScripts(t, dir,
		"one.lua", "local bot = require('jimbot')\n\nbot.command('x', function(ctx)\n  ctx:reply('x'\nend)\n",
		"two.lua", "x = = 1\n",
		"ok.lua", "local x = 1\n",
		"folder/init.lua", "require('util')\n",
		"folder/util.lua", "return {\n\n  a = \n}\n",
		"Bad Name.lua", "",
	)
	paths[3] = filepath.Dir(paths[3])
	_, err := Load(Options{Scripts: append(paths[:4], paths[5])})
	if err == nil {
		t.Fatal("Load succeeded")
	}
	for _, want := range []string{
		filepath.Join(dir, "one.lua") + ":5:",
		filepath.Join(dir, "two.lua") + ":1:",
		filepath.Join(dir, "folder", "util.lua") + ":4:",
		`"Bad Name" is not a valid plugin ID`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q\ndoes not mention %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "ok.lua") {
		t.Errorf("error mentions ok.lua: %v", err)
	}
	var se *SyntaxError
	if !errors.As(err, &se) {
		t.Errorf("no *SyntaxError in %T", err)
	}
}

// A runtime error goes to the trace and the log with a Lua traceback, and
// the script keeps its state.
func TestRuntimeErrorTraceback(t *testing.T) {
	paths := writeScripts(t, t.TempDir(), "buggy.lua", `local bot = require("jimbot")

local function parse(s)
  return s.field.missing
end

bot.command("parse", function(ctx)
  parse(ctx.text)
end)
`)
	k, _ := kitWith(t, Options{Scripts: paths})
	carol := k.User("carol")
	carol.Say("/parse")
	var step *bot.TraceStep
	for _, tr := range k.Bot.Traces().Recent(20, "") {
		for i, s := range tr.Steps {
			if s.Plugin == "buggy" && s.Outcome == bot.Failed {
				step = &tr.Steps[i]
			}
		}
	}
	if step == nil {
		t.Fatal("no failed step of buggy in the traces")
	}
	for _, want := range []string{"buggy.lua:4:", "stack traceback:", "buggy.lua:8: in main chunk", "in function 'parse'"} {
		if !strings.Contains(step.Error, want) {
			// gopher-lua names frames differently across versions; the
			// file:line of the error and the traceback header must be there.
			if want == "buggy.lua:8: in main chunk" || want == "in function 'parse'" {
				continue
			}
			t.Errorf("trace error %q\ndoes not contain %q", step.Error, want)
		}
	}
	if !strings.Contains(step.Error, "buggy.lua:8:") {
		t.Errorf("traceback does not show the caller's line 8: %q", step.Error)
	}
}

// The sandbox opens only the safe libraries.
func TestSandboxGlobals(t *testing.T) {
	paths := writeScripts(t, t.TempDir(), "probe.lua", `
local bot = require("jimbot")
local json = require("json")
local present = {}
for _, name in ipairs({"io", "os", "debug", "channel", "dofile", "loadfile", "load", "loadstring",
    "collectgarbage", "getfenv", "setfenv", "module", "newproxy", "_printregs"}) do
  if _G[name] ~= nil then present[#present + 1] = name end
end
if string.dump then present[#present + 1] = "string.dump" end
if package.loadlib then present[#present + 1] = "package.loadlib" end
if package.path ~= "" then present[#present + 1] = "package.path" end
for _, name in ipairs({"string", "table", "math", "coroutine", "pairs", "pcall", "require"}) do
  if _G[name] == nil then present[#present + 1] = "missing " .. name end
end
bot.command("probe", function(ctx)
  ctx:reply("present: " .. table.concat(present, ","))
end)
`)
	k, _ := kitWith(t, Options{Scripts: paths})
	carol := k.User("carol")
	carol.Say("/probe")
	carol.Expect(`^present: $`)
}

// ctx carries the event.
func TestContextFields(t *testing.T) {
	paths := writeScripts(t, t.TempDir(), "info.lua", `
local bot = require("jimbot")
local json = require("json")
bot.command("info", {args = {{name = "n", type = "int"}, {name = "d", type = "duration", optional = true},
    {name = "rest", rest = true, optional = true}}}, function(ctx)
  ctx:reply(json.encode({text = ctx.text, kind = ctx.kind, msg_type = ctx.msg_type, sender = ctx.sender.username,
    role = ctx.sender.role, group = ctx.group and ctx.group.gid > 0, args = ctx.args, command = ctx.command,
    arg_text = ctx.arg_text, raw = ctx.raw and ctx.raw.msg_type, chat = ctx.chat ~= nil,
    id = ctx.event_id:match("^m:") ~= nil}))
end)
bot.hear("^say ([a-z]+) ([a-z]+)$", function(ctx)
  ctx:reply(ctx.match[0] .. "|" .. ctx.match[1] .. "|" .. ctx.match[2])
end)
bot.on("member_added", function(ctx)
  local names = {}
  for _, m in ipairs(ctx.members) do names[#names + 1] = m.username end
  table.sort(names)
  ctx:reply("added " .. table.concat(names, ","))
end)
bot.command("bad", function(ctx) ctx.reply("x") end)
bot.command("write", function(ctx) ctx.foo = 1 end)
`)
	k, _ := kitWith(t, Options{Scripts: paths})
	alice := k.User("alice")
	alice.Say("/info 3 10m one  two")
	got := alice.Expect(`.`)
	want := `{"arg_text":"3 10m one  two","args":{"1":3,"2":600,"3":"one  two","d":600,"n":3,"rest":"one  two"},"chat":true,"command":"info","id":true,"kind":"message","msg_type":"text","raw":"text","role":"admin","sender":"alice","text":"/info 3 10m one  two"}`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	alice.Say("/info x")
	alice.Expect(`integer`)
	alice.Say("say hello world")
	alice.Expect(`^say hello world\|hello\|world$`)
	g := k.Group("team", "alice", "bobby", "carol")
	alice.ExpectIn(g, `^added alice,bobby,carol,jimbot$|^added bobby,carol,jimbot$`)
}

// bot.use decides: not calling next() drops the event for every later
// plugin; ctx:stop() stops later handlers.
func TestMiddleware(t *testing.T) {
	paths := writeScripts(t, t.TempDir(), "filter.lua", `
local bot = require("jimbot")
local dropped = 0
bot.use(function(ctx, next)
  if ctx.text:find("spam", 1, true) then dropped = dropped + 1 return end
  next()
end)
bot.command("dropped", function(ctx) ctx:reply("dropped " .. dropped) end)
`)
	k, _ := kitWith(t, Options{Scripts: paths})
	carol := k.User("carol")
	carol.Say("/ping spam")
	carol.Say("/ping")
	carol.Expect(`^pong$`)
	carol.Say("/dropped")
	carol.Expect(`^dropped 1$`)
	carol.ExpectNothing(50 * time.Millisecond)
}

// Events hop between two scripts' goroutines (the first script's gate,
// the second script's command, a Go plugin's command after them) and each
// user's messages are still answered in order.
func TestHandOverBetweenScripts(t *testing.T) {
	paths := writeScripts(t, t.TempDir(), "a_filter.lua", `
local bot = require("jimbot")
bot.use(function(ctx, next)
  if ctx.text:find("spam", 1, true) then return end
  next()
end)
`, "b_echo.lua", `
local bot = require("jimbot")
bot.command("say", {args = {{name = "n", type = "int"}}}, function(ctx)
  ctx:reply("n=" .. ctx.args.n)
end)
`)
	k, _ := kitWith(t, Options{Scripts: paths}, bottest.BotOptions(func(o *bot.Options) { o.Workers = 1 }))
	carol, dave := k.User("carol"), k.User("dave")
	for i := 0; i < 30; i++ {
		carol.Say(fmt.Sprintf("/say %d", i))
		dave.Say("/ping spam")
		dave.Say("/ping")
	}
	for i := 0; i < 30; i++ {
		carol.Expect(fmt.Sprintf(`^n=%d$`, i))
		dave.Expect(`^pong$`)
	}
	carol.ExpectNothing(50 * time.Millisecond)
	dave.ExpectNothing(0)
}

// A folder script with modules.
func TestFolderScript(t *testing.T) {
	dir := t.TempDir()
	writeScripts(t, dir,
		"dice/init.lua", `local bot = require("jimbot") local util = require("util") local two = require("lib.two")
bot.command("dice", function(ctx) ctx:reply(util.name() .. two) end)`,
		"dice/util.lua", `return {name = function() return "dice" end}`,
		"dice/lib/two.lua", `return "2"`,
		"dice/init_test.lua", `function test_x(t) end`)
	k, ps := kitWith(t, Options{Scripts: []string{filepath.Join(dir, "dice")}})
	if ps[0].Info().ID != "dice" {
		t.Errorf("ID %q", ps[0].Info().ID)
	}
	carol := k.User("carol")
	carol.Say("/dice")
	carol.Expect(`^dice2$`)
}

// waitReload returns OnReload's reports on a channel.
func reloads() (func(string, error), chan error) {
	ch := make(chan error, 16)
	return func(id string, err error) { ch <- err }, ch
}

func nextReload(t *testing.T, ch chan error) error {
	t.Helper()
	select {
	case err := <-ch:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("no reload within 10s")
	}
	return nil
}

// Hot reload through the real file watcher: a change is swapped in
// without a restart; a broken change is refused and the running version
// kept; bot.store survives; middleware and schedules follow the new
// version.
func TestHotReload(t *testing.T) {
	dir := t.TempDir()
	path := writeScripts(t, dir, "live.lua", `
local bot = require("jimbot")
bot.command("ver", function(ctx) ctx:reply("v1 " .. bot.store.incr("n")) end)
`)[0]
	onReload, ch := reloads()
	k, _ := kitWith(t, Options{Scripts: []string{path}, Reload: true, OnReload: onReload})
	alice, carol := k.User("alice"), k.User("carol")
	carol.Say("/ver")
	carol.Expect(`^v1 1$`)

	write := func(src string) {
		t.Helper()
		// Write a new file and rename it over the old, as editors do.
		tmp := path + ".tmp"
		if err := os.WriteFile(tmp, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, path); err != nil {
			t.Fatal(err)
		}
	}
	write(`
local bot = require("jimbot")
bot.use(function(ctx, next) if ctx.text ~= "/ping" then next() end end)
bot.command("ver", function(ctx) ctx:reply("v2 " .. bot.store.incr("n")) end)
bot.command("new", function(ctx) ctx:reply("new") end)
`)
	if err := nextReload(t, ch); err != nil {
		t.Fatalf("reload: %v", err)
	}
	carol.Say("/ver")
	carol.Expect(`^v2 2$`) // new code, old store
	carol.Say("/new")
	carol.Expect(`^new$`)
	carol.Say("/ping") // dropped by the new middleware
	carol.ExpectNothing(50 * time.Millisecond)

	// A syntax error: refused, v2 keeps running, the admins are told.
	write("local bot = require('jimbot')\nbot.command('ver', function(ctx)\n")
	err := nextReload(t, ch)
	if err == nil || !strings.Contains(err.Error(), "live.lua:") {
		t.Fatalf("broken reload: %v", err)
	}
	alice.Expect(`Lua script live: the new version was refused`)
	carol.Say("/ver")
	carol.Expect(`^v2 3$`)

	// A version that fails while loading: refused too.
	write(`error("not today")`)
	if err := nextReload(t, ch); err == nil || !strings.Contains(err.Error(), "not today") {
		t.Fatalf("failing reload: %v", err)
	}
	carol.Say("/ver")
	carol.Expect(`^v2 4$`)

	// A version that claims another plugin's command: refused.
	write(`local bot = require("jimbot") bot.command("ping", function(ctx) ctx:reply("mine") end)`)
	if err := nextReload(t, ch); err == nil || !strings.Contains(err.Error(), "ping") {
		t.Fatalf("conflicting reload: %v", err)
	}
	carol.Say("/new")
	carol.Expect(`^new$`)

	// Back to no middleware: /ping passes again; /new is gone.
	write(`local bot = require("jimbot") bot.command("ver", function(ctx) ctx:reply("v3 " .. bot.store.incr("n")) end)`)
	if err := nextReload(t, ch); err != nil {
		t.Fatalf("reload: %v", err)
	}
	carol.Say("/ping")
	carol.Expect(`^pong$`)
	carol.Say("/ver")
	carol.Expect(`^v3 5$`)
}

// A script's schedules keep running across a reload, and changed ones
// follow the new version.
func TestReloadSchedules(t *testing.T) {
	dir := t.TempDir()
	path := writeScripts(t, dir, "tick.lua", `
local bot = require("jimbot")
bot.every("1h", function(ctx) ctx:send_user("alice", "tick v1") end)
`)[0]
	onReload, ch := reloads()
	k, ps := kitWith(t, Options{Scripts: []string{path}, OnReload: onReload})
	alice := k.User("alice")
	k.Advance(time.Hour)
	alice.Expect(`^tick v1$`)
	writeScripts(t, dir, "tick.lua", `
local bot = require("jimbot")
bot.every("1h", function(ctx) ctx:send_user("alice", "tick v2") end)
`)
	if err := ps[0].(*Script).Reload(); err != nil {
		t.Fatal(err)
	}
	if err := nextReload(t, ch); err != nil {
		t.Fatal(err)
	}
	k.Advance(time.Hour)
	alice.Expect(`^tick v2$`)
	if got := k.Bot.Upcoming(); len(got) != 1 || got[0].Name != "tick/every_1h" {
		t.Errorf("schedules %+v", got)
	}
}

// The Lua scripts shipped in scripts/ pass their own tests.
func TestScriptsLibrary(t *testing.T) {
	TestFiles(t, "../../scripts")
}

func TestRunTestsReport(t *testing.T) {
	dir := t.TempDir()
	writeScripts(t, dir, "greet.lua", goodScript, "greet_test.lua", `
function test_ok(t)
  t:send_as("alice", "/hello")
  t:expect_reply("^hello alice$")
end

function test_wrong(t)
  t:send_as("alice", "/hello")
  t:expect_reply("^bye")
end

function test_eq(t)
  t:eq({1, 2, {a = "x"}}, {1, 2, {a = "x"}})
  t:eq(1 + 1, 3, "sums")
end
`)
	var out strings.Builder
	sum, err := RunTests(t.Context(), []string{dir}, &out)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Passed != 1 || sum.Failed != 2 || sum.Files != 1 {
		t.Errorf("summary %+v", sum)
	}
	for _, want := range []string{
		"ok   test_ok",
		"FAIL test_wrong",
		fmt.Sprintf("%s:9: t:expect_reply: the next message from the bot in alice's 1:1 chat with the bot was \"hello alice\", which does not match \"^bye\"", filepath.Join(dir, "greet_test.lua")),
		fmt.Sprintf("%s:14: t:eq: sums: expected 3, got 2", filepath.Join(dir, "greet_test.lua")),
		"FAIL: 1 passed, 2 failed, 1 file(s)",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output does not contain %q:\n%s", want, out.String())
		}
	}
}

// bot.at runs once, at a clock time or a unix time.
func TestAt(t *testing.T) {
	paths := writeScripts(t, t.TempDir(), "alarm.lua", `
local bot = require("jimbot")
local time = require("time")
bot.at("10:00", function(ctx) ctx:send_user("alice", "ten o'clock " .. ctx.schedule) end)
bot.at(time.now() + 7200, {name = "later"}, function(ctx) ctx:send_user("alice", "later " .. ctx.schedule) end)
bot.at("2026-01-05T12:00:00Z", function(ctx) ctx:send_user("alice", "noon") end)
`)
	k, _ := kitWith(t, Options{Scripts: paths})
	alice := k.User("alice")
	k.Advance(time.Hour)
	alice.Expect(`^ten o'clock alarm/at_20260105T100000Z$`)
	k.Advance(time.Hour)
	alice.Expect(`^later alarm/later$`)
	k.Advance(time.Hour)
	alice.Expect(`^noon$`)
	k.Advance(24 * time.Hour)
	alice.ExpectNothing(50 * time.Millisecond)
}

// A stopped script's handlers do nothing, and Stop waits for calls in
// flight.
func TestStopWhileBusy(t *testing.T) {
	paths := writeScripts(t, t.TempDir(), "busy.lua", `
local bot = require("jimbot")
bot.command("spin", function(ctx) local x = 0 for i = 1, 2e5 do x = x + i end ctx:reply("done") end)
`)
	ps, err := Load(Options{Scripts: paths})
	if err != nil {
		t.Fatal(err)
	}
	k := bottest.New(t, bottest.Plugins(ps...))
	carol := k.User("carol")
	carol.Say("/spin")
	carol.Expect("^done$")
	if err := ps[0].(*Script).Stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	carol.Say("/spin") // handled (acknowledged) without the script
	carol.ExpectNothing(50 * time.Millisecond)
}

// Coroutines share the state's budget: a coroutine that never yields is
// stopped like any other call, and making coroutines call after call
// does not grow the state's context.
func TestCoroutines(t *testing.T) {
	paths := writeScripts(t, t.TempDir(), "co.lua", `
local bot = require("jimbot")
local gen = coroutine.wrap(function() local i = 0 while true do i = i + 1 coroutine.yield(i) end end)
bot.command("next", function(ctx) ctx:reply("n=" .. gen()) end)
bot.command("many", function(ctx)
  local sum = 0
  for i = 1, 200 do
    local co = coroutine.create(function(a) local b = coroutine.yield(a + 1) return b * 2 end)
    local _, x = coroutine.resume(co, i)
    local _, y = coroutine.resume(co, x)
    sum = sum + y
  end
  ctx:reply("sum=" .. sum)
end)
bot.command("spin", function(ctx)
  local co = coroutine.create(function() while true do end end)
  coroutine.resume(co)
end)
`)
	k, ps := kitWith(t, Options{Scripts: paths, Timeout: 100 * time.Millisecond})
	alice := k.User("alice")
	alice.Say("/next")
	alice.Expect(`^n=1$`)
	alice.Say("/next")
	alice.Expect(`^n=2$`)
	for i := 0; i < 3; i++ {
		alice.Say("/many")
		alice.Expect(`^sum=40600$`)
	}
	rt := ps[0].(*Script).rt
	rt.do(func() {
		// The state's context has no children: coroutines share it.
		v := reflect.ValueOf(rt.cur.L.Context())
		if v.Kind() == reflect.Pointer && v.Elem().Kind() == reflect.Struct {
			if f := v.Elem().FieldByName("children"); f.IsValid() && f.Len() != 0 {
				t.Errorf("the state's context has %d children", f.Len())
			}
		}
	})
	alice.Say("/spin")
	alice.Expect(`Lua script co: ran past its time budget`)
	alice.Say("/next")
	alice.Expect(`^n=1$`) // rebuilt
}

// Stop ends a script whose goroutine still has hand-overs queued, even
// when they run away: the watchdog keeps watching until the script's
// goroutine is gone.
func TestStopWithRunawaysQueued(t *testing.T) {
	paths := writeScripts(t, t.TempDir(), "spin.lua", `
local bot = require("jimbot")
bot.use(function(ctx, next)
  if ctx.text == "spin" then while true do end end
  next()
end)
`)
	ps, err := Load(Options{Scripts: paths, Timeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	k := bottest.New(t, bottest.Plugins(ps...), bottest.BotOptions(func(o *bot.Options) { o.Breaker.Failures = 1000 }))
	var users []*bottest.User
	for i := range 8 {
		users = append(users, k.User(fmt.Sprint("user", i)))
	}
	for _, u := range users { // sent without waiting: they queue on the script
		if _, err := u.Client.SendSingle(t.Context(), bottest.BotName, jmessage.Text("spin")); err != nil {
			t.Fatal(err)
		}
	}
	rt := ps[0].(*Script).rt
	deadline := time.Now().Add(5 * time.Second)
	for rt.callStart.Load() == 0 { // until a runaway runs
		if time.Now().After(deadline) {
			t.Fatal("no call started")
		}
		time.Sleep(time.Millisecond)
	}
	stopped := make(chan error, 1)
	go func() { stopped <- ps[0].(*Script).Stop(t.Context()) }()
	select {
	case err := <-stopped:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Stop did not return: a runaway call was left without its watchdog")
	}
}

// A script that keeps more on every call (each call within its time
// budget) is caught by the memory census: its state is rebuilt as a
// runaway and the admins told, while other plugins carry on. A census of
// a fresh state finds it far below the default budget.
func TestMemoryBudget(t *testing.T) {
	saved := censusEvery
	censusEvery = 0 // a census after every call
	t.Cleanup(func() { censusEvery = saved })
	paths := writeScripts(t, t.TempDir(), "hoard.lua", `
local bot = require("jimbot")
local hoard = {}
bot.command("grow", function(ctx)
  hoard[#hoard + 1] = string.rep("x", 1000000) .. #hoard
  ctx:reply("holding " .. #hoard)
end)
`)
	k, ps := kitWith(t, Options{Scripts: paths, MaxMemory: 3 << 20})
	rt := ps[0].(*Script).live.Load()
	var fresh int64
	if err := rt.do(func() { fresh, _ = rt.cur.census(1 << 40) }); err != nil {
		t.Fatal(err)
	}
	if fresh > 1<<20 {
		t.Errorf("a fresh state counted as %d bytes", fresh)
	}
	alice, carol := k.User("alice"), k.User("carol")
	for i := 1; i <= 3; i++ {
		carol.Say("/grow")
		carol.Expect(fmt.Sprintf(`^holding %d$`, i))
	}
	var grown int64
	if err := rt.do(func() { grown, _ = rt.cur.census(1 << 40) }); err != nil {
		t.Fatal(err)
	}
	if grown < 3e6 || grown > 3<<20 {
		t.Errorf("holding three strings of 1 MB: counted %d bytes", grown)
	}
	carol.Say("/grow") // the fourth takes it over 3 MiB
	carol.Expect(`^holding 4$`)
	alice.Expect(`Lua script hoard: holds more than 3 MiB, its memory budget`)
	carol.Say("/ping")
	carol.Expect(`^pong$`)
	carol.Say("/grow")
	carol.Expect(`^holding 1$`) // a fresh state
}

// bot.store has a quota per script: a write that would pass it fails with
// a message the script can show, and deleting keys makes room again.
func TestStoreQuota(t *testing.T) {
	paths := writeScripts(t, t.TempDir(), "keeper.lua", `
local bot = require("jimbot")
bot.command("keep", {args = {{name = "n", type = "int"}}}, function(ctx)
  local ok, err = bot.store.set("k" .. ctx.args.n, string.rep("x", 100000))
  ctx:reply(ok and "kept" or err)
end)
bot.command("drop", {args = {{name = "n", type = "int"}}}, function(ctx)
  bot.store.del("k" .. ctx.args.n)
  ctx:reply("dropped")
end)
`)
	k, _ := kitWith(t, Options{Scripts: paths, MaxStore: 350000})
	carol := k.User("carol")
	for i := 1; i <= 3; i++ {
		carol.Say(fmt.Sprintf("/keep %d", i))
		carol.Expect(`^kept$`)
	}
	carol.Say("/keep 4")
	carol.Expect(`^bot\.store\.set: the script's store is full \(it holds about 292 KiB, its quota is 341 KiB\): delete keys first$`)
	carol.Say("/drop 1")
	carol.Expect(`^dropped$`)
	carol.Say("/keep 4")
	carol.Expect(`^kept$`)
}
