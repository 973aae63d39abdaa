package jmessage

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
)

// Event names of the protocol (spec §6–§8). A request and its response share
// one name; the server acknowledges each request with EventAck first.
const (
	EventAck = "ack"

	EventCInit    = "c_init"
	EventRegister = "register"
	EventLogin    = "login"
	EventLogout   = "logout"

	EventGetUserInfo       = "get_user_info"
	EventGetAcrossUserInfo = "get_across_user_info"

	EventSendSingle       = "s_single_text"
	EventSendAcrossSingle = "s_across_single_text"
	EventSendGroup        = "send_group_msg"

	EventCreateGroup           = "create_group"
	EventGetGroupsList         = "get_groups_list"
	EventGetGroupInfo          = "get_group_info"
	EventAddGroupMember        = "add_group_member"
	EventAddAcrossGroupMember  = "add_across_group_member"
	EventDelGroupMember        = "del_group_member"
	EventDelAcrossGroupMember  = "del_across_group_member"
	EventGetGroupMembers       = "get_group_members"
	EventUpdateGroupInfo       = "update_group_info"
	EventExitGroup             = "exit_group"
	EventGetConversations      = "get_conversations"
	EventGetUploadToken        = "get_upload_token"
	EventNoDisturb             = "no_disturb"
	EventAddNoDisturbSingle    = "add_msg_no_disturb_single"
	EventDeleteNoDisturbSingle = "delete_msg_no_disturb_single"
	EventAddNoDisturbGroup     = "add_msg_no_disturb_group"
	EventDeleteNoDisturbGroup  = "delete_msg_no_disturb_group"
	EventAddNoDisturbGlobal    = "add_msg_no_disturb_global"
	EventDeleteNoDisturbGlobal = "delete_msg_no_disturb_global"
	EventGetBlackList          = "get_black_list"
	EventAddBlackList          = "add_black_list"
	EventDelBlackList          = "del_black_list"

	// Pushes from the server and the client's acknowledgements of them.
	EventMsgSync           = "msg_sync"
	EventMsgRecv           = "msg_recv"
	EventEventNotification = "event_notification"
)

// RequestEvents lists every request event a v1 client may send and a
// compatible server must answer, in spec order.
var RequestEvents = []string{
	EventCInit, EventRegister, EventLogin, EventLogout,
	EventGetUserInfo, EventGetAcrossUserInfo,
	EventSendSingle, EventSendAcrossSingle, EventSendGroup,
	EventCreateGroup, EventGetGroupsList, EventGetGroupInfo,
	EventAddGroupMember, EventAddAcrossGroupMember, EventDelGroupMember, EventDelAcrossGroupMember,
	EventGetGroupMembers, EventUpdateGroupInfo, EventExitGroup,
	EventGetConversations, EventGetUploadToken,
	EventNoDisturb, EventAddNoDisturbSingle, EventDeleteNoDisturbSingle,
	EventAddNoDisturbGroup, EventDeleteNoDisturbGroup, EventAddNoDisturbGlobal, EventDeleteNoDisturbGlobal,
	EventGetBlackList, EventAddBlackList, EventDelBlackList,
}

// ID is a server-assigned numeric identifier (uid, gid, msg_id, event_id).
// It marshals as a JSON number and unmarshals from a number or from a
// string of digits, because the v1 SDK sends every gid as a string.
type ID int64

// UnmarshalJSON accepts 42, "42" and null (as 0).
func (id *ID) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || bytes.Equal(b, []byte("null")) {
		*id = 0
		return nil
	}
	if b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		if s == "" {
			*id = 0
			return nil
		}
		b = []byte(s)
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return fmt.Errorf("jmessage: id %s is not an integer", b)
	}
	*id = ID(n)
	return nil
}

// String returns the decimal form.
func (id ID) String() string { return strconv.FormatInt(int64(id), 10) }

// StringID is an ID that marshals as a JSON string, the way the v1 SDK sends
// target ids (v1.1.2: "添加类型转换"). It unmarshals like ID.
type StringID int64

// MarshalJSON writes the id as a quoted decimal string.
func (id StringID) MarshalJSON() ([]byte, error) {
	return []byte(`"` + strconv.FormatInt(int64(id), 10) + `"`), nil
}

// UnmarshalJSON accepts 42, "42" and null (as 0).
func (id *StringID) UnmarshalJSON(b []byte) error { return (*ID)(id).UnmarshalJSON(b) }

// RawJSON is an encoded JSON value carried inside a frame, such as a
// message's content. It is a string rather than a []byte because
// go-socket.io's encoder and decoder walk every element of every slice they
// meet, looking for binary attachments: a json.RawMessage of n bytes costs
// n reflective steps per frame, a string costs none.
type RawJSON string

// MarshalJSON returns the value as is ("null" when empty).
func (r RawJSON) MarshalJSON() ([]byte, error) {
	if r == "" {
		return []byte("null"), nil
	}
	return []byte(r), nil
}

// UnmarshalJSON keeps the encoded value.
func (r *RawJSON) UnmarshalJSON(b []byte) error {
	*r = RawJSON(b)
	return nil
}

// Header is the part every request carries: the request id the response
// will echo.
type Header struct {
	RID int64 `json:"rid"`
}

// Status is the part every response carries.
type Status struct {
	RID     int64  `json:"rid"`
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// Err returns nil for code 0 and an *Error otherwise.
func (s Status) Err() error {
	if s.Code == CodeSuccess {
		return nil
	}
	return &Error{Code: s.Code, Message: s.Message}
}

// Ack is the server's receipt for a request, sent before the response.
type Ack struct {
	RID int64 `json:"rid"`
}

// CInitRequest is the c_init payload: an AuthPayload plus the request id.
// v2 clients add from_platform and flag; both are accepted and ignored.
type CInitRequest struct {
	AuthPayload
	RID          int64  `json:"rid"`
	FromPlatform string `json:"fromPlatForm,omitempty"`
	Flag         *int   `json:"flag,omitempty"`
}

// LoginRequest logs a user in. Password is the MD5 hex digest.
type LoginRequest struct {
	Header
	Username string `json:"username"`
	Password string `json:"password"`
	Version  string `json:"version,omitempty"`
}

// LoginResponse carries the username on success; the v1 SDK counts a login
// as successful only when it is present.
type LoginResponse struct {
	Status
	Username string `json:"username,omitempty"`
}

// RegisterRequest creates a user. Password is the MD5 hex digest; the other
// fields are the optional v2 profile fields.
type RegisterRequest struct {
	Header
	Username  string          `json:"username"`
	Password  string          `json:"password"`
	Nickname  string          `json:"nickname,omitempty"`
	Birthday  string          `json:"birthday,omitempty"`
	Signature string          `json:"signature,omitempty"`
	Gender    int             `json:"gender,omitempty"`
	Region    string          `json:"region,omitempty"`
	Address   string          `json:"address,omitempty"`
	MediaID   string          `json:"media_id,omitempty"`
	Extras    json.RawMessage `json:"extras,omitempty"`
}

// UserRef names a user of an app, as in cross-app member lists.
type UserRef struct {
	Username string `json:"username"`
	AppKey   string `json:"appkey,omitempty"`
}

// UserInfo is a user's profile (v2 field set; spec §6.2).
type UserInfo struct {
	UID       ID              `json:"uid"`
	Username  string          `json:"username"`
	AppKey    string          `json:"appkey"`
	Nickname  string          `json:"nickname"`
	Avatar    string          `json:"avatar"`
	Birthday  string          `json:"birthday"`
	Gender    int             `json:"gender"`
	Signature string          `json:"signature"`
	Region    string          `json:"region"`
	Address   string          `json:"address"`
	CTime     string          `json:"ctime"`
	MTime     string          `json:"mtime"`
	Extras    json.RawMessage `json:"extras,omitempty"`
}

// GetUserInfoRequest asks for a user of the caller's app. v1 sends the
// username as key; v2 as username. AppKey is set for get_across_user_info.
type GetUserInfoRequest struct {
	Header
	Key      string `json:"key,omitempty"`
	Username string `json:"username,omitempty"`
	AppKey   string `json:"appkey,omitempty"`
}

// Name returns the requested username from whichever field carries it.
func (r GetUserInfoRequest) Name() string {
	if r.Username != "" {
		return r.Username
	}
	return r.Key
}

// GetUserInfoResponse carries the profile.
type GetUserInfoResponse struct {
	Status
	UserInfo *UserInfo `json:"user_info,omitempty"`
}

// SendSingleRequest is s_single_text and s_across_single_text. v1 names the
// target user in target_name; v2 uses target_id (and target_name for the
// nickname). AppKey is the target's app for cross-app sends. Content is the
// message object of spec §7.2, relayed untouched by the server.
type SendSingleRequest struct {
	Header
	TargetName     string  `json:"target_name,omitempty"`
	TargetID       string  `json:"target_id,omitempty"`
	AppKey         string  `json:"appkey,omitempty"`
	Content        RawJSON `json:"content"`
	NoOffline      bool    `json:"no_offline,omitempty"`
	NoNotification bool    `json:"no_notification,omitempty"`
	NeedReceipt    bool    `json:"need_receipt,omitempty"`
}

// Target returns the target username: target_id when present (v2),
// otherwise target_name (v1).
func (r SendSingleRequest) Target() string {
	if r.TargetID != "" {
		return r.TargetID
	}
	return r.TargetName
}

// SendGroupRequest is send_group_msg.
type SendGroupRequest struct {
	Header
	TargetGID      StringID  `json:"target_gid"`
	TargetName     string    `json:"target_name,omitempty"`
	AppKey         string    `json:"appkey,omitempty"`
	Content        RawJSON   `json:"content"`
	Users          []UserRef `json:"users,omitempty"`
	NoOffline      bool      `json:"no_offline,omitempty"`
	NoNotification bool      `json:"no_notification,omitempty"`
	NeedReceipt    bool      `json:"need_receipt,omitempty"`
}

// SendResponse answers every send: the new message's id and time.
type SendResponse struct {
	Status
	MsgID          ID     `json:"msg_id,omitempty"`
	CTimeMs        int64  `json:"ctime_ms,omitempty"`
	AppKey         string `json:"appkey,omitempty"`
	TargetUsername string `json:"target_username,omitempty"`
	TargetGID      ID     `json:"target_gid,omitempty"`
}

// CreateGroupRequest creates a group owned by the caller.
type CreateGroupRequest struct {
	Header
	GroupName        string `json:"group_name"`
	GroupDescription string `json:"group_description"`
	MediaID          string `json:"media_id,omitempty"`
}

// CreateGroupResponse carries the new gid. The v2 docs also list
// group_name and group_descriptin [sic]; both spellings are sent.
type CreateGroupResponse struct {
	Status
	GID              ID     `json:"gid,omitempty"`
	GroupName        string `json:"group_name,omitempty"`
	GroupDescription string `json:"group_description,omitempty"`
	GroupDescriptin  string `json:"group_descriptin,omitempty"`
}

// GroupInfo describes a group (v2 field set).
type GroupInfo struct {
	GID       ID     `json:"gid"`
	Name      string `json:"name"`
	Desc      string `json:"desc"`
	AppKey    string `json:"appkey"`
	CTime     string `json:"ctime"`
	MTime     string `json:"mtime"`
	Avatar    string `json:"avatar"`
	GroupType int    `json:"group_type"`
	// OwnerUsername is a jimbot extension: the group owner's username.
	OwnerUsername string `json:"owner_username,omitempty"`
	// OwnerAppKey is a jimbot extension: the group owner's app.
	OwnerAppKey string `json:"owner_appkey,omitempty"`
}

// GroupRequest names a group: get_group_info, get_group_members, exit_group.
type GroupRequest struct {
	Header
	GID StringID `json:"gid"`
}

// GetGroupsListResponse lists the caller's groups.
type GetGroupsListResponse struct {
	Status
	GroupList []GroupInfo `json:"group_list"`
}

// GetGroupInfoResponse carries one group.
type GetGroupInfoResponse struct {
	Status
	GroupInfo *GroupInfo `json:"group_info,omitempty"`
}

// GroupMember is one entry of get_group_members.
type GroupMember struct {
	UID         ID     `json:"uid"`
	Username    string `json:"username"`
	AppKey      string `json:"appkey"`
	Nickname    string `json:"nickname"`
	Avatar      string `json:"avatar"`
	Flag        int    `json:"flag"` // 0 member, 1 owner
	MTime       string `json:"mtime"`
	KeepSilence bool   `json:"keep_silence"`
}

// GetGroupMembersResponse lists a group's members, owner first.
type GetGroupMembersResponse struct {
	Status
	MemberList []GroupMember `json:"member_list"`
}

// MemberNames is a member list as sent in add/del (across) group member
// and blacklist requests. It marshals as [{username, appkey}] and
// unmarshals from that form or from the v1 array of plain usernames.
type MemberNames []UserRef

// UnmarshalJSON accepts ["a","b"] and [{"username":"a","appkey":"k"}].
func (m *MemberNames) UnmarshalJSON(b []byte) error {
	var raw []json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return fmt.Errorf("jmessage: member_usernames must be an array: %w", err)
	}
	out := make(MemberNames, 0, len(raw))
	for i, r := range raw {
		r = bytes.TrimSpace(r)
		if len(r) > 0 && r[0] == '"' {
			var s string
			if err := json.Unmarshal(r, &s); err != nil {
				return fmt.Errorf("jmessage: member_usernames[%d]: %w", i, err)
			}
			out = append(out, UserRef{Username: s})
			continue
		}
		var u UserRef
		if err := json.Unmarshal(r, &u); err != nil {
			return fmt.Errorf("jmessage: member_usernames[%d] must be a username or {username, appkey}", i)
		}
		out = append(out, u)
	}
	*m = out
	return nil
}

// MembersRequest is add_across_group_member and del_across_group_member
// (and, when decoding on a server, their v1 forms too).
type MembersRequest struct {
	Header
	GID             StringID    `json:"gid"`
	MemberUsernames MemberNames `json:"member_usernames"`
}

// MemberNamesV1Request is the v1 form of add_group_member and
// del_group_member: member_usernames is an array of plain usernames.
type MemberNamesV1Request struct {
	Header
	GID             StringID `json:"gid"`
	MemberUsernames []string `json:"member_usernames"`
}

// UpdateGroupInfoRequest changes a group's name and description.
type UpdateGroupInfoRequest struct {
	Header
	GID              StringID `json:"gid"`
	GroupName        string   `json:"group_name"`
	GroupDescription string   `json:"group_description"`
	MediaID          string   `json:"media_id,omitempty"`
}

// ExitGroupResponse answers exit_group (v2 adds gid and group_name).
type ExitGroupResponse struct {
	Status
	GID       ID     `json:"gid,omitempty"`
	GroupName string `json:"group_name,omitempty"`
}

// Conversation types, also used as msg_type in msg_sync envelopes.
const (
	ConvSingle = 3
	ConvGroup  = 4
)

// Conversation is one entry of get_conversations.
type Conversation struct {
	Type     int    `json:"type"` // ConvSingle or ConvGroup
	Key      string `json:"key"`  // gid for groups, peer uid for singles
	AppKey   string `json:"appkey"`
	Username string `json:"username,omitempty"`
	Nickname string `json:"nickname,omitempty"`
	Name     string `json:"name,omitempty"`
	Avatar   string `json:"avatar"`
	MTime    int64  `json:"mtime"`
	UTime    int64  `json:"utime"`
}

// GetConversationsResponse lists the caller's conversations, newest first.
type GetConversationsResponse struct {
	Status
	Conversations []Conversation `json:"conversations"`
}

// UploadTokenResponse carries the token for the media upload endpoint.
type UploadTokenResponse struct {
	Status
	UpToken string `json:"uptoken,omitempty"`
}

// NoDisturbRequest is the no-disturb family. Version is 0 in v1. TargetName
// and AppKey name a user (single), GID a group, None is sent by v1 for the
// global forms.
type NoDisturbRequest struct {
	Header
	Version    int      `json:"version"`
	TargetName string   `json:"target_name,omitempty"`
	AppKey     string   `json:"appkey,omitempty"`
	GID        StringID `json:"gid,omitempty"`
	None       *string  `json:"none,omitempty"`
}

// NoDisturbUser is a user entry of the no-disturb list.
type NoDisturbUser struct {
	Username string `json:"username"`
	Nickname string `json:"nickname"`
	AppKey   string `json:"appkey"`
}

// NoDisturbGroup is a group entry of the no-disturb list.
type NoDisturbGroup struct {
	GID    ID     `json:"gid"`
	Name   string `json:"name"`
	AppKey string `json:"appkey"`
	Desc   string `json:"desc"`
}

// NoDisturbInfo is the caller's whole no-disturb setting.
type NoDisturbInfo struct {
	Global int              `json:"global"` // 1 when global no-disturb is on
	Users  []NoDisturbUser  `json:"users"`
	Groups []NoDisturbGroup `json:"groups"`
}

// NoDisturbResponse answers no_disturb.
type NoDisturbResponse struct {
	Status
	NoDisturb *NoDisturbInfo `json:"no_disturb,omitempty"`
}

// BlackListRequest is get/add/del_black_list.
type BlackListRequest struct {
	Header
	Version         *int        `json:"version,omitempty"`
	MemberUsernames MemberNames `json:"member_usernames,omitempty"`
}

// BlackListResponse answers get_black_list.
type BlackListResponse struct {
	Status
	BlackList []UserInfo `json:"black_list"`
}

// MsgSync is the server's message push (spec §7.1).
type MsgSync struct {
	UID      ID            `json:"uid"`
	RID      int64         `json:"rid"`
	Messages []SyncMessage `json:"messages"`
}

// Message levels of a SyncMessage.
const (
	LevelNormal = 0
	LevelAcross = 1
	LevelSystem = 2
)

// SyncMessage is one message of a msg_sync batch.
type SyncMessage struct {
	MsgID    ID      `json:"msg_id"`
	MsgType  int     `json:"msg_type"` // ConvSingle or ConvGroup
	FromUID  ID      `json:"from_uid"`
	FromGID  ID      `json:"from_gid"`
	MsgLevel int     `json:"msg_level"`
	CTime    int64   `json:"ctime"`    // seconds
	CTimeMs  int64   `json:"ctime_ms"` // milliseconds
	Content  RawJSON `json:"content"`
}

// RecvEntry acknowledges one message; it copies the envelope fields.
type RecvEntry struct {
	MsgID   ID  `json:"msg_id"`
	MsgType int `json:"msg_type"`
	FromUID ID  `json:"from_uid"`
	FromGID ID  `json:"from_gid"`
}

// MsgRecv is the client's acknowledgement of messages (no response).
type MsgRecv struct {
	Messages []RecvEntry `json:"messages"`
	RID      int64       `json:"rid"`
}

// ResponseStatus returns the embedded status so that servers can fill in
// rid, code and message of any response type.
func (s *Status) ResponseStatus() *Status { return s }

// RequestID returns the request's rid.
func (h Header) RequestID() int64 { return h.RID }

// RequestID returns the request's rid.
func (r CInitRequest) RequestID() int64 { return r.RID }
