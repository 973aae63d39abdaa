// Command jimbot runs jimbot bots and the JMessage-compatible server.
//
//	jimbot dev                       server + bot + demo users + web chat, on embedded defaults
//	jimbot run -c FILE               run a bot
//	jimbot check -c FILE             validate a config and its Lua scripts (exit 2 on problems)
//	jimbot test [PATH...]            run Lua script tests (*_test.lua)
//	jimbot send -c FILE --to T TEXT  send one message
//	jimbot state export|import -c FILE [-f STATE.json]
//	jimbot server [flags]            run the JMessage Web SDK v1 compatible server
//	jimbot version                   print the version
//
// Run "jimbot <command> -h" for a command's flags.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/jimbot/jimbot/bot/config"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// exitUsage is the exit code for bad flags or configuration.
const exitUsage = 2

type command struct {
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

var commands = map[string]command{
	"dev":     {"server + bot + demo users + web chat page, on embedded defaults", runDev},
	"run":     {"run a bot from a config file (-c FILE)", runRun},
	"check":   {"validate a config file and its Lua scripts", runCheck},
	"send":    {"send one message as the configured account", runSend},
	"test":    {"run Lua script tests (*_test.lua)", runTest},
	"state":   {"export or import all bot state as JSON", runState},
	"server":  {"run the JMessage Web SDK v1 compatible server", runServer},
	"version": {"print the version", runVersion},
}

// flagErrHelp is flag.ErrHelp, for commands that parse their own args.
var flagErrHelp = flag.ErrHelp

func main() {
	os.Exit(mainExit(os.Args[1:], os.Stdout, os.Stderr))
}

// usageError marks errors that should exit with code 2.
type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }

func mainExit(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return exitUsage
		}
		return 0
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "jimbot: unknown command %q\n\n", args[0])
		usage(stderr)
		return exitUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := cmd.run(ctx, args[1:], stdout, stderr)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, new(usageError)):
		var problems config.Errors
		if errors.As(err, &problems) && len(problems) > 1 {
			fmt.Fprintf(stderr, "jimbot %s: %d problems:\n", args[0], len(problems))
			for _, p := range problems {
				fmt.Fprintf(stderr, "  %v\n", p)
			}
			return exitUsage
		}
		fmt.Fprintf(stderr, "jimbot %s: %v\n", args[0], err)
		return exitUsage
	default:
		fmt.Fprintf(stderr, "jimbot %s: %v\n", args[0], err)
		return 1
	}
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: jimbot <command> [flags]\n\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-8s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nRun \"jimbot <command> -h\" for a command's flags.")
}

// flags returns a FlagSet that reports errors instead of exiting.
func flags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("jimbot "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// parse parses args and turns flag errors into usage errors.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))}
	}
	return nil
}

// logger builds the process logger for a level name.
func logger(w io.Writer, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, usageError{fmt.Errorf("--log-level %q: want debug, info, warn or error", level)}
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l})), nil
}

func runVersion(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flags("version", stderr)
	if err := parse(fs, args); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "jimbot", version)
	return nil
}

// shutdownTimeout bounds a graceful shutdown after SIGINT or SIGTERM.
const shutdownTimeout = 10 * time.Second
