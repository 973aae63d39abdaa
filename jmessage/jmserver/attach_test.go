package jmserver

import (
	"io"
	"log/slog"
	"testing"

	"github.com/jimbot/jimbot/jmessage"
)

// A password change or a disabling between a login's check and the moment
// its session is attached to the user (after the login response) reaches
// that session: ChangePassword and SetDisabled only see attached sessions,
// so a client that changed nothing else would have stayed logged in.
func TestChangesBetweenLoginAndAttach(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(s *Server) error
		check  func(t *testing.T, sess *session)
	}{
		{"password", func(s *Server) error { return s.ChangePassword(DevAppKey, "alice", "new") }, func(t *testing.T, sess *session) {
			for {
				select {
				case fr := <-sess.out:
					if ev, ok := fr.payload.(jmessage.EventNotification); ok && ev.EventType == jmessage.EventTypePasswordChanged {
						return
					}
				default:
					t.Fatal("no password-changed event")
				}
			}
		}},
		{"disabled", func(s *Server) error { return s.SetDisabled(DevAppKey, "alice", true) }, func(t *testing.T, sess *session) {
			select {
			case <-sess.done:
			default:
				t.Fatal("the session of a disabled user is still open")
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := New(Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			app := s.apps[DevAppKey]
			if _, err := s.RegisterUser(DevAppKey, "alice", "pw", ""); err != nil {
				t.Fatal(err)
			}
			conn := &fakeConn{}
			sess := &session{srv: s, conn: conn, id: "race", out: make(chan outFrame, 64), done: make(chan struct{})}
			conn.SetContext(sess)
			sess.app = &app
			if _, err := s.login(sess, &jmessage.LoginRequest{Username: "alice", Password: jmessage.HashPassword("pw")}); err != nil {
				t.Fatal(err)
			}
			if err := tc.change(s); err != nil { // before the response went out
				t.Fatal(err)
			}
			sess.afterReply()
			tc.check(t, sess)
		})
	}
}
