package jmserver_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jimbot/jimbot/jmessage"
	"github.com/jimbot/jimbot/jmessage/jmserver"
	"github.com/jimbot/jimbot/jmessage/jmtest"
	"github.com/jimbot/jimbot/storage"
)

func init() { log.SetOutput(io.Discard) } // go-socket.io logs closed polling sessions

func TestMalformedPayloads(t *testing.T) {
	srv := jmtest.Start(t)
	srv.AddUser(t, "alice")
	rc := dialRaw(t, srv.URL)

	// before c_init, everything but c_init is refused with a code
	st, _ := rc.request(jmessage.EventLogin, map[string]any{"username": "alice", "password": "x"})
	wantStatus(t, "login before c_init", st, jmessage.CodeAuthFail)
	st, _ = rc.request(jmessage.EventGetGroupsList, map[string]any{})
	wantStatus(t, "business before c_init", st, jmessage.CodeAuthFail)
	rc.init(srv.AppKey, srv.Secret)
	st, _ = rc.request(jmessage.EventGetGroupsList, map[string]any{})
	wantStatus(t, "business before login", st, jmessage.CodeAuthFail)
	st, _ = rc.request(jmessage.EventCInit, map[string]any{})
	wantStatus(t, "second c_init", st, jmessage.CodeRepeatedOperation)

	// wrong types: 880002, and the connection stays usable
	st, _ = rc.request(jmessage.EventLogin, map[string]any{"username": 42, "password": []int{1}})
	wantStatus(t, "login with a number", st, jmessage.CodeInvalidParameter)
	rc.login("alice", jmtest.Password("alice"))
	st, _ = rc.request(jmessage.EventGetGroupInfo, map[string]any{"gid": "abc"})
	wantStatus(t, "gid abc", st, jmessage.CodeInvalidParameter)
	st, _ = rc.request(jmessage.EventGetGroupInfo, map[string]any{"gid": map[string]any{}})
	wantStatus(t, "gid object", st, jmessage.CodeInvalidParameter)
	st, _ = rc.request(jmessage.EventAddGroupMember, map[string]any{"gid": "1", "member_usernames": "alice"})
	wantStatus(t, "member list as string", st, jmessage.CodeInvalidParameter)
	st, _ = rc.request(jmessage.EventSendGroup, map[string]any{"target_gid": "1"})
	wantStatus(t, "group send without gid", st, jmessage.CodeTargetGroupNotExist)
	st, _ = rc.request(jmessage.EventSendSingle, map[string]any{"target_name": "alice"})
	wantStatus(t, "send without content", st, jmessage.CodeInvalidParameter)
	st, _ = rc.request(jmessage.EventSendSingle, map[string]any{"target_name": "alice", "content": "hello"})
	wantStatus(t, "content as a string", st, jmessage.CodeInvalidValue)
	st, _ = rc.request(jmessage.EventSendSingle, map[string]any{"target_name": "alice", "content": map[string]any{"msg_type": "text", "msg_body": map[string]any{"text": 5}}})
	wantStatus(t, "text body of the wrong type", st, jmessage.CodeInvalidValue)
	forged := map[string]any{"version": 1, "target_type": "single", "target_id": "alice", "from_id": "admin", "create_time": 1,
		"msg_type": "text", "msg_body": map[string]any{"text": "I am the admin"}}
	st, _ = rc.request(jmessage.EventSendSingle, map[string]any{"target_name": "alice", "content": forged})
	wantStatus(t, "content naming another sender", st, jmessage.CodeInvalidValue)
	st, _ = rc.request(jmessage.EventGetUserInfo, map[string]any{})
	wantStatus(t, "user info without key", st, jmessage.CodeInvalidParam)
	st, _ = rc.request("sync_check", map[string]any{})
	wantStatus(t, "v2-only event", st, jmessage.CodeInvalidParam)

	// payloads that are not objects at all
	for i, p := range []any{"just a string", 12, nil, []any{1, 2}} {
		rc.rid++
		rc.emit(jmessage.EventGetGroupsList, p)
		// no rid can be read from these: the answer carries rid 0
		st, _ := rc.expectReply(jmessage.EventGetGroupsList, 0)
		if i < 2 || i == 3 {
			wantStatus(t, fmt.Sprintf("payload %v", p), st, jmessage.CodeInvalidParameter)
		}
	}
	// a msg_recv or echo of the wrong shape is ignored, not fatal
	rc.emit(jmessage.EventMsgRecv, map[string]any{"messages": "nope"})
	rc.emit(jmessage.EventEventNotification, []int{1})
	st, _ = rc.request(jmessage.EventGetGroupsList, map[string]any{})
	wantStatus(t, "still serving", st, 0)
	if srv.Stats().BadRequests.Load() < 10 {
		t.Fatalf("bad requests counted: %d", srv.Stats().BadRequests.Load())
	}
}

func TestSlowClientStallsNobody(t *testing.T) {
	srv := jmtest.Start(t, func(o *jmserver.Options) {
		o.OutboundQueue = 16
		o.MaxMessageSize = 64 << 10
		o.InflightWindow = 10000
	})
	srv.AddUser(t, "stuck")
	srv.AddUser(t, "alice")
	srv.AddUser(t, "bobby")
	// stuck logs in, then never reads another frame.
	stuck := dialRaw(t, srv.URL)
	stuck.init(srv.AppKey, srv.Secret)
	stuck.login("stuck", jmtest.Password("stuck"))
	stuck.stopReading()

	alice := srv.Dial(t, "alice")
	bob := srv.Dial(t, "bobby")
	ctx := context.Background()
	big := strings.Repeat("x", 60<<10)
	const n = 600
	start := time.Now()
	for i := 0; i < n; i++ {
		if _, err := alice.SendSingle(ctx, "stuck", jmessage.Text(big)); err != nil {
			t.Fatalf("send %d to the stuck client: %v", i, err)
		}
		if i%100 == 0 {
			if _, err := alice.SendSingle(ctx, "bobby", jmessage.Text(fmt.Sprint("ping ", i))); err != nil {
				t.Fatal(err)
			}
			in := jmtest.NextMessage(t, bob, 5*time.Second)
			if err := in.Ack(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Logf("%d sends of 60 KiB to a stuck client in %s", n, time.Since(start))
	waitUntil(t, func() bool { return srv.Stats().Dropped.Load() > 0 })
	if p, _ := srv.Pending(srv.AppKey, "stuck"); p != n {
		t.Fatalf("stuck client's queue has %d items, want %d kept for redelivery", p, n)
	}
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestRestartWithStore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "server.db")
	l := jmtest.Listener(t, "127.0.0.1:0")
	addr := l.Addr().String()
	start := func(l net.Listener) (*jmserver.Server, *storage.DB) {
		db, err := storage.Open(path, &storage.Options{NoSync: true})
		if err != nil {
			t.Fatal(err)
		}
		srv, err := jmserver.New(jmserver.Options{Store: db, Logger: jmtest.Logger(t)})
		if err != nil {
			t.Fatal(err)
		}
		go srv.Serve(l)
		return srv, db
	}
	srv, db := start(l)
	app := srv.Options().Apps[0]
	for _, u := range []string{"alice", "bobby"} {
		if _, err := srv.RegisterUser(app.Key, u, jmtest.Password(u), ""); err != nil {
			t.Fatal(err)
		}
	}
	gid, err := srv.CreateGroup(app.Key, "alice", "team", "", "bobby")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + addr
	fast := jmessage.WithBackoff(jmessage.Backoff{Min: 20 * time.Millisecond, Max: 100 * time.Millisecond, Factor: 2})
	dial := func(user string) *jmessage.Client {
		c, err := jmessage.Dial(context.Background(), url, jmessage.WithAppKey(app.Key, app.Secret),
			jmessage.WithLogin(user, jmtest.Password(user)), fast, jmessage.WithLogger(jmtest.Logger(t)))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	alice, bob := dial("alice"), dial("bobby")
	ctx := context.Background()
	drainEvents(t, bob)
	first, err := alice.SendGroup(ctx, jmessage.ID(gid), jmessage.Text("before restart"))
	if err != nil {
		t.Fatal(err)
	}
	got := jmtest.NextMessage(t, bob, 5*time.Second) // received, not acknowledged
	if got.Message.ID != first.MsgID {
		t.Fatal("wrong message")
	}

	srv.Close()
	db.Close()
	l2 := jmtest.Listener(t, addr)
	srv, db = start(l2)
	defer func() { srv.Close(); db.Close() }()

	// The unacknowledged message survived the restart.
	if n, _ := srv.Pending(app.Key, "bobby"); n != 1 {
		t.Fatalf("bob's queue after restart: %d items, want 1", n)
	}
	// Both clients reconnect and log in again by themselves. bob's ack of
	// the message he still holds reaches the new server, and new messages
	// flow.
	// alice's client may not have noticed the restart yet: a request on the
	// dead connection fails with a temporary error, and is tried again.
	var second *jmessage.Sent
	for {
		second, err = alice.SendGroup(ctx, jmessage.ID(gid), jmessage.Text("after restart"))
		if err == nil || !jmessage.IsTemporary(err) {
			break
		}
	}
	if err != nil {
		t.Fatalf("send after restart: %v", err)
	}
	if second.MsgID <= first.MsgID {
		t.Fatalf("msg_id went back: %d after %d", second.MsgID, first.MsgID)
	}
	in := jmtest.NextMessage(t, bob, 10*time.Second)
	if in.Message.Content.Text() != "after restart" {
		t.Fatalf("bob got %q", in.Message.Content.Text())
	}
	if err := bob.Ack(ctx, got, in); err != nil {
		t.Fatal(err)
	}
	members, err := srv.GroupMembers(gid)
	if err != nil || len(members) != 2 {
		t.Fatalf("group after restart: %v %v", members, err)
	}
	waitUntil(t, func() bool { n, _ := srv.Pending(app.Key, "bobby"); return n == 0 })
}

func drainEvents(t *testing.T, c *jmessage.Client) {
	for {
		select {
		case in := <-c.Inbound():
			in.Ack(context.Background())
		case <-time.After(100 * time.Millisecond):
			return
		}
	}
}
