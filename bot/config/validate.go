package config

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jimbot/jimbot/bot"
)

var (
	// pluginIDRe is bot's rule for plugin IDs.
	pluginIDRe = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]*$`)
	// commandNameRe is bot's rule for command names.
	commandNameRe = regexp.MustCompile(`^[\p{L}\p{N}_][\p{L}\p{N}_.-]*$`)
	// scheduleNameRe: a schedule name is a word.
	scheduleNameRe = regexp.MustCompile(`^[\p{L}\p{N}_-]+$`)
)

// validator collects the semantic problems of a config.
type validator struct {
	c    *Config
	m    *meta
	reg  *bot.Registry
	errs Errors
}

// add reports a problem at path, unless path (or an ancestor) already
// failed to decode.
func (v *validator) add(path, format string, args ...any) {
	if v.m.isBad(path) {
		return
	}
	e := &Error{Path: path, Line: v.m.line(path), Msg: fmt.Sprintf(format, args...)}
	if v.m != nil {
		e.File = v.m.file
	}
	v.errs = append(v.errs, e)
}

// Validate checks the config's values: required keys, allowed values,
// ranges, Lua script patterns, schedules and group switches. With a
// registry it also checks that plugin IDs are registered. It returns
// Errors listing every problem, or nil.
func (c *Config) Validate(reg *bot.Registry) error {
	v := &validator{c: c, m: c.meta, reg: reg}
	v.server()
	v.bot()
	v.send()
	v.admin()
	v.log()
	v.plugins()
	names, luaOK := v.lua()
	v.schedules()
	v.groups(names, luaOK)
	return v.errs.err()
}

func (v *validator) positive(path string, d Duration) {
	if d <= 0 {
		v.add(path, "must be more than 0, not %s", d)
	}
}

func (v *validator) atLeast(path string, n, lo int) {
	if n < lo {
		v.add(path, "must be %d or more", lo)
	}
}

func (v *validator) required(path, value, env string) {
	if value != "" {
		return
	}
	if env != "" {
		v.add(path, "required (or set $%s)", env)
	} else {
		v.add(path, "required")
	}
}

func (v *validator) user(path, u string) {
	if u == "" {
		v.add(path, "must not be empty")
		return
	}
	app, name, cut := strings.Cut(u, "/")
	if strings.ContainsAny(u, " \t\n") || (cut && (app == "" || name == "" || strings.Contains(name, "/"))) {
		v.add(path, `must be "username" or "appkey/username", not %q`, u)
	}
}

func (v *validator) server() {
	s := &v.c.Server
	v.required("server.url", s.URL, "")
	if s.URL != "" {
		u, err := url.Parse(s.URL)
		shown := s.URL
		if err == nil {
			shown = u.Redacted() // no password from ws://user:pass@host
		}
		switch {
		case err != nil:
			v.add("server.url", "is not a URL: %v", err.(*url.Error).Err)
		case !slices.Contains([]string{"ws", "wss", "http", "https"}, u.Scheme):
			v.add("server.url", "must be a ws://, wss://, http:// or https:// URL, not %q", shown)
		case u.Host == "":
			v.add("server.url", "%q has no host", shown)
		}
	}
	v.required("server.appkey", s.AppKey, "")
	v.required("server.master_secret", s.MasterSecret, EnvMasterSecret)
	if s.Transport != "websocket" && s.Transport != "polling" {
		v.add("server.transport", "must be websocket or polling, not %q", s.Transport)
	}
	v.positive("server.request_timeout", s.RequestTimeout)
	v.positive("server.reconnect.min", s.Reconnect.Min)
	v.positive("server.reconnect.max", s.Reconnect.Max)
	if s.Reconnect.Min > 0 && s.Reconnect.Max > 0 && s.Reconnect.Max < s.Reconnect.Min && !v.m.isBad("server.reconnect.min") {
		v.add("server.reconnect.max", "must be at least min (%s), not %s", s.Reconnect.Min, s.Reconnect.Max)
	}
	v.atLeast("server.reconnect.max_attempts", s.Reconnect.MaxAttempts, 0)
}

func (v *validator) bot() {
	b := &v.c.Bot
	v.required("bot.username", b.Username, "")
	v.required("bot.password", b.Password, EnvPassword)
	if len(b.Prefixes) == 0 {
		v.add("bot.prefixes", "must list at least one prefix")
	}
	for i, p := range b.Prefixes {
		path := fmt.Sprintf("bot.prefixes[%d]", i)
		if p == "" {
			v.add(path, "must not be empty")
		} else if strings.ContainsAny(p, " \t\n") {
			v.add(path, "must not contain spaces, not %q", p)
		}
	}
	for i, a := range b.Admins {
		v.user(fmt.Sprintf("bot.admins[%d]", i), a)
	}
	v.atLeast("bot.workers", b.Workers, 0)
	v.atLeast("bot.max_queued", b.MaxQueued, 1)
	v.positive("bot.handler_timeout", b.HandlerTimeout)
	v.atLeast("bot.trace_size", b.TraceSize, 1)
	v.positive("bot.dedup_ttl", b.DedupTTL)
}

func (v *validator) send() {
	s := &v.c.Send
	if s.RatePerMinute != -1 && s.RatePerMinute <= 0 {
		v.add("send.rate_per_minute", "must be more than 0, or -1 for no limit")
	}
	v.atLeast("send.burst", s.Burst, 1)
	if s.Retries < 1 {
		v.add("send.retries", "must be 1 or more (retries cannot be turned off)")
	}
	v.positive("send.retry_backoff", s.RetryBackoff)
	v.atLeast("send.max_queue", s.MaxQueue, 1)
	if f := v.c.Breaker.Failures; f == 0 || f < -1 {
		v.add("breaker.failures", "must be 1 or more, or -1 to turn the breaker off")
	}
	v.positive("breaker.cooldown", v.c.Breaker.Cooldown)
}

func (v *validator) admin() {
	l := v.c.Admin.Listen
	if l == "" {
		return
	}
	_, port, err := net.SplitHostPort(l)
	if n, perr := strconv.Atoi(port); err != nil || perr != nil || n < 0 || n > 65535 {
		v.add("admin.listen", "must be host:port such as 127.0.0.1:9100 or :9100, not %q", l)
	}
}

func (v *validator) log() {
	switch v.c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		v.add("log.level", "must be debug, info, warn or error, not %q", v.c.Log.Level)
	}
	if f := v.c.Log.Format; f != "text" && f != "json" {
		v.add("log.format", "must be text or json, not %q", f)
	}
}

// registered reports whether the registry (when there is one) knows id.
func (v *validator) registered(id string) bool {
	if v.reg == nil {
		return true
	}
	_, ok := v.reg.Lookup(id)
	return ok
}

// unknownPlugin is the message for an ID the registry lacks; extra are
// further valid names (Lua scripts).
func (v *validator) unknownPlugin(id string, extra []string) string {
	known := append(v.reg.IDs(), extra...)
	msg := fmt.Sprintf("no plugin %q in this build (", id)
	if s := suggest(id, known); s != "" {
		msg += "did you mean " + s + "? "
	}
	return msg + "known: " + strings.Join(known, ", ") + ")"
}

func (v *validator) plugins() {
	first := map[string]int{}
	for i, p := range v.c.Plugins {
		path := fmt.Sprintf("plugins[%d].id", i)
		j, dup := first[p.ID]
		switch {
		case p.ID == "":
			v.add(path, "required")
		case !pluginIDRe.MatchString(p.ID):
			v.add(path, "%q is not a plugin ID: use lowercase letters, digits, '-', '_' and '.'", p.ID)
		case dup:
			v.add(path, "%s is listed twice (first at plugins[%d])", p.ID, j)
		case !v.registered(p.ID):
			v.add(path, "%s", v.unknownPlugin(p.ID, nil))
		}
		if !dup {
			first[p.ID] = i
		}
		if p.ID == "moderation" && len(p.Settings) > 0 && len(v.c.Moderation) > 0 {
			v.add("moderation", "plugin moderation also has settings in plugins[%d].settings: keep them in one place", i)
		}
	}
	if v.c.Moderation != nil && !v.registered("moderation") {
		v.add("moderation", "this build has no moderation plugin")
	}
}

// LuaScript is a script found by lua.scripts.
type LuaScript struct {
	// Name is the file name without .lua, or the folder's name; it keys
	// lua.settings.
	Name string
	// Path is the .lua file, or the folder holding init.lua.
	Path string
	// Dir reports whether Path is a folder.
	Dir bool
}

// LuaScripts expands lua.scripts into scripts: .lua files, folders with
// an init.lua, and the matches of glob patterns, in order, each once.
// Problems (a pattern matching nothing, a missing file, two scripts with
// one name) come back as Errors alongside the scripts that were found.
func (c *Config) LuaScripts() ([]LuaScript, error) {
	v := &validator{c: c, m: c.meta}
	scripts := v.luaScripts()
	return scripts, v.errs.err()
}

func (v *validator) luaScripts() []LuaScript {
	var out []LuaScript
	byName := map[string]LuaScript{}
	for i, p := range v.c.Lua.Scripts {
		path := fmt.Sprintf("lua.scripts[%d]", i)
		shown := p
		if v.m != nil && len(v.m.scripts) == len(v.c.Lua.Scripts) {
			shown = v.m.scripts[i]
		}
		if p == "" {
			v.add(path, "must not be empty")
			continue
		}
		var found []LuaScript
		if strings.ContainsAny(p, "*?[") {
			matches, err := filepath.Glob(p)
			if err != nil {
				v.add(path, "bad pattern %q: %v", shown, err)
				continue
			}
			for _, m := range matches {
				if s, ok := scriptAt(m); ok {
					found = append(found, s)
				}
			}
			if len(found) == 0 {
				v.add(path, "%q matches no .lua file or folder with init.lua", shown)
				continue
			}
		} else {
			fi, err := os.Stat(p)
			switch {
			case err != nil:
				v.add(path, "%q: no such file or folder", shown)
				continue
			case fi.IsDir():
				if _, err := os.Stat(filepath.Join(p, "init.lua")); err != nil {
					v.add(path, "%q: folder has no init.lua", shown)
					continue
				}
			case !strings.HasSuffix(p, ".lua"):
				v.add(path, "%q is not a .lua file or a folder with init.lua", shown)
				continue
			}
			s, _ := scriptAt(p)
			found = append(found, s)
		}
		for _, s := range found {
			if prev, ok := byName[s.Name]; ok {
				if prev.Path != s.Path {
					v.add(path, "two scripts are named %s: %s and %s", s.Name, prev.Path, s.Path)
				}
				continue
			}
			byName[s.Name] = s
			out = append(out, s)
		}
	}
	return out
}

// scriptAt returns the script at p: a .lua file or a folder with init.lua.
func scriptAt(p string) (LuaScript, bool) {
	fi, err := os.Stat(p)
	if err != nil {
		return LuaScript{}, false
	}
	base := filepath.Base(p)
	if fi.IsDir() {
		if _, err := os.Stat(filepath.Join(p, "init.lua")); err != nil {
			return LuaScript{}, false
		}
		return LuaScript{Name: base, Path: p, Dir: true}, true
	}
	if !strings.HasSuffix(base, ".lua") || strings.HasSuffix(base, "_test.lua") {
		return LuaScript{}, false // *_test.lua files are tests of scripts, not scripts
	}
	return LuaScript{Name: strings.TrimSuffix(base, ".lua"), Path: p}, true
}

// lua checks the lua section and returns the scripts' names, and whether
// every pattern resolved.
func (v *validator) lua() ([]string, bool) {
	before := len(v.errs)
	scripts := v.luaScripts()
	ok := len(v.errs) == before
	names := make([]string, len(scripts))
	known := map[string]bool{}
	for i, s := range scripts {
		names[i] = s.Name
		known[s.Name] = true
	}
	v.positive("lua.timeout", v.c.Lua.Timeout)
	v.atLeast("lua.max_sends_per_call", v.c.Lua.MaxSendsPerCall, 1)
	v.atLeast("lua.max_memory_mb", v.c.Lua.MaxMemoryMB, 1)
	v.atLeast("lua.max_store_mb", v.c.Lua.MaxStoreMB, 1)
	if ok {
		for _, key := range sortedKeys(v.c.Lua.Settings) {
			if known[key] {
				continue
			}
			msg := fmt.Sprintf("no script named %q is loaded", key)
			if s := suggest(key, names); s != "" {
				msg += fmt.Sprintf(" (did you mean %s?)", s)
			} else if len(names) > 0 {
				msg += " (scripts: " + strings.Join(names, ", ") + ")"
			} else {
				msg += " (lua.scripts loads none)"
			}
			v.add("lua.settings."+key, "%s", msg)
		}
	}
	return names, ok
}

func (v *validator) schedules() {
	first := map[string]int{}
	for i, s := range v.c.Schedules {
		p := fmt.Sprintf("schedules[%d]", i)
		j, dup := first[s.Name]
		switch {
		case s.Name == "":
			v.add(p+".name", "required")
		case !scheduleNameRe.MatchString(s.Name):
			v.add(p+".name", "%q is not a word (use letters, digits, '_' and '-')", s.Name)
		case dup:
			v.add(p+".name", "%s is used twice (first at schedules[%d])", s.Name, j)
		}
		if !dup {
			first[s.Name] = i
		}
		var loc *time.Location
		if s.Timezone != "" {
			l, err := time.LoadLocation(s.Timezone)
			if err != nil {
				v.add(p+".timezone", "unknown time zone %q (use an IANA name such as Asia/Shanghai)", s.Timezone)
			}
			loc = l
		}
		switch {
		case v.m.isBad(p+".cron") || v.m.isBad(p+".every"):
		case s.Cron == "" && s.Every == 0:
			v.add(p, "needs cron or every")
		case s.Cron != "" && s.Every != 0:
			v.add(p, "has both cron and every: use one")
		case s.Cron != "":
			if _, err := bot.ParseSchedule(s.Cron, loc); err != nil {
				msg := err.Error()
				if _, rest, ok := strings.Cut(msg, "\": "); ok && strings.HasPrefix(msg, "schedule ") {
					msg = rest
				}
				v.add(p+".cron", "bad schedule %q: %s", s.Cron, msg)
			}
		case s.Every < Duration(time.Second):
			v.add(p+".every", "must be at least 1s, not %s", s.Every)
		}
		switch {
		case v.m.isBad(p+".group") || v.m.isBad(p+".user"):
		case s.Group == 0 && s.User == "":
			v.add(p, "needs group or user")
		case s.Group != 0 && s.User != "":
			v.add(p, "has both group and user: use one")
		case s.Group < 0:
			v.add(p+".group", "must be a group id (a positive integer)")
		case s.User != "":
			v.user(p+".user", s.User)
		}
		if strings.TrimSpace(s.Text) == "" {
			v.add(p+".text", "required")
		}
	}
}

// groups checks the per-group switches; scripts are the Lua script names
// (valid switch targets too), complete when luaOK.
func (v *validator) groups(scripts []string, luaOK bool) {
	for _, key := range sortedKeys(v.c.Groups) {
		g := v.c.Groups[key]
		p := "groups." + key
		if gid, err := strconv.ParseInt(key, 10, 64); err != nil || gid <= 0 {
			v.add(p, "%q is not a group id (a positive integer)", key)
		}
		enabled := map[string]int{}
		for _, list := range []struct {
			name    string
			entries []string
		}{{"enable", g.Enable}, {"disable", g.Disable}} {
			for i, e := range list.entries {
				ep := fmt.Sprintf("%s.%s[%d]", p, list.name, i)
				if list.name == "enable" {
					enabled[e] = i
				} else if j, ok := enabled[e]; ok {
					v.add(ep, "%s is also in enable (enable[%d])", e, j)
					continue
				}
				if name, ok := strings.CutPrefix(e, "/"); ok {
					if !commandNameRe.MatchString(name) {
						v.add(ep, "%q is not a command name", e)
					}
					continue
				}
				if !pluginIDRe.MatchString(e) {
					v.add(ep, "%q is not a plugin ID, script name or /command", e)
					continue
				}
				if v.reg == nil || slices.Contains(scripts, e) {
					continue
				}
				info, ok := v.reg.Lookup(e)
				switch {
				case !ok && luaOK:
					v.add(ep, "%s", v.unknownPlugin(e, scripts))
				case ok && info.Essential && list.name == "disable":
					v.add(ep, "plugin %s is essential and cannot be disabled", e)
				}
			}
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
