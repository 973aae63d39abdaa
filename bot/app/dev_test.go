package app_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jimbot/jimbot/bot/app"
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
	ready := make(chan string, 1)
	var out syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- app.Dev(ctx, app.DevOptions{Listen: "127.0.0.1:0", Stdout: &out, Stderr: &out,
			Ready: func(url string) { ready <- url }})
	}()
	var url string
	select {
	case url = <-ready:
	case err := <-done:
		t.Fatalf("dev stopped: %v\n%s", err, out.String())
	}
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

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
