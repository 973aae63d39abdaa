// Package app assembles a running jimbot from a config file: the JMessage
// connection, the bbolt store, the plugins (Go from a registry, Lua from
// scripts), schedules, metrics and the admin HTTP listener. The jimbot
// command is a thin layer over it; programs that embed jimbot can use it
// too.
//
//	cfg, err := config.Load("jimbot.yaml")
//	if err != nil { … }
//	err = app.Run(ctx, cfg, app.Options{})
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/jimbot/jimbot/bot"
	"github.com/jimbot/jimbot/bot/clock"
	"github.com/jimbot/jimbot/bot/config"
	"github.com/jimbot/jimbot/jmessage"
	"github.com/jimbot/jimbot/plugins"
	"github.com/jimbot/jimbot/plugins/announce"
	"github.com/jimbot/jimbot/storage"
)

// Options adjust how a config becomes a bot. Zero values get the defaults
// in the comments.
type Options struct {
	// Registry provides Go plugins by ID. Default: plugins.Default().
	Registry *bot.Registry
	// Plugins are added after the configured ones (programs that embed
	// jimbot add their own here).
	Plugins []bot.Plugin
	// Logger overrides the logger made from the config's log section.
	Logger *slog.Logger
	// Stderr receives logs when Logger is nil. Default: os.Stderr.
	Stderr io.Writer
	// Clock is the bot's clock. Default: clock.Real.
	Clock clock.Clock
	// StopTimeout bounds a graceful stop. Default: 10s.
	StopTimeout time.Duration
	// AdminListen overrides the config's admin.listen when not empty.
	AdminListen string
	// AdminMux, when set, gets the admin API mounted under /admin/ instead
	// of a listener of its own (jimbot dev serves everything on one port).
	AdminMux *http.ServeMux
	// Reload overrides lua.reload when not nil.
	Reload *bool
	// DialTimeout bounds connecting and logging in. Default: 30s.
	DialTimeout time.Duration
}

// Instance is a bot assembled from a config, not yet running.
type Instance struct {
	Config    *config.Config
	Bot       *bot.Bot
	Transport *bot.JMessage
	Store     *storage.DB
	Metrics   *bot.Metrics
	Log       *slog.Logger

	opts  Options
	admin *http.Server
}

// NewLogger makes the logger a config asks for.
func NewLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	ho := &slog.HandlerOptions{Level: cfg.SlogLevel()}
	if cfg.Log.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, ho))
	}
	return slog.New(slog.NewTextHandler(w, ho))
}

// Build connects to the server, opens the store and assembles the bot
// with its plugins. It does not start the bot; Close undoes it.
func Build(ctx context.Context, cfg *config.Config, opts Options) (in *Instance, err error) {
	if opts.Registry == nil {
		opts.Registry = plugins.Default()
	}
	if opts.Stderr == nil {
		opts.Stderr = os.Stderr
	}
	if opts.Clock == nil {
		opts.Clock = clock.Real
	}
	if opts.StopTimeout == 0 {
		opts.StopTimeout = 10 * time.Second
	}
	if opts.DialTimeout == 0 {
		opts.DialTimeout = 30 * time.Second
	}
	log := opts.Logger
	if log == nil {
		log = NewLogger(cfg, opts.Stderr)
	}
	if err := cfg.Validate(opts.Registry); err != nil {
		return nil, err
	}
	in = &Instance{Config: cfg, Log: log, opts: opts, Metrics: bot.NewMetrics()}
	defer func() {
		if err != nil {
			in.Close()
		}
	}()
	if cfg.Data != "" {
		db, err := storage.Open(cfg.Data, &storage.Options{Now: opts.Clock.Now})
		if err != nil {
			return nil, err
		}
		in.Store = db
	}
	dctx, cancel := context.WithTimeout(ctx, opts.DialTimeout)
	defer cancel()
	copts := append(cfg.ClientOptions(), jmessage.WithLogger(log.With("part", "jmessage")))
	tr, err := bot.DialJMessage(dctx, cfg.Server.URL, log.With("part", "jmessage"), copts...)
	if err != nil {
		return nil, fmt.Errorf("connect to %s as %s: %w", cfg.Server.URL, cfg.Bot.Username, err)
	}
	in.Transport = tr
	bo := cfg.BotOptions()
	bo.Transport, bo.Store, bo.Logger, bo.Metrics, bo.Clock = tr, in.Store, log, in.Metrics, opts.Clock
	b, err := bot.New(bo)
	if err != nil {
		return nil, err
	}
	in.Bot = b
	if err := in.addPlugins(); err != nil {
		return nil, err
	}
	return in, nil
}

// addPlugins adds the configured Go plugins, the announcements, the Lua
// scripts and the extra plugins, in that order.
func (in *Instance) addPlugins() error {
	cfg := in.Config
	var errs []error
	for _, pc := range cfg.PluginList() {
		p, err := in.opts.Registry.New(pc.ID)
		if err != nil {
			errs = append(errs, fmt.Errorf("plugins: %w", err))
			continue
		}
		if err := in.Bot.AddPlugin(p, pc.Settings); err != nil {
			errs = append(errs, err)
			continue
		}
		if pc.DefaultOff != nil {
			if err := in.Bot.SetDefaultOff(pc.ID, *pc.DefaultOff); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if len(cfg.Schedules) > 0 {
		a := &announce.Plugin{}
		for _, s := range cfg.Schedules {
			every := ""
			if s.Every.D() > 0 {
				every = s.Every.D().String()
			}
			a.Announcements = append(a.Announcements, announce.Announcement{Name: s.Name, Cron: s.Cron, Every: every,
				Timezone: s.Timezone, Group: s.Group, User: s.User, Text: s.Text})
		}
		if err := in.Bot.AddPlugin(a, nil); err != nil {
			errs = append(errs, err)
		}
	}
	lua, err := in.luaPlugins()
	if err != nil {
		errs = append(errs, err)
	}
	for _, p := range append(lua, in.opts.Plugins...) {
		if err := in.Bot.AddPlugin(p, nil); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Run starts the bot and the admin listener, and runs until ctx ends or
// the server ends the session; then it stops gracefully within
// Options.StopTimeout.
func (in *Instance) Run(ctx context.Context) error {
	if err := in.Bot.Start(ctx); err != nil {
		return err
	}
	if err := in.serveAdmin(); err != nil {
		in.stop(ctx)
		return err
	}
	var runErr error
	select {
	case <-ctx.Done():
		in.Log.Info("stopping")
	case <-in.Bot.Done():
		runErr = errors.New("the server connection stopped for good")
	}
	if err := in.stop(ctx); err != nil {
		return err
	}
	return runErr
}

func (in *Instance) stop(ctx context.Context) error {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), in.opts.StopTimeout)
	defer cancel()
	if in.admin != nil {
		in.admin.Shutdown(sctx)
	}
	return in.Bot.Stop(sctx)
}

// serveAdmin starts the admin API on its own listener or the given mux.
func (in *Instance) serveAdmin() error {
	h := in.Bot.AdminHandler()
	if in.opts.AdminMux != nil {
		in.opts.AdminMux.Handle("/admin/", http.StripPrefix("/admin", h))
		return nil
	}
	addr := in.Config.Admin.Listen
	if in.opts.AdminListen != "" {
		addr = in.opts.AdminListen
	}
	if addr == "" {
		return nil
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("admin listener: %w", err)
	}
	in.admin = &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go in.admin.Serve(l)
	in.Log.Info("admin API listening", "addr", "http://"+l.Addr().String())
	return nil
}

// Close releases the connection and the store.
func (in *Instance) Close() error {
	var errs []error
	if in.Transport != nil {
		errs = append(errs, in.Transport.Close())
	}
	if in.Store != nil {
		errs = append(errs, in.Store.Close())
	}
	return errors.Join(errs...)
}

// Run builds the bot of cfg and runs it until ctx ends.
func Run(ctx context.Context, cfg *config.Config, opts Options) error {
	in, err := Build(ctx, cfg, opts)
	if err != nil {
		return err
	}
	defer in.Close()
	return in.Run(ctx)
}
