package main

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jimbot/jimbot/jmessage"
	"github.com/jimbot/jimbot/jmessage/jmserver"

	"github.com/jimbot/jimbot/jmessage/jmtest"
)

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startServer runs `jimbot server` in-process until the returned stop is
// called.
func startServer(t *testing.T, addr, data string) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var out jmtest.Buffer
	go func() {
		done <- runServer(ctx, []string{"--listen", addr, "--data", data, "--user", "jimbot:echo-bot-password",
			"--user", "alice:alice-password", "--redeliver-after", "500ms", "--log-level", "warn"}, &out, &out)
	}()
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("server did not start: %s", out.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	return func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("server: %v\n%s", err, out.String())
		}
	}
}

// TestEchoExampleSurvivesServerRestart runs `jimbot run -c
// examples/echo/jimbot.yaml` against `jimbot server --data`, restarts the
// server, and checks the bot reconnects by itself and that nothing is lost
// or handled twice.
func TestEchoExampleSurvivesServerRestart(t *testing.T) {
	dir := t.TempDir()
	addr := freeAddr(t)
	example, err := os.ReadFile("../../examples/echo/jimbot.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg := strings.Replace(string(example), "ws://127.0.0.1:9090", "ws://"+addr, 1)
	cfgPath := filepath.Join(dir, "jimbot.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	serverData := filepath.Join(dir, "server.db")
	stopServer := startServer(t, addr, serverData)

	ctx, cancel := context.WithCancel(context.Background())
	var botOut jmtest.Buffer
	botDone := make(chan error, 1)
	go func() { botDone <- runRun(ctx, []string{"-c", cfgPath}, &botOut, &botOut) }()
	defer func() {
		cancel()
		if err := <-botDone; err != nil {
			t.Errorf("bot: %v", err)
		}
	}()

	alice, err := jmessage.Dial(context.Background(), "ws://"+addr,
		jmessage.WithAppKey(jmserver.DevAppKey, jmserver.DevMasterSecret),
		jmessage.WithLogin("alice", "alice-password"),
		jmessage.WithBackoff(jmessage.Backoff{Min: 20 * time.Millisecond, Max: 200 * time.Millisecond, Factor: 2}))
	if err != nil {
		t.Fatal(err)
	}
	defer alice.Close()
	say := func(text string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			_, err := alice.SendSingle(context.Background(), "jimbot", jmessage.Text(text))
			if err == nil {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("send %q: %v", text, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	// Count distinct msg_ids: the server may deliver one message twice (an
	// ack in flight when it stopped); two sends of an echo would be two ids.
	echoes := map[string]map[jmessage.ID]bool{}
	record := func(m *jmessage.Message) {
		if echoes[m.Content.Text()] == nil {
			echoes[m.Content.Text()] = map[jmessage.ID]bool{}
		}
		echoes[m.Content.Text()][m.ID] = true
	}
	expect := func(text string) {
		t.Helper()
		timeout := time.After(10 * time.Second)
		for len(echoes[text]) == 0 {
			select {
			case in := <-alice.Inbound():
				if in.Message != nil && in.Message.Content.FromID == "jimbot" {
					record(in.Message)
				}
				in.Ack(context.Background())
			case <-timeout:
				t.Fatalf("no echo of %q; bot output:\n%s", text, botOut.String())
			}
		}
	}
	say("before the restart")
	expect("before the restart")

	stopServer()
	stopServer = startServer(t, addr, serverData)
	defer stopServer()
	// Sent while the bot may still be reconnecting: the server keeps it.
	say("after the restart")
	expect("after the restart")
	say("and once more")
	expect("and once more")
	// Give any duplicate a chance to show up.
	drain := time.After(time.Second)
	for done := false; !done; {
		select {
		case in := <-alice.Inbound():
			if in.Message != nil && in.Message.Content.FromID == "jimbot" {
				record(in.Message)
			}
			in.Ack(context.Background())
		case <-drain:
			done = true
		}
	}
	for text, ids := range echoes {
		if len(ids) != 1 {
			t.Errorf("%q echoed %d times, want once; bot output:\n%s", text, len(ids), botOut.String())
		}
	}
	if !strings.Contains(botOut.String(), "reconnected") {
		t.Errorf("the bot did not log a reconnection:\n%s", botOut.String())
	}
}
