package jmserver_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jimbot/jimbot/jmessage/jmserver"
	"github.com/jimbot/jimbot/jmessage/jmtest"
)

// conformanceDir holds conformance.js and its pinned socket.io-client.
const conformanceDir = "testdata/conformance"

const needNode = "node and socket.io-client@1.4.5 are needed: run ./test.sh, which installs them (npm ci in jmessage/jmserver/testdata/conformance)"

// The second app of the conformance server, for the cross-app requests.
const (
	conformanceAppKey2   = "636f6e666f726d616e636532" // hex of "conformance2"
	conformanceSecret2   = "636f6e66736563726574303032"
	conformanceAcross    = "dave_app2"
	conformanceRedeliver = time.Second
)

// TestConformanceSocketIOClient145 drives the server with socket.io-client
// 1.4.5 (the client the JMessage Web SDK v1 is built on) behaving like the
// v1 SDK, over websocket and over polling; see
// testdata/conformance/conformance.js for the steps.
func TestConformanceSocketIOClient145(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal(needNode)
	}
	pkg, err := os.ReadFile(filepath.Join(conformanceDir, "node_modules", "socket.io-client", "package.json"))
	if err != nil {
		t.Fatal(needNode)
	}
	var meta struct {
		Version string `json:"version"`
	}
	if json.Unmarshal(pkg, &meta) != nil || meta.Version != "1.4.5" {
		t.Fatalf("%s (found socket.io-client %q)", needNode, meta.Version)
	}

	for _, transport := range []string{"websocket", "polling"} {
		t.Run(transport, func(t *testing.T) {
			srv := jmtest.Start(t, func(o *jmserver.Options) {
				o.Apps = []jmserver.App{
					{Key: jmserver.DevAppKey, Secret: jmserver.DevMasterSecret},
					{Key: conformanceAppKey2, Secret: conformanceSecret2},
				}
				o.RedeliverAfter = conformanceRedeliver
				// Short heartbeats, so that the run sees several
				// engine.io ping/pong rounds on every socket.
				o.PingInterval, o.PingTimeout = time.Second, 3*time.Second
			})
			if _, err := srv.RegisterUser(conformanceAppKey2, conformanceAcross, jmtest.Password(conformanceAcross), ""); err != nil {
				t.Fatal(err)
			}

			ctx, cancel := context.WithTimeout(context.Background(), 25*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, node, "conformance.js",
				"--url", srv.URL,
				"--appkey", srv.AppKey, "--secret", srv.Secret,
				"--appkey2", conformanceAppKey2, "--secret2", conformanceSecret2,
				"--across-user", conformanceAcross, "--across-password", jmtest.Password(conformanceAcross),
				"--transport", transport,
				"--redeliver-ms", strconv.FormatInt(conformanceRedeliver.Milliseconds(), 10),
				"--timeout-ms", "22000",
			)
			cmd.Dir = conformanceDir
			cmd.WaitDelay = 2 * time.Second
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			start := time.Now()
			err := cmd.Run()
			t.Logf("node conformance.js --transport %s (%s):\n%s", transport, time.Since(start).Round(time.Millisecond), out.String())
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				t.Fatalf("conformance.js (%s) timed out; output above", transport)
			}
			if err != nil {
				t.Fatalf("conformance.js (%s) failed: %v\n%s", transport, err, failedLines(out.String()))
			}

			// Every push the client acknowledged the v1 way (msg_recv,
			// event echo) must have left the user's queue.
			for _, u := range usersOf(t, out.String()) {
				if n, err := srv.Pending(u.AppKey, u.Username); err != nil || n != 0 {
					t.Errorf("%s (%s): %d unacknowledged item(s) left after the run (err %v)", u.Username, u.AppKey, n, err)
				}
			}
		})
	}
}

// failedLines picks the FAIL lines and their details out of the output.
func failedLines(out string) string {
	var b strings.Builder
	in := false
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "FAIL"):
			in = true
		case strings.HasPrefix(line, "       ") && in:
		default:
			in = false
		}
		if in {
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}

type conformanceUser struct {
	AppKey   string `json:"appkey"`
	Username string `json:"username"`
}

// usersOf reads the "USERS [...]" line conformance.js prints at the end.
func usersOf(t *testing.T, out string) []conformanceUser {
	t.Helper()
	for _, line := range strings.Split(out, "\n") {
		if rest, ok := strings.CutPrefix(line, "USERS "); ok {
			var us []conformanceUser
			if err := json.Unmarshal([]byte(rest), &us); err != nil {
				t.Fatalf("bad USERS line %q: %v", line, err)
			}
			return us
		}
	}
	t.Fatal("conformance.js printed no USERS line")
	return nil
}
