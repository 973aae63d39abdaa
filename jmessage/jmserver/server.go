package jmserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	socketio "github.com/googollee/go-socket.io"
	"github.com/googollee/go-socket.io/engineio"
	"github.com/googollee/go-socket.io/engineio/transport"
	"github.com/googollee/go-socket.io/engineio/transport/polling"
	"github.com/googollee/go-socket.io/engineio/transport/websocket"
	gorilla "github.com/gorilla/websocket"

	"github.com/jimbot/jimbot/jmessage"
	"github.com/jimbot/jimbot/storage"
)

// The development app every server knows unless told otherwise. Its values
// are printed by `jimbot server` at start and are not secret.
const (
	DevAppKey       = "6a696d626f74646576303031" // hex of "jimbotdev001"
	DevMasterSecret = "6a696d626f74736563726574" // hex of "jimbotsecret"
)

// App is one JMessage application: an appkey and its master secret.
type App struct {
	Key    string
	Secret string
}

// Options configure a Server. Every zero value means the default given in
// its comment; DefaultOptions returns them filled in.
type Options struct {
	// Apps are the applications the server knows. Default: the development
	// app (DevAppKey, DevMasterSecret). All apps may address each other.
	Apps []App
	// Store persists all state when set; nil keeps it in memory only.
	Store *storage.DB
	// Logger receives the server's logs. Default: slog.Default().
	Logger *slog.Logger
	// Now is the server's clock. Default: time.Now.
	Now func() time.Time

	// PingInterval and PingTimeout are the engine.io heartbeat settings
	// announced to clients. Defaults: 25s and 60s (socket.io 1.4's).
	PingInterval time.Duration
	PingTimeout  time.Duration

	// RedeliverAfter is how long a pushed message or event may stay
	// unacknowledged before it is sent again. Default: 10s.
	RedeliverAfter time.Duration
	// RedeliverTick drives the redelivery sweep; each value received runs
	// one sweep. Default: a ticker every RedeliverAfter/2. Tests pass their
	// own channel to control time.
	RedeliverTick <-chan time.Time
	// InflightWindow is how many pushed items a user may have
	// unacknowledged before further items wait for acks. Default: 256.
	InflightWindow int
	// OutboundQueue is the number of frames queued for one connection.
	// A connection whose queue overflows is dropped; its unacknowledged
	// items stay queued for its next login. Default: 1024.
	OutboundQueue int
	// MaxSyncBatch is the maximum number of messages in one msg_sync.
	// Default: 50.
	MaxSyncBatch int
	// MaxPending bounds each user's queue of unacknowledged items; past it
	// the oldest item is dropped and logged. Default: 100000.
	MaxPending int

	// MaxMessageSize is the largest message content, in bytes of JSON,
	// that a send accepts (880206 beyond). Default: 4096.
	MaxMessageSize int
	// MaxMembersPerGroup bounds a group's members (880608). Default: 500.
	MaxMembersPerGroup int
	// MaxGroupsPerUser bounds the groups a user belongs to (880403 when
	// creating, 880609 when added). Default: 500.
	MaxGroupsPerUser int
	// MaxUploadSize bounds an uploaded file (880210). Default: 10 MiB.
	MaxUploadSize int64
	// SendRatePerMinute limits each user's sends (880209); 0 means no
	// limit. Default: 0.
	SendRatePerMinute int
	// SensitiveWords makes text messages containing any of them fail with
	// 880208. Default: none.
	SensitiveWords []string
	// RelaxedRandomStr accepts a random_str of any non-empty length
	// instead of 20–36 characters. Default: false.
	RelaxedRandomStr bool
	// KickGrace is how long a kicked session stays open for the client to
	// echo the kick event before the server closes it. Default: 2s.
	KickGrace time.Duration
	// AllowOrigin decides which browser origins may connect over
	// websocket and polling. Default: every origin.
	AllowOrigin func(origin string) bool
}

// DefaultOptions returns Options with every default filled in.
func DefaultOptions() Options {
	var o Options
	o.fill()
	return o
}

func (o *Options) fill() {
	if len(o.Apps) == 0 {
		o.Apps = []App{{Key: DevAppKey, Secret: DevMasterSecret}}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	setDefault(&o.PingInterval, 25*time.Second)
	setDefault(&o.PingTimeout, 60*time.Second)
	setDefault(&o.RedeliverAfter, 10*time.Second)
	setDefault(&o.InflightWindow, 256)
	setDefault(&o.OutboundQueue, 1024)
	setDefault(&o.MaxSyncBatch, 50)
	setDefault(&o.MaxPending, 100000)
	setDefault(&o.MaxMessageSize, 4096)
	setDefault(&o.MaxMembersPerGroup, 500)
	setDefault(&o.MaxGroupsPerUser, 500)
	setDefault(&o.MaxUploadSize, 10<<20)
	setDefault(&o.KickGrace, 2*time.Second)
	if o.AllowOrigin == nil {
		o.AllowOrigin = func(string) bool { return true }
	}
}

func setDefault[T comparable](p *T, v T) {
	var zero T
	if *p == zero {
		*p = v
	}
}

// Server is a JMessage Web SDK v1 compatible server. It serves socket.io
// (engine.io v3) on /socket.io/ and the media endpoints over HTTP; see
// Handler. Create it with New and stop it with Close.
type Server struct {
	opts  Options
	log   *slog.Logger
	apps  map[string]App
	sio   *socketio.Server
	dir   directory
	media mediaStore
	store *persister
	auth  replayCache

	uidSeq   idAllocator
	gidSeq   idAllocator
	msgSeq   idAllocator
	eventSeq idAllocator
	itemSeq  atomic.Uint64

	sessions sync.Map // session id → *session
	online   sync.Map // uid → *user, users with a logged-in session

	closing  atomic.Bool
	gateMu   sync.RWMutex
	creating atomic.Int64 // new-session requests that have not created their session yet
	created  atomic.Int64 // engine.io sessions created
	accepted atomic.Int64 // sessions handed to OnConnect (or failed there)
	sids     sidIssuer    // engine.io session ids, and those given out recently
	serving  atomic.Int64 // requests being served (see flush)
	stop     chan struct{}
	wg       sync.WaitGroup
	wgMu     sync.Mutex // orders spawn against Close's Wait
	waiting  bool       // Close is waiting on wg
	httpMu   sync.Mutex
	httpSrvs []*http.Server

	stats Stats
}

// Stats counts what the server did. Read it with Server.Stats.
type Stats struct {
	Connections   atomic.Int64 // sessions opened
	Requests      atomic.Int64 // requests answered
	MessagesSent  atomic.Int64 // messages accepted by a send
	Pushes        atomic.Int64 // msg_sync and event_notification frames written
	Redeliveries  atomic.Int64 // items sent again after RedeliverAfter
	Dropped       atomic.Int64 // connections dropped for a full outbound queue
	PendingDrops  atomic.Int64 // items dropped because a queue hit MaxPending
	BadRequests   atomic.Int64 // requests answered with 880002 or 882003
	ProtocolError atomic.Int64 // connection-level errors (bad frames)
}

// New returns a running server. Its state is loaded from opts.Store when
// set. Serve it with Serve or ListenAndServe, or mount Handler yourself.
func New(opts Options) (*Server, error) {
	opts.fill()
	s := &Server{
		opts: opts,
		log:  opts.Logger,
		apps: map[string]App{},
		stop: make(chan struct{}),
	}
	for i, a := range opts.Apps {
		if a.Key == "" || a.Secret == "" {
			return nil, fmt.Errorf("jmserver: Apps[%d]: appkey and master secret must both be set", i)
		}
		if _, dup := s.apps[a.Key]; dup {
			return nil, fmt.Errorf("jmserver: Apps[%d]: appkey %s is configured twice", i, a.Key)
		}
		s.apps[a.Key] = a
	}
	s.media.init(opts.MaxUploadSize)
	if opts.Store != nil {
		p, err := openPersister(opts.Store)
		if err != nil {
			return nil, err
		}
		s.store = p
		if err := s.load(); err != nil {
			return nil, err
		}
	}
	s.media.store = s.store

	checkOrigin := func(r *http.Request) bool {
		origin := r.Header.Get("Origin")
		return origin == "" || s.opts.AllowOrigin(origin)
	}
	s.sio = socketio.NewServer(&engineio.Options{
		PingInterval: opts.PingInterval,
		PingTimeout:  opts.PingTimeout,
		Transports: []transport.Transport{
			&polling.Transport{Client: &http.Client{Timeout: time.Minute}, CheckOrigin: checkOrigin},
			&websocket.Transport{CheckOrigin: checkOrigin},
		},
		SessionIDGenerator: &s.sids,
		ConnInitor:         s.sessionCreated,
	})
	s.sio.OnConnect("/", s.onConnect)
	s.sio.OnDisconnect("/", s.onDisconnect)
	s.sio.OnError("/", s.onError)
	for _, name := range jmessage.RequestEvents {
		name := name
		s.sio.OnEvent("/", name, func(c socketio.Conn, raw rawArg) { s.dispatch(c, name, raw) })
	}
	for _, name := range unsupportedEvents {
		name := name
		s.sio.OnEvent("/", name, func(c socketio.Conn, raw rawArg) { s.dispatch(c, name, raw) })
	}
	s.sio.OnEvent("/", jmessage.EventMsgRecv, func(c socketio.Conn, raw rawArg) { s.onMsgRecv(c, raw) })
	s.sio.OnEvent("/", jmessage.EventEventNotification, func(c socketio.Conn, raw rawArg) { s.onEventEcho(c, raw) })

	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := s.sio.Serve(); err != nil && !errors.Is(err, io.EOF) {
			s.log.Error("socket.io serve", "err", err)
		}
	}()
	tick := opts.RedeliverTick
	var ticker *time.Ticker
	if tick == nil {
		every := opts.RedeliverAfter / 2
		if every < 10*time.Millisecond {
			every = 10 * time.Millisecond
		}
		ticker = time.NewTicker(every)
		tick = ticker.C
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if ticker != nil {
			defer ticker.Stop()
		}
		for {
			select {
			case <-s.stop:
				return
			case <-tick:
				s.redeliver()
			}
		}
	}()
	s.wg.Add(1)
	go func() { defer s.wg.Done(); s.auth.sweepLoop(s.stop, s.opts.Now) }()
	return s, nil
}

// Options returns the options in effect, defaults filled in.
func (s *Server) Options() Options { return s.opts }

// Stats returns the server's counters.
func (s *Server) Stats() *Stats { return &s.stats }

// Handler returns the HTTP handler: socket.io on /socket.io/, media upload
// on POST /resource (and /v1/resource), media download on /media/, and
// the v2 resource lookup GET /v1/resource?mediaId=.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", s.gate(textPolling(s.sio)))
	mux.HandleFunc("/resource", s.serveResource)
	mux.HandleFunc("/v1/resource", s.serveResource)
	mux.HandleFunc("/media/", s.serveMedia)
	return mux
}

// Serve accepts HTTP connections on l until Close. It returns nil after
// Close and the listener's error otherwise.
func (s *Server) Serve(l net.Listener) error {
	hs := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	s.httpMu.Lock()
	if s.closing.Load() {
		s.httpMu.Unlock()
		l.Close()
		return nil
	}
	s.httpSrvs = append(s.httpSrvs, hs)
	s.httpMu.Unlock()
	err := hs.Serve(l)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// ListenAndServe listens on addr and serves until ctx is done or Close is
// called; then it closes the server.
func (s *Server) ListenAndServe(ctx context.Context, addr string) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { s.Close() })
	defer stop()
	return s.Serve(l)
}

// Close stops serving, closes every connection and waits for the server's
// goroutines. It first lets the requests being served finish and the
// frames already queued go out (up to a second), so that a client does
// not retry a request the server carried out. Unacknowledged items stay in
// the store for the next start. Close does not close Options.Store.
func (s *Server) Close() error {
	s.gateMu.Lock()
	first := s.closing.CompareAndSwap(false, true)
	s.gateMu.Unlock()
	if !first {
		return nil
	}
	s.flush(closeFlush)
	s.httpMu.Lock()
	for _, hs := range s.httpSrvs {
		hs.Close()
	}
	s.httpMu.Unlock()
	s.sessions.Range(func(_, v any) bool {
		v.(*session).close("server closing")
		return true
	})
	// go-socket.io hands each new session to its accept loop from a
	// goroutine of its own, and panics if the engine was closed before
	// that hand-over ("send on closed channel"). No session is created
	// after the gate closed, so wait until every created session has been
	// accepted (OnConnect sees closing and closes it) before closing the
	// engine. A session whose set-up failed is never accepted: the wait is
	// bounded.
	deadline := time.Now().Add(2 * time.Second)
	for (s.creating.Load() > 0 || s.accepted.Load() < s.created.Load()) && time.Now().Before(deadline) {
		time.Sleep(2 * time.Millisecond)
	}
	close(s.stop)
	err := s.sio.Close()
	s.wgMu.Lock()
	s.waiting = true
	s.wgMu.Unlock()
	s.wg.Wait()
	return err
}

// spawn runs f on a goroutine that Close waits for. Sessions still close
// while Close waits (go-socket.io reports disconnects from goroutines of
// its own); from then on f runs on a goroutine Close does not wait for, as
// a WaitGroup may not grow while it is waited on.
func (s *Server) spawn(f func()) {
	s.wgMu.Lock()
	if s.waiting {
		s.wgMu.Unlock()
		go f()
		return
	}
	s.wg.Add(1)
	s.wgMu.Unlock()
	go func() {
		defer s.wg.Done()
		f()
	}()
}

// closeFlush bounds how long Close lets requests being served finish and
// queued frames go out.
const closeFlush = time.Second

// flush waits, up to d, until no request is being served and every
// session's queued frames were handed to its connection. Without it a
// graceful stop could drop the response to a request it carried out (a
// message already delivered), and the client would retry it: a duplicate.
func (s *Server) flush(d time.Duration) {
	deadline := time.Now().Add(d)
	busy := func() bool {
		if s.serving.Load() > 0 {
			return true
		}
		queued := false
		s.sessions.Range(func(_, v any) bool {
			queued = v.(*session).unwritten.Load() > 0
			return !queued
		})
		return queued
	}
	for busy() && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
}

func (s *Server) now() time.Time { return s.opts.Now() }

// creatingKey marks a request that is creating an engine.io session.
type creatingKey struct{}

// gate refuses new sessions once Close has begun, and counts the requests
// that are creating one (see Close).
func (s *Server) gate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if sid := r.URL.Query().Get("sid"); sid != "" {
			if s.sids.recent(sid) {
				serveRetryingSid(next, w, r) // see sids.go
				return
			}
			next.ServeHTTP(w, r)
			return
		}
		s.gateMu.RLock()
		if s.closing.Load() {
			s.gateMu.RUnlock()
			http.Error(w, "server closing", http.StatusServiceUnavailable)
			return
		}
		s.creating.Add(1)
		s.gateMu.RUnlock()
		done := new(atomic.Bool)
		defer func() {
			if done.CompareAndSwap(false, true) {
				s.creating.Add(-1) // the request ended without creating a session
			}
		}()
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), creatingKey{}, done)))
	})
}

// sessionCreated is the engine's ConnInitor: a request created a session.
func (s *Server) sessionCreated(r *http.Request, _ engineio.Conn) {
	if done, ok := r.Context().Value(creatingKey{}).(*atomic.Bool); ok && done.CompareAndSwap(false, true) {
		s.created.Add(1)
		s.creating.Add(-1)
	}
}

// isNormalClose reports whether err is how a connection ends normally: EOF,
// a websocket close frame 1000/1001, or the server closing it.
func isNormalClose(err error) bool {
	if err == nil || errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
		return true
	}
	if gorilla.IsCloseError(err, gorilla.CloseNormalClosure, gorilla.CloseGoingAway, gorilla.CloseNoStatusReceived) {
		return true
	}
	return strings.Contains(err.Error(), "use of closed network connection")
}
