package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/jimbot/jimbot/bot/app"
	"github.com/jimbot/jimbot/bot/config"
	"github.com/jimbot/jimbot/jmessage"
	"github.com/jimbot/jimbot/plugins"
	"github.com/jimbot/jimbot/storage"
)

// loadConfig reads -c FILE; config problems are usage errors (exit 2).
func loadConfig(path string) (*config.Config, error) {
	if path == "" {
		return nil, usageError{errors.New("-c FILE is required")}
	}
	cfg, err := config.Loader{Registry: plugins.Default()}.Load(path)
	if err != nil {
		return nil, usageError{err}
	}
	return cfg, nil
}

func runRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flags("run", stderr)
	cfgPath := fs.String("c", "", "config file (YAML)")
	admin := fs.String("admin", "", "serve the admin API on this address (overrides admin.listen)")
	reload := fs.Bool("reload", false, "reload changed Lua scripts (overrides lua.reload)")
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		return err
	}
	opts := app.Options{Stderr: stderr, AdminListen: *admin, StopTimeout: shutdownTimeout}
	if *reload {
		opts.Reload = reload
	}
	fmt.Fprintf(stdout, "jimbot %s: %s as %s\n", version, cfg.Server.URL, cfg.Bot.Username)
	return app.Run(ctx, cfg, opts)
}

func runCheck(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flags("check", stderr)
	cfgPath := fs.String("c", "", "config file (YAML)")
	show := fs.Bool("print", false, "print the effective config (secrets redacted)")
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		return err
	}
	if err := app.CheckScripts(cfg); err != nil {
		return usageError{err}
	}
	if *show {
		fmt.Fprint(stdout, cfg.String())
	}
	fmt.Fprintf(stdout, "%s: ok (%d plugins, %d Lua script patterns, %d schedules)\n", *cfgPath, len(cfg.PluginList()), len(cfg.Lua.Scripts), len(cfg.Schedules))
	return nil
}

func runSend(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flags("send", stderr)
	cfgPath := fs.String("c", "", "config file (YAML): the server and the account to send as")
	to := fs.String("to", "", "group:<gid>, user:<username> or user:<appkey>/<username>")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flagErrHelp) {
			return err
		}
		return usageError{err}
	}
	text := strings.Join(fs.Args(), " ")
	if text == "" || *to == "" {
		return usageError{errors.New("usage: jimbot send -c FILE --to group:123|user:alice TEXT")}
	}
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	id, err := app.SendOnce(ctx, cfg, *to, jmessage.Text(text))
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "sent msg_id %d\n", id)
	return nil
}

func runState(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "export" && args[0] != "import") {
		return usageError{errors.New("usage: jimbot state export|import -c FILE [-f STATE.json]")}
	}
	op := args[0]
	fs := flags("state "+op, stderr)
	cfgPath := fs.String("c", "", "config file (YAML): names the data file")
	file := fs.String("f", "-", "state file (JSON); - is stdout/stdin")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		return err
	}
	if cfg.Data == "" {
		return usageError{fmt.Errorf("%s has no data file", *cfgPath)}
	}
	db, err := storage.Open(cfg.Data, nil)
	if err != nil {
		return err
	}
	defer db.Close()
	if op == "export" {
		w := stdout
		if *file != "-" {
			f, err := os.Create(*file)
			if err != nil {
				return err
			}
			defer f.Close()
			w = f
		}
		return db.Export(w)
	}
	r := io.Reader(os.Stdin)
	if *file != "-" {
		f, err := os.Open(*file)
		if err != nil {
			return err
		}
		defer f.Close()
		r = f
	}
	if err := db.Import(r); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "imported into %s\n", cfg.Data)
	return nil
}
