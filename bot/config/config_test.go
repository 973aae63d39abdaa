package config

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // Asia/Shanghai without the system's zoneinfo

	"go.yaml.in/yaml/v3"

	"github.com/jimbot/jimbot/bot"
	"github.com/jimbot/jimbot/jmessage"
	"github.com/jimbot/jimbot/plugins"
)

// registry returns plugins.Default() without the given plugins, so that
// tests hold whatever else the build registers.
func registry(t *testing.T, without ...string) *bot.Registry {
	t.Helper()
	reg := bot.NewRegistry()
	for _, id := range plugins.Default().IDs() {
		if slices.Contains(without, id) {
			continue
		}
		p, err := plugins.Default().New(id)
		if err != nil {
			t.Fatal(err)
		}
		reg.MustRegister(p)
	}
	return reg
}

// known replaces KNOWN in want with the registry's IDs.
func known(reg *bot.Registry, want []string) []string {
	out := make([]string, len(want))
	for i, w := range want {
		out[i] = strings.ReplaceAll(w, "KNOWN", strings.Join(reg.IDs(), ", "))
	}
	return out
}

// noEnv is an environment without the secrets.
func noEnv(string) string { return "" }

// writeFiles creates files (path → content) under dir.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// errorLines returns err's lines with dir/ removed from file names.
func errorLines(err error, dir string) []string {
	if err == nil {
		return nil
	}
	s := err.Error()
	if dir != "" {
		s = strings.ReplaceAll(s, dir+string(filepath.Separator), "")
	}
	return strings.Split(s, "\n")
}

func TestDefaults(t *testing.T) {
	d := Default()
	bd := bot.DefaultOptions()
	tests := []struct {
		name      string
		got, want any
	}{
		{"server.url", d.Server.URL, ""},
		{"server.appkey", d.Server.AppKey, ""},
		{"server.master_secret", d.Server.MasterSecret, ""},
		{"server.transport", d.Server.Transport, "websocket"},
		{"server.request_timeout", d.Server.RequestTimeout.D(), 30 * time.Second},
		{"server.reconnect.min", d.Server.Reconnect.Min.D(), 500 * time.Millisecond},
		{"server.reconnect.max", d.Server.Reconnect.Max.D(), 30 * time.Second},
		{"server.reconnect.max_attempts", d.Server.Reconnect.MaxAttempts, 0},
		{"server.reconnect.min=jmessage", d.Server.Reconnect.Min.D(), jmessage.DefaultBackoff.Min},
		{"server.reconnect.max=jmessage", d.Server.Reconnect.Max.D(), jmessage.DefaultBackoff.Max},
		{"bot.username", d.Bot.Username, ""},
		{"bot.password", d.Bot.Password, ""},
		{"bot.prefixes", d.Bot.Prefixes, []string{"/", "!"}},
		{"bot.prefixes=bot", d.Bot.Prefixes, bd.Prefixes},
		{"bot.admins", d.Bot.Admins, []string(nil)},
		{"bot.workers", d.Bot.Workers, 0},
		{"bot.max_queued", d.Bot.MaxQueued, 10000},
		{"bot.max_queued=bot", d.Bot.MaxQueued, bd.MaxQueued},
		{"bot.handler_timeout", d.Bot.HandlerTimeout.D(), 30 * time.Second},
		{"bot.handler_timeout=bot", d.Bot.HandlerTimeout.D(), bd.HandlerTimeout},
		{"bot.trace_size", d.Bot.TraceSize, 1000},
		{"bot.trace_size=bot", d.Bot.TraceSize, bd.TraceSize},
		{"bot.dedup_ttl", d.Bot.DedupTTL.D(), 7 * 24 * time.Hour},
		{"bot.dedup_ttl=bot", d.Bot.DedupTTL.D(), bd.DedupTTL},
		{"data", d.Data, "jimbot.db"},
		{"send.rate_per_minute", d.Send.RatePerMinute, 50.0},
		{"send.burst", d.Send.Burst, 5},
		{"send.retries", d.Send.Retries, 5},
		{"send.retry_backoff", d.Send.RetryBackoff.D(), 2 * time.Second},
		{"send.max_queue", d.Send.MaxQueue, 1000},
		{"send=bot", d.BotOptions().Send, bot.DefaultSendOptions},
		{"breaker.failures", d.Breaker.Failures, 5},
		{"breaker.cooldown", d.Breaker.Cooldown.D(), time.Minute},
		{"breaker=bot", d.BotOptions().Breaker, bd.Breaker},
		{"admin.listen", d.Admin.Listen, ""},
		{"log.level", d.Log.Level, "info"},
		{"log.format", d.Log.Format, "text"},
		{"plugins", d.Plugins, []Plugin{{ID: "switchboard"}, {ID: "help"}, {ID: "why"}, {ID: "ping"}}},
		{"lua.scripts", d.Lua.Scripts, []string(nil)},
		{"lua.reload", d.Lua.Reload, false},
		{"lua.timeout", d.Lua.Timeout.D(), 200 * time.Millisecond},
		{"lua.max_sends_per_call", d.Lua.MaxSendsPerCall, 20},
		{"lua.max_memory_mb", d.Lua.MaxMemoryMB, 64},
		{"lua.max_store_mb", d.Lua.MaxStoreMB, 64},
		{"lua.settings", d.Lua.Settings, map[string]bot.Settings(nil)},
		{"schedules", d.Schedules, []Schedule(nil)},
		{"groups", d.Groups, map[string]Group(nil)},
		{"moderation", d.Moderation, bot.Settings(nil)},
		{"SlogLevel", d.SlogLevel(), slog.LevelInfo},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !reflect.DeepEqual(tt.got, tt.want) {
				t.Errorf("default %s = %#v, want %#v", tt.name, tt.got, tt.want)
			}
		})
	}
}

// TestDocsDefaults checks docs/config.md's key table against Default: each
// documented default must equal Default's value, and every key of the
// schema (outside lists and maps) must be in the table.
func TestDocsDefaults(t *testing.T) {
	doc, err := os.ReadFile("../../docs/config.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]string{} // key → default cell
	for _, line := range strings.Split(string(doc), "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 5 || !strings.HasPrefix(strings.TrimSpace(cells[1]), "`") {
			continue
		}
		key := strings.Trim(strings.TrimSpace(cells[1]), "`")
		rows[key] = strings.TrimSpace(cells[3])
	}
	if len(rows) == 0 {
		t.Fatal("no key table in docs/config.md")
	}
	def := reflect.ValueOf(Default())
	for _, key := range leafKeys(reflect.TypeFor[Config](), "") {
		t.Run(key, func(t *testing.T) {
			cell, ok := rows[key]
			if !ok {
				t.Fatalf("docs/config.md has no row for %s", key)
			}
			if !strings.HasPrefix(cell, "`") {
				return // "required", "none": no default value
			}
			// Decode the documented default into a zero Config.
			var snippet strings.Builder
			parts := strings.Split(key, ".")
			for i, p := range parts {
				snippet.WriteString(strings.Repeat("  ", i) + p + ":")
				if i < len(parts)-1 {
					snippet.WriteString("\n")
				}
			}
			snippet.WriteString(" " + strings.Trim(cell, "`") + "\n")
			var n yaml.Node
			if err := yaml.Unmarshal([]byte(snippet.String()), &n); err != nil {
				t.Fatalf("%s: %v", snippet.String(), err)
			}
			var zero Config
			d := &decoder{m: &meta{lines: map[string]int{}, bad: map[string]bool{}}}
			d.decode(n.Content[0], reflect.ValueOf(&zero).Elem(), "")
			if d.errs != nil {
				t.Fatalf("documented default %s: %v", cell, d.errs)
			}
			got, want := fieldAt(reflect.ValueOf(zero), parts), fieldAt(def, parts)
			gy, _ := yaml.Marshal(got.Interface())
			wy, _ := yaml.Marshal(want.Interface())
			if string(gy) != string(wy) {
				t.Errorf("docs say %s defaults to %s, Default() has %s", key, cell, strings.TrimSpace(string(wy)))
			}
		})
	}
}

// leafKeys lists the dotted keys of t's fields, descending into structs
// but not into lists and maps.
func leafKeys(t reflect.Type, prefix string) []string {
	names, index := fieldsOf(t)
	var out []string
	for _, name := range names {
		f := t.Field(index[name])
		key := join(prefix, name)
		if f.Type.Kind() == reflect.Struct {
			out = append(out, leafKeys(f.Type, key)...)
		} else {
			out = append(out, key)
		}
	}
	return out
}

func fieldAt(v reflect.Value, keys []string) reflect.Value {
	for _, k := range keys {
		_, index := fieldsOf(v.Type())
		v = v.Field(index[k])
	}
	return v
}

const fullFile = `# a complete bot
server:
  url: wss://im.example.com/socket.io
  appkey: 6a696d626f74646576303031
  master_secret: s3cret-from-file
  transport: polling
  request_timeout: 10s
  reconnect: {min: 1s, max: 1m, max_attempts: 10}
bot:
  username: jimbot
  password: pa55-from-file
  prefixes: ["/"]
  admins: [alice, "otherapp/bob"]
  workers: 8
  max_queued: 500
  handler_timeout: 5s
  trace_size: 50
  dedup_ttl: 2d
data: state/jimbot.db
send: {rate_per_minute: -1, burst: 10, retries: 3, retry_backoff: 500ms, max_queue: 100}
breaker: {failures: -1, cooldown: 5m}
admin: {listen: "127.0.0.1:9100"}
log: {level: debug, format: json}
plugins:
  - switchboard
  - id: help
  - id: ping
    settings: {reply: pong!, n: 3, nested: {list: [1, two]}}
    default_off: true
lua:
  scripts: [scripts/roll.lua, "scripts/games/*.lua", scripts/faq]
  reload: true
  timeout: 1s
  max_sends_per_call: 5
  max_memory_mb: 16
  max_store_mb: 8
  settings: {roll: {max_dice: 20}, faq: {file: faq.txt}}
schedules:
  - name: standup
    cron: "0 9 * * 1-5"
    timezone: Asia/Shanghai
    group: 10001
    text: Stand-up in 5 minutes
  - name: water
    every: 90m
    user: alice
    text: Drink water
groups:
  "10001": {enable: [faq, /roll], disable: [ping, /help]}
  20002: {disable: [dice]}
moderation: {max_links: 2}
`

var scriptFiles = map[string]string{
	"scripts/roll.lua":        "-- roll",
	"scripts/games/dice.lua":  "-- dice",
	"scripts/games/quiz.lua":  "-- quiz",
	"scripts/games/notes.txt": "not a script",
	"scripts/faq/init.lua":    "-- faq",
}

func TestFullFile(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, scriptFiles)
	writeFiles(t, dir, map[string]string{"jimbot.yaml": fullFile})
	// Without a moderation plugin, that is the only problem.
	_, err := Loader{Registry: registry(t, "moderation"), Getenv: noEnv}.Load(filepath.Join(dir, "jimbot.yaml"))
	want0 := []string{"jimbot.yaml:51: moderation: this build has no moderation plugin"}
	if got := errorLines(err, dir); !reflect.DeepEqual(got, want0) {
		t.Fatalf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want0, "\n"))
	}
	c, err := Loader{Getenv: noEnv}.Load(filepath.Join(dir, "jimbot.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	yes := true
	want := Config{
		Server: Server{
			URL: "wss://im.example.com/socket.io", AppKey: "6a696d626f74646576303031", MasterSecret: "s3cret-from-file",
			Transport: "polling", RequestTimeout: Duration(10 * time.Second),
			Reconnect: Reconnect{Min: Duration(time.Second), Max: Duration(time.Minute), MaxAttempts: 10},
		},
		Bot: Bot{
			Username: "jimbot", Password: "pa55-from-file", Prefixes: []string{"/"}, Admins: []string{"alice", "otherapp/bob"},
			Workers: 8, MaxQueued: 500, HandlerTimeout: Duration(5 * time.Second), TraceSize: 50, DedupTTL: Duration(48 * time.Hour),
		},
		Data:    filepath.Join(dir, "state", "jimbot.db"),
		Send:    Send{RatePerMinute: -1, Burst: 10, Retries: 3, RetryBackoff: Duration(500 * time.Millisecond), MaxQueue: 100},
		Breaker: Breaker{Failures: -1, Cooldown: Duration(5 * time.Minute)},
		Admin:   Admin{Listen: "127.0.0.1:9100"},
		Log:     Log{Level: "debug", Format: "json"},
		Plugins: []Plugin{
			{ID: "switchboard"},
			{ID: "help"},
			{ID: "ping", Settings: bot.Settings{"reply": "pong!", "n": 3, "nested": map[string]any{"list": []any{1, "two"}}}, DefaultOff: &yes},
		},
		Lua: Lua{
			Scripts: []string{filepath.Join(dir, "scripts/roll.lua"), filepath.Join(dir, "scripts/games/*.lua"), filepath.Join(dir, "scripts/faq")},
			Reload:  true, Timeout: Duration(time.Second), MaxSendsPerCall: 5, MaxMemoryMB: 16, MaxStoreMB: 8,
			Settings: map[string]bot.Settings{"roll": {"max_dice": 20}, "faq": {"file": "faq.txt"}},
		},
		Schedules: []Schedule{
			{Name: "standup", Cron: "0 9 * * 1-5", Timezone: "Asia/Shanghai", Group: 10001, Text: "Stand-up in 5 minutes"},
			{Name: "water", Every: Duration(90 * time.Minute), User: "alice", Text: "Drink water"},
		},
		Groups: map[string]Group{
			"10001": {Enable: []string{"faq", "/roll"}, Disable: []string{"ping", "/help"}},
			"20002": {Disable: []string{"dice"}},
		},
		Moderation: bot.Settings{"max_links": 2},
	}
	got := *c
	got.meta = nil
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("config:\n%s\nwant:\n%s", got, want)
	}

	opts := c.BotOptions()
	wantOpts := bot.Options{
		Prefixes: []string{"/"}, Admins: []string{"alice", "otherapp/bob"}, Workers: 8, MaxQueued: 500,
		HandlerTimeout: 5 * time.Second, TraceSize: 50, DedupTTL: 48 * time.Hour,
		Send:    bot.SendOptions{RatePerMinute: -1, Burst: 10, Retries: 3, RetryBackoff: 500 * time.Millisecond, MaxQueue: 100},
		Breaker: bot.BreakerOptions{Failures: -1, Cooldown: 5 * time.Minute},
		Switches: map[string]map[string]bool{
			"group:10001": {"plugin:faq": true, "command:roll": true, "plugin:ping": false, "command:help": false},
			"group:20002": {"plugin:dice": false},
		},
	}
	if !reflect.DeepEqual(opts, wantOpts) {
		t.Errorf("BotOptions:\n%+v\nwant:\n%+v", opts, wantOpts)
	}

	scripts, err := c.LuaScripts()
	if err != nil {
		t.Fatal(err)
	}
	wantScripts := []LuaScript{
		{Name: "roll", Path: filepath.Join(dir, "scripts/roll.lua")},
		{Name: "dice", Path: filepath.Join(dir, "scripts/games/dice.lua")},
		{Name: "quiz", Path: filepath.Join(dir, "scripts/games/quiz.lua")},
		{Name: "faq", Path: filepath.Join(dir, "scripts/faq"), Dir: true},
	}
	if !reflect.DeepEqual(scripts, wantScripts) {
		t.Errorf("LuaScripts = %+v, want %+v", scripts, wantScripts)
	}

	ids := []string{}
	for _, p := range c.PluginList() {
		ids = append(ids, p.ID)
	}
	if want := []string{"switchboard", "help", "ping", "moderation"}; !reflect.DeepEqual(ids, want) {
		t.Errorf("PluginList IDs = %v, want %v", ids, want)
	}
	if got := c.PluginList()[3].Settings; !reflect.DeepEqual(got, bot.Settings{"max_links": 2}) {
		t.Errorf("moderation settings = %v", got)
	}
	var ping struct {
		Reply string `json:"reply"`
		N     int    `json:"n"`
		Nest  struct {
			List []any `json:"list"`
		} `json:"nested"`
	}
	if err := c.Plugins[2].Settings.Decode(&ping); err != nil || ping.Reply != "pong!" || ping.N != 3 || len(ping.Nest.List) != 2 {
		t.Errorf("ping settings decode: %+v, %v", ping, err)
	}

	if c.SlogLevel() != slog.LevelDebug {
		t.Errorf("SlogLevel = %v", c.SlogLevel())
	}
	if n := len(c.ClientOptions()); n != 5 {
		t.Errorf("ClientOptions: %d options", n)
	}
	base := time.Date(2025, 3, 3, 0, 0, 0, 0, time.UTC) // a Monday
	for i, want := range []time.Time{
		time.Date(2025, 3, 3, 1, 0, 0, 0, time.UTC), // 09:00 in Shanghai
		base.Add(90 * time.Minute),
	} {
		s, err := c.Schedules[i].Parse()
		if err != nil {
			t.Fatal(err)
		}
		if got := s.Next(base); !got.Equal(want) {
			t.Errorf("schedules[%d].Next = %v, want %v", i, got, want)
		}
	}
}

func TestStringRedactsAndRoundTrips(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, scriptFiles)
	c, err := Loader{Getenv: noEnv}.Parse([]byte(fullFile), dir)
	if err != nil {
		t.Fatal(err)
	}
	s := c.String()
	for _, secret := range []string{"s3cret-from-file", "pa55-from-file"} {
		if strings.Contains(s, secret) || strings.Contains(c.Redacted().String(), secret) {
			t.Errorf("String() shows a secret:\n%s", s)
		}
	}
	r := c.Redacted()
	if r.Server.MasterSecret != redactedMark || r.Bot.Password != redactedMark || c.Bot.Password != "pa55-from-file" {
		t.Errorf("Redacted: %q %q; original %q", r.Server.MasterSecret, r.Bot.Password, c.Bot.Password)
	}
	back, err := Loader{Getenv: noEnv}.Parse([]byte(s), dir)
	if err != nil {
		t.Fatalf("String() does not parse back: %v\n%s", err, s)
	}
	back.meta, r.meta = nil, nil
	if !reflect.DeepEqual(*back, r) {
		t.Errorf("round trip:\n%s\nwant:\n%s", back, s)
	}
}

func TestEnvSecrets(t *testing.T) {
	tests := []struct {
		name               string
		server, bot        string
		env                map[string]string
		wantSecret, wantPw string
		wantErr            []string
	}{
		{name: "file only", server: "master_secret: fs", bot: "password: fp", wantSecret: "fs", wantPw: "fp"},
		{name: "env only", env: map[string]string{EnvMasterSecret: "es", EnvPassword: "ep"}, wantSecret: "es", wantPw: "ep"},
		{name: "file wins over env", server: "master_secret: fs", bot: "password: fp",
			env: map[string]string{EnvMasterSecret: "es", EnvPassword: "ep"}, wantSecret: "fs", wantPw: "fp"},
		{name: "empty in file uses env", server: `master_secret: ""`, bot: "password: ~",
			env: map[string]string{EnvMasterSecret: "es", EnvPassword: "ep"}, wantSecret: "es", wantPw: "ep"},
		{name: "mixed", server: "master_secret: fs", env: map[string]string{EnvPassword: "ep"}, wantSecret: "fs", wantPw: "ep"},
		{name: "neither", wantErr: []string{
			"line 1: server.master_secret: required (or set $JIMBOT_MASTER_SECRET)",
			"line 5: bot.password: required (or set $JIMBOT_PASSWORD)",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := "server:\n  url: ws://127.0.0.1:9090\n  appkey: k\n  " + tt.server + "\nbot:\n  username: jimbot\n  " + tt.bot + "\n"
			c, err := Loader{Getenv: func(k string) string { return tt.env[k] }}.Parse([]byte(data), "")
			if got := errorLines(err, ""); !reflect.DeepEqual(got, tt.wantErr) {
				t.Fatalf("errors %q, want %q", got, tt.wantErr)
			}
			if err != nil {
				return
			}
			if c.Server.MasterSecret != tt.wantSecret || c.Bot.Password != tt.wantPw {
				t.Errorf("secret %q password %q, want %q %q", c.Server.MasterSecret, c.Bot.Password, tt.wantSecret, tt.wantPw)
			}
		})
	}
}

func TestLoadUsesProcessEnv(t *testing.T) {
	t.Setenv(EnvMasterSecret, "env-secret")
	t.Setenv(EnvPassword, "env-password")
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"c.yaml": "server: {url: ws://h:1, appkey: k}\nbot: {username: u}\n"})
	c, err := Load(filepath.Join(dir, "c.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Server.MasterSecret != "env-secret" || c.Bot.Password != "env-password" {
		t.Errorf("secrets not from the environment: %q %q", c.Server.MasterSecret, c.Bot.Password)
	}
}

func TestRelativePaths(t *testing.T) {
	dir := t.TempDir()
	abs := filepath.Join(t.TempDir(), "elsewhere.db")
	writeFiles(t, dir, map[string]string{"conf/scripts/a.lua": "", "conf/lib/b/init.lua": ""})
	tests := []struct {
		name, data, script string
		wantData           string
		wantScript         string
	}{
		{"relative", "state.db", "scripts/a.lua", filepath.Join(dir, "conf", "state.db"), filepath.Join(dir, "conf", "scripts", "a.lua")},
		{"dot-dot", "../up.db", "./lib/b", filepath.Join(dir, "up.db"), filepath.Join(dir, "conf", "lib", "b")},
		{"absolute", abs, filepath.Join(dir, "conf", "scripts", "a.lua"), abs, filepath.Join(dir, "conf", "scripts", "a.lua")},
		{"empty data is memory", `""`, "scripts/*.lua", "", filepath.Join(dir, "conf", "scripts", "*.lua")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := filepath.Join(dir, "conf", "bot.yaml")
			writeFiles(t, dir, map[string]string{"conf/bot.yaml": "server: {url: ws://h:1, appkey: k, master_secret: s}\nbot: {username: u, password: p}\n" +
				"data: " + tt.data + "\nlua: {scripts: [" + tt.script + "]}\n"})
			c, err := Load(file)
			if err != nil {
				t.Fatal(err)
			}
			if c.Data != tt.wantData || c.Lua.Scripts[0] != tt.wantScript {
				t.Errorf("data %q script %q, want %q %q", c.Data, c.Lua.Scripts[0], tt.wantData, tt.wantScript)
			}
			if _, err := c.LuaScripts(); err != nil {
				t.Error(err)
			}
		})
	}
}

// manyErrors has one problem of each kind; the line numbers matter.
const manyErrors = `server:
  url: ftp://im.example.com
  appkey: 6a696d626f74646576303031
  transprot: polling
bot:
  username: jimbot
  workers: many
  handler_timeout: soon
  prefixes: "/"
send:
  rate_per_minute: 0
  burst: 0
plugins:
  - id: ping
  - id: help
  - id: ping
  - id: pong
schedules:
  - name: standup
    cron: "0 9 * *"
    group: 10001
    text: Stand-up in 5 minutes
  - name: standup
    every: 1h
    text: ""
log: {level: verbose}
`

func TestManyErrors(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"config.yaml": manyErrors})
	reg := plugins.Default()
	_, err := Loader{Registry: reg, Getenv: noEnv}.Load(filepath.Join(dir, "config.yaml"))
	want := known(reg, []string{
		`config.yaml:1: server.master_secret: required (or set $JIMBOT_MASTER_SECRET)`,
		`config.yaml:2: server.url: must be a ws://, wss://, http:// or https:// URL, not "ftp://im.example.com"`,
		`config.yaml:4: server.transprot: unknown key (did you mean transport?)`,
		`config.yaml:5: bot.password: required (or set $JIMBOT_PASSWORD)`,
		`config.yaml:7: bot.workers: must be an integer, not "many"`,
		`config.yaml:8: bot.handler_timeout: bad duration "soon" (try 90s, 10m, 1h30m or 2d)`,
		`config.yaml:9: bot.prefixes: must be a list, not "/"`,
		`config.yaml:11: send.rate_per_minute: must be more than 0, or -1 for no limit`,
		`config.yaml:12: send.burst: must be 1 or more`,
		`config.yaml:16: plugins[2].id: ping is listed twice (first at plugins[0])`,
		`config.yaml:17: plugins[3].id: no plugin "pong" in this build (did you mean ping? known: KNOWN)`,
		`config.yaml:20: schedules[0].cron: bad schedule "0 9 * *": expected exactly 5 fields, found 4: [0 9 * *]`,
		`config.yaml:23: schedules[1].name: standup is used twice (first at schedules[0])`,
		`config.yaml:23: schedules[1]: needs group or user`,
		`config.yaml:25: schedules[1].text: required`,
		`config.yaml:26: log.level: must be debug, info, warn or error, not "verbose"`,
	})
	got := errorLines(err, dir)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	var es Errors
	if !errors.As(err, &es) || len(es) != len(want) {
		t.Fatalf("errors.As Errors: %T %d", err, len(es))
	}
	if e := es[4]; e.Line != 7 || e.Path != "bot.workers" || e.Msg != `must be an integer, not "many"` || e.File != filepath.Join(dir, "config.yaml") {
		t.Errorf("Errors[4] = %+v", *e)
	}
	var one *Error
	if !errors.As(err, &one) || one != es[0] {
		t.Errorf("errors.As *Error: %v", one)
	}
}

// base is a valid start for the cases of TestErrors: their lines start
// at 3.
const base = "server: {url: \"ws://127.0.0.1:9090\", appkey: k, master_secret: s}\nbot: {username: jimbot, password: p}\n"

func TestErrors(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string // after base, from line 3
		files   map[string]string
		noReg   bool // validate without a registry
		noBase  bool
		wantErr []string
	}{
		{name: "valid", yaml: "plugins: [ping, help]\n"},
		{name: "moderation without a plugin", yaml: "moderation: {max_links: 2}\n",
			wantErr: []string{"line 3: moderation: this build has no moderation plugin"}},
		{name: "moderation without a registry", yaml: "moderation: {}\n", noReg: true},
		{name: "moderation not a mapping", yaml: "moderation: strict\n", noReg: true,
			wantErr: []string{`line 3: moderation: must be a mapping, not "strict"`}},
		{name: "lua pattern matches nothing", yaml: "lua:\n  scripts: [scripts/a.lua, \"scripts/*.lua\", \"games/*.lua\"]\n",
			files:   map[string]string{"scripts/a.lua": "", "games/readme.md": ""},
			wantErr: []string{`line 4: lua.scripts[2]: "games/*.lua" matches no .lua file or folder with init.lua`}},
		{name: "lua missing file", yaml: "lua: {scripts: [nope.lua]}\n",
			wantErr: []string{`line 3: lua.scripts[0]: "nope.lua": no such file or folder`}},
		{name: "lua folder without init.lua", yaml: "lua: {scripts: [faq]}\n", files: map[string]string{"faq/main.lua": ""},
			wantErr: []string{`line 3: lua.scripts[0]: "faq": folder has no init.lua`}},
		{name: "lua not a script", yaml: "lua: {scripts: [notes.txt]}\n", files: map[string]string{"notes.txt": ""},
			wantErr: []string{`line 3: lua.scripts[0]: "notes.txt" is not a .lua file or a folder with init.lua`}},
		{name: "lua bad glob", yaml: "lua: {scripts: [\"[a.lua\"]}\n",
			wantErr: []string{`line 3: lua.scripts[0]: bad pattern "[a.lua": syntax error in pattern`}},
		{name: "lua two scripts with one name", yaml: "lua: {scripts: [a/roll.lua, b/roll.lua, a/roll.lua]}\n",
			files:   map[string]string{"a/roll.lua": "", "b/roll.lua": ""},
			wantErr: []string{"line 3: lua.scripts[1]: two scripts are named roll: DIR/a/roll.lua and DIR/b/roll.lua"}},
		{name: "lua settings for an unknown script", yaml: "lua:\n  scripts: [roll.lua]\n  settings:\n    rol: {max: 1}\n    faq: {}\n",
			files: map[string]string{"roll.lua": ""},
			wantErr: []string{
				`line 6: lua.settings.rol: no script named "rol" is loaded (did you mean roll?)`,
				`line 7: lua.settings.faq: no script named "faq" is loaded (scripts: roll)`,
			}},
		{name: "lua limits", yaml: "lua: {timeout: 0s, max_sends_per_call: 0, max_memory_mb: 0}\n",
			wantErr: []string{"line 3: lua.timeout: must be more than 0, not 0s", "line 3: lua.max_sends_per_call: must be 1 or more", "line 3: lua.max_memory_mb: must be 1 or more"}},
		{name: "unknown key without a suggestion", yaml: "colour: red\n",
			wantErr: []string{"line 3: colour: unknown key (known: server, bot, data, send, breaker, admin, log, plugins, lua, schedules, groups, moderation)"}},
		{name: "misspelt required key is one problem", noBase: true,
			yaml:    "server: {url: \"ws://h:1\", appkey: k, master_secret: s}\nbot:\n  user_name: jimbot\n  password: p\n",
			wantErr: []string{"line 3: bot.user_name: unknown key (did you mean username?)"}},
		{name: "duplicate key", yaml: "log:\n  level: info\n  level: debug\n",
			wantErr: []string{"line 5: log.level: duplicate key (first at line 4)"}},
		{name: "syntax error", yaml: "plugins: [ping\nlog: {}\n",
			wantErr: []string{"line 3: YAML syntax: did not find expected ',' or ']'"}},
		{name: "syntax error at the end", noBase: true, yaml: "server: {url: x\n",
			wantErr: []string{"line 2: YAML syntax: did not find expected ',' or '}'"}},
		{name: "scanner error", yaml: "log:\n\tlevel: info\n",
			wantErr: []string{"line 4: YAML syntax: found character that cannot start any token"}},
		{name: "not a mapping", noBase: true, yaml: "- server\n",
			wantErr: []string{"line 1: must be a mapping, not a list"}},
		{name: "empty file", noBase: true, yaml: "",
			wantErr: []string{
				"server.url: required", "server.appkey: required",
				"server.master_secret: required (or set $JIMBOT_MASTER_SECRET)",
				"bot.username: required", "bot.password: required (or set $JIMBOT_PASSWORD)",
			}},
		{name: "wrong types", yaml: "plugins: {id: ping}\nlua: {reload: yes, max_sends_per_call: 1.5}\nsend: {rate_per_minute: fast}\nadmin: {listen: [a]}\n",
			wantErr: []string{
				"line 3: plugins: must be a list, not a mapping",
				`line 4: lua.reload: must be true or false, not "yes"`,
				"line 4: lua.max_sends_per_call: must be an integer, not 1.5",
				`line 5: send.rate_per_minute: must be a number, not "fast"`,
				"line 6: admin.listen: must be text, not a list",
			}},
		{name: "plugin settings not a mapping", yaml: "plugins:\n  - id: ping\n    settings: [1]\n    default_off: maybe\n",
			wantErr: []string{
				"line 5: plugins[0].settings: must be a mapping, not a list",
				`line 6: plugins[0].default_off: must be true or false, not "maybe"`,
			}},
		{name: "plugin IDs", yaml: "plugins:\n  - id: Ping\n  - settings: {}\n  - id: moderation\n",
			wantErr: []string{
				`line 4: plugins[0].id: "Ping" is not a plugin ID: use lowercase letters, digits, '-', '_' and '.'`,
				"line 5: plugins[1].id: required",
				`line 6: plugins[2].id: no plugin "moderation" in this build (known: KNOWN)`,
			}},
		{name: "bad durations", yaml: "server:\n  url: ws://h:1\n  appkey: k\n  master_secret: s\n  request_timeout: -5\n  reconnect: {min: 2m, max: 1m}\nbot: {username: u, password: p, dedup_ttl: 3x}\nbreaker: {cooldown: [1]}\n",
			noBase: true,
			wantErr: []string{
				"line 5: server.request_timeout: must be more than 0, not -5s",
				"line 6: server.reconnect.max: must be at least min (2m), not 1m",
				`line 7: bot.dedup_ttl: bad duration "3x": unknown unit "x"`,
				"line 8: breaker.cooldown: must be a duration such as 30s, 10m or 2d, not a list",
			}},
		{name: "ranges", yaml: "send: {retries: 0, max_queue: 0, retry_backoff: 0}\nbreaker: {failures: 0}\nbot2: 1\n",
			wantErr: []string{
				"line 3: send.retries: must be 1 or more (retries cannot be turned off)",
				"line 3: send.retry_backoff: must be more than 0, not 0s",
				"line 3: send.max_queue: must be 1 or more",
				"line 4: breaker.failures: must be 1 or more, or -1 to turn the breaker off",
				"line 5: bot2: unknown key (did you mean bot?)",
			}},
		{name: "bot values", noBase: true,
			yaml: "server: {url: \"ws://h:1\", appkey: k, master_secret: s}\nbot:\n  username: u\n  password: p\n  prefixes: [\"\", \"! \"]\n  admins: [\"a/b/c\", \"/x\", ok]\n  workers: -1\n  max_queued: 0\n  trace_size: 0\n",
			wantErr: []string{
				"line 5: bot.prefixes[0]: must not be empty",
				`line 5: bot.prefixes[1]: must not contain spaces, not "! "`,
				`line 6: bot.admins[0]: must be "username" or "appkey/username", not "a/b/c"`,
				`line 6: bot.admins[1]: must be "username" or "appkey/username", not "/x"`,
				"line 7: bot.workers: must be 0 or more",
				"line 8: bot.max_queued: must be 1 or more",
				"line 9: bot.trace_size: must be 1 or more",
			}},
		{name: "server values", noBase: true,
			yaml: "server:\n  url: \"wss://user:hunter2@/x\"\n  transport: carrier-pigeon\nbot: {username: u, password: p}\nadmin: {listen: localhost}\nlog: {format: xml}\n",
			wantErr: []string{
				"line 1: server.appkey: required",
				"line 1: server.master_secret: required (or set $JIMBOT_MASTER_SECRET)",
				`line 2: server.url: "wss://user:xxxxx@/x" has no host`,
				`line 3: server.transport: must be websocket or polling, not "carrier-pigeon"`,
				`line 5: admin.listen: must be host:port such as 127.0.0.1:9100 or :9100, not "localhost"`,
				`line 6: log.format: must be text or json, not "xml"`,
			}},
		{name: "schedules", yaml: `schedules:
  - {name: a, cron: "@daily", every: 1h, group: 1, user: bob, text: x}
  - {name: "b c", every: 500ms, group: -4, text: x}
  - {cron: "0 9 * * *", timezone: Mars/Olympus, user: "x/y/z", text: " "}
  - {name: d, text: x}
  - {name: e, cron: "61 * * * *", user: bob, text: x}
`,
			wantErr: []string{
				"line 4: schedules[0]: has both cron and every: use one",
				"line 4: schedules[0]: has both group and user: use one",
				`line 5: schedules[1].name: "b c" is not a word (use letters, digits, '_' and '-')`,
				"line 5: schedules[1].every: must be at least 1s, not 500ms",
				"line 5: schedules[1].group: must be a group id (a positive integer)",
				"line 6: schedules[2].name: required",
				`line 6: schedules[2].timezone: unknown time zone "Mars/Olympus" (use an IANA name such as Asia/Shanghai)`,
				`line 6: schedules[2].user: must be "username" or "appkey/username", not "x/y/z"`,
				"line 6: schedules[2].text: required",
				"line 7: schedules[3]: needs cron or every",
				"line 7: schedules[3]: needs group or user",
				`line 8: schedules[4].cron: bad schedule "61 * * * *": end of range (61) above maximum (59): 61`,
			}},
		{name: "groups", yaml: `lua: {scripts: [faq.lua]}
groups:
  "10001": {enable: [faq, ping, /roll], disable: [ping, switchboard, /, pnig]}
  abc: {enable: ["Bad ID"]}
  "-5": {}
`, files: map[string]string{"faq.lua": ""},
			wantErr: []string{
				`line 5: groups.10001.disable[0]: ping is also in enable (enable[1])`,
				`line 5: groups.10001.disable[1]: plugin switchboard is essential and cannot be disabled`,
				`line 5: groups.10001.disable[2]: "/" is not a command name`,
				`line 5: groups.10001.disable[3]: no plugin "pnig" in this build (did you mean ping? known: KNOWN, faq)`,
				`line 6: groups.abc: "abc" is not a group id (a positive integer)`,
				`line 6: groups.abc.enable[0]: "Bad ID" is not a plugin ID, script name or /command`,
				`line 7: groups.-5: "-5" is not a group id (a positive integer)`,
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, tt.files)
			data := tt.yaml
			if !tt.noBase {
				data = base + data
			}
			reg := registry(t, "moderation")
			l := Loader{Registry: reg, Getenv: noEnv}
			if tt.noReg {
				l.Registry = nil
			}
			want := known(reg, tt.wantErr)
			_, err := l.Parse([]byte(data), dir)
			got := errorLines(err, "")
			for i := range got {
				got[i] = strings.ReplaceAll(got[i], dir, "DIR")
			}
			if !reflect.DeepEqual(got, want) && (len(got) > 0 || len(want) > 0) {
				t.Fatalf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			for _, secret := range []string{"hunter2"} {
				if err != nil && strings.Contains(err.Error(), secret) {
					t.Errorf("error shows a secret: %v", err)
				}
			}
		})
	}
}

func TestMergeKeys(t *testing.T) {
	c, err := Loader{Getenv: noEnv}.Parse([]byte(`x-server: &srv {url: "ws://h:1", appkey: k}
server: {<<: *srv, master_secret: s}
x-timeouts: &t {handler_timeout: 5s, trace_size: 7}
bot:
  <<: *t
  username: u
  password: p
  handler_timeout: 6s
`), "")
	if err != nil {
		t.Fatal(err)
	}
	if c.Server.URL != "ws://h:1" || c.Bot.HandlerTimeout.D() != 6*time.Second || c.Bot.TraceSize != 7 {
		t.Errorf("merge: %+v %+v", c.Server, c.Bot)
	}
}

func TestValidateHandBuilt(t *testing.T) {
	c := Default()
	c.Server.URL, c.Server.AppKey, c.Server.MasterSecret = "ws://127.0.0.1:9090", "k", "s"
	c.Bot.Username, c.Bot.Password = "jimbot", "p"
	if err := c.Validate(plugins.Default()); err != nil {
		t.Fatalf("valid config: %v", err)
	}
	c.Bot.Workers = -1
	c.Plugins = append(c.Plugins, Plugin{ID: "nope"})
	reg := plugins.Default()
	err := c.Validate(reg)
	want := known(reg, []string{
		"bot.workers: must be 0 or more",
		`plugins[4].id: no plugin "nope" in this build (known: KNOWN)`,
	})
	if got := errorLines(err, ""); !reflect.DeepEqual(got, want) {
		t.Errorf("errors %q, want %q", got, want)
	}
	if err := c.Validate(nil); len(errorLines(err, "")) != 1 {
		t.Errorf("without a registry: %v", err)
	}
}

func TestErrorFormat(t *testing.T) {
	tests := []struct {
		name string
		e    Error
		want string
	}{
		{"file and line", Error{File: "config.yaml", Line: 12, Path: "bot.workers", Msg: "must be 0 or more"}, "config.yaml:12: bot.workers: must be 0 or more"},
		{"line only", Error{Line: 3, Path: "log.level", Msg: "m"}, "line 3: log.level: m"},
		{"file only", Error{File: "c.yaml", Path: "server.url", Msg: "required"}, "c.yaml: server.url: required"},
		{"no path", Error{File: "c.yaml", Line: 2, Msg: "YAML syntax: x"}, "c.yaml:2: YAML syntax: x"},
		{"bare", Error{Path: "a", Msg: "m"}, "a: m"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.e.Error(); got != tt.want {
				t.Errorf("%q, want %q", got, tt.want)
			}
		})
	}
}

func TestDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		str  string
	}{
		{"500ms", 500 * time.Millisecond, "500ms"},
		{"30s", 30 * time.Second, "30s"},
		{"90", 90 * time.Second, "1m30s"},
		{"10m", 10 * time.Minute, "10m"},
		{"1h30m", 90 * time.Minute, "1h30m"},
		{"36h", 36 * time.Hour, "36h"},
		{"2d", 48 * time.Hour, "2d"},
		{"1w", 7 * 24 * time.Hour, "7d"},
		{"1.5s", 1500 * time.Millisecond, "1.5s"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			var d Duration
			if err := d.UnmarshalYAML(&yaml.Node{Kind: yaml.ScalarNode, Value: tt.in}); err != nil {
				t.Fatal(err)
			}
			if d.D() != tt.want || d.String() != tt.str {
				t.Errorf("%s → %v %q, want %v %q", tt.in, d.D(), d.String(), tt.want, tt.str)
			}
			var back Duration
			if err := back.UnmarshalYAML(&yaml.Node{Kind: yaml.ScalarNode, Value: d.String()}); err != nil || back != d {
				t.Errorf("String %q does not parse back: %v %v", d.String(), back, err)
			}
		})
	}
}

func TestSlogLevel(t *testing.T) {
	for level, want := range map[string]slog.Level{"debug": slog.LevelDebug, "info": slog.LevelInfo, "warn": slog.LevelWarn, "error": slog.LevelError} {
		t.Run(level, func(t *testing.T) {
			c := Default()
			c.Log.Level = level
			if got := c.SlogLevel(); got != want {
				t.Errorf("%v, want %v", got, want)
			}
		})
	}
}

func TestSuggest(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"usrname", "username"},
		{"prefix", "prefixes"},
		{"workrs", "workers"},
		{"x", ""},
		{"colour", ""},
	}
	keys := []string{"username", "password", "prefixes", "admins", "workers"}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := suggest(tt.in, keys); got != tt.want {
				t.Errorf("suggest(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// TestDocsExample checks that the complete example of docs/config.md is
// valid.
func TestDocsExample(t *testing.T) {
	doc, err := os.ReadFile("../../docs/config.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(doc), "```yaml\n")
	example, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatal("no yaml block in docs/config.md")
	}
	dir := t.TempDir()
	writeFiles(t, dir, scriptFiles)
	env := map[string]string{EnvMasterSecret: "s", EnvPassword: "p"}
	c, err := Loader{Registry: plugins.Default(), Getenv: func(k string) string { return env[k] }}.Parse([]byte(example), dir)
	if err != nil {
		t.Fatalf("docs example: %v", err)
	}
	if c.Admin.Listen != "127.0.0.1:9100" || len(c.Schedules) != 2 || c.BotOptions().Switches["group:10001"]["command:roll"] {
		t.Errorf("docs example parsed wrong:\n%s", c)
	}
}
