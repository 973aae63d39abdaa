// Package webchat serves the web chat page of jimbot's development mode: a
// small, dependency-free browser client of a JMessage Web SDK v1 server
// (jmserver) that lets a new user log in as a demo user and chat with the
// bot, in groups and one to one.
//
// The page speaks the v1 wire protocol itself (spec §2–§8) through the
// vendored socket.io-client 1.4.5, on the same origin as the page. Mount the
// handler next to the server:
//
//	mux := http.NewServeMux()
//	mux.Handle("/", webchat.Handler(cfg))
//	mux.Handle("/socket.io/", srv.Handler())
//	mux.Handle("/resource", srv.Handler())
//	mux.Handle("/media/", srv.Handler())
//
// The page never sees the master secret: it fetches a freshly signed c_init
// payload from /dev/auth before every (re)connect. That endpoint lets anyone
// who can load the page initialise sessions of the app, which is what a
// development page is for; do not expose it beyond the developer's machine.
//
// The assets are plain files embedded with the package (no build step, no
// CDN): index.html, app.js, style.css, md5.js (written for this page) and
// socket.io-1.4.5.js, the unmodified browser build of socket.io-client
// 1.4.5 (MIT; its licence is socket.io-1.4.5.LICENSE next to it).
//
// Routes:
//
//	GET /            the page
//	GET /static/...  its embedded assets (JS, CSS, socket.io-client 1.4.5)
//	GET /dev/config  JSON: appkey, users, groups, bot, tracesURL
//	GET /dev/auth    JSON: a fresh signed auth payload (Cache-Control: no-store)
package webchat

import (
	"embed"
	"encoding/json"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strings"

	"github.com/jimbot/jimbot/jmessage"
)

//go:embed static
var assets embed.FS

// Config describes what the page offers.
type Config struct {
	// AppKey is the app the page's users belong to. When empty it is taken
	// from a payload of Sign.
	AppKey string
	// Sign signs c_init payloads server-side, so the page never sees the
	// master secret; /dev/auth calls it once per request. Typically
	// (&jmessage.Signer{AppKey: k, MasterSecret: s}).Sign.
	Sign func() jmessage.AuthPayload
	// Users are the demo users the page offers to log in as.
	Users []DemoUser
	// Groups are the demo groups listed as conversations.
	Groups []DemoGroup
	// Bot is the bot's username, for the "chat with the bot" 1:1 tab.
	Bot string
	// TracesURL is the URL of the bot's admin /api/traces (for example
	// "/admin/api/traces"). When set the page shows an inspector panel that
	// polls it. It should be on the page's origin: the bot's admin API
	// sends no CORS headers.
	TracesURL string
}

// DemoUser is a user the page offers to log in as. Its password is shown
// to (and hashed by) the page: use demo accounts only.
type DemoUser struct {
	// Name is the username.
	Name string `json:"name"`
	// Password is the plain password; the page hashes it with MD5 for
	// login, as the protocol wants.
	Password string `json:"password"`
}

// DemoGroup is a group the page lists as a conversation.
type DemoGroup struct {
	// GID is the group's id.
	GID int64 `json:"gid"`
	// Name is shown in the conversation list.
	Name string `json:"name"`
}

// PageConfig is the JSON document GET /dev/config returns: Config without
// the signer.
type PageConfig struct {
	// AppKey is Config.AppKey (or the signer's appkey).
	AppKey string `json:"appkey"`
	// Users are Config.Users, never null.
	Users []DemoUser `json:"users"`
	// Groups are Config.Groups, never null.
	Groups []DemoGroup `json:"groups"`
	// Bot is Config.Bot.
	Bot string `json:"bot"`
	// TracesURL is Config.TracesURL; empty means no inspector.
	TracesURL string `json:"tracesURL"`
}

// contentTypes fixes the types of the embedded assets, so that they do not
// depend on the machine's mime tables.
var contentTypes = map[string]string{
	".html":    "text/html; charset=utf-8",
	".js":      "text/javascript; charset=utf-8",
	".css":     "text/css; charset=utf-8",
	".svg":     "image/svg+xml",
	".png":     "image/png",
	".ico":     "image/x-icon",
	".json":    "application/json; charset=utf-8",
	".txt":     "text/plain; charset=utf-8",
	".LICENSE": "text/plain; charset=utf-8",
}

// Handler returns the page's HTTP handler. Its routes are listed in the
// package documentation; everything else is 404, so mount it at "/" next
// to the server's /socket.io/, /resource and /media/ routes.
func Handler(cfg Config) http.Handler {
	static, err := fs.Sub(assets, "static")
	if err != nil {
		panic("webchat: embedded assets: " + err.Error())
	}
	h := &handler{cfg: cfg, static: static}
	h.page, err = fs.ReadFile(static, "index.html")
	if err != nil {
		panic("webchat: embedded page: " + err.Error())
	}
	h.csp = contentSecurityPolicy(cfg.TracesURL)

	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", h.servePage)
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.HandlerFunc(h.serveStatic)))
	mux.HandleFunc("GET /dev/config", h.serveConfig)
	mux.HandleFunc("GET /dev/auth", h.serveAuth)
	return mux
}

type handler struct {
	cfg    Config
	static fs.FS
	page   []byte
	csp    string
}

// contentSecurityPolicy allows the page's own origin only (plus websocket
// to it, and the traces URL's origin when that is absolute).
func contentSecurityPolicy(tracesURL string) string {
	connect := "'self' ws: wss:"
	if u, err := url.Parse(tracesURL); err == nil && u.Scheme != "" && u.Host != "" {
		connect += " " + u.Scheme + "://" + u.Host
	}
	return "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; " +
		"connect-src " + connect + "; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'"
}

func (h *handler) servePage(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Type", contentTypes[".html"])
	hd.Set("Cache-Control", "no-cache")
	hd.Set("Content-Security-Policy", h.csp)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	w.Write(h.page)
}

func (h *handler) serveStatic(w http.ResponseWriter, r *http.Request) {
	name := r.URL.Path
	if name == "" || strings.HasSuffix(name, "/") || !fs.ValidPath(name) {
		http.NotFound(w, r)
		return
	}
	data, err := fs.ReadFile(h.static, name)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	ct, ok := contentTypes[path.Ext(name)]
	if !ok {
		ct = "application/octet-stream"
	}
	hd := w.Header()
	hd.Set("Content-Type", ct)
	hd.Set("Cache-Control", "no-cache")
	hd.Set("X-Content-Type-Options", "nosniff")
	w.Write(data)
}

func (h *handler) serveConfig(w http.ResponseWriter, r *http.Request) {
	pc := PageConfig{
		AppKey:    h.cfg.AppKey,
		Users:     h.cfg.Users,
		Groups:    h.cfg.Groups,
		Bot:       h.cfg.Bot,
		TracesURL: h.cfg.TracesURL,
	}
	if pc.AppKey == "" && h.cfg.Sign != nil {
		pc.AppKey = h.cfg.Sign().AppKey
	}
	if pc.Users == nil {
		pc.Users = []DemoUser{}
	}
	if pc.Groups == nil {
		pc.Groups = []DemoGroup{}
	}
	writeJSON(w, pc)
}

func (h *handler) serveAuth(w http.ResponseWriter, r *http.Request) {
	if h.cfg.Sign == nil {
		http.Error(w, "webchat: no signer configured (Config.Sign)", http.StatusServiceUnavailable)
		return
	}
	writeJSON(w, h.cfg.Sign())
}

func writeJSON(w http.ResponseWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "application/json; charset=utf-8")
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Content-Type-Options", "nosniff")
	w.Write(append(b, '\n'))
}
