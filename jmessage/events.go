package jmessage

import "strconv"

// EventType is the event_type of an event_notification (spec §8.3).
type EventType int

// Event types. For a v1 bot the relevant ones are 1, 2 and 8–12; 37 and 38
// are informational.
const (
	EventTypeKicked              EventType = 1     // logged in elsewhere; the session is dropped
	EventTypePasswordChanged     EventType = 2     // password changed; forced logout
	EventTypeFriendInvitation    EventType = 5     // friend invitation or reply
	EventTypeFriendDeleted       EventType = 6     // friend deleted
	EventTypeFriendUpdated       EventType = 7     // friend list updated by an admin
	EventTypeGroupCreated        EventType = 8     // group created
	EventTypeGroupMemberExited   EventType = 9     // a member left the group
	EventTypeGroupMemberAdded    EventType = 10    // members added
	EventTypeGroupMemberRemoved  EventType = 11    // members removed
	EventTypeGroupInfoUpdated    EventType = 12    // group name or description changed
	EventTypeNoDisturbChanged    EventType = 37    // the user's no-disturb list changed
	EventTypeBlacklistChanged    EventType = 38    // the user's blacklist changed
	EventTypeGroupShieldChanged  EventType = 39    // group shield changed (v2)
	EventTypeUserInfoChanged     EventType = 40    // own profile changed (v2)
	EventTypeMessageRetracted    EventType = 55    // a message was retracted (v2)
	EventTypeMemberSilenced      EventType = 65    // a member was silenced or unsilenced (v2.5)
	EventTypeUserDeleted         EventType = 10001 // the current user was deleted
	EventTypeUserDisabled        EventType = 10002 // the current user was disabled
	EventTypeGroupDissolved      EventType = 11001 // the group was dissolved
	EventTypeGroupMemberCapacity EventType = 11002 // the group's member cap changed
)

var eventTypeNames = map[EventType]string{
	EventTypeKicked:              "kicked",
	EventTypePasswordChanged:     "password_changed",
	EventTypeFriendInvitation:    "friend_invitation",
	EventTypeFriendDeleted:       "friend_deleted",
	EventTypeFriendUpdated:       "friend_updated",
	EventTypeGroupCreated:        "group_created",
	EventTypeGroupMemberExited:   "member_exited",
	EventTypeGroupMemberAdded:    "member_added",
	EventTypeGroupMemberRemoved:  "member_removed",
	EventTypeGroupInfoUpdated:    "group_updated",
	EventTypeNoDisturbChanged:    "no_disturb_changed",
	EventTypeBlacklistChanged:    "blacklist_changed",
	EventTypeGroupShieldChanged:  "group_shield_changed",
	EventTypeUserInfoChanged:     "user_info_changed",
	EventTypeMessageRetracted:    "message_retracted",
	EventTypeMemberSilenced:      "member_silenced",
	EventTypeUserDeleted:         "user_deleted",
	EventTypeUserDisabled:        "user_disabled",
	EventTypeGroupDissolved:      "group_dissolved",
	EventTypeGroupMemberCapacity: "group_member_capacity",
}

// String returns a snake_case name such as "member_added", or the number.
func (t EventType) String() string {
	if n, ok := eventTypeNames[t]; ok {
		return n
	}
	return "event_" + strconv.Itoa(int(t))
}

// Relationship types carried in the gid field of events that are not about
// a group (DOCv2.1).
const (
	RelationPassword  = 0
	RelationFriend    = 1
	RelationNoDisturb = 2
	RelationBlacklist = 3
)

// EventNotification is the server's event push (spec §8.1). The v1 fields
// name users by uid; the v2 fields (from_username, to_usernames, …) name them
// by username. A jimbot server sends both, because which ones a v1 client
// reads is not known (spec §13.3).
type EventNotification struct {
	UID        ID        `json:"uid"`
	EventID    ID        `json:"event_id"`
	EventType  EventType `json:"event_type"`
	GID        ID        `json:"gid"`
	ToUIDList  []ID      `json:"to_uidlist"`
	Extra      int       `json:"extra"`
	ReturnCode int       `json:"return_code"`
	FromUID    ID        `json:"from_uid"`
	CTime      int64     `json:"ctime"`
	CTimeMs    int64     `json:"ctime_ms"`
	RID        int64     `json:"rid"`

	Description  string    `json:"description,omitempty"`
	FromUsername string    `json:"from_username,omitempty"`
	FromAppKey   string    `json:"from_appkey,omitempty"`
	FromNickname string    `json:"from_nickname,omitempty"`
	ToUsernames  []UserRef `json:"to_usernames,omitempty"`
	GroupName    string    `json:"group_name,omitempty"`
	// NewOwner is set on exit and remove events when ownership moved.
	NewOwner *UserRef `json:"new_owner,omitempty"`
	// MsgIDs is set on retraction events.
	MsgIDs []ID `json:"msgid_list,omitempty"`
}

// EventEcho is the client's acknowledgement of an event: the same event name
// with these fields and the client's next rid (spec §8.2).
type EventEcho struct {
	EventID   ID        `json:"event_id"`
	EventType EventType `json:"event_type"`
	FromUID   ID        `json:"from_uid"`
	GID       ID        `json:"gid"`
	RID       int64     `json:"rid"`
}
