package bot

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/jimbot/jimbot/jmessage"
)

// Lane is a priority class of the send governor: moderation actions go
// first, then replies, then scheduled announcements.
type Lane uint8

// Lanes, highest priority first.
const (
	LaneModeration Lane = iota + 1
	LaneReply
	LaneAnnouncement
)

var laneNames = [...]string{"", "moderation", "reply", "announcement"}

// String returns "moderation", "reply" or "announcement".
func (l Lane) String() string {
	if int(l) < len(laneNames) {
		return laneNames[l]
	}
	return "lane?"
}

// OpKind is what an Op does.
type OpKind uint8

// Op kinds.
const (
	OpSend OpKind = iota + 1
	OpAddMembers
	OpRemoveMembers
	OpBlacklistAdd
	OpBlacklistRemove
)

var opNames = [...]string{"", "send", "add_members", "remove_members", "blacklist_add", "blacklist_remove"}

// String returns the op kind's name.
func (k OpKind) String() string {
	if int(k) < len(opNames) {
		return opNames[k]
	}
	return "op?"
}

// Op is one outbound action: a message to send or a moderation call. Ops
// are journaled before the event that made them is acknowledged, and
// removed once carried out or finally failed.
type Op struct {
	// ID is the journal key (0 until journaled).
	ID   uint64
	Kind OpKind
	Lane Lane
	// To is the target chat (sends) or the group (member ops).
	To Chat
	// Body is the message of a send.
	Body jmessage.Body
	// Users are the subjects of member and blacklist ops.
	Users []User
	// Plugin is the plugin that asked for it.
	Plugin string
	// Created is when it was queued.
	Created time.Time

	attempts  int
	notBefore time.Time
	result    chan<- OpResult
}

// OpResult is the outcome of an Op.
type OpResult struct {
	MsgID int64
	Err   error
}

func (o *Op) String() string {
	switch o.Kind {
	case OpSend:
		return fmt.Sprintf("send %s to %s", o.Body.MsgType(), o.To)
	default:
		return fmt.Sprintf("%s %v in %s", o.Kind, o.Users, o.To)
	}
}

type opRecord struct {
	Kind    OpKind          `json:"kind"`
	Lane    Lane            `json:"lane"`
	Group   int64           `json:"group,omitempty"`
	Peer    *User           `json:"peer,omitempty"`
	MsgType string          `json:"msg_type,omitempty"`
	Body    json.RawMessage `json:"body,omitempty"`
	Users   []User          `json:"users,omitempty"`
	Plugin  string          `json:"plugin,omitempty"`
	Created time.Time       `json:"created"`
}

func (o *Op) marshal() ([]byte, error) {
	r := opRecord{Kind: o.Kind, Lane: o.Lane, Group: o.To.Group, Users: o.Users, Plugin: o.Plugin, Created: o.Created}
	if o.To.Peer.Username != "" {
		p := o.To.Peer
		r.Peer = &p
	}
	if o.Body != nil {
		b, err := json.Marshal(o.Body)
		if err != nil {
			return nil, err
		}
		r.MsgType, r.Body = string(o.Body.MsgType()), b
	}
	return json.Marshal(r)
}

func unmarshalOp(b []byte) (*Op, error) {
	var r opRecord
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, err
	}
	o := &Op{Kind: r.Kind, Lane: r.Lane, To: Chat{Group: r.Group}, Users: r.Users, Plugin: r.Plugin, Created: r.Created}
	if r.Peer != nil {
		o.To.Peer = *r.Peer
	}
	if r.MsgType != "" {
		ct := jmessage.Content{MsgType: jmessage.MsgType(r.MsgType), MsgBody: r.Body}
		body, err := ct.Body()
		if err != nil {
			return nil, err
		}
		o.Body = body
	}
	return o, nil
}
