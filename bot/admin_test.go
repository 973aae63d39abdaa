package bot_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jimbot/jimbot/bot"
	"github.com/jimbot/jimbot/bot/clock"
	"github.com/jimbot/jimbot/jmessage"
	"github.com/jimbot/jimbot/storage"
)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestAdminAPI(t *testing.T) {
	p := plugin("p", func(env *bot.Env) error {
		return env.Command(bot.Command{Name: "hi", Help: "says hi", Handler: func(c *bot.Context) error { return c.Reply("hi") }})
	})
	b, tr := newTestBot(t, bot.Options{Metrics: bot.NewMetrics()}, p)
	tr.deliver("m:1", 7, "alice", "/hi")
	tr.waitSends(t, 1)
	hs := httptest.NewServer(b.AdminHandler())
	defer hs.Close()
	if code, body := get(t, hs.URL+"/healthz"); code != 200 || body != "ok\n" {
		t.Fatalf("healthz: %d %q", code, body)
	}
	if code, _ := get(t, hs.URL+"/readyz"); code != 200 {
		t.Fatalf("readyz: %d", code)
	}
	wants := []string{`jimbot_events_in_total{kind="message"} 1`, `jimbot_events_out_total{kind="send",lane="reply",outcome="ok"} 1`,
		`jimbot_handler_duration_seconds_count{plugin="p"} 1`, "jimbot_send_rate_limit_per_minute -1", "jimbot_dispatch_queue_depth 0"}
	var code int
	var body string
	// The send was recorded by the transport just before the governor
	// counted it.
	waitUntil(t, func() bool {
		code, body = get(t, hs.URL+"/metrics")
		for _, w := range wants {
			if !strings.Contains(body, w) {
				return false
			}
		}
		return true
	})
	for _, want := range []string{`jimbot_events_in_total{kind="message"} 1`, `jimbot_events_out_total{kind="send",lane="reply",outcome="ok"} 1`,
		`jimbot_handler_duration_seconds_count{plugin="p"} 1`, "jimbot_send_rate_limit_per_minute -1", "jimbot_dispatch_queue_depth 0"} {
		if code != 200 || !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	var traces []bot.Trace
	_, body = get(t, hs.URL+"/api/traces?chat=group:7")
	if err := json.Unmarshal([]byte(body), &traces); err != nil || len(traces) != 1 || traces[0].EventID != "m:1" || traces[0].Steps[0].Outcome != bot.Matched {
		t.Fatalf("traces: %s", body)
	}
	if code, body := get(t, hs.URL+"/api/traces/m:1"); code != 200 || !strings.Contains(body, `"outcome": "matched"`) {
		t.Fatalf("trace by id: %d %s", code, body)
	}
	if code, _ := get(t, hs.URL+"/api/traces/m:404"); code != 404 {
		t.Fatalf("unknown trace: %d", code)
	}
	if _, body := get(t, hs.URL+"/api/commands"); !strings.Contains(body, `"usage": "/hi"`) {
		t.Fatalf("commands: %s", body)
	}
	if err := b.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if code, _ := get(t, hs.URL+"/healthz"); code != 503 {
		t.Fatalf("healthz after stop: %d", code)
	}
}

// TestQueuedSendsSurviveStop stops a bot while rate-limited sends are
// queued: they stay in the store and go out after the next start.
func TestQueuedSendsSurviveStop(t *testing.T) {
	fc := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	path := filepath.Join(t.TempDir(), "bot.db")
	db, err := storage.Open(path, &storage.Options{Now: fc.Now})
	if err != nil {
		t.Fatal(err)
	}
	tr := newMemTransport(fc)
	b, err := bot.New(bot.Options{Transport: tr, Store: db, Clock: fc, Logger: discard(), Send: bot.SendOptions{RatePerMinute: 1, Burst: 1}})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, text := range []string{"one", "two", "three"} {
		if _, err := b.Send(bot.Chat{Group: 1}, jmessage.Text(text), bot.LaneAnnouncement, "test"); err != nil {
			t.Fatal(err)
		}
	}
	tr.waitSends(t, 1) // the burst token: "one"
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := b.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	db.Close()

	db, err = storage.Open(path, &storage.Options{Now: fc.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tr2 := newMemTransport(fc)
	b2, err := bot.New(bot.Options{Transport: tr2, Store: db, Clock: fc, Logger: discard(), Send: bot.SendOptions{RatePerMinute: -1}})
	if err != nil {
		t.Fatal(err)
	}
	if err := b2.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer b2.Stop(context.Background())
	got := tr2.waitSends(t, 2)
	if got[0].Text != "two" || got[1].Text != "three" {
		t.Fatalf("after restart: %+v", got)
	}
}
