package bot

import (
	"strconv"
	"time"

	"github.com/jimbot/jimbot/jmessage"
)

// Kind is what an Event is about.
type Kind uint8

// Event kinds.
const (
	// KindMessage is a chat message, single (1:1) or group.
	KindMessage Kind = iota + 1
	// KindGroupCreated: a group the bot belongs to was created.
	KindGroupCreated
	// KindMemberAdded: Event.Members joined Event.Chat's group.
	KindMemberAdded
	// KindMemberRemoved: Event.Members were removed by Event.Sender.
	KindMemberRemoved
	// KindMemberExited: Event.Sender left the group.
	KindMemberExited
	// KindGroupUpdated: the group's name or description changed.
	KindGroupUpdated
	// KindConnected: the bot logged in for the first time.
	KindConnected
	// KindReconnected: the bot logged in again after losing the connection.
	KindReconnected
	// KindKicked: the bot's user logged in elsewhere; the bot stops.
	KindKicked
	// KindPasswordChanged: the bot's password changed; the bot stops.
	KindPasswordChanged
	// KindTick: a schedule fired (Event.Schedule names it).
	KindTick
	// KindStartup: the bot started; delivered once, before any other event.
	KindStartup
	// KindOther: any other server event (Event.Raw holds it).
	KindOther
)

var kindNames = [...]string{"", "message", "group_created", "member_added", "member_removed", "member_exited",
	"group_updated", "connected", "reconnected", "kicked", "password_changed", "tick", "startup", "other"}

// String returns the kind's name as used in config, metrics and Lua
// ("message", "member_added", …).
func (k Kind) String() string {
	if int(k) < len(kindNames) && k > 0 {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// ParseKind returns the kind named s (see Kind.String).
func ParseKind(s string) (Kind, bool) {
	for i, n := range kindNames {
		if i > 0 && n == s {
			return Kind(i), true
		}
	}
	return 0, false
}

// Kinds lists every kind, in order.
func Kinds() []Kind {
	out := make([]Kind, 0, len(kindNames)-1)
	for i := 1; i < len(kindNames); i++ {
		out = append(out, Kind(i))
	}
	return out
}

// User identifies a JMessage user: appkey and username, plus the uid when
// known. Two users are the same when AppKey and Username are equal.
type User struct {
	AppKey   string
	Username string
	UID      int64
	Nickname string
}

// String returns "appkey/username".
func (u User) String() string { return u.AppKey + "/" + u.Username }

// Is reports whether u and o are the same user.
func (u User) Is(o User) bool { return u.Username == o.Username && u.AppKey == o.AppKey }

// IsZero reports whether u names nobody.
func (u User) IsZero() bool { return u.Username == "" }

// Chat is where an event happened: a group (Group != 0) or a 1:1
// conversation with Peer. Events of one Chat are handled in order.
type Chat struct {
	Group int64
	Peer  User
}

// IsGroup reports whether the chat is a group.
func (c Chat) IsGroup() bool { return c.Group != 0 }

// IsZero reports whether the chat is unset (session and internal events).
func (c Chat) IsZero() bool { return c.Group == 0 && c.Peer.Username == "" }

// Key returns a comparable key that orders the chat's events.
func (c Chat) Key() ChatKey {
	if c.Group != 0 {
		return ChatKey{Group: c.Group}
	}
	return ChatKey{AppKey: c.Peer.AppKey, Username: c.Peer.Username}
}

// String returns "group:<gid>" or "user:<appkey>/<username>".
func (c Chat) String() string {
	if c.Group != 0 {
		return "group:" + strconv.FormatInt(c.Group, 10)
	}
	if c.Peer.Username == "" {
		return "none"
	}
	return "user:" + c.Peer.String()
}

// ChatKey is the comparable identity of a Chat.
type ChatKey struct {
	Group    int64
	AppKey   string
	Username string
}

// Message is the content of a KindMessage event.
type Message struct {
	// ID is the server's msg_id.
	ID int64
	// Type is the content type: text, image, voice, file, location, video
	// or custom.
	Type jmessage.MsgType
	// Body is the typed body (jmessage.TextBody, ImageBody, …); nil when it
	// did not decode.
	Body jmessage.Body
	// Extras are the body's extras, if any.
	Extras map[string]any
	// Content is the full content object as received.
	Content *jmessage.Content
}

// Event is everything inbound, normalised: messages, group events,
// session events and internal events all arrive as one type.
type Event struct {
	Kind Kind
	// ID identifies the event for de-duplication: "m:<msg_id>",
	// "e:<event_id>", or an internal id.
	ID string
	// Time is when the event happened (server time for pushes).
	Time time.Time
	// Chat is where it happened; zero for session and internal events.
	Chat Chat
	// Sender is who sent the message or did the action; zero when unknown
	// (an admin action) or for internal events.
	Sender User
	// Text is the text of a text message ("" otherwise).
	Text string
	// Message is set for KindMessage.
	Message *Message
	// Members are the users a member event is about.
	Members []User
	// GroupName is the group's name, when the event carries it.
	GroupName string
	// Schedule names the schedule of a KindTick.
	Schedule string
	// Raw is the protocol object the event came from
	// (*jmessage.Message or *jmessage.EventNotification), or nil.
	Raw any
}
