package jmessage_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/jimbot/jimbot/jmessage"
	"github.com/jimbot/jimbot/jmessage/jmserver"
	"github.com/jimbot/jimbot/jmessage/jmtest"
)

const wait = 5 * time.Second

var transports = []jmessage.Transport{jmessage.WebSocket, jmessage.Polling}

func forEachTransport(t *testing.T, fn func(t *testing.T, tr jmessage.Transport)) {
	for _, tr := range transports {
		t.Run(tr.String(), func(t *testing.T) {
			t.Parallel()
			fn(t, tr)
		})
	}
}

func wantCode(t *testing.T, err error, code int) {
	t.Helper()
	var je *jmessage.Error
	if !errors.As(err, &je) || je.Code != code {
		t.Fatalf("got error %v, want code %d", err, code)
	}
	if !errors.Is(err, jmessage.NewError(code)) {
		t.Fatalf("errors.Is(%v, code %d) is false", err, code)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// nextEvent waits for an event of type typ on c and acknowledges it,
// acknowledging and skipping anything else.
func nextEvent(t *testing.T, c *jmessage.Client, typ jmessage.EventType) *jmessage.EventNotification {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		in := jmtest.Next(t, c, time.Until(deadline))
		must(t, in.Ack(context.Background()))
		if in.Event != nil && in.Event.EventType == typ {
			return in.Event
		}
	}
}

func nextText(t *testing.T, c *jmessage.Client) (*jmessage.Message, string) {
	t.Helper()
	in := jmtest.NextMessage(t, c, wait)
	must(t, in.Ack(context.Background()))
	if in.Message.Err != nil {
		t.Fatalf("message content did not decode: %v", in.Message.Err)
	}
	return in.Message, in.Message.Content.Text()
}

func TestEveryEvent(t *testing.T) {
	forEachTransport(t, func(t *testing.T, tr jmessage.Transport) {
		other := jmserver.App{Key: "0a0b0c0d0e0f101112131415", Secret: "secret-of-the-other-app0"}
		srv := jmtest.Start(t, func(o *jmserver.Options) {
			o.Apps = []jmserver.App{{Key: jmserver.DevAppKey, Secret: jmserver.DevMasterSecret}, other}
		})
		ctx := context.Background()

		// register and login on an anonymous connection, as the SDK does.
		anon, err := jmessage.Dial(ctx, srv.URL, jmessage.WithAppKey(srv.AppKey, srv.Secret), jmessage.WithTransport(tr), jmessage.WithLogger(jmtest.Logger(t)))
		must(t, err)
		defer anon.Close()
		_, err = anon.SendSingle(ctx, "nobody", jmessage.Text("x"))
		if !errors.Is(err, jmessage.ErrNotLoggedIn) {
			t.Fatalf("send before login: %v", err)
		}
		must(t, anon.Register(ctx, "alice", jmtest.Password("alice")))
		wantCode(t, anon.Register(ctx, "alice", "x"), jmessage.CodeUserExist)
		wantCode(t, anon.Register(ctx, "no", "x"), jmessage.CodeInvalidParam)
		wantCode(t, anon.Login(ctx, "alice", "wrong"), jmessage.CodeInvalidPassword)
		wantCode(t, anon.Login(ctx, "ghost", "x"), jmessage.CodeUserNotExist)
		must(t, anon.Login(ctx, "alice", jmtest.Password("alice")))
		wantCode(t, anon.Login(ctx, "alice", jmtest.Password("alice")), jmessage.CodeAlreadyLoggedIn)
		alice := anon
		srv.AddUser(t, "bobby")
		srv.AddUser(t, "carol")
		if _, err := srv.RegisterUser(other.Key, "dave", jmtest.Password("dave"), "Dave"); err != nil {
			t.Fatal(err)
		}
		opts := []jmessage.Option{jmessage.WithTransport(tr)}
		bob := srv.Dial(t, "bobby", opts...)
		carol := srv.Dial(t, "carol", opts...)

		// users
		info, err := alice.UserInfo(ctx, "bobby")
		must(t, err)
		if info.Username != "bobby" || info.UID == 0 || info.AppKey != srv.AppKey {
			t.Fatalf("user info: %+v", info)
		}
		_, err = alice.UserInfo(ctx, "ghost")
		wantCode(t, err, jmessage.CodeUserNotExist)
		dinfo, err := alice.AcrossUserInfo(ctx, other.Key, "dave")
		must(t, err)
		if dinfo.Nickname != "Dave" || dinfo.AppKey != other.Key {
			t.Fatalf("across user info: %+v", dinfo)
		}

		// single messages
		sent, err := alice.SendSingle(ctx, "bobby", jmessage.Text("hi bob").WithExtras(map[string]any{"k": "v"}))
		must(t, err)
		m, text := nextText(t, bob)
		if text != "hi bob" || m.ID != sent.MsgID || m.ConvType != jmessage.ConvSingle || m.GroupID != 0 || m.FromUID == 0 || m.Time.IsZero() {
			t.Fatalf("received %+v %q", m, text)
		}
		if body, _ := m.Content.Body(); body.(jmessage.TextBody).Extras["k"] != "v" {
			t.Fatalf("extras lost: %s", m.Raw)
		}
		_, err = alice.SendSingle(ctx, "ghost", jmessage.Text("x"))
		wantCode(t, err, jmessage.CodeTargetUserNotExist)
		_, err = alice.SendSingle(ctx, "bobby", jmessage.Text(string(bytes.Repeat([]byte("x"), 5000))))
		wantCode(t, err, jmessage.CodeMessageTooLong)
		_, err = alice.SendSingle(ctx, "bobby", jmessage.Custom(map[string]any{"kind": "vote", "n": 3}))
		must(t, err)
		cm := jmtest.NextMessage(t, bob, wait)
		must(t, cm.Ack(ctx))
		if body, err := cm.Message.Content.Body(); err != nil || body.(jmessage.CustomBody)["kind"] != "vote" {
			t.Fatalf("custom body: %v %v", body, err)
		}

		// cross-app single message
		dave := dialOther(t, srv, other, "dave", tr)
		_, err = alice.SendAcrossSingle(ctx, other.Key, "dave", jmessage.Text("hi dave"))
		must(t, err)
		dm, text := nextText(t, dave)
		if text != "hi dave" || dm.Level != jmessage.LevelAcross || dm.Content.TargetAppKey != other.Key {
			t.Fatalf("across message %+v", dm)
		}

		// groups
		gid, err := alice.CreateGroup(ctx, "team", "the team")
		must(t, err)
		if ev := nextEvent(t, alice, jmessage.EventTypeGroupCreated); int64(ev.GID) != int64(gid) {
			t.Fatalf("created event %+v", ev)
		}
		_, err = alice.CreateGroup(ctx, string(bytes.Repeat([]byte("n"), 65)), "")
		wantCode(t, err, jmessage.CodeGroupNameTooLong)
		must(t, alice.AddGroupMembers(ctx, gid, "bobby"))
		if ev := nextEvent(t, bob, jmessage.EventTypeGroupMemberAdded); len(ev.ToUsernames) != 1 || ev.ToUsernames[0].Username != "bobby" || ev.FromUsername != "alice" {
			t.Fatalf("added event %+v", ev)
		}
		nextEvent(t, alice, jmessage.EventTypeGroupMemberAdded)
		wantCode(t, alice.AddGroupMembers(ctx, gid, "bobby"), jmessage.CodeMemberRepeated)
		wantCode(t, alice.AddGroupMembers(ctx, gid, "ghost"), jmessage.CodeMemberNotExist)
		wantCode(t, alice.AddGroupMembers(ctx, gid), jmessage.CodeZeroMember)
		wantCode(t, carol.AddGroupMembers(ctx, gid, "carol"), jmessage.CodeAdderNotInGroup)
		must(t, alice.AddAcrossGroupMembers(ctx, gid, jmessage.UserRef{Username: "carol", AppKey: srv.AppKey}, jmessage.UserRef{Username: "dave", AppKey: other.Key}))
		nextEvent(t, carol, jmessage.EventTypeGroupMemberAdded)
		nextEvent(t, dave, jmessage.EventTypeGroupMemberAdded)

		groups, err := bob.Groups(ctx)
		must(t, err)
		if len(groups) != 1 || groups[0].GID != gid || groups[0].Name != "team" {
			t.Fatalf("groups %+v", groups)
		}
		gi, err := carol.GroupInfo(ctx, gid)
		must(t, err)
		if gi.Desc != "the team" || gi.OwnerUsername != "alice" {
			t.Fatalf("group info %+v", gi)
		}
		_, err = alice.GroupInfo(ctx, 999999)
		wantCode(t, err, jmessage.CodeTargetGroupNotExist)
		members, err := bob.GroupMembers(ctx, gid)
		must(t, err)
		if len(members) != 4 || members[0].Username != "alice" || members[0].Flag != 1 || members[1].Flag != 0 {
			t.Fatalf("members %+v", members)
		}

		gsent, err := bob.SendGroup(ctx, gid, jmessage.Text("hello team"))
		must(t, err)
		for _, c := range []*jmessage.Client{alice, carol, dave} {
			gm, text := nextText(t, c)
			if text != "hello team" || gm.GroupID != gid || gm.ConvType != jmessage.ConvGroup || gm.ID != gsent.MsgID {
				t.Fatalf("group message %+v %q", gm, text)
			}
		}
		outsider := srv.AddUser(t, "outsider")
		_ = outsider
		out := srv.Dial(t, "outsider", opts...)
		_, err = out.SendGroup(ctx, gid, jmessage.Text("let me in"))
		wantCode(t, err, jmessage.CodeNotInGroup)
		_, err = out.GroupMembers(ctx, gid)
		wantCode(t, err, jmessage.CodeNotInGroup)
		must(t, srv.SetSilence(int64(gid), srv.AppKey, "carol", true))
		_, err = carol.SendGroup(ctx, gid, jmessage.Text("mmph"))
		wantCode(t, err, jmessage.CodeSilenced)

		wantCode(t, bob.UpdateGroupInfo(ctx, gid, "mine", ""), jmessage.CodeNotGroupAdmin)
		must(t, alice.UpdateGroupInfo(ctx, gid, "team2", "new desc"))
		if ev := nextEvent(t, bob, jmessage.EventTypeGroupInfoUpdated); ev.GroupName != "team2" {
			t.Fatalf("updated event %+v", ev)
		}
		wantCode(t, bob.RemoveGroupMembers(ctx, gid, "carol"), jmessage.CodeDeleteNotPermitted)
		must(t, alice.RemoveGroupMembers(ctx, gid, "carol"))
		if ev := nextEvent(t, carol, jmessage.EventTypeGroupMemberRemoved); ev.ToUsernames[0].Username != "carol" {
			t.Fatalf("removed event %+v", ev)
		}
		wantCode(t, alice.RemoveGroupMembers(ctx, gid, "alice"), jmessage.CodeMemberNotDeletable)
		must(t, alice.RemoveAcrossGroupMembers(ctx, gid, jmessage.UserRef{Username: "dave", AppKey: other.Key}))
		nextEvent(t, dave, jmessage.EventTypeGroupMemberRemoved)
		must(t, bob.ExitGroup(ctx, gid))
		if ev := nextEvent(t, alice, jmessage.EventTypeGroupMemberExited); ev.FromUsername != "bobby" {
			t.Fatalf("exited event %+v", ev)
		}
		wantCode(t, bob.ExitGroup(ctx, gid), jmessage.CodeExitNotInGroup)

		// conversations
		convs, err := alice.Conversations(ctx)
		must(t, err)
		var single, grp bool
		for _, c := range convs {
			single = single || (c.Type == jmessage.ConvSingle && c.Username == "bobby")
			grp = grp || (c.Type == jmessage.ConvGroup && c.Key == gid.String())
		}
		if !single || !grp {
			t.Fatalf("conversations %+v", convs)
		}

		// media
		img := tinyPNG(t)
		body, err := alice.UploadImage(ctx, "dot.png", bytes.NewReader(img))
		must(t, err)
		if body.Width != 3 || body.Height != 2 || body.Format != "png" || body.FSize != int64(len(img)) || body.MediaID == "" {
			t.Fatalf("image body %+v", body)
		}
		resp, err := http.Get(alice.MediaURL(body.MediaID))
		must(t, err)
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !bytes.Equal(got, img) {
			t.Fatalf("media download returned %d bytes, want %d", len(got), len(img))
		}
		_, err = alice.SendSingle(ctx, "bobby", body)
		must(t, err)
		im := jmtest.NextMessage(t, bob, wait)
		must(t, im.Ack(ctx))
		if b, err := im.Message.Content.Body(); err != nil || b.(jmessage.ImageBody).MediaID != body.MediaID {
			t.Fatalf("image message: %v %v", b, err)
		}
		file, err := alice.UploadFile(ctx, "notes.txt", bytes.NewReader([]byte("some notes")))
		must(t, err)
		if file.FName != "notes.txt" || file.FSize != 10 {
			t.Fatalf("file body %+v", file)
		}
		_, err = alice.UploadImage(ctx, "not.png", bytes.NewReader([]byte("not an image")))
		wantCode(t, err, jmessage.CodeInvalidType)

		// no-disturb
		must(t, alice.AddSingleNoDisturb(ctx, "bobby", ""))
		wantCode(t, alice.AddSingleNoDisturb(ctx, "bobby", ""), jmessage.CodeNoDisturbUserAlreadySet)
		wantCode(t, alice.AddSingleNoDisturb(ctx, "ghost", ""), jmessage.CodeTargetUserNotExist)
		must(t, alice.AddGroupNoDisturb(ctx, gid))
		wantCode(t, alice.AddGroupNoDisturb(ctx, gid), jmessage.CodeNoDisturbGroupAlreadySet)
		wantCode(t, alice.AddGroupNoDisturb(ctx, 424242), jmessage.CodeNoDisturbGroupNotExist)
		wantCode(t, bob.AddGroupNoDisturb(ctx, gid), jmessage.CodeNoDisturbNotInGroup)
		must(t, alice.AddGlobalNoDisturb(ctx))
		wantCode(t, alice.AddGlobalNoDisturb(ctx), jmessage.CodeNoDisturbGlobalAlreadySet)
		nd, err := alice.NoDisturb(ctx)
		must(t, err)
		if nd.Global != 1 || len(nd.Users) != 1 || nd.Users[0].Username != "bobby" || len(nd.Groups) != 1 || nd.Groups[0].GID != gid {
			t.Fatalf("no-disturb %+v", nd)
		}
		must(t, alice.DeleteSingleNoDisturb(ctx, "bobby", ""))
		wantCode(t, alice.DeleteSingleNoDisturb(ctx, "bobby", ""), jmessage.CodeNoDisturbUserNeverSet)
		must(t, alice.DeleteGroupNoDisturb(ctx, gid))
		wantCode(t, alice.DeleteGroupNoDisturb(ctx, gid), jmessage.CodeNoDisturbGroupNeverSet)
		must(t, alice.DeleteGlobalNoDisturb(ctx))
		wantCode(t, alice.DeleteGlobalNoDisturb(ctx), jmessage.CodeNoDisturbGlobalNeverSet)
		nextEvent(t, alice, jmessage.EventTypeNoDisturbChanged)

		// blacklist
		must(t, bob.AddBlackList(ctx, jmessage.UserRef{Username: "alice", AppKey: srv.AppKey}))
		if ev := nextEvent(t, bob, jmessage.EventTypeBlacklistChanged); int64(ev.GID) != jmessage.RelationBlacklist {
			t.Fatalf("blacklist event %+v", ev)
		}
		_, err = alice.SendSingle(ctx, "bobby", jmessage.Text("are you there?"))
		wantCode(t, err, jmessage.CodeInBlacklist)
		bl, err := bob.BlackList(ctx)
		must(t, err)
		if len(bl) != 1 || bl[0].Username != "alice" {
			t.Fatalf("blacklist %+v", bl)
		}
		wantCode(t, bob.AddBlackList(ctx, jmessage.UserRef{Username: "ghost"}), jmessage.CodeTargetUserNotExist)
		must(t, bob.DeleteBlackList(ctx, jmessage.UserRef{Username: "alice"}))
		_, err = alice.SendSingle(ctx, "bobby", jmessage.Text("now?"))
		must(t, err)
		if _, text := nextText(t, bob); text != "now?" {
			t.Fatalf("after unblock got %q", text)
		}
	})
}

func dialOther(t *testing.T, srv *jmtest.Server, app jmserver.App, user string, tr jmessage.Transport) *jmessage.Client {
	t.Helper()
	c, err := jmessage.Dial(context.Background(), srv.URL, jmessage.WithAppKey(app.Key, app.Secret),
		jmessage.WithLogin(user, jmtest.Password(user)), jmessage.WithTransport(tr), jmessage.WithLogger(jmtest.Logger(t)))
	must(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

func tinyPNG(t *testing.T) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 3, 2))
	img.Set(1, 1, color.RGBA{R: 255, A: 255})
	var b bytes.Buffer
	must(t, png.Encode(&b, img))
	return b.Bytes()
}

// signerWith returns a signer that produces payloads with fixed parts.
func signerWith(app, secret, random string, at time.Time, upper bool) func() jmessage.AuthPayload {
	return func() jmessage.AuthPayload {
		ts := fmt.Sprint(at.UnixMilli())
		sig := jmessage.Signature(app, ts, random, secret)
		if upper {
			sig = string(bytes.ToUpper([]byte(sig)))
		}
		return jmessage.AuthPayload{AppKey: app, RandomStr: random, Timestamp: jmessageNumber(ts), Signature: sig}
	}
}

func TestSignature(t *testing.T) {
	srv := jmtest.Start(t)
	ctx := context.Background()
	dial := func(sign func() jmessage.AuthPayload) error {
		c, err := jmessage.Dial(ctx, srv.URL, jmessage.WithSigner(sign), jmessage.WithLogger(jmtest.Logger(t)))
		if err == nil {
			c.Close()
		}
		return err
	}
	now := time.Now()
	random := jmessage.RandomString(24)
	cases := []struct {
		name string
		sign func() jmessage.AuthPayload
		code int
	}{
		{"uppercase hex accepted", signerWith(srv.AppKey, srv.Secret, random, now, true), 0},
		{"replay refused", signerWith(srv.AppKey, srv.Secret, random, now, true), jmessage.CodeSignatureFail},
		{"wrong secret", signerWith(srv.AppKey, "nope", jmessage.RandomString(24), now, false), jmessage.CodeSignatureFail},
		{"unknown appkey", signerWith("ffffffffffffffffffffffff", srv.Secret, jmessage.RandomString(24), now, false), jmessage.CodeAppKeyNotExist},
		{"expired", signerWith(srv.AppKey, srv.Secret, jmessage.RandomString(24), now.Add(-11*time.Minute), false), jmessage.CodeSignatureExpired},
		{"from the future", signerWith(srv.AppKey, srv.Secret, jmessage.RandomString(24), now.Add(11*time.Minute), false), jmessage.CodeSignatureExpired},
		{"random_str too short", signerWith(srv.AppKey, srv.Secret, "404", now, false), jmessage.CodeSignatureFail},
		{"random_str too long", signerWith(srv.AppKey, srv.Secret, jmessage.RandomString(37), now, false), jmessage.CodeSignatureFail},
		{"lowercase hex accepted", signerWith(srv.AppKey, srv.Secret, jmessage.RandomString(36), now.Add(-9*time.Minute), false), 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := dial(tc.sign)
			if tc.code == 0 {
				must(t, err)
				return
			}
			wantCode(t, err, tc.code)
		})
	}
}

func TestSignatureVector(t *testing.T) {
	got := jmessage.Signature("4f7aef34fb361292c566a1cd", "1467967210887", "022cd9fd995849b58b3ef0e943421ed9", "0123456789abcdef01234567")
	if got != "200cf9d77570fe3303658090d886322e" {
		t.Fatalf("signature %s", got)
	}
	if jmessage.HashPassword("123456") != "e10adc3949ba59abbe56e057f20f883e" {
		t.Fatal("md5 password")
	}
}

func TestOfflineDeliveryAndRedelivery(t *testing.T) {
	forEachTransport(t, func(t *testing.T, tr jmessage.Transport) {
		tick := make(chan time.Time)
		srv := jmtest.Start(t, func(o *jmserver.Options) { o.RedeliverTick = tick; o.RedeliverAfter = time.Millisecond })
		srv.AddUser(t, "alice")
		srv.AddUser(t, "bobby")
		ctx := context.Background()
		alice := srv.Dial(t, "alice", jmessage.WithTransport(tr))
		for i := 0; i < 3; i++ {
			_, err := alice.SendSingle(ctx, "bobby", jmessage.Text(fmt.Sprint("offline ", i)))
			must(t, err)
		}
		if n, _ := srv.Pending(srv.AppKey, "bobby"); n != 3 {
			t.Fatalf("pending for offline bobby: %d", n)
		}
		// bobby logs in: everything arrives, in order.
		bob := srv.Dial(t, "bobby", jmessage.WithTransport(tr))
		var first *jmessage.Inbound
		for i := 0; i < 3; i++ {
			in := jmtest.NextMessage(t, bob, wait)
			if got := in.Message.Content.Text(); got != fmt.Sprint("offline ", i) {
				t.Fatalf("message %d: %q", i, got)
			}
			if i == 0 {
				first = in // not acknowledged yet
				continue
			}
			must(t, in.Ack(ctx))
		}
		waitFor(t, func() bool { n, _ := srv.Pending(srv.AppKey, "bobby"); return n == 1 })
		// Unacknowledged: the sweep sends it again; the client keeps it
		// out of the inbound channel while the first copy is in flight.
		tick <- time.Now()
		select {
		case in := <-bob.Inbound():
			t.Fatalf("duplicate handed out while in flight: %+v", in.Message)
		case <-time.After(100 * time.Millisecond):
		}
		must(t, first.Ack(ctx))
		waitFor(t, func() bool { n, _ := srv.Pending(srv.AppKey, "bobby"); return n == 0 })
		if srv.Stats().Redeliveries.Load() == 0 {
			t.Fatal("no redelivery counted")
		}
	})
}

func TestRedeliveryAfterCrash(t *testing.T) {
	// A consumer that takes a message and dies without acknowledging gets
	// it again on its next login.
	srv := jmtest.Start(t)
	srv.AddUser(t, "alice")
	srv.AddUser(t, "bobby")
	ctx := context.Background()
	alice := srv.Dial(t, "alice")
	bob := srv.Dial(t, "bobby")
	sent, err := alice.SendSingle(ctx, "bobby", jmessage.Text("process me"))
	must(t, err)
	in := jmtest.NextMessage(t, bob, wait)
	if in.Message.ID != sent.MsgID {
		t.Fatal("wrong message")
	}
	bob.Close() // "crash" before Ack
	bob2 := srv.Dial(t, "bobby")
	again := jmtest.NextMessage(t, bob2, wait)
	if again.Message.ID != sent.MsgID {
		t.Fatalf("redelivered %d, want %d", again.Message.ID, sent.MsgID)
	}
	must(t, again.Ack(ctx))
	waitFor(t, func() bool { n, _ := srv.Pending(srv.AppKey, "bobby"); return n == 0 })
}

func TestKickOnSecondLogin(t *testing.T) {
	forEachTransport(t, func(t *testing.T, tr jmessage.Transport) {
		srv := jmtest.Start(t)
		srv.AddUser(t, "alice")
		var mu sync.Mutex
		var states []jmessage.State
		first := srv.Dial(t, "alice", jmessage.WithTransport(tr), jmessage.WithStateFunc(func(sc jmessage.StateChange) {
			mu.Lock()
			states = append(states, sc.State)
			mu.Unlock()
		}))
		second := srv.Dial(t, "alice", jmessage.WithTransport(tr))
		select {
		case <-first.Done():
		case <-time.After(wait):
			t.Fatal("first client was not stopped")
		}
		if !errors.Is(first.Err(), jmessage.ErrKicked) {
			t.Fatalf("first client's error: %v", first.Err())
		}
		mu.Lock()
		last := states[len(states)-1]
		mu.Unlock()
		if last != jmessage.StateKicked {
			t.Fatalf("states %v", states)
		}
		if _, err := first.UserInfo(context.Background(), "alice"); !errors.Is(err, jmessage.ErrKicked) {
			t.Fatalf("call after kick: %v", err)
		}
		if _, err := second.UserInfo(context.Background(), "alice"); err != nil {
			t.Fatalf("second client: %v", err)
		}
		// the kicked client does not come back
		time.Sleep(200 * time.Millisecond)
		if !srv.Online(srv.AppKey, "alice") {
			t.Fatal("second client went offline")
		}
	})
}

func TestPasswordChangeStopsClient(t *testing.T) {
	srv := jmtest.Start(t)
	srv.AddUser(t, "alice")
	c := srv.Dial(t, "alice")
	must(t, srv.ChangePassword(srv.AppKey, "alice", "new-password"))
	select {
	case <-c.Done():
	case <-time.After(wait):
		t.Fatal("client not stopped")
	}
	if !errors.Is(c.Err(), jmessage.ErrPasswordChanged) || c.State() != jmessage.StatePasswordChanged {
		t.Fatalf("err %v state %v", c.Err(), c.State())
	}
}

func TestRequestBeforeLogin(t *testing.T) {
	srv := jmtest.Start(t)
	c, err := jmessage.Dial(context.Background(), srv.URL, jmessage.WithAppKey(srv.AppKey, srv.Secret), jmessage.WithLogger(jmtest.Logger(t)))
	must(t, err)
	defer c.Close()
	_, err = c.Groups(context.Background())
	wantCode(t, err, jmessage.CodeAuthFail)
}

func TestConcurrentCalls(t *testing.T) {
	srv := jmtest.Start(t)
	const users = 12
	clients := make([]*jmessage.Client, users)
	for i := range clients {
		name := fmt.Sprintf("user%02d", i)
		srv.AddUser(t, name)
		clients[i] = srv.Dial(t, name)
	}
	ctx := context.Background()
	const perUser = 40
	var wg sync.WaitGroup
	errs := make(chan error, users*perUser)
	for i, c := range clients {
		wg.Add(1)
		go func(i int, c *jmessage.Client) {
			defer wg.Done()
			var inner sync.WaitGroup
			for j := 0; j < perUser; j++ {
				inner.Add(1)
				go func(j int) {
					defer inner.Done()
					to := fmt.Sprintf("user%02d", (i+1)%users)
					if _, err := c.SendSingle(ctx, to, jmessage.Text(fmt.Sprint(i, "/", j))); err != nil {
						errs <- err
					}
				}(j)
			}
			inner.Wait()
		}(i, c)
	}
	// every client receives perUser messages from its neighbour
	var recv sync.WaitGroup
	for _, c := range clients {
		recv.Add(1)
		go func(c *jmessage.Client) {
			defer recv.Done()
			seen := map[jmessage.ID]bool{}
			for len(seen) < perUser {
				select {
				case in := <-c.Inbound():
					if in.Message != nil {
						seen[in.Message.ID] = true
					}
					if err := in.Ack(ctx); err != nil {
						errs <- err
					}
				case <-time.After(10 * time.Second):
					errs <- fmt.Errorf("%s got %d of %d messages", c.Username(), len(seen), perUser)
					return
				}
			}
		}(c)
	}
	wg.Wait()
	recv.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in time")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
