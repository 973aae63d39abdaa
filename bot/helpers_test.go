package bot_test

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/jimbot/jimbot/bot"
	"github.com/jimbot/jimbot/bot/clock"
	"github.com/jimbot/jimbot/jmessage"
)

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// sent is one action a memTransport carried out.
type sent struct {
	To   bot.Chat
	Text string
	At   time.Time
	Kind string
}

// memTransport is a Transport for unit tests of the runtime: deliveries
// come from the test, actions are recorded, and failures can be injected.
type memTransport struct {
	in    chan bot.Delivery
	clock clock.Clock

	mu      sync.Mutex
	sent    []sent
	acked   []any
	fail    func(text string) error
	members map[int64][]jmessage.GroupMember
	notify  chan struct{}
}

func newMemTransport(c clock.Clock) *memTransport {
	if c == nil {
		c = clock.Real
	}
	return &memTransport{in: make(chan bot.Delivery, 1024), clock: c, notify: make(chan struct{}, 1024), members: map[int64][]jmessage.GroupMember{}}
}

func (m *memTransport) Self() bot.User                  { return bot.User{AppKey: "app", Username: "jimbot"} }
func (m *memTransport) Deliveries() <-chan bot.Delivery { return m.in }

func (m *memTransport) Ack(_ context.Context, tokens []any) error {
	m.mu.Lock()
	m.acked = append(m.acked, tokens...)
	m.mu.Unlock()
	return nil
}

func (m *memTransport) Send(_ context.Context, to bot.Chat, body jmessage.Body) (int64, error) {
	text := ""
	if t, ok := body.(jmessage.TextBody); ok {
		text = t.Text
	}
	m.mu.Lock()
	fail := m.fail
	m.mu.Unlock()
	if fail != nil {
		if err := fail(text); err != nil {
			return 0, err
		}
	}
	m.record(sent{To: to, Text: text, At: m.clock.Now(), Kind: "send"})
	return 1, nil
}

func (m *memTransport) record(s sent) {
	m.mu.Lock()
	m.sent = append(m.sent, s)
	m.mu.Unlock()
	m.notify <- struct{}{}
}

func (m *memTransport) AddMembers(_ context.Context, gid int64, users []bot.User) error {
	for _, u := range users {
		m.record(sent{To: bot.Chat{Group: gid}, Text: u.Username, At: m.clock.Now(), Kind: "add"})
	}
	return nil
}

func (m *memTransport) RemoveMembers(_ context.Context, gid int64, users []bot.User) error {
	for _, u := range users {
		m.record(sent{To: bot.Chat{Group: gid}, Text: u.Username, At: m.clock.Now(), Kind: "remove"})
	}
	return nil
}

func (m *memTransport) GroupInfo(context.Context, int64) (jmessage.GroupInfo, error) {
	return jmessage.GroupInfo{}, nil
}

func (m *memTransport) GroupMembers(_ context.Context, gid int64) ([]jmessage.GroupMember, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.members[gid], nil
}

func (m *memTransport) sends() []sent {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]sent(nil), m.sent...)
}

// waitSends waits until n actions were carried out.
func (m *memTransport) waitSends(t *testing.T, n int) []sent {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		if s := m.sends(); len(s) >= n {
			return s
		}
		select {
		case <-m.notify:
		case <-deadline:
			t.Fatalf("want %d sends, got %v", n, m.sends())
		}
	}
}

// deliver pushes a text message from user in group (0: 1:1).
func (m *memTransport) deliver(id string, group int64, user, text string) {
	u := bot.User{AppKey: "app", Username: user}
	chat := bot.Chat{Group: group}
	if group == 0 {
		chat = bot.Chat{Peer: u}
	}
	ev := &bot.Event{Kind: bot.KindMessage, ID: id, Chat: chat, Sender: u, Text: text}
	m.in <- bot.Delivery{Event: ev, Token: id}
}

// newTestBot builds and starts a bot over a memTransport.
func newTestBot(t *testing.T, opts bot.Options, plugins ...bot.Plugin) (*bot.Bot, *memTransport) {
	t.Helper()
	tr, _ := opts.Transport.(*memTransport)
	if tr == nil {
		tr = newMemTransport(opts.Clock)
		opts.Transport = tr
	}
	if opts.Logger == nil {
		opts.Logger = discard()
	}
	if opts.Send.RatePerMinute == 0 {
		opts.Send.RatePerMinute = -1
	}
	b, err := bot.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range plugins {
		if err := b.AddPlugin(p, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		b.Stop(ctx)
	})
	return b, tr
}

// funcPlugin is a plugin made of a provision function.
type funcPlugin struct {
	info bot.PluginInfo
	prov func(env *bot.Env) error
}

func (f *funcPlugin) Info() bot.PluginInfo         { return f.info }
func (f *funcPlugin) Provision(env *bot.Env) error { return f.prov(env) }

func plugin(id string, prov func(env *bot.Env) error) *funcPlugin {
	return &funcPlugin{info: bot.PluginInfo{ID: id}, prov: prov}
}

// queued returns the number of deliveries the bot has not taken yet.
func (m *memTransport) queued() int { return len(m.in) }
