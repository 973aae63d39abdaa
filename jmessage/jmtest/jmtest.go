// Package jmtest starts real jimbot JMessage servers on loopback for tests,
// and dials clients into them.
//
//	srv := jmtest.Start(t)
//	srv.AddUser(t, "alice")
//	alice := srv.Dial(t, "alice")
//	// alice is logged in; srv.Close and alice.Close run at test cleanup.
package jmtest

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/jimbot/jimbot/jmessage"
	"github.com/jimbot/jimbot/jmessage/jmserver"
)

// Server is a running jmserver with its loopback URL.
type Server struct {
	*jmserver.Server
	// URL is the server's base URL, e.g. "http://127.0.0.1:41234".
	URL string
	// AppKey and Secret are the first configured app.
	AppKey, Secret string

	http *httptest.Server
}

// Password returns the password AddUser gives username.
func Password(username string) string { return "pw-" + username }

// Start runs a server with opts applied to its options and stops it at
// cleanup. Logs go to t.Log only when the test fails (level debug with
// -v).
func Start(t testing.TB, opts ...func(*jmserver.Options)) *Server {
	t.Helper()
	o := jmserver.Options{Logger: Logger(t)}
	for _, f := range opts {
		f(&o)
	}
	srv, err := jmserver.New(o)
	if err != nil {
		t.Fatalf("jmtest: start server: %v", err)
	}
	hs := httptest.NewUnstartedServer(srv.Handler())
	hs.Start()
	s := &Server{Server: srv, URL: hs.URL, http: hs}
	app := srv.Options().Apps[0]
	s.AppKey, s.Secret = app.Key, app.Secret
	t.Cleanup(s.Close)
	return s
}

// Close stops the server; it is safe to call twice.
func (s *Server) Close() {
	s.http.CloseClientConnections()
	s.Server.Close()
	s.http.Close()
}

// Listener returns a new loopback listener, for restarting a server on a
// fixed address.
func Listener(t testing.TB, addr string) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("jmtest: listen %s: %v", addr, err)
	}
	return l
}

// AddUser registers username (password Password(username)) in the
// server's first app.
func (s *Server) AddUser(t testing.TB, username string) jmessage.UserInfo {
	t.Helper()
	info, err := s.RegisterUser(s.AppKey, username, Password(username), "")
	if err != nil {
		t.Fatalf("jmtest: register %s: %v", username, err)
	}
	return info
}

// Dial connects username (registered with AddUser) and logs in. The client
// is closed at cleanup.
func (s *Server) Dial(t testing.TB, username string, opts ...jmessage.Option) *jmessage.Client {
	t.Helper()
	all := append([]jmessage.Option{
		jmessage.WithAppKey(s.AppKey, s.Secret),
		jmessage.WithLogin(username, Password(username)),
		jmessage.WithLogger(Logger(t)),
		jmessage.WithRequestTimeout(10 * time.Second),
	}, opts...)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	c, err := jmessage.Dial(ctx, s.URL, all...)
	if err != nil {
		t.Fatalf("jmtest: dial as %s: %v", username, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// Next waits for the next pushed item on c, failing the test after
// timeout.
func Next(t testing.TB, c *jmessage.Client, timeout time.Duration) *jmessage.Inbound {
	t.Helper()
	select {
	case in, ok := <-c.Inbound():
		if !ok {
			t.Fatalf("jmtest: client stopped: %v", c.Err())
		}
		return in
	case <-time.After(timeout):
		t.Fatalf("jmtest: nothing pushed within %s", timeout)
	}
	return nil
}

// NextMessage is Next that skips (and acknowledges) events until a
// message arrives.
func NextMessage(t testing.TB, c *jmessage.Client, timeout time.Duration) *jmessage.Inbound {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		in := Next(t, c, time.Until(deadline))
		if in.Message != nil {
			return in
		}
		_ = in.Ack(context.Background())
	}
}

// Logger returns a logger that writes to t.Log at debug level when the
// test runs with -v, and discards otherwise (and outside `go test`, where
// the kit also runs: `jimbot test`).
func Logger(t testing.TB) *slog.Logger {
	if !testing.Testing() || !testing.Verbose() {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	w := &tWriter{t: t}
	t.Cleanup(w.stop)
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// tWriter writes to t.Log until the test is over: goroutines that log
// while the test ends (a server closing its sessions) must not touch t
// after that.
type tWriter struct {
	t    testing.TB
	mu   sync.Mutex
	done bool
}

func (w *tWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(string(p))
	}
	return len(p), nil
}

func (w *tWriter) stop() {
	w.mu.Lock()
	w.done = true
	w.mu.Unlock()
}
