package jmserver

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// A request whose sid the engine refuses while the session is still
// joining its pool (the go-socket.io race) is served again until it is
// there: the client sees only the answer, its body intact.
func TestRecentSidIsRetried(t *testing.T) {
	var calls atomic.Int64
	engine := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) <= 3 {
			http.Error(w, "invalid sid value: "+r.URL.Query().Get("sid"), http.StatusBadRequest)
			return
		}
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "text/plain; charset=UTF-8")
		_, _ = w.Write([]byte("ok " + string(body)))
	})
	rec := httptest.NewRecorder()
	serveRetryingSid(engine, rec, httptest.NewRequest(http.MethodPost, "/socket.io/?EIO=3&transport=polling&sid=abc", strings.NewReader("2:40")))
	if rec.Code != http.StatusOK || rec.Body.String() != "ok 2:40" || calls.Load() != 4 {
		t.Fatalf("got %d %q after %d calls, want 200 \"ok 2:40\" after 4", rec.Code, rec.Body.String(), calls.Load())
	}
	if ct := rec.Header().Get("Content-Type"); ct != "text/plain; charset=UTF-8" {
		t.Fatalf("Content-Type %q: the refusals' headers leaked", ct)
	}
}

// Other answers go through at once, a 400 included; a sid that stays
// refused is refused for real once the retries run out.
func TestRetryGivesUp(t *testing.T) {
	other := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "bad handshake", http.StatusBadRequest)
	})
	rec := httptest.NewRecorder()
	serveRetryingSid(other, rec, httptest.NewRequest(http.MethodGet, "/socket.io/?sid=abc", nil))
	if rec.Code != http.StatusBadRequest || !strings.HasPrefix(rec.Body.String(), "bad handshake") {
		t.Fatalf("other 400: got %d %q", rec.Code, rec.Body.String())
	}
	statusOnly := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusBadRequest) })
	rec = httptest.NewRecorder()
	serveRetryingSid(statusOnly, rec, httptest.NewRequest(http.MethodGet, "/socket.io/?sid=abc", nil))
	if rec.Code != http.StatusBadRequest {
		t.Fatalf("status only: got %d", rec.Code)
	}

	saved := sidRetryFor
	sidRetryFor = 20 * time.Millisecond
	t.Cleanup(func() { sidRetryFor = saved })
	var calls atomic.Int64
	gone := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		http.Error(w, "invalid sid value: abc", http.StatusBadRequest)
	})
	rec = httptest.NewRecorder()
	serveRetryingSid(gone, rec, httptest.NewRequest(http.MethodGet, "/socket.io/?sid=abc", nil))
	if rec.Code != http.StatusBadRequest || !strings.HasPrefix(rec.Body.String(), "invalid sid value: abc") || calls.Load() < 2 {
		t.Fatalf("gone: got %d %q after %d calls", rec.Code, rec.Body.String(), calls.Load())
	}
}

// Ids are unguessable, and remembered as recent until their session joins.
func TestSidIssuer(t *testing.T) {
	var g sidIssuer
	a, b := g.NewID(), g.NewID()
	if a == b || len(a) < 22 {
		t.Fatalf("ids %q %q", a, b)
	}
	if !g.recent(a) || g.recent("nope") {
		t.Fatal("recent")
	}
	g.joined(a)
	if g.recent(a) || !g.recent(b) {
		t.Fatal("joined")
	}
}
