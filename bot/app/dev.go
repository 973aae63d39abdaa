package app

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/jimbot/jimbot/bot/config"
	"github.com/jimbot/jimbot/jmessage"
	"github.com/jimbot/jimbot/jmessage/jmserver"
	"github.com/jimbot/jimbot/jmessage/jmserver/webchat"
	"github.com/jimbot/jimbot/plugins"
	"github.com/jimbot/jimbot/storage"
)

// DevOptions configure Dev. Zero values get the defaults in the comments.
type DevOptions struct {
	// Listen is where the server, the web chat page and the admin API are
	// served. Default: 127.0.0.1:9090.
	Listen string
	// DataDir keeps the server's and the bot's state between runs. Default:
	// none (a temporary folder, removed at exit).
	DataDir string
	// Scripts are Lua script files, folders or globs. Default: scripts/*.lua
	// when that matches anything.
	Scripts []string
	// Config is a bot config file to use instead of the embedded defaults;
	// its server section is replaced by the development server.
	Config string
	// Stdout gets the banner; Stderr the logs. Defaults: os.Stdout, os.Stderr.
	Stdout, Stderr io.Writer
	// LogLevel is the bot's log level. Default: info.
	LogLevel slog.Level
	// Ready, when set, is called with the page's URL once everything runs.
	Ready func(url string)
}

// The development accounts. They are printed at start and are not secret.
const (
	DevBotName     = "jimbot"
	DevBotPassword = "jimbot-dev-password"
	DevGroupName   = "jimbot-demo"
)

// DevUsers are the demo users of Dev, with their passwords; alice owns the
// demo group and is a bot admin.
var DevUsers = []webchat.DemoUser{
	{Name: "alice", Password: "alice-dev"},
	{Name: "bobby", Password: "bobby-dev"},
	{Name: "carol", Password: "carol-dev"},
}

// Dev runs the whole development setup in one process: the
// JMessage-compatible server, the demo users and group, a bot (embedded
// defaults: switchboard, help, why, ping, echo and the Lua scripts, which
// reload on change) and the web chat page, until ctx ends. When a script
// is added or removed, or the config file (DevOptions.Config) changes, it
// restarts the bot (not the server) with the new setup, provided that it
// loads; otherwise it logs why and keeps the running bot.
func Dev(ctx context.Context, opts DevOptions) error {
	if opts.Listen == "" {
		opts.Listen = "127.0.0.1:9090"
	}
	if opts.Stdout == nil {
		opts.Stdout = os.Stdout
	}
	if opts.Stderr == nil {
		opts.Stderr = os.Stderr
	}
	log := slog.New(slog.NewTextHandler(opts.Stderr, &slog.HandlerOptions{Level: opts.LogLevel}))
	dir := opts.DataDir
	if dir == "" {
		tmp, err := os.MkdirTemp("", "jimbot-dev-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	} else if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	l, err := net.Listen("tcp", opts.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s (choose another address with --listen): %w", opts.Listen, err)
	}
	addr := l.Addr().String()

	sdb, err := storage.Open(filepath.Join(dir, "server.db"), &storage.Options{NoSync: true})
	if err != nil {
		l.Close()
		return err
	}
	defer sdb.Close()
	srv, err := jmserver.New(jmserver.Options{Store: sdb, Logger: log.With("part", "server")})
	if err != nil {
		l.Close()
		return err
	}
	defer srv.Close()
	gid, err := seedDev(srv)
	if err != nil {
		l.Close()
		return err
	}

	mux := http.NewServeMux()
	sh := srv.Handler()
	for _, p := range []string{"/socket.io/", "/resource", "/v1/resource", "/media/"} {
		mux.Handle(p, sh)
	}
	mux.Handle("/", webchat.Handler(webchat.Config{
		AppKey:    jmserver.DevAppKey,
		Sign:      (&jmessage.Signer{AppKey: jmserver.DevAppKey, MasterSecret: jmserver.DevMasterSecret}).Sign,
		Users:     DevUsers,
		Groups:    []webchat.DemoGroup{{GID: gid, Name: DevGroupName}},
		Bot:       DevBotName,
		TracesURL: "/admin/api/traces",
	}))
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go hs.Serve(l)
	defer hs.Close()

	d := &devBot{opts: opts, addr: addr, dir: dir, log: log}
	mux.Handle("/admin/", d)
	cfg, sig, err := d.load()
	if err != nil {
		return err
	}
	if err := d.start(ctx, cfg, sig); err != nil {
		return err
	}
	defer d.stop(ctx)
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watch the scripts: %w", err)
	}
	defer w.Close()
	d.watch(w, cfg)

	page := "http://" + addr + "/"
	printDevBanner(opts.Stdout, addr, gid, cfg)
	if opts.Ready != nil {
		opts.Ready(page)
	}
	changed := make(chan struct{}, 1)
	settle := time.AfterFunc(time.Hour, func() {
		select {
		case changed <- struct{}{}:
		default:
		}
	})
	settle.Stop()
	defer settle.Stop()
	for {
		var ended <-chan struct{}
		if d.in != nil {
			ended = d.in.Bot.Done()
		}
		select {
		case <-ctx.Done():
			fmt.Fprintln(opts.Stdout, "\nstopping…")
			return d.stop(ctx)
		case <-ended:
			fmt.Fprintln(opts.Stdout, "\nthe bot's session ended; stopping…")
			return d.stop(ctx)
		case ev := <-w.Events:
			// Editors save in bursts (write, rename, chmod): act once
			// things are quiet.
			if d.concerns(ev) {
				settle.Reset(devSettle)
			}
		case err := <-w.Errors:
			log.Warn("watching the scripts", "err", err)
		case <-changed:
			d.watch(w, d.restart(ctx))
		}
	}
}

// devSettle is how long Dev waits after the last change of a watched
// folder before it looks at what changed.
const devSettle = 250 * time.Millisecond

// devBot is the bot of Dev. A running bot cannot gain or lose plugins,
// and the Lua host reloads an edited script in place; so when the set of
// scripts changes (one is added or removed) or the config file changes,
// devBot checks the new setup and, if it loads, replaces the bot with a
// new one. The server, the page and the users' sessions stay up; events
// sent meanwhile wait on the server and are delivered to the new bot.
type devBot struct {
	opts      DevOptions
	addr, dir string
	log       *slog.Logger

	admin    atomic.Pointer[http.ServeMux] // the running bot's admin API
	in       *Instance                     // nil after a failed restart
	sig      string                        // what the running bot was built from
	lastErr  string                        // the last problem logged
	patterns []string                      // absolute script patterns
	watched  map[string]bool               // folders being watched
}

// ServeHTTP serves the running bot's admin API under /admin/.
func (d *devBot) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if m := d.admin.Load(); m != nil {
		m.ServeHTTP(w, r)
		return
	}
	http.Error(w, "the bot is restarting", http.StatusServiceUnavailable)
}

// load reads the config and says what it is built from: the config
// file's content and the scripts its patterns match now.
func (d *devBot) load() (*config.Config, string, error) {
	cfg, err := devConfig(d.opts, d.addr, d.dir)
	if err != nil {
		return nil, "", err
	}
	h := sha256.New()
	if d.opts.Config != "" {
		data, err := os.ReadFile(d.opts.Config)
		if err != nil {
			return nil, "", err
		}
		h.Write(data)
	}
	scripts, _ := cfg.LuaScripts() // a bad pattern was refused by devConfig
	for _, s := range scripts {
		if !strings.HasSuffix(s.Path, "_test.lua") {
			fmt.Fprintf(h, "\n%s", s.Path)
		}
	}
	return cfg, string(h.Sum(nil)), nil
}

func (d *devBot) start(ctx context.Context, cfg *config.Config, sig string) error {
	reload := true
	mux := http.NewServeMux()
	in, err := Build(ctx, cfg, Options{Logger: d.log, AdminMux: mux, Reload: &reload})
	if err != nil {
		return err
	}
	if err := in.Bot.Start(ctx); err != nil {
		in.Close()
		return err
	}
	if err := in.serveAdmin(); err != nil {
		in.stop(ctx)
		in.Close()
		return err
	}
	d.admin.Store(mux)
	d.in, d.sig = in, sig
	return nil
}

func (d *devBot) stop(ctx context.Context) error {
	if d.in == nil {
		return nil
	}
	d.admin.Store(nil)
	err := d.in.stop(ctx)
	d.in.Close()
	d.in = nil
	return err
}

// restart replaces the bot if its scripts or config changed. A config or
// a script that does not load is logged and the running bot kept. It
// returns the config it read (nil if it could not).
func (d *devBot) restart(ctx context.Context) *config.Config {
	cfg, sig, err := d.load()
	if err != nil {
		d.problem("the config does not load; the running bot stays", err)
		return nil
	}
	if d.in != nil && sig == d.sig {
		d.lastErr = ""
		return cfg
	}
	if err := CheckScripts(cfg); err != nil {
		d.problem("the scripts do not load; the running bot stays", err)
		return cfg
	}
	d.lastErr = ""
	d.log.Info("scripts or config changed: restarting the bot")
	if err := d.stop(ctx); err != nil {
		d.log.Warn("the old bot did not stop cleanly", "err", err)
	}
	if err := d.start(ctx, cfg, sig); err != nil {
		d.log.Error("the new bot did not start; fix the problem and save again", "err", err)
		return cfg
	}
	var names []string
	scripts, _ := cfg.LuaScripts()
	for _, s := range scripts {
		if !strings.HasSuffix(s.Path, "_test.lua") {
			names = append(names, s.Name)
		}
	}
	d.log.Info("bot restarted", "plugins", pluginIDs(cfg), "scripts", strings.Join(names, ", "))
	return cfg
}

// problem logs err unless it is the one logged last.
func (d *devBot) problem(msg string, err error) {
	if e := err.Error(); e != d.lastErr {
		d.lastErr = e
		d.log.Error(msg, "err", err)
	}
}

// concerns reports whether ev can change the setup: the config file, a
// path a script pattern matches, or a folder on the way to the scripts.
func (d *devBot) concerns(ev fsnotify.Event) bool {
	if ev.Op == fsnotify.Chmod {
		return false
	}
	name, err := filepath.Abs(ev.Name)
	if err != nil {
		return true
	}
	if d.opts.Config != "" {
		if c, err := filepath.Abs(d.opts.Config); err == nil && c == name {
			return true
		}
	}
	for _, p := range d.patterns {
		if ok, _ := filepath.Match(p, name); ok || p == name {
			return true
		}
		if dir := filepath.Dir(p); dir == name || strings.HasPrefix(dir, name+string(filepath.Separator)) {
			return true
		}
	}
	return false
}

// watch watches the folders where scripts can appear (the folders of the
// script patterns, or the nearest existing folder above them) and the
// config file's folder, and stops watching the folders no longer needed.
// cfg is the config just read; nil keeps the patterns watched so far.
func (d *devBot) watch(w *fsnotify.Watcher, cfg *config.Config) {
	if cfg == nil {
		return
	}
	patterns := d.opts.Scripts
	if d.opts.Config != "" {
		patterns = cfg.Lua.Scripts
	} else if len(patterns) == 0 {
		patterns = []string{filepath.Join("scripts", "*.lua")}
	}
	d.patterns = d.patterns[:0]
	dirs := map[string]bool{}
	if d.opts.Config != "" {
		if c, err := filepath.Abs(d.opts.Config); err == nil {
			dirs[filepath.Dir(c)] = true
		}
	}
	for _, p := range patterns {
		p, err := filepath.Abs(p)
		if err != nil {
			continue
		}
		d.patterns = append(d.patterns, p)
		dir := filepath.Dir(p)
		for {
			if fi, err := os.Stat(dir); err == nil && fi.IsDir() {
				break
			}
			up := filepath.Dir(dir)
			if up == dir {
				break
			}
			dir = up
		}
		dirs[dir] = true
	}
	for dir := range d.watched {
		if !dirs[dir] {
			_ = w.Remove(dir)
			delete(d.watched, dir)
		}
	}
	if d.watched == nil {
		d.watched = map[string]bool{}
	}
	for dir := range dirs {
		if d.watched[dir] {
			continue
		}
		if err := w.Add(dir); err != nil {
			d.log.Warn("cannot watch a folder for new scripts", "dir", dir, "err", err)
			continue
		}
		d.watched[dir] = true
	}
}

// seedDev creates the demo accounts and group if missing, and returns the
// group's gid.
func seedDev(srv *jmserver.Server) (int64, error) {
	app := jmserver.DevAppKey
	if _, err := srv.EnsureUser(app, DevBotName, DevBotPassword, "jimbot"); err != nil {
		return 0, err
	}
	for _, u := range DevUsers {
		if _, err := srv.EnsureUser(app, u.Name, u.Password, strings.ToUpper(u.Name[:1])+u.Name[1:]); err != nil {
			return 0, err
		}
	}
	if gid := srv.FindGroup(app, "alice", DevGroupName); gid != 0 {
		return gid, nil
	}
	members := []string{DevBotName}
	for _, u := range DevUsers[1:] {
		members = append(members, u.Name)
	}
	return srv.CreateGroup(app, "alice", DevGroupName, "jimbot's demo group", members...)
}

// devConfig is the bot's config: the embedded defaults, or opts.Config
// with its server section pointed at the development server.
func devConfig(opts DevOptions, addr, dir string) (*config.Config, error) {
	var cfg *config.Config
	var err error
	if opts.Config != "" {
		// The file's server and bot account are replaced by the development
		// ones, so it may leave them out.
		l := config.Loader{Registry: plugins.Default(), Adjust: func(c *config.Config) {
			c.Server.URL = "ws://" + addr
			c.Server.AppKey, c.Server.MasterSecret = jmserver.DevAppKey, jmserver.DevMasterSecret
			c.Bot.Username, c.Bot.Password = DevBotName, DevBotPassword
			if len(c.Bot.Admins) == 0 {
				c.Bot.Admins = []string{"alice"}
			}
			if c.Data == "" {
				c.Data = filepath.Join(dir, "bot.db")
			}
			c.Lua.Reload = true
		}}
		return l.Load(opts.Config)
	}
	scripts := opts.Scripts
	if len(scripts) == 0 {
		if m, _ := filepath.Glob("scripts/*.lua"); len(m) > 0 {
			scripts = []string{"scripts/*.lua"}
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "server: {url: %q, appkey: %q, master_secret: %q}\n", "ws://"+addr, jmserver.DevAppKey, jmserver.DevMasterSecret)
	fmt.Fprintf(&b, "bot: {username: %q, password: %q, admins: [alice]}\n", DevBotName, DevBotPassword)
	fmt.Fprintf(&b, "data: %q\n", filepath.Join(dir, "bot.db"))
	b.WriteString("send: {rate_per_minute: 600, burst: 20}\n")
	b.WriteString("plugins: [{id: switchboard}, {id: help}, {id: why}, {id: ping}, {id: echo}]\n")
	if len(scripts) > 0 {
		b.WriteString("lua:\n  reload: true\n  scripts:\n")
		for _, s := range scripts {
			abs, err := filepath.Abs(s)
			if err != nil {
				return nil, err
			}
			fmt.Fprintf(&b, "    - %q\n", abs)
		}
	}
	cfg, err = config.Parse([]byte(b.String()), ".")
	if err != nil {
		return nil, fmt.Errorf("dev defaults: %w", err)
	}
	return cfg, nil
}

func printDevBanner(w io.Writer, addr string, gid int64, cfg *config.Config) {
	fmt.Fprintf(w, `
jimbot dev is running.

  Chat in your browser:  http://%[1]s/
      log in as alice (password alice-dev, a bot admin), bobby or carol
      open "%[2]s" (gid %[3]d) or the 1:1 chat with %[4]s, and try
      /ping   /help   /echo hello   /why   /plugin list

  Connect your own client (JMessage Web SDK v1, socket.io-client 1.4.5):
      ws://%[1]s/socket.io/  appkey %[5]s  master secret %[6]s
      demo users: alice/alice-dev  bobby/bobby-dev  carol/carol-dev

  The bot %[4]s:  plugins %[7]s
      admin API  http://%[1]s/admin/   (traces: /admin/api/traces, metrics: /admin/metrics)
`, addr, DevGroupName, gid, DevBotName, jmserver.DevAppKey, jmserver.DevMasterSecret, pluginIDs(cfg))
	if len(cfg.Lua.Scripts) > 0 {
		fmt.Fprintf(w, "      Lua scripts (edit them: they reload on save; add one and the bot restarts with it): %s\n", strings.Join(cfg.Lua.Scripts, ", "))
	}
	fmt.Fprintln(w, "\nPress Ctrl-C to stop.")
}

func pluginIDs(cfg *config.Config) string {
	var ids []string
	for _, p := range cfg.PluginList() {
		ids = append(ids, p.ID)
	}
	return strings.Join(ids, ", ")
}
