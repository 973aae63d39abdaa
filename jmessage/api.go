package jmessage

import (
	"context"
	"fmt"
)

// This file holds one method per call of the v1 Web SDK. Each takes a
// context, waits for a live connection if the client is reconnecting,
// and returns the server's error code as an *Error.

func hdr(rid int64) Header { return Header{RID: rid} }

// Register creates a user in the client's app. It works on a connection
// that has only done c_init (Dial without WithLogin).
func (c *Client) Register(ctx context.Context, username, password string) error {
	return c.call(ctx, EventRegister, func(rid int64) any {
		return RegisterRequest{Header: hdr(rid), Username: username, Password: HashPassword(password)}
	}, &Status{})
}

// Login logs in as username on a connection that is not logged in yet.
// After a reconnect the client logs in again with these credentials.
func (c *Client) Login(ctx context.Context, username, password string) error {
	return c.LoginMD5(ctx, username, HashPassword(password))
}

// LoginMD5 is Login with the password's MD5 hex digest.
func (c *Client) LoginMD5(ctx context.Context, username, passwordMD5 string) error {
	w, err := c.current(ctx)
	if err != nil {
		return err
	}
	if err := w.login(ctx, username, passwordMD5); err != nil {
		return err
	}
	c.mu.Lock()
	c.username, c.password = username, passwordMD5
	c.mu.Unlock()
	return nil
}

// Logout ends the login on this connection (the connection stays open);
// the client no longer logs in after a reconnect.
func (c *Client) Logout(ctx context.Context) error {
	err := c.call(ctx, EventLogout, func(rid int64) any { return LoginRequest{Header: hdr(rid)} }, &Status{})
	if err == nil {
		c.mu.Lock()
		c.username, c.password = "", ""
		c.mu.Unlock()
	}
	return err
}

// UserInfo returns the profile of a user of the client's app.
func (c *Client) UserInfo(ctx context.Context, username string) (*UserInfo, error) {
	var resp GetUserInfoResponse
	err := c.call(ctx, EventGetUserInfo, func(rid int64) any {
		return GetUserInfoRequest{Header: hdr(rid), Key: username}
	}, &resp)
	return userInfoOf(resp, err, username)
}

// AcrossUserInfo returns the profile of a user of another app.
func (c *Client) AcrossUserInfo(ctx context.Context, appKey, username string) (*UserInfo, error) {
	var resp GetUserInfoResponse
	err := c.call(ctx, EventGetAcrossUserInfo, func(rid int64) any {
		return GetUserInfoRequest{Header: hdr(rid), Key: username, AppKey: appKey}
	}, &resp)
	return userInfoOf(resp, err, username)
}

func userInfoOf(resp GetUserInfoResponse, err error, username string) (*UserInfo, error) {
	if err != nil {
		return nil, err
	}
	if resp.UserInfo == nil {
		return nil, fmt.Errorf("jmessage: user info of %s: the response has no user_info", username)
	}
	return resp.UserInfo, nil
}

// SendOption adjusts the content of an outgoing message.
type SendOption func(*Content)

// WithFromName sets the sender's display name (content.from_name).
func WithFromName(name string) SendOption { return func(c *Content) { c.FromName = name } }

// WithTargetName sets the target's display name (content.target_name).
func WithTargetName(name string) SendOption { return func(c *Content) { c.TargetName = name } }

// Sent is the server's receipt for a sent message.
type Sent struct {
	MsgID   ID
	CTimeMs int64
	// Content is what was sent, as the recipients will receive it.
	Content *Content
}

func (c *Client) content(targetType, targetID string, body Body, opts []SendOption) (*Content, error) {
	from := c.Username()
	if from == "" {
		return nil, ErrNotLoggedIn
	}
	ct, err := NewContent(targetType, targetID, from, c.opts.now().UnixMilli(), body)
	if err != nil {
		return nil, err
	}
	for _, o := range opts {
		o(ct)
	}
	return ct, nil
}

func (c *Client) send(ctx context.Context, event string, ct *Content, req func(rid int64, raw RawJSON) any) (*Sent, error) {
	raw, err := jsonMarshal(ct)
	if err != nil {
		return nil, err
	}
	var resp SendResponse
	if err := c.call(ctx, event, func(rid int64) any { return req(rid, RawJSON(raw)) }, &resp); err != nil {
		return nil, err
	}
	return &Sent{MsgID: resp.MsgID, CTimeMs: resp.CTimeMs, Content: ct}, nil
}

// SendSingle sends body to a user of the client's app (s_single_text).
func (c *Client) SendSingle(ctx context.Context, username string, body Body, opts ...SendOption) (*Sent, error) {
	ct, err := c.content(TargetSingle, username, body, opts)
	if err != nil {
		return nil, err
	}
	return c.send(ctx, EventSendSingle, ct, func(rid int64, raw RawJSON) any {
		return SendSingleRequest{Header: hdr(rid), TargetName: username, Content: raw}
	})
}

// SendAcrossSingle sends body to a user of another app
// (s_across_single_text). The content carries target_appkey and
// from_appkey, as the v1 SDK's does.
func (c *Client) SendAcrossSingle(ctx context.Context, appKey, username string, body Body, opts ...SendOption) (*Sent, error) {
	ct, err := c.content(TargetSingle, username, body, opts)
	if err != nil {
		return nil, err
	}
	ct.TargetAppKey, ct.FromAppKey = appKey, c.AppKey()
	return c.send(ctx, EventSendAcrossSingle, ct, func(rid int64, raw RawJSON) any {
		return SendSingleRequest{Header: hdr(rid), TargetName: username, AppKey: appKey, Content: raw}
	})
}

// SendGroup sends body to a group (send_group_msg).
func (c *Client) SendGroup(ctx context.Context, gid ID, body Body, opts ...SendOption) (*Sent, error) {
	ct, err := c.content(TargetGroup, gid.String(), body, opts)
	if err != nil {
		return nil, err
	}
	return c.send(ctx, EventSendGroup, ct, func(rid int64, raw RawJSON) any {
		return SendGroupRequest{Header: hdr(rid), TargetGID: StringID(gid), Content: raw}
	})
}

// CreateGroup creates a group owned by the client's user.
func (c *Client) CreateGroup(ctx context.Context, name, description string) (ID, error) {
	var resp CreateGroupResponse
	err := c.call(ctx, EventCreateGroup, func(rid int64) any {
		return CreateGroupRequest{Header: hdr(rid), GroupName: name, GroupDescription: description}
	}, &resp)
	return resp.GID, err
}

// Groups lists the groups the client's user belongs to.
func (c *Client) Groups(ctx context.Context) ([]GroupInfo, error) {
	var resp GetGroupsListResponse
	err := c.call(ctx, EventGetGroupsList, func(rid int64) any { return hdr(rid) }, &resp)
	return resp.GroupList, err
}

// GroupInfo returns a group's info.
func (c *Client) GroupInfo(ctx context.Context, gid ID) (*GroupInfo, error) {
	var resp GetGroupInfoResponse
	err := c.call(ctx, EventGetGroupInfo, func(rid int64) any { return GroupRequest{Header: hdr(rid), GID: StringID(gid)} }, &resp)
	if err != nil {
		return nil, err
	}
	if resp.GroupInfo == nil {
		return nil, fmt.Errorf("jmessage: group info of %d: the response has no group_info", gid)
	}
	return resp.GroupInfo, nil
}

// UpdateGroupInfo changes a group's name and description (owner only).
func (c *Client) UpdateGroupInfo(ctx context.Context, gid ID, name, description string) error {
	return c.call(ctx, EventUpdateGroupInfo, func(rid int64) any {
		return UpdateGroupInfoRequest{Header: hdr(rid), GID: StringID(gid), GroupName: name, GroupDescription: description}
	}, &Status{})
}

// ExitGroup leaves a group.
func (c *Client) ExitGroup(ctx context.Context, gid ID) error {
	return c.call(ctx, EventExitGroup, func(rid int64) any { return GroupRequest{Header: hdr(rid), GID: StringID(gid)} }, &ExitGroupResponse{})
}

// AddGroupMembers adds users of the client's app to a group.
func (c *Client) AddGroupMembers(ctx context.Context, gid ID, usernames ...string) error {
	return c.call(ctx, EventAddGroupMember, func(rid int64) any {
		return MemberNamesV1Request{Header: hdr(rid), GID: StringID(gid), MemberUsernames: usernames}
	}, &Status{})
}

// AddAcrossGroupMembers adds users of any app to a group.
func (c *Client) AddAcrossGroupMembers(ctx context.Context, gid ID, members ...UserRef) error {
	return c.call(ctx, EventAddAcrossGroupMember, func(rid int64) any {
		return MembersRequest{Header: hdr(rid), GID: StringID(gid), MemberUsernames: members}
	}, &Status{})
}

// RemoveGroupMembers removes users of the client's app from a group
// (owner only).
func (c *Client) RemoveGroupMembers(ctx context.Context, gid ID, usernames ...string) error {
	return c.call(ctx, EventDelGroupMember, func(rid int64) any {
		return MemberNamesV1Request{Header: hdr(rid), GID: StringID(gid), MemberUsernames: usernames}
	}, &Status{})
}

// RemoveAcrossGroupMembers removes users of any app from a group.
func (c *Client) RemoveAcrossGroupMembers(ctx context.Context, gid ID, members ...UserRef) error {
	return c.call(ctx, EventDelAcrossGroupMember, func(rid int64) any {
		return MembersRequest{Header: hdr(rid), GID: StringID(gid), MemberUsernames: members}
	}, &Status{})
}

// GroupMembers lists a group's members, owner first (Flag 1).
func (c *Client) GroupMembers(ctx context.Context, gid ID) ([]GroupMember, error) {
	var resp GetGroupMembersResponse
	err := c.call(ctx, EventGetGroupMembers, func(rid int64) any { return GroupRequest{Header: hdr(rid), GID: StringID(gid)} }, &resp)
	return resp.MemberList, err
}

// Conversations lists the client user's conversations, newest first.
func (c *Client) Conversations(ctx context.Context) ([]Conversation, error) {
	var resp GetConversationsResponse
	err := c.call(ctx, EventGetConversations, func(rid int64) any { return hdr(rid) }, &resp)
	return resp.Conversations, err
}

// UploadToken returns a token for the media upload endpoint.
func (c *Client) UploadToken(ctx context.Context) (string, error) {
	var resp UploadTokenResponse
	err := c.call(ctx, EventGetUploadToken, func(rid int64) any { return hdr(rid) }, &resp)
	return resp.UpToken, err
}

// NoDisturb returns the client user's no-disturb settings.
func (c *Client) NoDisturb(ctx context.Context) (*NoDisturbInfo, error) {
	var resp NoDisturbResponse
	err := c.call(ctx, EventNoDisturb, func(rid int64) any { return NoDisturbRequest{Header: hdr(rid)} }, &resp)
	if err != nil {
		return nil, err
	}
	if resp.NoDisturb == nil {
		return &NoDisturbInfo{}, nil
	}
	return resp.NoDisturb, nil
}

func (c *Client) noDisturb(ctx context.Context, event string, req NoDisturbRequest) error {
	return c.call(ctx, event, func(rid int64) any { req.Header = hdr(rid); return req }, &Status{})
}

// AddSingleNoDisturb mutes a user; appKey may be "" for the client's app.
func (c *Client) AddSingleNoDisturb(ctx context.Context, username, appKey string) error {
	return c.noDisturb(ctx, EventAddNoDisturbSingle, NoDisturbRequest{TargetName: username, AppKey: appKey})
}

// DeleteSingleNoDisturb unmutes a user.
func (c *Client) DeleteSingleNoDisturb(ctx context.Context, username, appKey string) error {
	return c.noDisturb(ctx, EventDeleteNoDisturbSingle, NoDisturbRequest{TargetName: username, AppKey: appKey})
}

// AddGroupNoDisturb mutes a group.
func (c *Client) AddGroupNoDisturb(ctx context.Context, gid ID) error {
	return c.noDisturb(ctx, EventAddNoDisturbGroup, NoDisturbRequest{GID: StringID(gid)})
}

// DeleteGroupNoDisturb unmutes a group.
func (c *Client) DeleteGroupNoDisturb(ctx context.Context, gid ID) error {
	return c.noDisturb(ctx, EventDeleteNoDisturbGroup, NoDisturbRequest{GID: StringID(gid)})
}

// AddGlobalNoDisturb mutes everything.
func (c *Client) AddGlobalNoDisturb(ctx context.Context) error {
	none := ""
	return c.noDisturb(ctx, EventAddNoDisturbGlobal, NoDisturbRequest{None: &none})
}

// DeleteGlobalNoDisturb ends global no-disturb.
func (c *Client) DeleteGlobalNoDisturb(ctx context.Context) error {
	none := ""
	return c.noDisturb(ctx, EventDeleteNoDisturbGlobal, NoDisturbRequest{None: &none})
}

// BlackList returns the users the client's user has blacklisted.
func (c *Client) BlackList(ctx context.Context) ([]UserInfo, error) {
	var resp BlackListResponse
	err := c.call(ctx, EventGetBlackList, func(rid int64) any { return BlackListRequest{Header: hdr(rid)} }, &resp)
	return resp.BlackList, err
}

// AddBlackList blacklists users: their single messages to the client's
// user are refused with 880207.
func (c *Client) AddBlackList(ctx context.Context, members ...UserRef) error {
	return c.call(ctx, EventAddBlackList, func(rid int64) any {
		return BlackListRequest{Header: hdr(rid), MemberUsernames: members}
	}, &Status{})
}

// DeleteBlackList removes users from the blacklist.
func (c *Client) DeleteBlackList(ctx context.Context, members ...UserRef) error {
	return c.call(ctx, EventDelBlackList, func(rid int64) any {
		return BlackListRequest{Header: hdr(rid), MemberUsernames: members}
	}, &Status{})
}
