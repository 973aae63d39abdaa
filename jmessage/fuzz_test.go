package jmessage

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"testing"

	"github.com/googollee/go-socket.io/engineio/session"
	"github.com/googollee/go-socket.io/parser"
)

type discardFrames struct{}

type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }

func (discardFrames) NextWriter(session.FrameType) (io.WriteCloser, error) {
	return nopWriteCloser{io.Discard}, nil
}

// FuzzInbound feeds arbitrary server payloads to the client's event
// handling: msg_sync, event_notification, ack and responses must never
// panic, and whatever is handed to the consumer can be acknowledged.
func FuzzInbound(f *testing.F) {
	seeds := []struct{ event, payload string }{
		{EventMsgSync, `{"uid":1,"rid":1,"messages":[{"msg_id":5,"msg_type":3,"from_uid":2,"from_gid":0,"msg_level":0,"ctime":1,"ctime_ms":1000,"content":{"version":1,"target_type":"single","target_id":"a","from_id":"b","create_time":1,"msg_type":"text","msg_body":{"text":"hi","extras":{"x":1}}}}]}`},
		{EventMsgSync, `{"messages":[{"msg_id":"6","content":{"msg_type":"image","msg_body":{"media_id":"m","width":"x"}}}]}`},
		{EventMsgSync, `{"messages":[{"msg_id":7,"content":"plain string"}]}`},
		{EventEventNotification, `{"event_id":3,"event_type":10,"gid":12,"to_usernames":[{"username":"a"}]}`},
		{EventEventNotification, `{"event_id":4,"event_type":1}`},
		{EventEventNotification, `{"event_id":4,"event_type":2}`},
		{EventAck, `{"rid":1}`},
		{EventLogin, `{"rid":1,"code":0,"message":"success","username":"a"}`},
		{EventLogin, `{"rid":"1","code":"0"}`},
		{EventMsgSync, `null`}, {EventMsgSync, `[`}, {"whatever", `{}`},
	}
	for _, s := range seeds {
		f.Add(s.event, []byte(s.payload))
	}
	f.Fuzz(func(t *testing.T, event string, payload []byte) {
		o := defaultOptions()
		o.logger = slog.New(slog.NewTextHandler(io.Discard, nil))
		c := &Client{opts: o, inbound: make(chan *Inbound, 16)}
		w := &wire{c: c, enc: parser.NewEncoder(discardFrames{}), pending: map[int64]*call{}, done: make(chan struct{}), connected: make(chan struct{})}
		w.pending[1] = &call{event: EventLogin, resp: make(chan []byte, 1)}
		_ = w.handle(event, payload)
		for len(c.inbound) > 0 {
			in := <-c.inbound
			if (in.Message == nil) == (in.Event == nil) {
				t.Fatalf("inbound item must carry exactly one of message and event: %+v", in)
			}
			if in.Message != nil && in.Message.Err == nil {
				_, _ = in.Message.Content.Body()
				_ = in.Message.Content.Validate()
			}
		}
		var ct Content
		if json.Unmarshal(payload, &ct) == nil {
			_, _ = ct.Body()
			_ = ct.Validate()
			var names MemberNames
			_ = json.Unmarshal(bytes.TrimSpace(payload), &names)
		}
	})
}
