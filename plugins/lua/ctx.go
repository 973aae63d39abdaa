package lua

import (
	"encoding/json"

	glua "github.com/yuin/gopher-lua"

	"github.com/jimbot/jimbot/bot"
)

// ctxObject is the ctx table handlers get. There is one per state,
// refilled for every call: text and kind are set up front, the other
// fields are computed on first use (through __index) and cached until the
// call ends. Methods are plain fields. Writing new fields is an error.
type ctxObject struct {
	rt   *runtime
	tbl  *glua.LTable
	lazy uint32     // bits of lazyFields cached in tbl this call
	ev   *bot.Event // the event tbl was filled for
	kind bot.Kind   // ctx.kind as set in tbl

	senderMT *glua.LTable
}

var lazyFields = [...]string{"event_id", "msg_type", "sender", "group", "args", "arg_text", "match", "raw",
	"members", "schedule", "time", "chat", "command"}

var lazyIndex = func() map[string]int {
	m := map[string]int{}
	for i, f := range lazyFields {
		m[f] = i
	}
	return m
}()

// kindValues are the kind names as Lua values, made once.
var kindValues = func() []glua.LValue {
	out := make([]glua.LValue, 32)
	for i := range out {
		out[i] = glua.LString(bot.Kind(i).String())
	}
	return out
}()

func newCtxObject(rt *runtime, L *glua.LState) *ctxObject {
	o := &ctxObject{rt: rt, tbl: L.NewTable()}
	mt := L.NewTable()
	mt.RawSetString("__index", L.NewFunction(o.index))
	mt.RawSetString("__newindex", L.NewFunction(func(L *glua.LState) int {
		L.RaiseError("ctx is read-only (tried to set ctx.%s)", L.ToStringMeta(L.Get(2)).String())
		return 0
	}))
	mt.RawSetString("__metatable", glua.LString("jimbot.ctx"))
	L.SetMetatable(o.tbl, mt)
	for name, fn := range map[string]glua.LGFunction{
		"reply":       o.reply,
		"send_user":   o.sendUser,
		"send_group":  o.sendGroup,
		"send_custom": o.sendCustom,
		"kick":        o.kick,
		"blacklist":   o.blacklist,
		"unblacklist": o.unblacklist,
		"stop":        o.stop,
	} {
		o.tbl.RawSetString(name, L.NewFunction(fn))
	}
	o.senderMT = L.NewTable()
	o.senderMT.RawSetString("__index", L.NewFunction(o.senderIndex))
	return o
}

// callFields are the lazy fields that differ between two calls about the
// same event (the middleware's and a handler's).
var callFields = func() uint32 {
	var m uint32
	for _, f := range []string{"args", "arg_text", "match", "command"} {
		m |= 1 << lazyIndex[f]
	}
	return m
}()

// prepare refills the table for an event. A second call about the same
// event (a handler after the middleware) keeps what does not change.
func (o *ctxObject) prepare(c *bot.Context) {
	ev := c.Event
	clear := o.lazy
	same := ev == o.ev
	if same {
		clear &= callFields
	}
	if clear != 0 {
		for i, f := range lazyFields {
			if clear&(1<<i) != 0 {
				o.tbl.RawSetString(f, glua.LNil)
			}
		}
		o.lazy &^= clear
	}
	if same {
		return
	}
	// Keeping ev alive keeps its address from being reused by another
	// event while o.ev points at it.
	o.ev = ev
	o.tbl.RawSetString("text", glua.LString(ev.Text))
	if ev.Kind != o.kind && int(ev.Kind) < len(kindValues) {
		o.kind = ev.Kind
		o.tbl.RawSetString("kind", kindValues[ev.Kind])
	}
}

// index computes a lazy field.
func (o *ctxObject) index(L *glua.LState) int {
	key, ok := L.Get(2).(glua.LString)
	if !ok {
		return 0
	}
	i, ok := lazyIndex[string(key)]
	if !ok {
		return 0
	}
	c := o.rt.c
	if c == nil {
		return 0
	}
	v := o.field(L, c, string(key))
	if v != glua.LNil {
		o.tbl.RawSetString(string(key), v)
		o.lazy |= 1 << i
	}
	L.Push(v)
	return 1
}

func userTable(L *glua.LState, u bot.User) *glua.LTable {
	t := L.CreateTable(0, 4)
	t.RawSetString("username", glua.LString(u.Username))
	t.RawSetString("appkey", glua.LString(u.AppKey))
	if u.Nickname != "" {
		t.RawSetString("nickname", glua.LString(u.Nickname))
	}
	if u.UID != 0 {
		t.RawSetString("uid", glua.LNumber(u.UID))
	}
	return t
}

func (o *ctxObject) field(L *glua.LState, c *bot.Context, key string) glua.LValue {
	ev := c.Event
	switch key {
	case "event_id":
		return glua.LString(ev.ID)
	case "msg_type":
		if ev.Message != nil {
			return glua.LString(ev.Message.Type)
		}
	case "sender":
		if ev.Sender.IsZero() {
			return glua.LNil
		}
		t := userTable(L, ev.Sender)
		L.SetMetatable(t, o.senderMT)
		return t
	case "group":
		if !ev.Chat.IsGroup() {
			return glua.LNil
		}
		t := L.CreateTable(0, 2)
		t.RawSetString("gid", glua.LNumber(ev.Chat.Group))
		if ev.GroupName != "" {
			t.RawSetString("name", glua.LString(ev.GroupName))
		}
		return t
	case "chat":
		if ev.Chat.IsZero() {
			return glua.LNil
		}
		return glua.LString(ev.Chat.String())
	case "args":
		return argsTable(L, o.rt, c)
	case "command":
		if r := o.rt.reg; r != nil && r.kind == regCommand {
			return glua.LString(r.cmd.Name)
		}
	case "arg_text":
		return glua.LString(c.Args().Text())
	case "match":
		m := c.Match()
		if m == nil {
			return glua.LNil
		}
		t := L.CreateTable(len(m), 1)
		for i, s := range m {
			t.RawSetInt(i, glua.LString(s))
		}
		return t
	case "raw":
		if ev.Message == nil || ev.Message.Content == nil {
			return glua.LNil
		}
		data, err := json.Marshal(ev.Message.Content)
		if err != nil {
			return glua.LNil
		}
		v, _ := decodeJSON(L, data)
		return v
	case "members":
		if len(ev.Members) == 0 {
			return glua.LNil
		}
		t := L.CreateTable(len(ev.Members), 0)
		for _, u := range ev.Members {
			t.Append(userTable(L, u))
		}
		return t
	case "schedule":
		if ev.Schedule != "" {
			return glua.LString(ev.Schedule)
		}
	case "time":
		return glua.LNumber(float64(ev.Time.UnixNano()) / 1e9)
	}
	return glua.LNil
}

// senderIndex computes ctx.sender.role on first use: finding the group's
// owner may ask the server.
func (o *ctxObject) senderIndex(L *glua.LState) int {
	t := L.CheckTable(1)
	if L.ToString(2) != "role" {
		return 0
	}
	c := o.rt.c
	if c == nil {
		return 0
	}
	u := bot.User{AppKey: t.RawGetString("appkey").String(), Username: t.RawGetString("username").String()}
	// The Lua state's context, not the event's: it is the one the budget
	// cancels.
	role := o.rt.b.Role(L.Context(), u, c.Event.Chat)
	v := glua.LString(role.String())
	t.RawSetString("role", v)
	L.Push(v)
	return 1
}

// argsTable is ctx.args: declared arguments by position and by name,
// typed (numbers, booleans, durations in seconds, lists for variadic
// arguments); without declared arguments, the words typed.
func argsTable(L *glua.LState, rt *runtime, c *bot.Context) glua.LValue {
	a := c.Args()
	t := L.NewTable()
	var spec *bot.Command
	if r := rt.reg; r != nil && r.kind == regCommand {
		spec = &r.cmd
	}
	if spec == nil || (len(spec.Args) == 0 && len(spec.Flags) == 0) {
		for i, w := range a.Raw() {
			t.RawSetInt(i+1, glua.LString(w))
		}
		return t
	}
	for i, arg := range spec.Args {
		v := toLua(L, a.Value(arg.Name), 0)
		if v != glua.LNil {
			t.RawSetInt(i+1, v)
			t.RawSetString(arg.Name, v)
		}
	}
	for _, f := range spec.Flags {
		if v := toLua(L, a.Value(f.Name), 0); v != glua.LNil {
			t.RawSetString(f.Name, v)
		}
	}
	return t
}

// act checks a method call: called with a colon, during the handler,
// within the budget. It returns the event's bot.Context.
func (o *ctxObject) act(L *glua.LState, name string) *bot.Context {
	if L.Get(1) != o.tbl {
		L.RaiseError("ctx.%s: call it with a colon: ctx:%s(...)", name, name)
	}
	c := o.rt.c
	if c == nil {
		L.RaiseError("ctx:%s: the event is over (ctx is valid only while its handler runs)", name)
	}
	if err := L.Context().Err(); err != nil {
		L.RaiseError("ctx:%s: %v", name, err)
	}
	return c
}

// count counts an action against the per-call cap.
func (o *ctxObject) count(L *glua.LState, name string) {
	o.rt.sends++
	if o.rt.sends > o.rt.opts.MaxSendsPerCall {
		L.RaiseError("ctx:%s: more than %d actions in one call", name, o.rt.opts.MaxSendsPerCall)
	}
}

// text reads a message text argument within the size cap.
func (o *ctxObject) text(L *glua.LState, idx int, name string) string {
	var s string
	switch v := L.Get(idx).(type) {
	case glua.LString:
		s = string(v)
	case glua.LNumber:
		s = v.String()
	default:
		L.ArgError(idx, "text expected, got "+v.Type().String())
	}
	if len(s) > o.rt.opts.MaxMessage {
		L.RaiseError("ctx:%s: message of %d bytes is over the limit of %d", name, len(s), o.rt.opts.MaxMessage)
	}
	return s
}

// result pushes true, or nil and the error's message.
func result(L *glua.LState, err error) int {
	if err != nil {
		L.Push(glua.LNil)
		L.Push(glua.LString(err.Error()))
		return 2
	}
	L.Push(glua.LTrue)
	return 1
}

func (o *ctxObject) reply(L *glua.LState) int {
	c := o.act(L, "reply")
	text := o.text(L, 2, "reply")
	o.count(L, "reply")
	if c.Event.Chat.IsZero() {
		return result(L, errNoChat)
	}
	return result(L, c.Reply(text))
}

var errNoChat = &luaErr{"this event has no chat to reply to (use ctx:send_group or ctx:send_user)"}

type luaErr struct{ s string }

func (e *luaErr) Error() string { return e.s }

func (o *ctxObject) sendUser(L *glua.LState) int {
	c := o.act(L, "send_user")
	user := L.CheckString(2)
	text := o.text(L, 3, "send_user")
	o.count(L, "send_user")
	return result(L, c.SendUser(user, text))
}

func (o *ctxObject) sendGroup(L *glua.LState) int {
	c := o.act(L, "send_group")
	gid := L.CheckInt64(2)
	text := o.text(L, 3, "send_group")
	o.count(L, "send_group")
	return result(L, c.SendGroup(gid, text))
}

func (o *ctxObject) sendCustom(L *glua.LState) int {
	c := o.act(L, "send_custom")
	target := L.CheckTable(2)
	body := L.CheckTable(3)
	var to bot.Chat
	switch {
	case target.RawGetString("group") != glua.LNil:
		n, ok := target.RawGetString("group").(glua.LNumber)
		if !ok {
			L.ArgError(2, "target.group must be a gid (number)")
		}
		to.Group = int64(n)
	case target.RawGetString("user") != glua.LNil:
		to.Peer = bot.User{AppKey: c.Self().AppKey, Username: target.RawGetString("user").String()}
	default:
		L.ArgError(2, "target must be {group = gid} or {user = username}")
	}
	x, err := fromLua(body, 0)
	m, ok := x.(map[string]any)
	if err != nil || !ok {
		L.ArgError(3, "fields must be a table with string keys")
	}
	if data, _ := json.Marshal(m); len(data) > o.rt.opts.MaxMessage {
		L.RaiseError("ctx:send_custom: message of %d bytes is over the limit of %d", len(data), o.rt.opts.MaxMessage)
	}
	o.count(L, "send_custom")
	return result(L, c.SendCustom(to, m))
}

func (o *ctxObject) kick(L *glua.LState) int {
	c := o.act(L, "kick")
	user := L.CheckString(2)
	o.count(L, "kick")
	return result(L, c.Kick(bot.User{Username: user}))
}

func (o *ctxObject) blacklist(L *glua.LState) int {
	c := o.act(L, "blacklist")
	user := L.CheckString(2)
	o.count(L, "blacklist")
	return result(L, c.BlacklistAdd(bot.User{Username: user}))
}

func (o *ctxObject) unblacklist(L *glua.LState) int {
	c := o.act(L, "unblacklist")
	user := L.CheckString(2)
	o.count(L, "unblacklist")
	return result(L, c.BlacklistRemove(bot.User{Username: user}))
}

func (o *ctxObject) stop(L *glua.LState) int {
	c := o.act(L, "stop")
	c.Stop()
	return 0
}
