package app_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jimbot/jimbot/bot/app"
	"github.com/jimbot/jimbot/jmessage"
	"github.com/jimbot/jimbot/jmessage/jmserver"

	"github.com/jimbot/jimbot/jmessage/jmtest"
)

// nodeModules is where ./test.sh installs socket.io-client 1.4.5.
const nodeModules = "../../jmessage/jmserver/testdata/conformance/node_modules"

// TestDevWithSocketIOClient145 runs `jimbot dev` and has a program using
// socket.io-client 1.4.5 log in as a demo user, get pong for /ping, and see
// the commands in /help.
func TestDevWithSocketIOClient145(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node and socket.io-client@1.4.5 are needed: run ./test.sh, which installs them")
	}
	if _, err := os.Stat(filepath.Join(nodeModules, "socket.io-client")); err != nil {
		t.Fatal("socket.io-client@1.4.5 is needed: run ./test.sh, which installs it (npm ci in jmessage/jmserver/testdata/conformance)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out jmtest.Buffer
	url, done := startDev(ctx, t, &out, app.DevOptions{})
	if !strings.Contains(out.String(), "Chat in your browser:") {
		t.Fatalf("banner:\n%s", out.String())
	}
	cmd := exec.CommandContext(ctx, node, "testdata/devclient.js", strings.TrimSuffix(url, "/"))
	cmd.Env = append(os.Environ(), "NODE_PATH="+nodeModules)
	got, err := cmd.CombinedOutput()
	t.Logf("devclient.js:\n%s", got)
	if err != nil {
		t.Fatalf("devclient.js failed: %v\n--- jimbot dev output ---\n%s", err, out.String())
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("dev: %v", err)
	}
}

// startDev runs app.Dev on a free port until ctx ends, with its output in
// out; it returns the page's URL and where Dev's result arrives.
func startDev(ctx context.Context, t *testing.T, out *jmtest.Buffer, opts app.DevOptions) (string, <-chan error) {
	t.Helper()
	ready := make(chan string, 1)
	done := make(chan error, 1)
	opts.Listen, opts.Stdout, opts.Stderr = "127.0.0.1:0", out, out
	opts.Ready = func(url string) { ready <- url }
	go func() { done <- app.Dev(ctx, opts) }()
	select {
	case url := <-ready:
		return url, done
	case err := <-done:
		t.Fatalf("dev stopped: %v\n%s", err, out.String())
	}
	return "", nil
}

// A script added while jimbot dev runs is picked up without a restart of
// dev: the bot is rebuilt with it. A script that does not compile is
// reported and the running bot kept.
func TestDevPicksUpAddedScripts(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("first.lua", `local bot = require("jimbot")
bot.command("first", function(ctx) ctx:reply("first here") end)
`)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out jmtest.Buffer
	url, done := startDev(ctx, t, &out, app.DevOptions{Scripts: []string{filepath.Join(dir, "*.lua")}})
	alice, err := jmessage.Dial(ctx, "ws://"+strings.TrimPrefix(strings.TrimSuffix(url, "/"), "http://"),
		jmessage.WithAppKey(jmserver.DevAppKey, jmserver.DevMasterSecret), jmessage.WithLogin("alice", "alice-dev"))
	if err != nil {
		t.Fatal(err)
	}
	defer alice.Close()
	// ask sends text to the bot until it answers want (the bot may be
	// restarting), failing after a while.
	ask := func(text, want string) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) {
			if _, err := alice.SendSingle(ctx, app.DevBotName, jmessage.Text(text)); err != nil {
				t.Fatal(err)
			}
			wait := time.After(2 * time.Second)
		read:
			for {
				select {
				case in := <-alice.Inbound():
					_ = in.Ack(ctx)
					if in.Message != nil && in.Message.Content.Text() == want {
						return
					}
				case <-wait:
					break read
				}
			}
		}
		t.Fatalf("no %q for %q\n--- dev output ---\n%s", want, text, out.String())
	}
	ask("/first", "first here")
	write("hello.lua", `local bot = require("jimbot")
bot.command("hello", function(ctx) ctx:reply("Hello, " .. ctx.sender.username .. "!") end)
`)
	ask("/hello", "Hello, alice!")
	ask("/first", "first here")
	if !strings.Contains(out.String(), "bot restarted") {
		t.Fatalf("no restart logged:\n%s", out.String())
	}
	write("broken.lua", "local bot = require(\"jimbot\")\nbot.command(\"x\", function(ctx)\n")
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(out.String(), "broken.lua") {
		if time.Now().After(deadline) {
			t.Fatalf("the broken script was not reported:\n%s", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	ask("/hello", "Hello, alice!")
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("dev: %v", err)
	}
}
