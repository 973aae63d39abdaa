package jmserver_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/googollee/go-socket.io/engineio"
	"github.com/googollee/go-socket.io/engineio/transport"
	"github.com/googollee/go-socket.io/engineio/transport/websocket"
	"github.com/googollee/go-socket.io/parser"

	"github.com/jimbot/jimbot/jmessage"
)

// rawConn speaks socket.io frames directly, to send what a well-behaved
// client never would.
type rawConn struct {
	t     testing.TB
	conn  engineio.Conn
	enc   *parser.Encoder
	mu    sync.Mutex
	dec   *parser.Decoder
	rid   int64
	queue chan frame
	stop  chan struct{} // closed: stop reading frames
	done  chan struct{} // closed when the connection is closed by the test
}

type frame struct {
	event string
	raw   json.RawMessage
}

func dialRaw(t testing.TB, baseURL string) *rawConn {
	t.Helper()
	d := engineio.Dialer{Transports: []transport.Transport{websocket.Default}}
	conn, err := d.Dial(strings.Replace(baseURL, "http", "ws", 1)+"/socket.io/", nil)
	if err != nil {
		t.Fatalf("raw dial: %v", err)
	}
	rc := &rawConn{t: t, conn: conn, enc: parser.NewEncoder(conn), dec: parser.NewDecoder(conn),
		queue: make(chan frame, 4096), stop: make(chan struct{}), done: make(chan struct{})}
	go rc.read()
	t.Cleanup(func() { close(rc.done); conn.Close() })
	return rc
}

func (rc *rawConn) read() {
	defer close(rc.queue)
	types := []reflect.Type{reflect.TypeOf(json.RawMessage{})}
	for {
		select {
		case <-rc.stop: // a stuck client: read nothing more
			<-rc.done
			return
		default:
		}
		var h parser.Header
		var ev string
		if err := rc.dec.DecodeHeader(&h, &ev); err != nil {
			return
		}
		if h.Type != parser.Event {
			rc.dec.DiscardLast()
			continue
		}
		args, err := rc.dec.DecodeArgs(types)
		if err != nil {
			return
		}
		rc.queue <- frame{ev, args[0].Interface().(json.RawMessage)}
	}
}

// emit sends event with payload as is (any JSON value).
func (rc *rawConn) emit(event string, payload any) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if err := rc.enc.Encode(parser.Header{Type: parser.Event}, []any{event, payload}); err != nil {
		rc.t.Fatalf("raw emit %s: %v", event, err)
	}
}

// next returns the next frame that is not a push.
func (rc *rawConn) next() frame {
	rc.t.Helper()
	for {
		select {
		case f, ok := <-rc.queue:
			if !ok {
				rc.t.Fatal("raw connection closed")
			}
			if f.event == jmessage.EventMsgSync || f.event == jmessage.EventEventNotification {
				continue
			}
			return f
		case <-time.After(5 * time.Second):
			rc.t.Fatal("raw: no frame within 5s")
		}
	}
}

// request sends payload (a map; rid is added) and returns the response,
// checking that the ack came first with the same rid.
func (rc *rawConn) request(event string, payload map[string]any) (jmessage.Status, json.RawMessage) {
	rc.t.Helper()
	rc.rid++
	payload["rid"] = rc.rid
	rc.emit(event, payload)
	return rc.expectReply(event, rc.rid)
}

func (rc *rawConn) expectReply(event string, rid int64) (jmessage.Status, json.RawMessage) {
	rc.t.Helper()
	ack := rc.next()
	var a jmessage.Ack
	if ack.event != jmessage.EventAck || json.Unmarshal(ack.raw, &a) != nil || a.RID != rid {
		rc.t.Fatalf("%s: want ack{rid:%d} first, got %s %s", event, rid, ack.event, ack.raw)
	}
	resp := rc.next()
	if resp.event != event {
		rc.t.Fatalf("%s: response came as %q: %s", event, resp.event, resp.raw)
	}
	var st jmessage.Status
	if err := json.Unmarshal(resp.raw, &st); err != nil || st.RID != rid {
		rc.t.Fatalf("%s: bad response %s (%v)", event, resp.raw, err)
	}
	return st, resp.raw
}

// init sends a valid c_init for app.
func (rc *rawConn) init(appKey, secret string) {
	rc.t.Helper()
	p := (&jmessage.Signer{AppKey: appKey, MasterSecret: secret}).Sign()
	st, raw := rc.request(jmessage.EventCInit, map[string]any{"appkey": p.AppKey, "random_str": p.RandomStr, "timestamp": p.Timestamp, "signature": p.Signature})
	if st.Code != 0 {
		rc.t.Fatalf("c_init: %s", raw)
	}
}

func (rc *rawConn) login(user, password string) {
	rc.t.Helper()
	st, raw := rc.request(jmessage.EventLogin, map[string]any{"username": user, "password": jmessage.HashPassword(password)})
	if st.Code != 0 {
		rc.t.Fatalf("login: %s", raw)
	}
}

func wantStatus(t *testing.T, step string, st jmessage.Status, code int) {
	t.Helper()
	if st.Code != code {
		t.Fatalf("%s: code %d (%s), want %d", step, st.Code, st.Message, code)
	}
}

// stopReading makes the connection a stuck client that never reads again.
func (rc *rawConn) stopReading() { close(rc.stop) }
