// Package lua runs Lua scripts as jimbot plugins. It is the only package
// that imports gopher-lua.
//
//	plugins, err := lua.Load(lua.Options{Scripts: []string{"scripts/roll.lua"}, Reload: true})
//	if err != nil {
//		return err // every syntax error, each as file:line: message
//	}
//	for _, p := range plugins {
//		b.AddPlugin(p, nil)
//	}
//
// Each script (a .lua file, or a folder with an init.lua) is one plugin
// whose ID is the file or folder name without ".lua". Scripts talk to the
// bot through one preloaded module, require("jimbot") (see docs/lua.md
// and the annotations in jimbot_v1.lua).
//
// # Concurrency
//
// One goroutine owns each script's LState (an actor), so a script's
// globals need no locking and the events of a chat reach it in order. A
// Script is a bot.Executor: when its gate (its bot.use functions) or one of
// its handlers comes up, the bot hands the rest of the event to the
// script's goroutine and the worker goes on with other chats; later steps
// of the same script run there directly, without another hand-over. Where
// the bot cannot hand the event over (under a Go middleware that wraps the
// chain), the host's Go handlers send the call to the goroutine and wait. Scripts are compiled once; a fresh LState is
// built from the compiled code when a script is loaded, reloaded, or
// rebuilt after a runaway.
//
// # Sandbox and budgets
//
// Only base, package (require of preloaded modules only), string, table,
// math and coroutine are opened; dofile, loadfile, load, loadstring,
// collectgarbage, getfenv, setfenv, module, newproxy and string.dump are
// removed. string.rep, string.format, string.gsub, table.concat and the
// `..` operator (rewritten at compile time into a call) cap the strings
// they make (Options.MaxString). Each call has a time budget
// (Options.Timeout) enforced through one long-lived context per LState,
// cancelled by a watchdog only when a call overruns; the pattern functions
// (string.find, match, gmatch, gsub) run on a copy of gopher-lua's matcher
// that the budget can stop mid-match (internal/luapat). At most once a
// second, after a call, a census estimates what the state holds
// (Options.MaxMemory). A call that overruns, overflows the stack or
// registry, hits a string cap, leaves the state over its memory budget,
// or is the last of Options.MaxErrors failures in a row is a runaway: its
// LState is thrown away and rebuilt (bot.store data is kept) and the
// admins are told.
//
// # Caveats
//
// The memory census is an estimate between calls: within its time budget
// one call can still allocate a lot for a moment, and the stacks of
// suspended coroutines are not counted. bot.store writes are checked
// against Options.MaxStore with a count of the store taken at most once a
// second, plus what was written since.
package lua

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jimbot/jimbot/bot"
)

// APIVersion is the version of the Lua API, bot.version in Lua.
const APIVersion = 1

// Options configure Load.
type Options struct {
	// Scripts are .lua files or folders with an init.lua, already
	// resolved (no globs). Files named *_test.lua are tests and are
	// skipped.
	Scripts []string
	// Timeout is the time budget of each call into a script. Default
	// 200ms. Loading a script (running its top level) gets five times
	// as much.
	Timeout time.Duration
	// MaxSendsPerCall caps the messages and moderation actions one call
	// may queue. Default 20.
	MaxSendsPerCall int
	// MaxMessage caps the size of one message text in bytes. Default
	// 8192.
	MaxMessage int
	// MaxString caps the strings the string functions and `..` make, in
	// bytes. Default 1 MiB.
	MaxString int
	// MaxMemory is about how much memory a script's state may hold, in
	// bytes: a state found over it (by a census taken at most once a
	// second, after a call) is rebuilt as a runaway, and the admins told.
	// Default 64 MiB; negative: no limit.
	MaxMemory int
	// MaxStore caps what a script keeps in bot.store (keys and values, in
	// bytes): a write that would pass it fails with a message. Default 64
	// MiB; negative: no limit.
	MaxStore int
	// MaxErrors is the number of failed calls in a row after which the
	// script's state is rebuilt and the admins told (an error storm). The
	// bot's own circuit breaker also counts these failures. Default 5.
	MaxErrors int
	// Settings are each script's settings by script ID: bot.config in
	// Lua. Settings given to Bot.AddPlugin override them key by key.
	Settings map[string]bot.Settings
	// Reload watches the scripts' files and swaps in a changed script
	// without a restart. A version that fails to compile or load is
	// reported and the running one is kept.
	Reload bool
	// OnReload, if set, is called after each reload attempt with the
	// script ID and nil or the reason it was refused.
	OnReload func(id string, err error)
	// Logger receives the host's logs; scripts log through their
	// plugin's logger. Default slog.Default().
	Logger *slog.Logger
}

func (o *Options) fill() {
	if o.Timeout <= 0 {
		o.Timeout = 200 * time.Millisecond
	}
	if o.MaxSendsPerCall <= 0 {
		o.MaxSendsPerCall = 20
	}
	if o.MaxMessage <= 0 {
		o.MaxMessage = 8192
	}
	if o.MaxString <= 0 {
		o.MaxString = maxStringDefault
	}
	if o.MaxErrors <= 0 {
		o.MaxErrors = 5
	}
	if o.MaxMemory == 0 {
		o.MaxMemory = 64 << 20
	}
	if o.MaxStore == 0 {
		o.MaxStore = 64 << 20
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// Load compiles the scripts and returns one plugin per script, in the
// order given. It reports every problem at once: each syntax error as
// "file:line: message", invalid or duplicate script IDs, missing files.
func Load(opts Options) ([]bot.Plugin, error) {
	opts.fill()
	h := &host{opts: opts}
	var errs []error
	var out []bot.Plugin
	seen := map[string]string{}
	for _, path := range opts.Scripts {
		if isTestFile(filepath.Base(path)) {
			continue
		}
		prog, err := compileScript(path)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if prev, dup := seen[prog.id]; dup {
			errs = append(errs, fmt.Errorf("lua: scripts %s and %s have the same ID %q", prev, path, prog.id))
			continue
		}
		seen[prog.id] = path
		out = append(out, newScript(prog, h))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// Script is a Lua script as a bot plugin. It implements bot.Provisioner
// (it loads the script and registers what it declares), bot.Starter (it
// starts the file watcher when Options.Reload is set) and bot.Stopper.
type Script struct {
	id   string
	path string
	h    *host
	opts *Options

	mu       sync.Mutex
	prog     *program
	rt       *runtime
	live     atomic.Pointer[runtime] // rt, for Execute
	watching bool
	reloadMu sync.Mutex // one reload at a time
}

var (
	_ bot.Provisioner = (*Script)(nil)
	_ bot.Starter     = (*Script)(nil)
	_ bot.Stopper     = (*Script)(nil)
	_ bot.Executor    = (*Script)(nil)
)

func newScript(prog *program, h *host) *Script {
	return &Script{id: prog.id, path: prog.path, h: h, opts: &h.opts, prog: prog}
}

// ID returns the script's plugin ID.
func (s *Script) ID() string { return s.id }

// Path returns the script's file or folder.
func (s *Script) Path() string { return s.path }

// Info implements bot.Plugin.
func (s *Script) Info() bot.PluginInfo {
	return bot.PluginInfo{
		ID:          s.id,
		Description: "Lua script " + filepath.Base(s.path),
		New: func() bot.Plugin {
			s.mu.Lock()
			defer s.mu.Unlock()
			return newScript(s.prog, s.h)
		},
	}
}

// Provision loads the script (runs its top level in a new LState) and
// registers its commands, hears, event handlers, fallbacks, schedules and
// one middleware that forwards to its bot.use functions.
func (s *Script) Provision(env *bot.Env) error {
	s.mu.Lock()
	prog, old := s.prog, s.rt
	s.mu.Unlock()
	if old != nil {
		old.stop()
	}
	settings := bot.Settings{}
	for k, v := range s.opts.Settings[s.id] {
		settings[k] = v
	}
	for k, v := range env.Settings {
		settings[k] = v
	}
	rt := newRuntime(s, env, settings)
	st, err := rt.first(prog)
	if err != nil {
		rt.stop()
		return err
	}
	// Gates cannot be added by Bot.Reload, so a script that may be
	// reloaded always gets its forwarding gate. Without reloads it gets
	// one only if it uses bot.use: a gate that only passes events on is
	// a step (and a hand-over) every event would pay for.
	rt.hasMW = s.opts.Reload || len(st.uses) > 0
	s.mu.Lock()
	s.rt = rt
	s.mu.Unlock()
	s.live.Store(rt)
	if rt.hasMW {
		if err := env.Gate(rt.gate); err != nil {
			return err
		}
	}
	return registerAll(env.Router, rt, st)
}

// Execute implements bot.Executor: the bot hands the rest of an event
// to the script's goroutine instead of making a worker wait for each call
// into the script.
func (s *Script) Execute(fn func()) bool {
	rt := s.live.Load()
	return rt != nil && rt.execute(fn)
}

// Start starts watching the script's files when Options.Reload is set.
func (s *Script) Start(ctx context.Context) error {
	if !s.opts.Reload {
		return nil
	}
	if err := s.h.watch(s); err != nil {
		return fmt.Errorf("lua: script %s: watch its files: %w", s.id, err)
	}
	s.mu.Lock()
	s.watching = true
	s.mu.Unlock()
	return nil
}

// Stop stops watching and ends the script's goroutine.
func (s *Script) Stop(ctx context.Context) error {
	s.mu.Lock()
	watching, rt := s.watching, s.rt
	s.watching = false
	s.mu.Unlock()
	if watching {
		s.h.unwatch(s)
	}
	if rt != nil {
		rt.stop()
	}
	return nil
}

// Reload recompiles the script from disk and swaps it in (what the file
// watcher does on a change). On any error the running version is kept.
func (s *Script) Reload() error {
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	s.mu.Lock()
	rt := s.rt
	s.mu.Unlock()
	if rt == nil {
		return fmt.Errorf("lua: script %s is not running", s.id)
	}
	err := rt.reload()
	if err != nil {
		rt.log.Error("reload refused; the running version is kept", "err", err)
		rt.notify("reload", fmt.Sprintf("⚠️ Lua script %s: the new version was refused; the running one is kept.\n%s", s.id, truncate(err.Error(), 600)))
	} else {
		rt.log.Info("script reloaded")
	}
	if s.opts.OnReload != nil {
		s.opts.OnReload(s.id, err)
	}
	return err
}

// Error is a failed call into a script: a Lua runtime error, a budget
// overrun or a call refused because the script is not loaded.
type Error struct {
	// Script is the script's ID.
	Script string
	// Handler names what failed: "command /roll", "middleware", …
	Handler string
	// Message is the Lua error message, with its file:line.
	Message string
	// Traceback is the Lua stack traceback.
	Traceback string
	// Runaway says why the script's state was rebuilt after this call
	// ("" if it was not).
	Runaway string
}

func (e *Error) Error() string {
	s := e.Message
	if e.Runaway != "" {
		s += " [runaway: " + e.Runaway + "; state rebuilt]"
	}
	if e.Traceback != "" {
		s += "\n" + e.Traceback
	}
	return s
}

func (s *Script) setProgram(p *program) {
	s.mu.Lock()
	s.prog = p
	s.mu.Unlock()
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// sortedKeys returns m's keys, sorted.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Annotations is jimbot_v1.lua: LuaLS/EmmyLua annotations of the API, for
// tools that write it next to a user's scripts.
//
//go:embed jimbot_v1.lua
var Annotations string
