package bot

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/jimbot/jimbot/storage"
)

// Switchboard turns plugins and single commands on and off per chat, at
// runtime. Changes are persisted (namespace "jimbot:switchboard") and
// outrank the config's per-chat settings, which outrank each plugin's
// default (on, unless PluginInfo.DefaultOff). Essential plugins cannot be
// switched off.
type Switchboard struct {
	b     *Bot
	mu    sync.Mutex
	state atomic.Pointer[switchState]
	ns    storage.Namespace
	db    bool
	// config holds the per-chat settings from the config file.
	config map[string]map[string]bool
	// runtime holds the persisted changes made in chat.
	runtime map[string]map[string]bool
}

// switchState is an immutable snapshot read on the hot path.
type switchState struct {
	chats map[ChatKey]map[string]bool
}

// Switch keys: "plugin:<id>" and "command:<name>".
func pluginKey(id string) string    { return "plugin:" + id }
func commandKey(name string) string { return "command:" + name }

func newSwitchboard(b *Bot) *Switchboard {
	s := &Switchboard{b: b, config: map[string]map[string]bool{}, runtime: map[string]map[string]bool{}}
	if b.db != nil {
		s.ns, s.db = b.db.Namespace("jimbot:switchboard"), true
	}
	s.state.Store(&switchState{})
	return s
}

// load reads the persisted changes.
func (s *Switchboard) load() error {
	if !s.db {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	err := s.ns.ForEach("", func(chat string, v []byte) error {
		var m map[string]bool
		if err := json.Unmarshal(v, &m); err != nil {
			return fmt.Errorf("switchboard %s: %w", chat, err)
		}
		s.runtime[chat] = m
		return nil
	})
	if err != nil {
		return err
	}
	s.publishLocked()
	return nil
}

// configure sets the config file's per-chat settings: chat (a
// Chat.String() such as "group:42") → "plugin:id"/"command:name" → on.
func (s *Switchboard) configure(cfg map[string]map[string]bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.config = cfg
	s.publishLocked()
}

func (s *Switchboard) publishLocked() {
	st := &switchState{chats: map[ChatKey]map[string]bool{}}
	merge := func(src map[string]map[string]bool) {
		for chat, m := range src {
			k, ok := parseChatKey(chat)
			if !ok {
				continue
			}
			dst := st.chats[k]
			if dst == nil {
				dst = map[string]bool{}
				st.chats[k] = dst
			}
			for key, on := range m {
				dst[key] = on
			}
		}
	}
	merge(s.config)
	merge(s.runtime)
	s.state.Store(st)
}

// parseChatKey parses "group:<gid>" and "user:<appkey>/<username>".
func parseChatKey(s string) (ChatKey, bool) {
	if g, ok := strings.CutPrefix(s, "group:"); ok {
		var gid int64
		if _, err := fmt.Sscan(g, &gid); err != nil || gid == 0 {
			return ChatKey{}, false
		}
		return ChatKey{Group: gid}, true
	}
	if u, ok := strings.CutPrefix(s, "user:"); ok {
		app, name, ok := strings.Cut(u, "/")
		return ChatKey{AppKey: app, Username: name}, ok && name != ""
	}
	return ChatKey{}, false
}

// pluginOn reports whether p is on in chat k.
func (s *Switchboard) pluginOn(p *pluginState, k ChatKey) bool {
	if p.info.Essential {
		return true
	}
	if st := s.state.Load(); len(st.chats) > 0 {
		if m := st.chats[k]; m != nil {
			if on, ok := m[p.switchKey]; ok {
				return on
			}
		}
	}
	return !p.info.DefaultOff
}

// commandOn reports whether command c is on in chat k (its plugin aside).
func (s *Switchboard) commandOn(c *command, k ChatKey) bool {
	if st := s.state.Load(); len(st.chats) > 0 {
		if m := st.chats[k]; m != nil {
			if on, ok := m[c.switchKey]; ok {
				return on
			}
		}
	}
	return true
}

// PluginEnabled reports whether plugin id is on in chat.
func (s *Switchboard) PluginEnabled(id string, chat Chat) bool {
	p := s.b.pluginByID(id)
	return p != nil && s.pluginOn(p, chat.Key())
}

// CommandEnabled reports whether the command (by name or alias) and its
// plugin are on in chat.
func (s *Switchboard) CommandEnabled(name string, chat Chat) bool {
	c := s.b.command(name)
	return c != nil && s.commandOn(c, chat.Key()) && s.pluginOn(c.plugin, chat.Key())
}

// SetPlugin switches plugin id on or off in chat and persists it.
func (s *Switchboard) SetPlugin(chat Chat, id string, on bool) error {
	p := s.b.pluginByID(id)
	if p == nil {
		return fmt.Errorf("no plugin %q", id)
	}
	if p.info.Essential && !on {
		return fmt.Errorf("plugin %s cannot be switched off", id)
	}
	return s.set(chat, pluginKey(id), on)
}

// SetCommand switches one command on or off in chat and persists it.
func (s *Switchboard) SetCommand(chat Chat, name string, on bool) error {
	c := s.b.command(name)
	if c == nil {
		return fmt.Errorf("no command %q", name)
	}
	if c.plugin.info.Essential && !on {
		return fmt.Errorf("command %s belongs to plugin %s, which cannot be switched off", name, c.plugin.id)
	}
	return s.set(chat, commandKey(c.spec.Name), on)
}

func (s *Switchboard) set(chat Chat, key string, on bool) error {
	if chat.IsZero() {
		return fmt.Errorf("switchboard: no chat")
	}
	name := chat.String()
	s.mu.Lock()
	defer s.mu.Unlock()
	m := map[string]bool{}
	for k, v := range s.runtime[name] {
		m[k] = v
	}
	m[key] = on
	if s.db {
		b, _ := json.Marshal(m)
		if err := s.ns.Put(name, b); err != nil {
			return err
		}
	}
	s.runtime[name] = m
	s.publishLocked()
	return nil
}

// Setting is one explicit switch in a chat.
type Setting struct {
	Key    string // "plugin:<id>" or "command:<name>"
	On     bool
	Source string // "chat" or "config"
}

// Settings lists the explicit switches of chat, sorted by key.
func (s *Switchboard) Settings(chat Chat) []Setting {
	s.mu.Lock()
	defer s.mu.Unlock()
	name := chat.String()
	seen := map[string]Setting{}
	for k, v := range s.config[name] {
		seen[k] = Setting{Key: k, On: v, Source: "config"}
	}
	for k, v := range s.runtime[name] {
		seen[k] = Setting{Key: k, On: v, Source: "chat"}
	}
	out := make([]Setting, 0, len(seen))
	for _, v := range seen {
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// command looks a command up by name or alias in the current router.
func (b *Bot) command(name string) *command {
	rt := b.rt.Load()
	if rt == nil {
		return nil
	}
	return rt.commands[strings.ToLower(name)]
}
