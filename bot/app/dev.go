package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

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
// reload on change) and the web chat page, until ctx ends.
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

	cfg, err := devConfig(opts, addr, dir)
	if err != nil {
		return err
	}
	reload := true
	in, err := Build(ctx, cfg, Options{Logger: log, AdminMux: mux, Reload: &reload})
	if err != nil {
		return err
	}
	defer in.Close()
	if err := in.Bot.Start(ctx); err != nil {
		return err
	}
	if err := in.serveAdmin(); err != nil {
		in.stop(ctx)
		return err
	}
	page := "http://" + addr + "/"
	printDevBanner(opts.Stdout, addr, gid, cfg)
	if opts.Ready != nil {
		opts.Ready(page)
	}
	select {
	case <-ctx.Done():
	case <-in.Bot.Done():
	}
	fmt.Fprintln(opts.Stdout, "\nstopping…")
	return in.stop(ctx)
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
		fmt.Fprintf(w, "      Lua scripts (edit them: they reload on save): %s\n", strings.Join(cfg.Lua.Scripts, ", "))
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
