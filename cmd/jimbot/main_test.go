package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jimbot/jimbot/jmessage/jmtest"
)

func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("server:\n  url: ftp://x\n  appkey: k\n  transprot: websocket\nbot:\n  username: jimbot\n  password: pw\n  workers: many\nplugins: [pong]\n"), 0o600)
	good := filepath.Join(dir, "good.yaml")
	os.WriteFile(good, []byte("server: {url: ws://127.0.0.1:1, appkey: k, master_secret: s}\nbot: {username: jimbot, password: pw}\n"), 0o600)
	cases := []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"no command", nil, 2, []string{"usage: jimbot <command>"}},
		{"unknown command", []string{"frobnicate"}, 2, []string{`unknown command "frobnicate"`}},
		{"bad flag", []string{"server", "--nope"}, 2, []string{"flag provided but not defined: -nope"}},
		{"check needs -c", []string{"check"}, 2, []string{"-c FILE is required"}},
		{"check missing file", []string{"check", "-c", filepath.Join(dir, "missing.yaml")}, 2, []string{"missing.yaml"}},
		{"check bad config", []string{"check", "-c", bad}, 2, []string{
			"bad.yaml:2: server.url:", "bad.yaml:4: server.transprot: unknown key (did you mean transport?)",
			"bad.yaml:8: bot.workers: must be an integer", `no plugin "pong"`}},
		{"check good config", []string{"check", "-c", good}, 0, []string{"good.yaml: ok"}},
		{"version", []string{"version"}, 0, []string{"jimbot dev"}},
		{"send without target", []string{"send", "-c", good, "hello"}, 2, []string{"usage: jimbot send"}},
		{"state needs a verb", []string{"state"}, 2, []string{"usage: jimbot state export|import"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb jmtest.Buffer
			code := mainExit(tc.args, &out, &errb)
			all := out.String() + errb.String()
			if code != tc.code {
				t.Fatalf("exit %d, want %d:\n%s", code, tc.code, all)
			}
			for _, w := range tc.want {
				if !strings.Contains(all, w) {
					t.Errorf("output lacks %q:\n%s", w, all)
				}
			}
		})
	}
}
