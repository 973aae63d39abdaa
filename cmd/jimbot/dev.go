package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"

	"github.com/jimbot/jimbot/bot/app"
)

// listFlag collects a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	if v == "" {
		return errors.New("empty value")
	}
	*l = append(*l, v)
	return nil
}

func runDev(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flags("dev", stderr)
	listen := fs.String("listen", "127.0.0.1:9090", "address of the server, the web chat page and the admin API")
	data := fs.String("data", "", "folder that keeps the server's and the bot's state between runs (default: none, state is lost at exit)")
	cfgPath := fs.String("c", "", "bot config file to use instead of the embedded defaults (its server section is replaced)")
	var scripts listFlag
	fs.Var(&scripts, "scripts", "Lua script file, folder or glob (repeatable; default scripts/*.lua when present)")
	level := fs.String("log-level", "info", "debug, info, warn or error")
	if err := parse(fs, args); err != nil {
		return err
	}
	var l slog.Level
	if err := l.UnmarshalText([]byte(*level)); err != nil {
		return usageError{errors.New("--log-level: want debug, info, warn or error")}
	}
	return app.Dev(ctx, app.DevOptions{Listen: *listen, DataDir: *data, Config: *cfgPath, Scripts: scripts,
		Stdout: stdout, Stderr: stderr, LogLevel: l})
}
