package main

import (
	"context"
	"fmt"
	"io"

	"github.com/jimbot/jimbot/plugins/lua"
)

// errTestsFailed makes `jimbot test` exit 1 without repeating the report.
type errTestsFailed struct{ failed int }

func (e errTestsFailed) Error() string { return fmt.Sprintf("%d test(s) failed", e.failed) }

func runTest(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flags("test", stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: jimbot test [PATH...]\n\nRuns the Lua tests (*_test.lua) in the given files or folders (default: scripts)\nagainst the real runtime, with a test server, virtual users and a fake clock.")
	}
	if err := fs.Parse(args); err != nil {
		if err == flagErrHelp {
			return err
		}
		return usageError{err}
	}
	paths := fs.Args()
	if len(paths) == 0 {
		paths = []string{"scripts"}
	}
	sum, err := lua.RunTests(ctx, paths, stdout)
	if err != nil {
		return usageError{err}
	}
	if sum.Failed > 0 {
		return errTestsFailed{sum.Failed}
	}
	return nil
}
