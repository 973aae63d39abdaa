// Package config reads a jimbot bot's YAML configuration file: the one
// file behind `jimbot run -c FILE` and `jimbot check -c FILE`.
//
//	cfg, err := config.Loader{Registry: plugins.Default()}.Load("jimbot.yaml")
//	if err != nil {
//		fmt.Fprintln(os.Stderr, err) // every problem, one a line: file:line: key: problem
//		os.Exit(2)
//	}
//	opts := cfg.BotOptions()       // add Transport, Store, Logger, Metrics
//	client := cfg.ClientOptions()  // for bot.DialJMessage(ctx, cfg.Server.URL, log, client...)
//
// Load (and Loader.Load, which also checks plugin IDs against a
// registry) reads the file, fills in the defaults (Default), takes secrets
// from the environment ($JIMBOT_MASTER_SECRET, $JIMBOT_PASSWORD) when the
// file leaves them empty, resolves relative paths against the file's
// directory and validates the result. Problems come back all at once as
// Errors, each naming the file, line and dotted key path:
//
//	jimbot.yaml:6: bot.usrname: unknown key (did you mean username?)
//	jimbot.yaml:8: bot.workers: must be an integer, not "many"
//
// docs/config.md is the reference for every key.
package config

import (
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/jimbot/jimbot/bot"
	"github.com/jimbot/jimbot/jmessage"
)

// Environment variables that supply secrets the file leaves empty (absent
// or ""). A value in the file wins over the environment.
const (
	EnvMasterSecret = "JIMBOT_MASTER_SECRET"
	EnvPassword     = "JIMBOT_PASSWORD"
)

// Config is a whole config file. Default returns one with every default
// filled in; Load and Parse start from it and apply the file on top.
type Config struct {
	// Server is the JMessage server and app the bot connects to.
	Server Server `yaml:"server"`
	// Bot is the bot's account and runtime settings.
	Bot Bot `yaml:"bot"`
	// Data is the bbolt database file; relative to the config file's
	// directory. "" keeps all state in memory. Default "jimbot.db".
	Data string `yaml:"data"`
	// Send configures the outbound governor.
	Send Send `yaml:"send"`
	// Breaker configures the per-plugin circuit breaker.
	Breaker Breaker `yaml:"breaker"`
	// Admin configures the admin HTTP endpoint.
	Admin Admin `yaml:"admin"`
	// Log configures logging.
	Log Log `yaml:"log"`
	// Plugins are the Go plugins to load, by registry ID, in this order.
	// Default: switchboard, help, why, ping.
	Plugins []Plugin `yaml:"plugins"`
	// Lua configures the Lua scripts.
	Lua Lua `yaml:"lua"`
	// Schedules are announcements sent on a schedule.
	Schedules []Schedule `yaml:"schedules"`
	// Groups are per-group switchboard defaults, keyed by group id.
	Groups map[string]Group `yaml:"groups"`
	// Moderation holds the settings of plugin "moderation". When the
	// section is present (even empty) the plugin is loaded; see
	// PluginList. Nil when absent.
	Moderation bot.Settings `yaml:"moderation,omitempty"`

	meta *meta
}

// Server is the "server" section.
type Server struct {
	// URL is the server's address: ws, wss, http or https. Required.
	URL string `yaml:"url"`
	// AppKey is the JMessage app key. Required.
	AppKey string `yaml:"appkey"`
	// MasterSecret is the app's master secret. Required, from the file or
	// $JIMBOT_MASTER_SECRET.
	MasterSecret string `yaml:"master_secret"`
	// Transport is "websocket" or "polling". Default "websocket".
	Transport string `yaml:"transport"`
	// RequestTimeout bounds each request to the server. Default 30s.
	RequestTimeout Duration `yaml:"request_timeout"`
	// Reconnect is the reconnect schedule.
	Reconnect Reconnect `yaml:"reconnect"`
}

// Reconnect is "server.reconnect": exponential backoff with jitter.
type Reconnect struct {
	// Min is the first delay. Default 500ms.
	Min Duration `yaml:"min"`
	// Max is the longest delay. Default 30s.
	Max Duration `yaml:"max"`
	// MaxAttempts is how many attempts in a row before giving up; 0 means
	// no limit. Default 0.
	MaxAttempts int `yaml:"max_attempts"`
}

// Bot is the "bot" section.
type Bot struct {
	// Username is the bot's JMessage user. Required.
	Username string `yaml:"username"`
	// Password is the bot's password. Required, from the file or
	// $JIMBOT_PASSWORD.
	Password string `yaml:"password"`
	// Prefixes start commands. Default "/" and "!".
	Prefixes []string `yaml:"prefixes"`
	// Admins are bot admins: "username" (of the bot's app) or
	// "appkey/username".
	Admins []string `yaml:"admins"`
	// Workers is how many events are handled at once; 0 is automatic
	// (4 × GOMAXPROCS, 4..64). Default 0.
	Workers int `yaml:"workers"`
	// MaxQueued bounds the events waiting for a worker. Default 10000.
	MaxQueued int `yaml:"max_queued"`
	// HandlerTimeout is the deadline of each event's handlers. Default 30s.
	HandlerTimeout Duration `yaml:"handler_timeout"`
	// TraceSize is how many event traces are kept. Default 1000.
	TraceSize int `yaml:"trace_size"`
	// DedupTTL is how long handled event ids are remembered. Default 7d.
	DedupTTL Duration `yaml:"dedup_ttl"`
}

// Send is the "send" section: the outbound governor (bot.SendOptions).
type Send struct {
	// RatePerMinute is the sustained outbound rate; -1 is unlimited.
	// Default 50.
	RatePerMinute float64 `yaml:"rate_per_minute"`
	// Burst is how many actions may go at once. Default 5.
	Burst int `yaml:"burst"`
	// Retries is how often a temporarily failed action is retried.
	// Default 5.
	Retries int `yaml:"retries"`
	// RetryBackoff is the first retry delay, doubling up to a minute.
	// Default 2s.
	RetryBackoff Duration `yaml:"retry_backoff"`
	// MaxQueue bounds the queued replies and announcements. Default 1000.
	MaxQueue int `yaml:"max_queue"`
}

// Breaker is the "breaker" section (bot.BreakerOptions).
type Breaker struct {
	// Failures in a row that disable a plugin; -1 turns the breaker off.
	// Default 5.
	Failures int `yaml:"failures"`
	// Cooldown is how long a tripped plugin stays disabled. Default 1m.
	Cooldown Duration `yaml:"cooldown"`
}

// Admin is the "admin" section.
type Admin struct {
	// Listen is the admin HTTP address (host:port) serving /healthz,
	// /readyz, /metrics and /api/traces; "" turns it off. Default "".
	Listen string `yaml:"listen"`
}

// Log is the "log" section.
type Log struct {
	// Level is debug, info, warn or error. Default info.
	Level string `yaml:"level"`
	// Format is text or json. Default text.
	Format string `yaml:"format"`
}

// Plugin is one item of "plugins". In the file an item is either a
// mapping ({id: ping, settings: …}) or just the ID.
type Plugin struct {
	// ID is the plugin's registry ID. Required.
	ID string `yaml:"id"`
	// Settings are passed to the plugin as bot.Settings.
	Settings bot.Settings `yaml:"settings,omitempty"`
	// DefaultOff, when set, overrides the plugin's own default: true
	// keeps it off in every chat until enabled there.
	DefaultOff *bool `yaml:"default_off,omitempty"`
}

// Lua is the "lua" section.
type Lua struct {
	// Scripts are .lua files, folders with an init.lua, or glob patterns;
	// relative to the config file's directory. Load stores them resolved
	// (absolute when the file's directory is); LuaScripts expands them.
	Scripts []string `yaml:"scripts"`
	// Reload reloads a script when its files change. Default false.
	Reload bool `yaml:"reload"`
	// Timeout bounds each call into a script. Default 200ms.
	Timeout Duration `yaml:"timeout"`
	// MaxSendsPerCall bounds the messages one call may send. Default 20.
	MaxSendsPerCall int `yaml:"max_sends_per_call"`
	// MaxMemoryMB is about how much memory, in MiB, each script's state
	// may hold before it is rebuilt as a runaway. Default 64.
	MaxMemoryMB int `yaml:"max_memory_mb"`
	// MaxStoreMB caps what each script keeps in bot.store, in MiB.
	// Default 64.
	MaxStoreMB int `yaml:"max_store_mb"`
	// Settings are per-script settings, keyed by script name (the file
	// name without .lua, or the folder's name).
	Settings map[string]bot.Settings `yaml:"settings,omitempty"`
}

// Schedule is one item of "schedules": a text sent to a chat on a
// schedule.
type Schedule struct {
	// Name identifies the schedule: a word, unique. Required.
	Name string `yaml:"name"`
	// Cron is a five-field cron expression or descriptor (@daily). One of
	// Cron and Every is required.
	Cron string `yaml:"cron,omitempty"`
	// Every is an interval of at least one second.
	Every Duration `yaml:"every,omitempty"`
	// Timezone is an IANA zone name for Cron; default the local zone.
	Timezone string `yaml:"timezone,omitempty"`
	// Group is the group to send to. One of Group and User is required.
	Group int64 `yaml:"group,omitempty"`
	// User is the user to send to: "username" or "appkey/username".
	User string `yaml:"user,omitempty"`
	// Text is what is sent. Required.
	Text string `yaml:"text"`
}

// Location returns the schedule's time zone: time.Local when Timezone is
// empty.
func (s *Schedule) Location() (*time.Location, error) {
	if s.Timezone == "" {
		return time.Local, nil
	}
	return time.LoadLocation(s.Timezone)
}

// Parse returns the schedule as a bot.Schedule, for Router.Schedule.
func (s *Schedule) Parse() (bot.Schedule, error) {
	if s.Every != 0 {
		return bot.ParseSchedule("@every "+s.Every.String(), nil)
	}
	loc, err := s.Location()
	if err != nil {
		return nil, err
	}
	return bot.ParseSchedule(s.Cron, loc)
}

// Group is one entry of "groups": switchboard defaults for a group.
type Group struct {
	// Enable lists plugin IDs (or Lua script names) and "/commands" to
	// switch on in the group.
	Enable []string `yaml:"enable,omitempty"`
	// Disable lists plugin IDs (or Lua script names) and "/commands" to
	// switch off in the group.
	Disable []string `yaml:"disable,omitempty"`
}

// DefaultPlugins are the plugins loaded when the file has no "plugins".
var DefaultPlugins = []string{"switchboard", "help", "why", "ping"}

// Default returns a config with every default filled in. The required
// keys (server.url, server.appkey, server.master_secret, bot.username,
// bot.password) are empty.
func Default() Config {
	ps := make([]Plugin, len(DefaultPlugins))
	for i, id := range DefaultPlugins {
		ps[i] = Plugin{ID: id}
	}
	return Config{
		Server: Server{
			Transport:      "websocket",
			RequestTimeout: Duration(30 * time.Second),
			Reconnect:      Reconnect{Min: Duration(500 * time.Millisecond), Max: Duration(30 * time.Second)},
		},
		Bot: Bot{
			Prefixes:       []string{"/", "!"},
			MaxQueued:      10000,
			HandlerTimeout: Duration(30 * time.Second),
			TraceSize:      1000,
			DedupTTL:       Duration(7 * 24 * time.Hour),
		},
		Data:    "jimbot.db",
		Send:    Send{RatePerMinute: 50, Burst: 5, Retries: 5, RetryBackoff: Duration(2 * time.Second), MaxQueue: 1000},
		Breaker: Breaker{Failures: 5, Cooldown: Duration(time.Minute)},
		Log:     Log{Level: "info", Format: "text"},
		Plugins: ps,
		Lua:     Lua{Timeout: Duration(200 * time.Millisecond), MaxSendsPerCall: 20, MaxMemoryMB: 64, MaxStoreMB: 64},
	}
}

// Loader reads config files. The zero Loader is what Load and Parse use.
type Loader struct {
	// Registry, when set, makes validation check plugin IDs against it
	// (plugins, groups, moderation). Nil skips those checks.
	Registry *bot.Registry
	// Getenv looks up the secrets' environment variables. Default
	// os.Getenv.
	Getenv func(string) string
	// Adjust, when set, changes the decoded config before it is validated
	// (`jimbot dev -c` points the server and bot sections at its own
	// server, so a file for dev may leave them out).
	Adjust func(*Config)
}

// Load reads, parses and validates the file at path, with secrets from the
// process environment and no plugin registry.
func Load(path string) (*Config, error) { return Loader{}.Load(path) }

// Parse is Load from bytes: dir is the directory relative paths are
// resolved against ("" leaves them relative). Errors carry lines but no
// file name.
func Parse(data []byte, dir string) (*Config, error) { return Loader{}.Parse(data, dir) }

// Load reads, parses and validates the file at path. Errors name the file
// as path.
func (l Loader) Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return l.parse(data, filepath.Dir(path), path)
}

// Parse parses and validates data; dir resolves relative paths.
func (l Loader) Parse(data []byte, dir string) (*Config, error) {
	return l.parse(data, dir, "")
}

func (l Loader) parse(data []byte, dir, file string) (*Config, error) {
	m := &meta{file: file, lines: map[string]int{}, bad: map[string]bool{}}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, Errors{syntaxError(file, err)}
	}
	c := Default()
	c.meta = m
	d := &decoder{m: m}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) > 0 {
		root = root.Content[0]
	}
	if root.Kind != 0 && !isNull(root) {
		d.decode(root, reflect.ValueOf(&c).Elem(), "")
	}
	getenv := l.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	if c.Server.MasterSecret == "" {
		c.Server.MasterSecret = getenv(EnvMasterSecret)
	}
	if c.Bot.Password == "" {
		c.Bot.Password = getenv(EnvPassword)
	}
	c.resolve(dir)
	if l.Adjust != nil {
		l.Adjust(&c)
	}
	errs := d.errs
	if m.bad[""] {
		// Not a mapping at all: checking the values would only repeat it.
		return nil, errs.sorted()
	}
	if err := c.Validate(l.Registry); err != nil {
		errs = append(errs, err.(Errors)...)
	}
	if len(errs) > 0 {
		for _, e := range errs {
			e.File = file
		}
		return nil, errs.sorted()
	}
	return &c, nil
}

// syntaxError turns a yaml.v3 parse error ("yaml: line 3: …") into an
// Error.
func syntaxError(file string, err error) *Error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if i := strings.Index(rest, ": "); i > 0 {
			if n, err := strconv.Atoi(rest[:i]); err == nil {
				line, msg = n, rest[i+2:]
			}
		}
	}
	if parserProblems[msg] {
		// yaml.v3 reports parser (not scanner) problems with 0-based
		// lines, leaving out line 0.
		line++
	}
	return &Error{File: file, Line: line, Msg: "YAML syntax: " + msg}
}

// parserProblems are the messages of yaml.v3's parser, whose lines are
// 0-based; its scanner's are 1-based.
var parserProblems = map[string]bool{
	"did not find expected ',' or ']'":       true,
	"did not find expected ',' or '}'":       true,
	"did not find expected '-' indicator":    true,
	"did not find expected <document start>": true,
	"did not find expected <stream-start>":   true,
	"did not find expected key":              true,
	"did not find expected node content":     true,
	"found duplicate %TAG directive":         true,
	"found duplicate %YAML directive":        true,
	"found incompatible YAML document":       true,
	"found undefined tag handle":             true,
}

// resolve makes data and the Lua script patterns relative to dir.
func (c *Config) resolve(dir string) {
	if dir == "" {
		return
	}
	if c.Data != "" && !filepath.IsAbs(c.Data) {
		c.Data = filepath.Join(dir, c.Data)
	}
	if c.meta != nil {
		c.meta.scripts = append([]string(nil), c.Lua.Scripts...)
	}
	for i, s := range c.Lua.Scripts {
		if s != "" && !filepath.IsAbs(s) {
			c.Lua.Scripts[i] = filepath.Join(dir, s)
		}
	}
}

// PluginList returns the Go plugins to load, in order: Plugins, plus
// "moderation" with the Moderation settings when that section is present
// (appended unless Plugins lists it, in which case its settings are
// filled in from the section when it has none).
func (c *Config) PluginList() []Plugin {
	out := append([]Plugin(nil), c.Plugins...)
	if c.Moderation == nil {
		return out
	}
	for i := range out {
		if out[i].ID == "moderation" {
			if len(out[i].Settings) == 0 {
				out[i].Settings = c.Moderation
			}
			return out
		}
	}
	return append(out, Plugin{ID: "moderation", Settings: c.Moderation})
}

// BotOptions maps the config onto bot.Options. Transport, Store, Logger,
// Metrics and Clock are left for the caller.
func (c *Config) BotOptions() bot.Options {
	o := bot.Options{
		Prefixes:       append([]string(nil), c.Bot.Prefixes...),
		Admins:         append([]string(nil), c.Bot.Admins...),
		Workers:        c.Bot.Workers,
		MaxQueued:      c.Bot.MaxQueued,
		HandlerTimeout: c.Bot.HandlerTimeout.D(),
		TraceSize:      c.Bot.TraceSize,
		DedupTTL:       c.Bot.DedupTTL.D(),
		Send: bot.SendOptions{
			RatePerMinute: c.Send.RatePerMinute,
			Burst:         c.Send.Burst,
			Retries:       c.Send.Retries,
			RetryBackoff:  c.Send.RetryBackoff.D(),
			MaxQueue:      c.Send.MaxQueue,
		},
		Breaker: bot.BreakerOptions{Failures: c.Breaker.Failures, Cooldown: c.Breaker.Cooldown.D()},
	}
	if len(o.Admins) == 0 {
		o.Admins = nil
	}
	o.Switches = c.Switches()
	return o
}

// Switches returns the groups section as bot.Options.Switches:
// "group:<gid>" → "plugin:<id>" or "command:<name>" → on. Nil when there
// are no groups.
func (c *Config) Switches() map[string]map[string]bool {
	if len(c.Groups) == 0 {
		return nil
	}
	out := make(map[string]map[string]bool, len(c.Groups))
	for key, g := range c.Groups {
		chat := "group:" + key
		if gid, err := strconv.ParseInt(strings.TrimSpace(key), 10, 64); err == nil {
			chat = "group:" + strconv.FormatInt(gid, 10)
		}
		m := out[chat]
		if m == nil {
			m = map[string]bool{}
			out[chat] = m
		}
		for _, e := range g.Enable {
			m[switchKey(e)] = true
		}
		for _, e := range g.Disable {
			m[switchKey(e)] = false
		}
	}
	return out
}

// switchKey turns "ping" into "plugin:ping" and "/roll" into
// "command:roll".
func switchKey(entry string) string {
	if name, ok := strings.CutPrefix(entry, "/"); ok {
		return "command:" + name
	}
	return "plugin:" + entry
}

// ClientOptions returns the jmessage options for the server section and
// the bot's login: app key and secret, login, transport, request timeout
// and reconnect backoff. Dial Server.URL with them.
func (c *Config) ClientOptions() []jmessage.Option {
	b := jmessage.DefaultBackoff
	b.Min, b.Max, b.MaxAttempts = c.Server.Reconnect.Min.D(), c.Server.Reconnect.Max.D(), c.Server.Reconnect.MaxAttempts
	t := jmessage.WebSocket
	if c.Server.Transport == "polling" {
		t = jmessage.Polling
	}
	return []jmessage.Option{
		jmessage.WithAppKey(c.Server.AppKey, c.Server.MasterSecret),
		jmessage.WithLogin(c.Bot.Username, c.Bot.Password),
		jmessage.WithTransport(t),
		jmessage.WithRequestTimeout(c.Server.RequestTimeout.D()),
		jmessage.WithBackoff(b),
	}
}

// SlogLevel returns the log level; info for an unknown one.
func (c *Config) SlogLevel() slog.Level {
	switch c.Log.Level {
	case "debug":
		return slog.LevelDebug
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelInfo
}

// redactedMark replaces secrets in Redacted.
const redactedMark = "********"

// Redacted returns a copy with the master secret and the password
// replaced by asterisks (when set), for printing. The copy shares maps
// and slices with c.
func (c Config) Redacted() Config {
	if c.Server.MasterSecret != "" {
		c.Server.MasterSecret = redactedMark
	}
	if c.Bot.Password != "" {
		c.Bot.Password = redactedMark
	}
	return c
}

// String returns the config as YAML, with secrets redacted: what `jimbot
// check` prints. It parses back into the same config (secrets aside).
func (c Config) String() string {
	var b strings.Builder
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(c.Redacted()); err != nil {
		return "config: " + err.Error()
	}
	enc.Close()
	return b.String()
}
