package bot

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/jimbot/jimbot/jmessage"
)

// JMessage is the Transport over a jmessage.Client: it turns pushed
// messages and events into Events, session state changes into session
// Events, and carries out sends and administration calls.
type JMessage struct {
	c      *jmessage.Client
	self   User
	log    *slog.Logger
	out    chan Delivery
	states chan jmessage.StateChange
	uids   sync.Map // uid (int64) → username, verified senders
	done   chan struct{}
}

// DialJMessage connects to a JMessage (or jimbot) server and logs in; the
// options must include jmessage.WithAppKey (or WithSigner) and
// jmessage.WithLogin. A jmessage.WithStateFunc option is replaced: state
// changes arrive as session Events instead.
func DialJMessage(ctx context.Context, serverURL string, log *slog.Logger, opts ...jmessage.Option) (*JMessage, error) {
	if log == nil {
		log = slog.Default()
	}
	t := &JMessage{log: log, out: make(chan Delivery, 256), states: make(chan jmessage.StateChange, 64), done: make(chan struct{})}
	opts = append(opts, jmessage.WithStateFunc(func(sc jmessage.StateChange) {
		select {
		case t.states <- sc:
		default:
			log.Warn("session state change not delivered: queue full", "state", sc.State)
		}
	}))
	c, err := jmessage.Dial(ctx, serverURL, opts...)
	if err != nil {
		return nil, err
	}
	if c.Username() == "" {
		c.Close()
		return nil, fmt.Errorf("bot: the JMessage connection must log in (jmessage.WithLogin)")
	}
	t.c = c
	t.self = User{AppKey: c.AppKey(), Username: c.Username()}
	if info, err := c.UserInfo(ctx, c.Username()); err == nil {
		t.self.UID, t.self.Nickname = int64(info.UID), info.Nickname
		t.uids.Store(t.self.UID, t.self.Username)
	} else {
		log.Warn("could not read the bot's own profile", "err", err)
	}
	go t.pump()
	return t, nil
}

// Client returns the underlying client.
func (t *JMessage) Client() *jmessage.Client { return t.c }

// Close closes the connection; Deliveries is closed once the client has
// stopped.
func (t *JMessage) Close() error { return t.c.Close() }

// Self implements Transport.
func (t *JMessage) Self() User { return t.self }

// Deliveries implements Transport.
func (t *JMessage) Deliveries() <-chan Delivery { return t.out }

// pump converts the client's pushes and state changes into deliveries.
func (t *JMessage) pump() {
	defer close(t.out)
	ctx := context.Background()
	in := t.c.Inbound()
	for {
		select {
		case sc := <-t.states:
			t.state(sc)
		case item, ok := <-in:
			if !ok {
				for {
					select {
					case sc := <-t.states:
						t.state(sc)
					default:
						return
					}
				}
			}
			if ev := t.convert(ctx, item); ev != nil {
				t.out <- Delivery{Event: ev, Token: item}
			} else if err := item.Ack(ctx); err != nil {
				t.log.Debug("ack of an ignored item failed", "err", err)
			}
		}
	}
}

func (t *JMessage) state(sc jmessage.StateChange) {
	var k Kind
	switch sc.State {
	case jmessage.StateConnected:
		k = KindConnected
		if sc.Reconnected {
			k = KindReconnected
		}
	case jmessage.StateKicked:
		k = KindKicked
	case jmessage.StatePasswordChanged:
		k = KindPasswordChanged
	default:
		return
	}
	t.out <- Delivery{Event: &Event{Kind: k, Time: time.Now(), Raw: sc}}
}

// convert normalises one pushed item; nil means it is not for the bot.
func (t *JMessage) convert(ctx context.Context, in *jmessage.Inbound) *Event {
	if m := in.Message; m != nil {
		return t.messageEvent(ctx, m)
	}
	return eventOf(in.Event)
}

func (t *JMessage) messageEvent(ctx context.Context, m *jmessage.Message) *Event {
	ct := &m.Content
	ev := &Event{Kind: KindMessage, ID: "m:" + m.ID.String(), Time: m.Time, Raw: m}
	sender := User{AppKey: ct.FromAppKey, Username: ct.FromID, UID: int64(m.FromUID), Nickname: ct.FromName}
	if sender.AppKey == "" {
		sender.AppKey = t.self.AppKey
	}
	if !t.verify(ctx, sender) {
		t.log.Warn("message whose from_id does not match its sender's uid; treating the sender as unknown",
			"msg_id", m.ID, "from_id", ct.FromID, "from_uid", m.FromUID)
		sender = User{UID: int64(m.FromUID)}
	}
	ev.Sender = sender
	if m.ConvType == jmessage.ConvGroup {
		ev.Chat = Chat{Group: int64(m.GroupID)}
	} else {
		ev.Chat = Chat{Peer: sender}
	}
	msg := &Message{ID: int64(m.ID), Type: ct.MsgType, Content: ct}
	if m.Err == nil {
		if body, err := ct.Body(); err == nil {
			msg.Body = body
			switch b := body.(type) {
			case jmessage.TextBody:
				ev.Text, msg.Extras = b.Text, b.Extras
			case jmessage.ImageBody:
				msg.Extras = b.Extras
			case jmessage.FileBody:
				msg.Extras = b.Extras
			case jmessage.VoiceBody:
				msg.Extras = b.Extras
			case jmessage.LocationBody:
				msg.Extras = b.Extras
			case jmessage.VideoBody:
				msg.Extras = b.Extras
			}
		}
	}
	ev.Message = msg
	return ev
}

// verify checks that the username a message claims (content.from_id)
// belongs to the uid the server stamped on it, so a forged from_id cannot
// borrow an admin's identity. Answers are cached per uid.
func (t *JMessage) verify(ctx context.Context, u User) bool {
	if u.UID == 0 || u.Username == "" {
		return u.Username != ""
	}
	if name, ok := t.uids.Load(u.UID); ok {
		return name.(string) == u.Username
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var info *jmessage.UserInfo
	var err error
	if u.AppKey == t.self.AppKey {
		info, err = t.c.UserInfo(ctx, u.Username)
	} else {
		info, err = t.c.AcrossUserInfo(ctx, u.AppKey, u.Username)
	}
	if err != nil {
		// Cannot check now (connection trouble): accept, do not cache.
		t.log.Debug("cannot verify a sender", "user", u.String(), "err", err)
		return true
	}
	if int64(info.UID) != u.UID {
		return false
	}
	t.uids.Store(u.UID, u.Username)
	return true
}

// eventOf normalises an event notification.
func eventOf(n *jmessage.EventNotification) *Event {
	ev := &Event{ID: "e:" + strconv.FormatInt(int64(n.EventID), 10), Raw: n, GroupName: n.GroupName}
	switch {
	case n.CTimeMs != 0:
		ev.Time = time.UnixMilli(n.CTimeMs)
	case n.CTime != 0:
		ev.Time = time.Unix(n.CTime, 0)
	default:
		ev.Time = time.Now()
	}
	actor := User{AppKey: n.FromAppKey, Username: n.FromUsername, UID: int64(n.FromUID), Nickname: n.FromNickname}
	members := make([]User, 0, len(n.ToUsernames))
	for i, r := range n.ToUsernames {
		u := User{AppKey: r.AppKey, Username: r.Username}
		if i < len(n.ToUIDList) {
			u.UID = int64(n.ToUIDList[i])
		}
		members = append(members, u)
	}
	group := Chat{Group: int64(n.GID)}
	switch n.EventType {
	case jmessage.EventTypeGroupCreated:
		ev.Kind, ev.Chat, ev.Sender, ev.Members = KindGroupCreated, group, actor, members
	case jmessage.EventTypeGroupMemberExited:
		ev.Kind, ev.Chat, ev.Sender, ev.Members = KindMemberExited, group, actor, members
		if len(ev.Members) == 0 && !actor.IsZero() {
			ev.Members = []User{actor}
		}
	case jmessage.EventTypeGroupMemberAdded:
		ev.Kind, ev.Chat, ev.Sender, ev.Members = KindMemberAdded, group, actor, members
	case jmessage.EventTypeGroupMemberRemoved:
		ev.Kind, ev.Chat, ev.Sender, ev.Members = KindMemberRemoved, group, actor, members
	case jmessage.EventTypeGroupInfoUpdated:
		ev.Kind, ev.Chat, ev.Sender = KindGroupUpdated, group, actor
	default:
		ev.Kind, ev.Sender, ev.Members = KindOther, actor, members
	}
	return ev
}

// Ack implements Transport.
func (t *JMessage) Ack(ctx context.Context, tokens []any) error {
	items := make([]*jmessage.Inbound, 0, len(tokens))
	for _, tok := range tokens {
		if in, ok := tok.(*jmessage.Inbound); ok {
			items = append(items, in)
		}
	}
	if len(items) == 0 {
		return nil
	}
	return t.c.Ack(ctx, items...)
}

// Send implements Transport.
func (t *JMessage) Send(ctx context.Context, to Chat, body jmessage.Body) (int64, error) {
	var sent *jmessage.Sent
	var err error
	switch {
	case to.IsGroup():
		sent, err = t.c.SendGroup(ctx, jmessage.ID(to.Group), body)
	case to.Peer.AppKey == "" || to.Peer.AppKey == t.self.AppKey:
		sent, err = t.c.SendSingle(ctx, to.Peer.Username, body)
	default:
		sent, err = t.c.SendAcrossSingle(ctx, to.Peer.AppKey, to.Peer.Username, body)
	}
	if err != nil {
		return 0, err
	}
	return int64(sent.MsgID), nil
}

func (t *JMessage) refs(users []User) (names []string, refs []jmessage.UserRef, sameApp bool) {
	sameApp = true
	for _, u := range users {
		app := u.AppKey
		if app == "" {
			app = t.self.AppKey
		}
		sameApp = sameApp && app == t.self.AppKey
		names = append(names, u.Username)
		refs = append(refs, jmessage.UserRef{Username: u.Username, AppKey: app})
	}
	return
}

// AddMembers implements GroupAdmin.
func (t *JMessage) AddMembers(ctx context.Context, gid int64, users []User) error {
	names, refs, same := t.refs(users)
	if same {
		return t.c.AddGroupMembers(ctx, jmessage.ID(gid), names...)
	}
	return t.c.AddAcrossGroupMembers(ctx, jmessage.ID(gid), refs...)
}

// RemoveMembers implements GroupAdmin.
func (t *JMessage) RemoveMembers(ctx context.Context, gid int64, users []User) error {
	names, refs, same := t.refs(users)
	if same {
		return t.c.RemoveGroupMembers(ctx, jmessage.ID(gid), names...)
	}
	return t.c.RemoveAcrossGroupMembers(ctx, jmessage.ID(gid), refs...)
}

// GroupInfo implements GroupAdmin.
func (t *JMessage) GroupInfo(ctx context.Context, gid int64) (jmessage.GroupInfo, error) {
	gi, err := t.c.GroupInfo(ctx, jmessage.ID(gid))
	if err != nil {
		return jmessage.GroupInfo{}, err
	}
	return *gi, nil
}

// GroupMembers implements GroupAdmin.
func (t *JMessage) GroupMembers(ctx context.Context, gid int64) ([]jmessage.GroupMember, error) {
	return t.c.GroupMembers(ctx, jmessage.ID(gid))
}

// BlacklistAdd implements BlacklistAdmin.
func (t *JMessage) BlacklistAdd(ctx context.Context, users []User) error {
	_, refs, _ := t.refs(users)
	return t.c.AddBlackList(ctx, refs...)
}

// BlacklistRemove implements BlacklistAdmin.
func (t *JMessage) BlacklistRemove(ctx context.Context, users []User) error {
	_, refs, _ := t.refs(users)
	return t.c.DeleteBlackList(ctx, refs...)
}

// Blacklist implements BlacklistAdmin.
func (t *JMessage) Blacklist(ctx context.Context) ([]User, error) {
	list, err := t.c.BlackList(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]User, len(list))
	for i, u := range list {
		out[i] = User{AppKey: u.AppKey, Username: u.Username, UID: int64(u.UID), Nickname: u.Nickname}
	}
	return out, nil
}

// NoDisturb implements NoDisturbAdmin.
func (t *JMessage) NoDisturb(ctx context.Context) (*jmessage.NoDisturbInfo, error) {
	return t.c.NoDisturb(ctx)
}

// SetNoDisturb implements NoDisturbAdmin.
func (t *JMessage) SetNoDisturb(ctx context.Context, target NoDisturbTarget, on bool) error {
	switch {
	case target.Global && on:
		return t.c.AddGlobalNoDisturb(ctx)
	case target.Global:
		return t.c.DeleteGlobalNoDisturb(ctx)
	case target.Group != 0 && on:
		return t.c.AddGroupNoDisturb(ctx, jmessage.ID(target.Group))
	case target.Group != 0:
		return t.c.DeleteGroupNoDisturb(ctx, jmessage.ID(target.Group))
	case on:
		return t.c.AddSingleNoDisturb(ctx, target.User.Username, target.User.AppKey)
	default:
		return t.c.DeleteSingleNoDisturb(ctx, target.User.Username, target.User.AppKey)
	}
}

// UserInfo implements UserDirectory.
func (t *JMessage) UserInfo(ctx context.Context, u User) (jmessage.UserInfo, error) {
	var info *jmessage.UserInfo
	var err error
	if u.AppKey == "" || u.AppKey == t.self.AppKey {
		info, err = t.c.UserInfo(ctx, u.Username)
	} else {
		info, err = t.c.AcrossUserInfo(ctx, u.AppKey, u.Username)
	}
	if err != nil {
		return jmessage.UserInfo{}, err
	}
	return *info, nil
}

// Interface guards.
var (
	_ Transport      = (*JMessage)(nil)
	_ GroupAdmin     = (*JMessage)(nil)
	_ BlacklistAdmin = (*JMessage)(nil)
	_ NoDisturbAdmin = (*JMessage)(nil)
	_ UserDirectory  = (*JMessage)(nil)
)
