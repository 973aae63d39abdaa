package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/jimbot/jimbot/jmessage"
	"github.com/jimbot/jimbot/storage"
)

// Context is what a handler gets: the event, a context.Context (it is
// one: cancellation and the per-handler deadline), and the bot's actions.
//
// A Context is valid only until the handler returns: the bot reuses it for
// the next event. Do not keep it, or use it from another goroutine after
// returning; copy what you need (the Event is not reused).
//
// Actions that change something (sending, removing members, blacklisting)
// are queued in the event's outbox and go to the send governor once the
// event is fully handled and recorded, so a crash never loses them and a
// redelivered event never repeats them. They return an error only when the
// action is invalid.
type Context struct {
	// Event is the event being handled.
	Event *Event

	bot      *Bot
	parent   context.Context
	start    time.Time
	deadline time.Time
	derived  context.Context
	cancel   context.CancelFunc

	plugin  *pluginState
	cmd     *command
	rt      *router  // the routing table the event started with
	exec    Executor // the executor the event runs on; nil on a worker
	depth   int      // middleware frames on the stack
	task    task
	chatQ   *chatQueue // the chat's queue in the dispatcher
	pending *workSlot  // the worker's batch handled before this event
	// resumeFn is c.resume, bound once per pooled Context: handing an
	// event to an executor allocates nothing.
	resumeFn func()
	hop      hop // where the event resumes on the executor
	args     Args
	match    []string
	stopped  bool
	lane     Lane
	outbox   []*Op
	tr       *traceEntry
	reached  int
	matched  bool

	role      Role
	roleKnown bool
	// activeP is a plugin found active for this event (see Bot.active).
	activeP *pluginState
	log     *slog.Logger

	// Units of events handed to an executor together (see unit.go).
	unitHead  *Context // the unit's first event
	unitNext  *Context // the unit's next event
	unitRest  *Context // the events after this one, not run: it left mid-unit
	unitState int32    // atomic: unitIdle, unitRunning, ...
	unitFn    func()   // c.runUnit, bound once like resumeFn
	// deferHandOver is set while a worker runs c's chain: a hand-over to
	// an executor then only records where c goes (c.hop), and the worker
	// hands c over with the chat's next events, as a unit.
	deferHandOver bool
	// noMigrate runs every step where c is: its executor refused it.
	noMigrate bool
}

// reset prepares a pooled Context for ev.
func (c *Context) reset(b *Bot, parent context.Context, ev *Event) {
	*c = Context{Event: ev, bot: b, parent: parent, lane: LaneReply, outbox: c.outbox[:0], args: Args{raw: c.args.raw[:0]}, tr: c.tr, resumeFn: c.resumeFn, unitFn: c.unitFn}
	if ev.Kind == KindTick {
		c.lane = LaneAnnouncement
	}
}

// release cancels the derived context, if one was made.
func (c *Context) release() {
	if c.cancel != nil {
		c.cancel()
	}
}

// Deadline returns the handler's deadline (Options.HandlerTimeout after the
// event started), or the parent's if that is earlier.
func (c *Context) Deadline() (time.Time, bool) {
	d, ok := c.parent.Deadline()
	if !c.deadline.IsZero() && (!ok || c.deadline.Before(d)) {
		return c.deadline, true
	}
	return d, ok
}

// ctx returns the context.Context with the handler's deadline, creating it
// on first use: handlers that never look at it pay nothing.
func (c *Context) ctx() context.Context {
	if c.derived == nil {
		if c.deadline.IsZero() {
			c.derived = c.parent
		} else {
			c.derived, c.cancel = context.WithDeadline(c.parent, c.deadline)
		}
	}
	return c.derived
}

// Done is closed when the handler should give up.
func (c *Context) Done() <-chan struct{} { return c.ctx().Done() }

// Err says why Done is closed.
func (c *Context) Err() error { return c.ctx().Err() }

// Value returns the value of the parent context for key.
func (c *Context) Value(key any) any { return c.parent.Value(key) }

// Self returns the bot's own user.
func (c *Context) Self() User { return c.bot.self }

// Plugin returns the ID of the plugin whose handler is running.
func (c *Context) Plugin() string {
	if c.plugin == nil {
		return ""
	}
	return c.plugin.id
}

// Args returns the parsed arguments of a command.
func (c *Context) Args() *Args { return &c.args }

// Match returns the submatches of the hear pattern that matched (index 0
// is the whole match), or nil.
func (c *Context) Match() []string { return c.match }

// OnExecutor reports whether the event runs on e's goroutine right now
// (see Executor): a plugin with its own goroutine then runs its step
// directly instead of handing it over.
func (c *Context) OnExecutor(e Executor) bool { return c.exec != nil && c.exec == e }

// Stop stops propagation: no later handler sees the event.
func (c *Context) Stop() { c.stopped = true }

// Stopped reports whether Stop was called.
func (c *Context) Stopped() bool { return c.stopped }

// Logger returns the plugin's logger, with the event's kind, id and chat.
func (c *Context) Logger() *slog.Logger {
	if c.log == nil {
		base := c.bot.log
		if c.plugin != nil {
			base = c.plugin.log
		}
		c.log = base.With("event", c.Event.Kind.String(), "id", c.Event.ID, "chat", c.Event.Chat.String())
	}
	return c.log
}

// Store returns the plugin's persistent namespace. It is the zero
// Namespace (every call fails) when the bot has no store.
func (c *Context) Store() storage.Namespace {
	if c.plugin == nil || c.bot.db == nil {
		return storage.Namespace{}
	}
	return c.bot.db.Namespace("plugin:" + c.plugin.id)
}

// GroupStore returns the plugin's namespace for the event's group (or
// 1:1 peer).
func (c *Context) GroupStore() storage.Namespace {
	ns := c.Store()
	if c.bot.db == nil {
		return ns
	}
	if c.Event.Chat.IsGroup() {
		return ns.Sub("group:" + strconv.FormatInt(c.Event.Chat.Group, 10))
	}
	return ns.Sub("user:" + c.Event.Chat.Peer.String())
}

// Role returns the sender's role in the event's group: RoleOwner for the
// group owner, RoleAdmin for the admins named in config (in every chat),
// RoleMember otherwise. It may ask the server who owns the group (the
// answer is cached).
func (c *Context) Role() Role {
	if !c.roleKnown {
		c.role = c.bot.roleOf(c.ctx(), c.Event.Sender, c.Event.Chat)
		c.roleKnown = true
	}
	return c.role
}

// errEmptyText is returned by sends of empty text.
var errEmptyText = errors.New("bot: empty text")

// Reply sends text to the event's chat (the group, or the 1:1 peer).
func (c *Context) Reply(text string) error {
	return c.Send(c.Event.Chat, jmessage.Text(text))
}

// Replyf is Reply with fmt formatting.
func (c *Context) Replyf(format string, args ...any) error {
	return c.Reply(fmt.Sprintf(format, args...))
}

// Send queues body for to: a group (Chat{Group: gid}) or a user
// (Chat{Peer: user}).
func (c *Context) Send(to Chat, body jmessage.Body) error {
	if to.IsZero() {
		return errors.New("bot: send needs a group or a user")
	}
	if t, ok := body.(jmessage.TextBody); ok && t.Text == "" {
		return errEmptyText
	}
	if body == nil {
		return errors.New("bot: nil message body")
	}
	c.queue(&Op{Kind: OpSend, To: to, Body: body})
	return nil
}

// SendUser queues a text for a user of the bot's app.
func (c *Context) SendUser(username, text string) error {
	return c.Send(Chat{Peer: User{AppKey: c.bot.self.AppKey, Username: username}}, jmessage.Text(text))
}

// SendGroup queues a text for a group.
func (c *Context) SendGroup(gid int64, text string) error {
	return c.Send(Chat{Group: gid}, jmessage.Text(text))
}

// SendCustom queues a custom message (any JSON object) for to.
func (c *Context) SendCustom(to Chat, fields map[string]any) error {
	return c.Send(to, jmessage.Custom(fields))
}

// Kick removes users from the event's group (moderation lane).
func (c *Context) Kick(users ...User) error {
	if !c.Event.Chat.IsGroup() {
		return errors.New("bot: kick outside a group")
	}
	return c.RemoveMembers(c.Event.Chat.Group, users...)
}

// RemoveMembers removes users from a group (moderation lane).
func (c *Context) RemoveMembers(gid int64, users ...User) error {
	if gid == 0 || len(users) == 0 {
		return errors.New("bot: remove members needs a group and users")
	}
	c.queue(&Op{Kind: OpRemoveMembers, To: Chat{Group: gid}, Users: c.withApp(users), Lane: LaneModeration})
	return nil
}

// AddMembers adds users to a group.
func (c *Context) AddMembers(gid int64, users ...User) error {
	if gid == 0 || len(users) == 0 {
		return errors.New("bot: add members needs a group and users")
	}
	c.queue(&Op{Kind: OpAddMembers, To: Chat{Group: gid}, Users: c.withApp(users), Lane: LaneModeration})
	return nil
}

// BlacklistAdd blacklists users: their 1:1 messages to the bot are refused.
func (c *Context) BlacklistAdd(users ...User) error {
	if len(users) == 0 {
		return errors.New("bot: blacklist needs users")
	}
	c.queue(&Op{Kind: OpBlacklistAdd, Users: c.withApp(users), Lane: LaneModeration})
	return nil
}

// BlacklistRemove takes users off the blacklist.
func (c *Context) BlacklistRemove(users ...User) error {
	if len(users) == 0 {
		return errors.New("bot: blacklist needs users")
	}
	c.queue(&Op{Kind: OpBlacklistRemove, Users: c.withApp(users), Lane: LaneModeration})
	return nil
}

// Blacklist returns the bot's blacklist (asks the server now).
func (c *Context) Blacklist() ([]User, error) {
	if ba, ok := c.bot.transport.(BlacklistAdmin); ok {
		return ba.Blacklist(c.ctx())
	}
	return nil, ErrNotSupported
}

// GroupInfo asks the server for a group's info.
func (c *Context) GroupInfo(gid int64) (jmessage.GroupInfo, error) {
	if ga, ok := c.bot.transport.(GroupAdmin); ok {
		return ga.GroupInfo(c.ctx(), gid)
	}
	return jmessage.GroupInfo{}, ErrNotSupported
}

// GroupMembers asks the server for a group's members (owner first).
func (c *Context) GroupMembers(gid int64) ([]jmessage.GroupMember, error) {
	if ga, ok := c.bot.transport.(GroupAdmin); ok {
		return ga.GroupMembers(c.ctx(), gid)
	}
	return nil, ErrNotSupported
}

// UserInfo asks the server for a user's profile.
func (c *Context) UserInfo(u User) (jmessage.UserInfo, error) {
	if ud, ok := c.bot.transport.(UserDirectory); ok {
		return ud.UserInfo(c.ctx(), c.withApp([]User{u})[0])
	}
	return jmessage.UserInfo{}, ErrNotSupported
}

// NoDisturb returns the bot's no-disturb settings.
func (c *Context) NoDisturb() (*jmessage.NoDisturbInfo, error) {
	if nd, ok := c.bot.transport.(NoDisturbAdmin); ok {
		return nd.NoDisturb(c.ctx())
	}
	return nil, ErrNotSupported
}

// SetNoDisturb turns no-disturb on or off for a user, a group or globally.
func (c *Context) SetNoDisturb(target NoDisturbTarget, on bool) error {
	if nd, ok := c.bot.transport.(NoDisturbAdmin); ok {
		return nd.SetNoDisturb(c.ctx(), target, on)
	}
	return ErrNotSupported
}

// withApp fills in the bot's appkey where users lack one.
func (c *Context) withApp(users []User) []User {
	out := make([]User, len(users))
	for i, u := range users {
		if u.AppKey == "" {
			u.AppKey = c.bot.self.AppKey
		}
		out[i] = u
	}
	return out
}

func (c *Context) queue(op *Op) {
	if op.Lane == 0 {
		op.Lane = c.lane
	}
	if c.plugin != nil {
		op.Plugin = c.plugin.id
	}
	c.outbox = append(c.outbox, op)
}
