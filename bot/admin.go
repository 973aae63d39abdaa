package bot

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/jimbot/jimbot/jmessage"
)

// Connectivity is the optional ability of a transport to say whether it is
// connected and logged in right now (readiness).
type Connectivity interface {
	Connected() bool
}

// Connected implements Connectivity.
func (t *JMessage) Connected() bool { return t.c.State() == jmessage.StateConnected }

// AdminHandler returns the admin HTTP API. It has no authentication: bind
// it to loopback or put it behind one.
//
//	GET /healthz            200 while the bot runs
//	GET /readyz             200 when it runs and the transport is connected, else 503
//	GET /metrics            Prometheus metrics (when Options.Metrics is set)
//	GET /api/traces         recent event traces, newest first (?n=50&chat=group:42)
//	GET /api/traces/{id}    the trace of one event (e.g. m:1234)
//	GET /api/plugins        plugins in chain order
//	GET /api/commands       registered commands
//	GET /api/queue          queued events and outbound actions
//	GET /api/schedules      the next run of every schedule
func (b *Bot) AdminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		if !b.started.Load() || b.stopped.Load() {
			http.Error(w, "not running", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if !b.started.Load() || b.stopped.Load() {
			http.Error(w, "not running", http.StatusServiceUnavailable)
			return
		}
		if c, ok := b.transport.(Connectivity); ok && !c.Connected() {
			http.Error(w, "not connected to the server", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ready\n"))
	})
	if b.metrics != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(b.metrics.Registry, promhttp.HandlerOpts{}))
	}
	mux.HandleFunc("GET /api/traces", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		if n <= 0 || n > b.opts.TraceSize {
			n = 50
		}
		writeJSON(w, b.traces.Recent(n, r.URL.Query().Get("chat")))
	})
	mux.HandleFunc("GET /api/traces/{id}", func(w http.ResponseWriter, r *http.Request) {
		t, ok := b.traces.Find(r.PathValue("id"))
		if !ok {
			http.Error(w, "no trace of "+r.PathValue("id")+" (only recent events are kept)", http.StatusNotFound)
			return
		}
		writeJSON(w, t)
	})
	mux.HandleFunc("GET /api/plugins", func(w http.ResponseWriter, r *http.Request) {
		type plugin struct {
			ID          string `json:"id"`
			Description string `json:"description,omitempty"`
			DefaultOff  bool   `json:"default_off,omitempty"`
			Essential   bool   `json:"essential,omitempty"`
			Disabled    bool   `json:"disabled_by_breaker,omitempty"`
		}
		var out []plugin
		b.mu.Lock()
		for _, p := range b.plugins {
			out = append(out, plugin{p.id, p.info.Description, p.info.DefaultOff, p.info.Essential, p.disabledUntil.Load() != 0})
		}
		b.mu.Unlock()
		writeJSON(w, out)
	})
	mux.HandleFunc("GET /api/commands", func(w http.ResponseWriter, r *http.Request) {
		type command struct {
			Name       string   `json:"name"`
			Plugin     string   `json:"plugin"`
			Usage      string   `json:"usage"`
			Help       string   `json:"help,omitempty"`
			Aliases    []string `json:"aliases,omitempty"`
			Permission string   `json:"permission"`
		}
		var out []command
		for _, c := range b.Commands() {
			out = append(out, command{c.Name, c.Plugin, c.UsageLine(b.prefix()), c.Help, c.Aliases, c.Permission.String()})
		}
		writeJSON(w, out)
	})
	mux.HandleFunc("GET /api/queue", func(w http.ResponseWriter, r *http.Request) {
		m, rep, a := b.QueueLen()
		var events int64
		if b.disp != nil {
			events = b.disp.pending()
		}
		writeJSON(w, map[string]any{"events": events, "send": map[string]int{"moderation": m, "reply": rep, "announcement": a}})
	})
	mux.HandleFunc("GET /api/schedules", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, b.Upcoming())
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte(strings.TrimSpace(adminIndex) + "\n"))
	})
	return mux
}

const adminIndex = `
jimbot admin API
  /healthz  /readyz  /metrics
  /api/traces[?n=50&chat=group:42]  /api/traces/{event-id}
  /api/plugins  /api/commands  /api/queue  /api/schedules`

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
}
