package jmserver

import (
	"sync"
	"sync/atomic"
	"time"

	socketio "github.com/googollee/go-socket.io"

	"github.com/jimbot/jimbot/jmessage"
)

// rawArg is how every event argument arrives: undecoded, so that a payload
// of the wrong shape is answered with an error code instead of making
// go-socket.io drop the connection, and so that timestamps keep their text.
type rawArg = jmessage.RawJSON

// outFrame is one event queued for a connection.
type outFrame struct {
	event   string
	payload any
}

// session is one socket.io connection. Frames go out through a bounded
// queue drained by the session's own writer goroutine, so a client that
// stops reading stalls nobody but itself; when its queue overflows the
// session is dropped.
type session struct {
	srv  *Server
	conn socketio.Conn
	id   string

	out       chan outFrame
	unwritten atomic.Int64 // frames queued and not yet handed to the connection
	done      chan struct{}
	closeOnce sync.Once
	kickTimer *time.Timer

	mu      sync.Mutex
	app     *App
	user    *user
	syncSeq int64 // rid of msg_sync envelopes; guarded by the user's lock
	// afterReply runs once after the next response is queued (login uses
	// it to send pending items after the login response).
	afterReply func()
	// loginPass is the password hash the login was checked against: a
	// change before the session is attached to its user is caught there.
	loginPass string
}

func (s *Server) onConnect(c socketio.Conn) error {
	sess := &session{
		srv:  s,
		conn: c,
		id:   c.ID(),
		out:  make(chan outFrame, s.opts.OutboundQueue),
		done: make(chan struct{}),
	}
	c.SetContext(sess)
	s.sids.joined(sess.id)
	s.accepted.Add(1)
	s.stats.Connections.Add(1)
	s.sessions.Store(sess.id, sess)
	s.spawn(sess.writeLoop)
	if s.closing.Load() {
		sess.close("server closing")
	}
	return nil
}

func (s *Server) onDisconnect(c socketio.Conn, reason string) {
	sess, ok := c.Context().(*session)
	if !ok {
		return
	}
	sess.close(reason)
}

func (s *Server) onError(c socketio.Conn, err error) {
	if c == nil {
		// go-socket.io reports a session whose socket.io set-up failed
		// with a nil connection: it was accepted, and is gone.
		s.accepted.Add(1)
	}
	if isNormalClose(err) {
		return
	}
	s.stats.ProtocolError.Add(1)
	id := ""
	if c != nil {
		id = c.ID()
	}
	s.log.Debug("connection error", "session", id, "err", err)
}

// sessionOf returns the session of c, or nil for a connection that is not
// set up (which go-socket.io never hands to event handlers).
func sessionOf(c socketio.Conn) *session {
	sess, _ := c.Context().(*session)
	return sess
}

// send queues a frame without blocking. A full queue means the client is
// not reading: the session is dropped and send reports false.
func (sess *session) send(event string, payload any) bool {
	select {
	case <-sess.done:
		return false
	default:
	}
	sess.unwritten.Add(1)
	select {
	case sess.out <- outFrame{event: event, payload: payload}:
		return true
	default:
		sess.unwritten.Add(-1)
		sess.srv.stats.Dropped.Add(1)
		sess.srv.log.Warn("dropping connection: outbound queue full", "session", sess.id, "queue", cap(sess.out))
		sess.close("outbound queue full")
		return false
	}
}

// writeLoop hands queued frames to go-socket.io one at a time. Emit blocks
// while the connection's writer is busy; only this goroutine waits then.
func (sess *session) writeLoop() {
	for {
		select {
		case <-sess.done:
			return
		case f := <-sess.out:
			sess.conn.Emit(f.event, f.payload)
			sess.unwritten.Add(-1)
			if f.event == jmessage.EventMsgSync || f.event == jmessage.EventEventNotification {
				sess.srv.stats.Pushes.Add(1)
			}
		}
	}
}

// close ends the session: it stops the writer, detaches the logged-in user
// (whose unacknowledged items stay queued) and closes the connection. It is
// safe to call from any goroutine, more than once, and while holding a user
// lock: the connection is closed on a goroutine of its own because
// go-socket.io calls OnDisconnect synchronously from Close.
func (sess *session) close(reason string) {
	sess.closeOnce.Do(func() {
		close(sess.done)
		sess.srv.sessions.Delete(sess.id)
		sess.mu.Lock()
		if sess.kickTimer != nil {
			sess.kickTimer.Stop()
		}
		sess.mu.Unlock()
		sess.srv.spawn(func() {
			sess.detach()
			sess.conn.Close()
		})
		sess.srv.log.Debug("session closed", "session", sess.id, "reason", reason)
	})
}

// detach unlinks the session from its user, if it is still the user's
// current session.
func (sess *session) detach() {
	sess.mu.Lock()
	u := sess.user
	sess.user = nil
	sess.mu.Unlock()
	if u == nil {
		return
	}
	u.mu.Lock()
	if u.session == sess {
		u.session = nil
		u.pending.resetSent()
		sess.srv.online.Delete(u.uid)
	}
	u.mu.Unlock()
}

// state returns the session's app and user.
func (sess *session) state() (*App, *user) {
	sess.mu.Lock()
	defer sess.mu.Unlock()
	return sess.app, sess.user
}

// kick tells the session its user logged in elsewhere and closes it after
// the client echoes the event or KickGrace passes. The caller has already
// replaced the user's session.
func (sess *session) kick(u *user, ev jmessage.EventNotification) {
	sess.mu.Lock()
	if sess.user == u {
		sess.user = nil
	}
	sess.mu.Unlock()
	sess.send(jmessage.EventEventNotification, ev)
	sess.mu.Lock()
	sess.kickTimer = time.AfterFunc(sess.srv.opts.KickGrace, func() { sess.close("kicked") })
	sess.mu.Unlock()
}
