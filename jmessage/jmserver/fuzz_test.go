package jmserver

import (
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"testing"

	"github.com/jimbot/jimbot/jmessage"
)

// fakeConn is a socketio.Conn that records nothing: the fuzz target reads
// the session's outbound queue instead.
type fakeConn struct{ ctx any }

func (f *fakeConn) Close() error              { return nil }
func (f *fakeConn) Context() any              { return f.ctx }
func (f *fakeConn) SetContext(v any)          { f.ctx = v }
func (f *fakeConn) Namespace() string         { return "/" }
func (f *fakeConn) Emit(string, ...any)       {}
func (f *fakeConn) Join(string)               {}
func (f *fakeConn) Leave(string)              {}
func (f *fakeConn) LeaveAll()                 {}
func (f *fakeConn) Rooms() []string           { return nil }
func (f *fakeConn) ID() string                { return "fuzz" }
func (f *fakeConn) URL() url.URL              { return url.URL{} }
func (f *fakeConn) LocalAddr() net.Addr       { return nil }
func (f *fakeConn) RemoteAddr() net.Addr      { return nil }
func (f *fakeConn) RemoteHeader() http.Header { return nil }

var fuzzEvents = append(append([]string{}, jmessage.RequestEvents...), "sync_check")

// FuzzDispatch feeds arbitrary payloads to every request handler: the
// server must answer each with ack{rid} and a response with the same rid,
// never panic (a recovered panic would show as 882001), and produce frames
// that encode as JSON.
func FuzzDispatch(f *testing.F) {
	seeds := []string{
		`{"rid":1}`, `{"rid":"7","gid":"12"}`, `{"rid":2,"username":"alice","password":"e10adc3949ba59abbe56e057f20f883e"}`,
		`{"rid":3,"target_name":"alice","content":{"version":1,"target_type":"single","target_id":"alice","from_id":"alice","create_time":1,"msg_type":"text","msg_body":{"text":"hi"}}}`,
		`{"rid":4,"gid":"1","member_usernames":["alice",{"username":"bobby","appkey":"x"}]}`,
		`{"rid":5,"target_gid":1,"content":{"msg_type":"custom","msg_body":{"a":[1,2,{}]}}}`,
		`{"rid":6,"group_name":"g","group_description":"d"}`, `{"rid":8,"version":0,"none":""}`,
		`{"rid":9,"appkey":"k","random_str":"r","timestamp":1467967210887,"signature":"s"}`,
		`null`, `[]`, `"x"`, `{"rid":-1}`, `{"rid":1e300}`, `{"rid":{"a":1}}`, ``,
	}
	for i, s := range seeds {
		f.Add(uint8(i), []byte(s), i%2 == 0)
	}
	f.Fuzz(func(t *testing.T, ev uint8, payload []byte, loggedIn bool) {
		s, err := New(Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), RelaxedRandomStr: true})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		app := s.apps[DevAppKey]
		if _, err := s.RegisterUser(DevAppKey, "alice", "pw", ""); err != nil {
			t.Fatal(err)
		}
		if _, err := s.RegisterUser(DevAppKey, "bobby", "pw", ""); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateGroup(DevAppKey, "alice", "g", "", "bobby"); err != nil {
			t.Fatal(err)
		}
		conn := &fakeConn{}
		sess := &session{srv: s, conn: conn, id: "fuzz", out: make(chan outFrame, 64), done: make(chan struct{})}
		conn.SetContext(sess)
		sess.app = &app
		if loggedIn {
			sess.user = s.dir.user(DevAppKey, "alice")
		}
		event := fuzzEvents[int(ev)%len(fuzzEvents)]
		s.dispatch(conn, event, rawArg(payload))

		ack := <-sess.out
		resp := <-sess.out
		if ack.event != jmessage.EventAck || resp.event != event {
			t.Fatalf("frames %q then %q for %s", ack.event, resp.event, event)
		}
		rid := ack.payload.(jmessage.Ack).RID
		st := resp.payload.(response).ResponseStatus()
		if st.RID != rid {
			t.Fatalf("%s: ack rid %d, response rid %d", event, rid, st.RID)
		}
		if st.Code == jmessage.CodeServerInternal {
			t.Fatalf("%s %q: internal error %s", event, payload, st.Message)
		}
		for _, fr := range []outFrame{ack, resp} {
			if _, err := json.Marshal(fr.payload); err != nil {
				t.Fatalf("%s: frame does not encode: %v", event, err)
			}
		}
	})
}
