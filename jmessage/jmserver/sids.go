package jmserver

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"net"
	"net/http"
	"sync"
	"time"
)

// A race in go-socket.io v1.7.0's engine.io server: it answers the
// handshake (which gives the client its sid) from a goroutine that adds
// the new session to its pool only afterwards. A client quick to send its
// next request, with that sid, can arrive first and be refused "400
// invalid sid value", which breaks a polling client's connection at
// birth (under load, now and then). The socket.io client reconnects; ours
// failed its dial.
//
// The server cannot see when the session joins the pool, so it retries
// instead: a request with a sid this server gave out moments ago, which
// the engine refuses as invalid, is served again after a short wait (its
// body is untouched: the engine checks the sid first), until the session
// is there or sidRetryFor has passed.

const (
	// sidRecent is how long after giving out a sid a refusal of it is
	// taken for the race (a session that failed to start is refused for
	// real after that).
	sidRecent = 10 * time.Second
)

// sidRetryFor bounds the retries of one request (a variable for tests).
var sidRetryFor = 2 * time.Second

// sidIssuer makes engine.io session ids unguessable (128 random bits) and
// remembers those given out recently.
type sidIssuer struct {
	mu     sync.Mutex
	issued map[string]time.Time
}

// NewID implements go-socket.io's session.IDGenerator.
func (g *sidIssuer) NewID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("jmserver: crypto/rand failed: " + err.Error())
	}
	id := base64.RawURLEncoding.EncodeToString(b[:])
	now := time.Now()
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.issued == nil {
		g.issued = map[string]time.Time{}
	}
	if len(g.issued) >= 1024 {
		for sid, at := range g.issued {
			if now.Sub(at) > sidRecent {
				delete(g.issued, sid)
			}
		}
	}
	g.issued[id] = now
	return id
}

// recent reports whether sid was given out moments ago.
func (g *sidIssuer) recent(sid string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	at, ok := g.issued[sid]
	return ok && time.Since(at) < sidRecent
}

// joined forgets sid: its session is in the engine's pool.
func (g *sidIssuer) joined(sid string) {
	g.mu.Lock()
	delete(g.issued, sid)
	g.mu.Unlock()
}

// serveRetryingSid serves r, a request with a recently given sid, through
// next, again after a short wait each time the engine refuses the sid, up
// to sidRetryFor.
func serveRetryingSid(next http.Handler, w http.ResponseWriter, r *http.Request) {
	deadline := time.Now().Add(sidRetryFor)
	wait := time.Millisecond
	for {
		rw := &sidRetryWriter{w: w, h: http.Header{}}
		next.ServeHTTP(rw, r)
		if !rw.refused {
			rw.commit() // a response that was only a status
			return
		}
		if time.Now().Add(wait).After(deadline) || r.Context().Err() != nil {
			rw.giveUp()
			return
		}
		timer := time.NewTimer(wait)
		select {
		case <-timer.C:
		case <-r.Context().Done():
			timer.Stop()
			rw.giveUp() // the client is gone
			return
		}
		wait = min(2*wait, 50*time.Millisecond)
	}
}

// sidRetryWriter holds back the engine's "400 invalid sid value" so that
// the request can be served again; any other response goes through.
type sidRetryWriter struct {
	w         http.ResponseWriter
	h         http.Header // this attempt's headers, until committed
	committed bool
	held      bool // a 400 is held back, pending its body
	refused   bool // the held 400 was the engine refusing the sid
	body      bytes.Buffer
}

var invalidSid = []byte("invalid sid value")

func (rw *sidRetryWriter) commit() {
	if rw.committed {
		return
	}
	rw.committed = true
	dst := rw.w.Header()
	for k, v := range rw.h {
		dst[k] = v
	}
	if rw.held {
		rw.held = false
		rw.w.WriteHeader(http.StatusBadRequest)
	}
}

// Header implements http.ResponseWriter.
func (rw *sidRetryWriter) Header() http.Header {
	if rw.committed {
		return rw.w.Header()
	}
	return rw.h
}

// WriteHeader implements http.ResponseWriter.
func (rw *sidRetryWriter) WriteHeader(code int) {
	if !rw.committed && !rw.held && code == http.StatusBadRequest {
		rw.held = true
		return
	}
	rw.commit()
	rw.w.WriteHeader(code)
}

// Write implements http.ResponseWriter.
func (rw *sidRetryWriter) Write(b []byte) (int, error) {
	if rw.held && !rw.committed {
		if rw.refused || bytes.HasPrefix(b, invalidSid) {
			rw.refused = true
			return rw.body.Write(b)
		}
	}
	rw.commit()
	return rw.w.Write(b)
}

// giveUp sends the refusal held back.
func (rw *sidRetryWriter) giveUp() {
	rw.commit()
	_, _ = rw.w.Write(rw.body.Bytes())
}

// Flush implements http.Flusher.
func (rw *sidRetryWriter) Flush() {
	rw.commit()
	if f, ok := rw.w.(http.Flusher); ok {
		f.Flush()
	}
}

// Hijack implements http.Hijacker, for the websocket upgrade.
func (rw *sidRetryWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	rw.committed = true
	return http.NewResponseController(rw.w).Hijack()
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (rw *sidRetryWriter) Unwrap() http.ResponseWriter { return rw.w }
