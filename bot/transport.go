package bot

import (
	"context"
	"errors"

	"github.com/jimbot/jimbot/jmessage"
)

// Transport is how a bot reaches JMessage: who it is, where events come
// from and how messages go out. JMessage (this package) implements it over
// a jmessage.Client; tests and benchmarks use their own. Optional
// abilities (group and blacklist administration, user lookups) are
// separate interfaces, found by type assertion; actions whose ability is
// missing fail with ErrNotSupported.
type Transport interface {
	// Self returns the bot's own user.
	Self() User
	// Deliveries returns the inbound events. The channel is closed when
	// the transport stops for good.
	Deliveries() <-chan Delivery
	// Ack acknowledges handled deliveries (their Token), so the server
	// stops sending them.
	Ack(ctx context.Context, tokens []any) error
	// Send delivers one message and returns its msg_id.
	Send(ctx context.Context, to Chat, body jmessage.Body) (int64, error)
}

// Delivery is one inbound event and the token that acknowledges it.
type Delivery struct {
	Event *Event
	// Token is passed back to Transport.Ack; nil means nothing to ack
	// (session and internal events).
	Token any
}

// GroupAdmin is the optional ability to manage groups.
type GroupAdmin interface {
	AddMembers(ctx context.Context, gid int64, users []User) error
	RemoveMembers(ctx context.Context, gid int64, users []User) error
	GroupInfo(ctx context.Context, gid int64) (jmessage.GroupInfo, error)
	GroupMembers(ctx context.Context, gid int64) ([]jmessage.GroupMember, error)
}

// BlacklistAdmin is the optional ability to manage the bot's blacklist.
type BlacklistAdmin interface {
	BlacklistAdd(ctx context.Context, users []User) error
	BlacklistRemove(ctx context.Context, users []User) error
	Blacklist(ctx context.Context) ([]User, error)
}

// NoDisturbAdmin is the optional ability to manage no-disturb settings.
type NoDisturbAdmin interface {
	NoDisturb(ctx context.Context) (*jmessage.NoDisturbInfo, error)
	SetNoDisturb(ctx context.Context, target NoDisturbTarget, on bool) error
}

// NoDisturbTarget names what a no-disturb setting applies to: a user, a
// group (Group != 0) or everything (Global).
type NoDisturbTarget struct {
	User   User
	Group  int64
	Global bool
}

// UserDirectory is the optional ability to look users up.
type UserDirectory interface {
	UserInfo(ctx context.Context, u User) (jmessage.UserInfo, error)
}

// ErrNotSupported is returned by actions the transport cannot perform.
var ErrNotSupported = errors.New("bot: not supported by this transport")
