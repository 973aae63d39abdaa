// Package bottest is jimbot's test kit for plugin authors. It runs the
// real thing in-process: a JMessage-compatible server on loopback, a bot
// logged in to it with the plugins under test, virtual users who chat
// through real clients, and a fake clock.
//
//	k := bottest.New(t, bottest.Plugins(myplugin.New()))
//	alice := k.User("alice")
//	g := k.Group("team", "alice", "bobby") // alice owns it; the bot is a member
//	alice.SayIn(g, "/roll 2d6")          // returns once the bot has handled it
//	alice.ExpectIn(g, `^\d+$`)          // the bot's reply, as alice sees it
//	k.Advance(10 * time.Minute)         // move the fake clock
//	k.ExpectRemoved(g, "bobby")         // a moderation action took effect
package bottest

import (
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/jimbot/jimbot/bot"
	"github.com/jimbot/jimbot/bot/clock"
	"github.com/jimbot/jimbot/jmessage"
	"github.com/jimbot/jimbot/jmessage/jmserver"
	"github.com/jimbot/jimbot/jmessage/jmtest"
	"github.com/jimbot/jimbot/storage"
)

// Wait is how long expectations wait before failing.
var Wait = 5 * time.Second

// BotName is the bot's username on the test server.
const BotName = "jimbot"

// Option configures a Kit.
type Option func(*config)

type config struct {
	plugins  []pluginWithSettings
	botOpts  []func(*bot.Options)
	srvOpts  []func(*jmserver.Options)
	start    time.Time
	admins   []string
	noStart  bool
	storeDir string
}

type pluginWithSettings struct {
	p bot.Plugin
	s bot.Settings
}

// Plugins adds plugins under test.
func Plugins(ps ...bot.Plugin) Option {
	return func(c *config) {
		for _, p := range ps {
			c.plugins = append(c.plugins, pluginWithSettings{p: p})
		}
	}
}

// PluginWithSettings adds one plugin with its settings.
func PluginWithSettings(p bot.Plugin, s bot.Settings) Option {
	return func(c *config) { c.plugins = append(c.plugins, pluginWithSettings{p, s}) }
}

// Admins names the bot's admins (usernames).
func Admins(names ...string) Option { return func(c *config) { c.admins = append(c.admins, names...) } }

// BotOptions adjusts the bot's options (after the kit's defaults).
func BotOptions(f func(*bot.Options)) Option {
	return func(c *config) { c.botOpts = append(c.botOpts, f) }
}

// ServerOptions adjusts the test server's options.
func ServerOptions(f func(*jmserver.Options)) Option {
	return func(c *config) { c.srvOpts = append(c.srvOpts, f) }
}

// StartAt sets the fake clock's start time (default 2026-01-05 09:00 UTC,
// a Monday).
func StartAt(t time.Time) Option { return func(c *config) { c.start = t } }

// NoStart leaves the bot unstarted: add more with k.Bot, then k.Start.
func NoStart() Option { return func(c *config) { c.noStart = true } }

// Kit is a running test setup.
type Kit struct {
	T      testing.TB
	Server *jmtest.Server
	Bot    *bot.Bot
	Clock  *clock.Fake
	// Transport is the bot's connection.
	Transport *bot.JMessage
	// Store is the bot's store (a bbolt file in t.TempDir()).
	Store *storage.DB

	cfg    config
	mu     sync.Mutex
	cond   *sync.Cond
	done   map[string]bool
	users  map[string]*User
	groups map[string]int64
}

// New starts a server, a bot user, and the bot with the given plugins,
// and stops everything at test cleanup.
func New(t testing.TB, opts ...Option) *Kit {
	t.Helper()
	cfg := config{start: time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)}
	for _, o := range opts {
		o(&cfg)
	}
	k := &Kit{T: t, cfg: cfg, done: map[string]bool{}, users: map[string]*User{}, groups: map[string]int64{}}
	k.cond = sync.NewCond(&k.mu)
	k.Clock = clock.NewFake(cfg.start)
	k.Server = jmtest.Start(t, cfg.srvOpts...)
	k.Server.AddUser(t, BotName)
	cfg.storeDir = t.TempDir()
	k.cfg = cfg
	k.newBot()
	if !cfg.noStart {
		k.Start()
	}
	return k
}

// newBot dials the bot's transport and builds the bot (not started).
func (k *Kit) newBot() {
	t := k.T
	t.Helper()
	db, err := storage.Open(filepath.Join(k.cfg.storeDir, "bot.db"), &storage.Options{NoSync: true, Now: k.Clock.Now})
	if err != nil {
		t.Fatalf("bottest: open store: %v", err)
	}
	k.Store = db
	ctx, cancel := context.WithTimeout(context.Background(), Wait)
	defer cancel()
	tr, err := bot.DialJMessage(ctx, k.Server.URL, jmtest.Logger(t),
		jmessage.WithAppKey(k.Server.AppKey, k.Server.Secret),
		jmessage.WithLogin(BotName, jmtest.Password(BotName)),
		jmessage.WithLogger(jmtest.Logger(t)),
		jmessage.WithBackoff(jmessage.Backoff{Min: 10 * time.Millisecond, Max: 100 * time.Millisecond, Factor: 2}))
	if err != nil {
		t.Fatalf("bottest: connect the bot: %v", err)
	}
	k.Transport = tr
	o := bot.Options{
		Transport: tr, Store: db, Logger: jmtest.Logger(t), Clock: k.Clock, Admins: k.cfg.admins,
		Send:     bot.SendOptions{RatePerMinute: -1},
		OnCommit: k.committed,
	}
	for _, f := range k.cfg.botOpts {
		f(&o)
	}
	b, err := bot.New(o)
	if err != nil {
		t.Fatalf("bottest: %v", err)
	}
	for _, p := range k.cfg.plugins {
		if err := b.AddPlugin(p.p, p.s); err != nil {
			t.Fatalf("bottest: %v", err)
		}
	}
	k.Bot = b
}

// Start starts the bot (New does, unless NoStart).
func (k *Kit) Start() {
	k.T.Helper()
	if err := k.Bot.Start(context.Background()); err != nil {
		k.T.Fatalf("bottest: start the bot: %v", err)
	}
	b, tr, db := k.Bot, k.Transport, k.Store
	k.T.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), Wait)
		defer cancel()
		b.Stop(ctx)
		tr.Close()
		db.Close()
	})
}

// Restart stops the bot gracefully and starts a new one on the same store
// with the same plugins (new instances are not made: plugins must support
// being provisioned again, or pass fresh ones with replace).
func (k *Kit) Restart(replace ...bot.Plugin) {
	k.T.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Wait)
	defer cancel()
	if err := k.Bot.Stop(ctx); err != nil {
		k.T.Fatalf("bottest: stop: %v", err)
	}
	k.Transport.Close()
	k.Store.Close()
	if len(replace) > 0 {
		k.cfg.plugins = nil
		for _, p := range replace {
			k.cfg.plugins = append(k.cfg.plugins, pluginWithSettings{p: p})
		}
	}
	k.newBot()
	k.Start()
}

func (k *Kit) committed(ids []string) {
	k.mu.Lock()
	for _, id := range ids {
		k.done[id] = true
	}
	k.mu.Unlock()
	k.cond.Broadcast()
}

// WaitHandled waits until the bot has handled and acknowledged event id
// ("m:<msg_id>").
func (k *Kit) WaitHandled(id string) {
	k.T.Helper()
	deadline := time.Now().Add(Wait)
	stop := time.AfterFunc(Wait, k.cond.Broadcast)
	defer stop.Stop()
	k.mu.Lock()
	defer k.mu.Unlock()
	for !k.done[id] {
		if time.Now().After(deadline) {
			k.T.Fatalf("bottest: the bot did not handle %s within %s", id, Wait)
		}
		k.cond.Wait()
	}
}

// Advance moves the fake clock forward.
func (k *Kit) Advance(d time.Duration) { k.Clock.Advance(d) }

// Now returns the fake clock's time.
func (k *Kit) Now() time.Time { return k.Clock.Now() }

// Self returns the bot's user.
func (k *Kit) Self() bot.User { return k.Bot.Self() }

// User returns the virtual user name, registering and connecting it on
// first use.
func (k *Kit) User(name string) *User {
	k.T.Helper()
	k.mu.Lock()
	u := k.users[name]
	k.mu.Unlock()
	if u != nil {
		return u
	}
	k.Server.AddUser(k.T, name)
	u = &User{k: k, Name: name, Client: k.Server.Dial(k.T, name)}
	u.inbox = make(chan *jmessage.Message, 1024)
	go u.pump()
	k.mu.Lock()
	k.users[name] = u
	k.mu.Unlock()
	return u
}

// Group creates a group owned by owner, with the other members and the
// bot, and returns its gid. The bot's "member added" events are handled
// before it returns.
func (k *Kit) Group(name, owner string, members ...string) int64 {
	k.T.Helper()
	k.User(owner)
	for _, m := range members {
		k.User(m)
	}
	gid, err := k.Server.CreateGroup(k.Server.AppKey, owner, name, "", append(members, BotName)...)
	if err != nil {
		k.T.Fatalf("bottest: create group %s: %v", name, err)
	}
	k.mu.Lock()
	k.groups[name] = gid
	k.mu.Unlock()
	k.Settle()
	return gid
}

// Settle waits until the bot has acknowledged everything the server has
// queued for it.
func (k *Kit) Settle() {
	k.T.Helper()
	deadline := time.Now().Add(Wait)
	for {
		n, err := k.Server.Pending(k.Server.AppKey, BotName)
		if err != nil {
			k.T.Fatal(err)
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			k.T.Fatalf("bottest: the bot still has %d unacknowledged items after %s", n, Wait)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// Members returns the usernames in a group.
func (k *Kit) Members(gid int64) []string {
	k.T.Helper()
	ms, err := k.Server.GroupMembers(gid)
	if err != nil {
		k.T.Fatal(err)
	}
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Username
	}
	return out
}

// ExpectRemoved waits until username is no longer in the group.
func (k *Kit) ExpectRemoved(gid int64, username string) {
	k.T.Helper()
	k.eventually(fmt.Sprintf("%s removed from group %d", username, gid), func() bool {
		for _, m := range k.Members(gid) {
			if m == username {
				return false
			}
		}
		return true
	})
}

// ExpectMember waits until username is in the group.
func (k *Kit) ExpectMember(gid int64, username string) {
	k.T.Helper()
	k.eventually(fmt.Sprintf("%s in group %d", username, gid), func() bool {
		for _, m := range k.Members(gid) {
			if m == username {
				return true
			}
		}
		return false
	})
}

// Blacklist returns the usernames on the bot's blacklist.
func (k *Kit) Blacklist() []string {
	k.T.Helper()
	list, err := k.Transport.Client().BlackList(context.Background())
	if err != nil {
		k.T.Fatal(err)
	}
	out := make([]string, len(list))
	for i, u := range list {
		out[i] = u.Username
	}
	return out
}

// ExpectBlacklisted waits until username is on the bot's blacklist.
func (k *Kit) ExpectBlacklisted(username string) {
	k.T.Helper()
	k.eventually(username+" blacklisted", func() bool {
		for _, n := range k.Blacklist() {
			if n == username {
				return true
			}
		}
		return false
	})
}

func (k *Kit) eventually(what string, cond func() bool) {
	k.T.Helper()
	deadline := time.Now().Add(Wait)
	for !cond() {
		if time.Now().After(deadline) {
			k.T.Fatalf("bottest: expected %s within %s", what, Wait)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// User is a virtual chat user with a real client.
type User struct {
	k      *Kit
	Name   string
	Client *jmessage.Client

	mu    sync.Mutex
	inbox chan *jmessage.Message
	held  []*jmessage.Message
}

// pump takes the user's pushed items: messages go to the inbox, events
// are acknowledged.
func (u *User) pump() {
	for in := range u.Client.Inbound() {
		if in.Message != nil {
			u.inbox <- in.Message
		}
		_ = in.Ack(context.Background())
	}
}

// Say sends text to the bot in a 1:1 chat and waits until the bot has
// handled it.
func (u *User) Say(text string) {
	u.k.T.Helper()
	sent, err := u.Client.SendSingle(context.Background(), BotName, jmessage.Text(text))
	if err != nil {
		u.k.T.Fatalf("bottest: %s says %q: %v", u.Name, text, err)
	}
	u.k.WaitHandled("m:" + sent.MsgID.String())
}

// SayIn sends text to a group and waits until the bot has handled it.
func (u *User) SayIn(gid int64, text string) {
	u.k.T.Helper()
	u.k.WaitHandled("m:" + u.SendIn(gid, text).String())
}

// SendIn sends text to a group without waiting; it returns the msg_id.
func (u *User) SendIn(gid int64, text string) jmessage.ID {
	u.k.T.Helper()
	sent, err := u.Client.SendGroup(context.Background(), jmessage.ID(gid), jmessage.Text(text))
	if err != nil {
		u.k.T.Fatalf("bottest: %s says %q in %d: %v", u.Name, text, gid, err)
	}
	return sent.MsgID
}

// next returns the next message u received that matches keep, waiting up
// to Wait.
func (u *User) next(keep func(*jmessage.Message) bool) (*jmessage.Message, bool) {
	u.mu.Lock()
	for i, m := range u.held {
		if keep(m) {
			u.held = append(u.held[:i], u.held[i+1:]...)
			u.mu.Unlock()
			return m, true
		}
	}
	u.mu.Unlock()
	timeout := time.After(Wait)
	for {
		select {
		case m := <-u.inbox:
			if keep(m) {
				return m, true
			}
			u.mu.Lock()
			u.held = append(u.held, m)
			u.mu.Unlock()
		case <-timeout:
			return nil, false
		}
	}
}

func fromBot(m *jmessage.Message) bool { return m.Content.FromID == BotName }

// Expect waits for a 1:1 message from the bot whose text matches the RE2
// pattern, and returns the text.
func (u *User) Expect(pattern string) string {
	u.k.T.Helper()
	re := regexp.MustCompile(pattern)
	m, ok := u.next(func(m *jmessage.Message) bool {
		return fromBot(m) && m.GroupID == 0 && re.MatchString(m.Content.Text())
	})
	if !ok {
		u.k.T.Fatalf("bottest: %s got no message from the bot matching %q within %s (other messages: %s)", u.Name, pattern, Wait, u.describeHeld())
	}
	return m.Content.Text()
}

// ExpectIn waits for a group message from the bot matching pattern.
func (u *User) ExpectIn(gid int64, pattern string) string {
	u.k.T.Helper()
	re := regexp.MustCompile(pattern)
	m, ok := u.next(func(m *jmessage.Message) bool {
		return fromBot(m) && int64(m.GroupID) == gid && re.MatchString(m.Content.Text())
	})
	if !ok {
		u.k.T.Fatalf("bottest: %s saw no message from the bot in group %d matching %q within %s (other messages: %s)", u.Name, gid, pattern, Wait, u.describeHeld())
	}
	return m.Content.Text()
}

// ExpectNothing checks that the bot sent u nothing (1:1 or in any group)
// within d.
func (u *User) ExpectNothing(d time.Duration) {
	u.k.T.Helper()
	u.mu.Lock()
	for _, m := range u.held {
		if fromBot(m) {
			u.mu.Unlock()
			u.k.T.Fatalf("bottest: %s got %q from the bot, want nothing", u.Name, m.Content.Text())
		}
	}
	u.mu.Unlock()
	timeout := time.After(d)
	for {
		select {
		case m := <-u.inbox:
			if fromBot(m) {
				u.k.T.Fatalf("bottest: %s got %q from the bot, want nothing", u.Name, m.Content.Text())
			}
		case <-timeout:
			return
		}
	}
}

func (u *User) describeHeld() string {
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.held) == 0 {
		return "none"
	}
	s := ""
	for i, m := range u.held {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%s: %q", m.Content.FromID, m.Content.Text())
	}
	return s
}
