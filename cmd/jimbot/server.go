package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"

	"github.com/jimbot/jimbot/jmessage/jmserver"
	"github.com/jimbot/jimbot/storage"
)

// appFlags collects repeated --app KEY:SECRET flags.
type appFlags []jmserver.App

func (a *appFlags) String() string { return fmt.Sprint(len(*a), " apps") }

func (a *appFlags) Set(v string) error {
	key, secret, ok := strings.Cut(v, ":")
	if !ok || key == "" || secret == "" {
		return errors.New("want KEY:SECRET")
	}
	*a = append(*a, jmserver.App{Key: key, Secret: secret})
	return nil
}

// userFlags collects repeated --user NAME:PASSWORD flags.
type userFlags [][2]string

func (u *userFlags) String() string { return fmt.Sprint(len(*u), " users") }

func (u *userFlags) Set(v string) error {
	name, pw, ok := strings.Cut(v, ":")
	if !ok || name == "" || pw == "" {
		return errors.New("want NAME:PASSWORD")
	}
	*u = append(*u, [2]string{name, pw})
	return nil
}

func runServer(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flags("server", stderr)
	def := jmserver.DefaultOptions()
	listen := fs.String("listen", "127.0.0.1:9090", "address to listen on")
	appKey := fs.String("appkey", jmserver.DevAppKey, "appkey of the main app")
	secret := fs.String("master-secret", "", "master secret of the main app (default: $JIMBOT_MASTER_SECRET, or the development secret with the development appkey)")
	var extra appFlags
	fs.Var(&extra, "app", "another app as KEY:SECRET (repeatable)")
	var users userFlags
	fs.Var(&users, "user", "create this user in the main app if missing, as NAME:PASSWORD (repeatable)")
	data := fs.String("data", "", "bbolt file for the server's state (default: in memory, lost at exit)")
	fsync := fs.Bool("fsync", false, "fsync every commit of --data (slower; survives power loss, not just crashes)")
	redeliver := fs.Duration("redeliver-after", def.RedeliverAfter, "resend unacknowledged messages and events after this long")
	maxMsg := fs.Int("max-message-size", def.MaxMessageSize, "largest message content in bytes (880206 beyond)")
	rate := fs.Int("rate-limit", 0, "messages a user may send per minute (880209 beyond); 0 means no limit")
	ping := fs.Duration("ping-interval", def.PingInterval, "engine.io ping interval announced to clients")
	pingTimeout := fs.Duration("ping-timeout", def.PingTimeout, "engine.io ping timeout announced to clients")
	relaxed := fs.Bool("relaxed-random-str", false, "accept a c_init random_str of any length (the spec asks for 20-36 characters)")
	level := fs.String("log-level", "info", "debug, info, warn or error")
	if err := parse(fs, args); err != nil {
		return err
	}
	log, err := logger(stderr, *level)
	if err != nil {
		return err
	}
	if *secret == "" {
		*secret = os.Getenv("JIMBOT_MASTER_SECRET")
	}
	if *secret == "" {
		if *appKey != jmserver.DevAppKey {
			return usageError{errors.New("--master-secret (or $JIMBOT_MASTER_SECRET) is required with a custom --appkey")}
		}
		*secret = jmserver.DevMasterSecret
	}
	opts := jmserver.Options{
		Apps:              append([]jmserver.App{{Key: *appKey, Secret: *secret}}, extra...),
		Logger:            log,
		RedeliverAfter:    *redeliver,
		MaxMessageSize:    *maxMsg,
		SendRatePerMinute: *rate,
		PingInterval:      *ping,
		PingTimeout:       *pingTimeout,
		RelaxedRandomStr:  *relaxed,
	}
	if *data != "" {
		db, err := storage.Open(*data, &storage.Options{NoSync: !*fsync})
		if err != nil {
			return err
		}
		defer db.Close()
		opts.Store = db
	}
	srv, err := jmserver.New(opts)
	if err != nil {
		return usageError{err}
	}
	defer srv.Close()
	for _, u := range users {
		if _, err := srv.EnsureUser(*appKey, u[0], u[1], ""); err != nil {
			return fmt.Errorf("--user %s: %w", u[0], err)
		}
	}
	l, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	state := "in memory (lost at exit; use --data FILE to keep it)"
	if *data != "" {
		state = *data
	}
	fmt.Fprintf(stdout, "jimbot server %s: JMessage Web SDK v1 compatible\n", version)
	fmt.Fprintf(stdout, "  socket.io  ws://%s/socket.io/ (websocket and polling)\n", l.Addr())
	fmt.Fprintf(stdout, "  media      http://%s/resource (upload), http://%s/media/<media_id>\n", l.Addr(), l.Addr())
	fmt.Fprintf(stdout, "  appkey     %s\n", *appKey)
	if *secret == jmserver.DevMasterSecret {
		fmt.Fprintf(stdout, "  secret     %s (the development secret; not for production)\n", *secret)
	}
	for _, a := range extra {
		fmt.Fprintf(stdout, "  app        %s\n", a.Key)
	}
	fmt.Fprintf(stdout, "  state      %s\n", state)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	done := make(chan struct{})
	go func() { srv.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(shutdownTimeout):
		return errors.New("shutdown timed out")
	}
	return <-errc
}
