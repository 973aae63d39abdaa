package jmserver

import (
	"encoding/json"
	"errors"
	"sort"
	"strconv"
	"time"

	socketio "github.com/googollee/go-socket.io"

	"github.com/jimbot/jimbot/jmessage"
)

// access is what a request needs from its session.
type access uint8

const (
	anyone   access = iota // c_init
	initDone               // register, login, logout: after c_init
	loggedIn               // everything else
)

// response is any response type: each embeds jmessage.Status.
type response interface{ ResponseStatus() *jmessage.Status }

// handler decodes and serves one request event.
type handler struct {
	access access
	// decode parses the payload and returns the request and its rid.
	decode func(raw []byte) (req any, rid int64, err error)
	serve  func(s *Server, sess *session, req any) (response, error)
}

// on builds a handler from a typed function.
func on[Req interface{ RequestID() int64 }](a access, fn func(*Server, *session, *Req) (response, error)) handler {
	return handler{
		access: a,
		decode: func(raw []byte) (any, int64, error) {
			req := new(Req)
			if err := json.Unmarshal(raw, req); err != nil {
				return nil, peekRID(raw), err
			}
			return req, (*req).RequestID(), nil
		},
		serve: func(s *Server, sess *session, req any) (response, error) { return fn(s, sess, req.(*Req)) },
	}
}

// peekRID recovers the rid of a payload that did not decode as its
// request type, so the error can still be matched by the client.
func peekRID(raw []byte) int64 {
	var p struct {
		RID json.RawMessage `json:"rid"`
	}
	if json.Unmarshal(raw, &p) != nil {
		return 0
	}
	var id jmessage.ID
	if id.UnmarshalJSON(p.RID) != nil {
		return 0
	}
	return int64(id)
}

// unsupportedEvents are v2-only request events. They are answered with
// 882003 rather than ignored, so a client never waits for nothing.
var unsupportedEvents = []string{
	"update_user_inf", "update_user_pwd", "add_friend", "del_friend", "update_friend_memo", "get_friend_list",
	"add_msg_shield_group", "del_msg_shield_group", "list_shield_group", "msg_retract", "get_resource",
	"sync_check", "sync_conversation", "sync_conversation_ack", "sync_event", "sync_event_check", "sync_event_ack",
	"receipt_report", "sync_receipt", "sync_receipt_ack", "receipt_change", "unread_group_count",
	"unread_single_count", "msg_unread_list", "trans_msg_single", "trans_msg_group", "trans_msg_rec", "msg_recv_v2",
}

var handlers = map[string]handler{
	jmessage.EventCInit:    on(anyone, (*Server).cInit),
	jmessage.EventRegister: on(initDone, (*Server).register),
	jmessage.EventLogin:    on(initDone, (*Server).login),
	jmessage.EventLogout:   on(initDone, (*Server).logout),

	jmessage.EventGetUserInfo:       on(loggedIn, (*Server).getUserInfo),
	jmessage.EventGetAcrossUserInfo: on(loggedIn, (*Server).getUserInfo),

	jmessage.EventSendSingle:       on(loggedIn, (*Server).sendSingleReq),
	jmessage.EventSendAcrossSingle: on(loggedIn, (*Server).sendSingleReq),
	jmessage.EventSendGroup:        on(loggedIn, (*Server).sendGroupReq),

	jmessage.EventCreateGroup:          on(loggedIn, (*Server).createGroupReq),
	jmessage.EventGetGroupsList:        on(loggedIn, (*Server).getGroupsList),
	jmessage.EventGetGroupInfo:         on(loggedIn, (*Server).getGroupInfo),
	jmessage.EventAddGroupMember:       on(loggedIn, (*Server).addMembersReq),
	jmessage.EventAddAcrossGroupMember: on(loggedIn, (*Server).addMembersReq),
	jmessage.EventDelGroupMember:       on(loggedIn, (*Server).delMembersReq),
	jmessage.EventDelAcrossGroupMember: on(loggedIn, (*Server).delMembersReq),
	jmessage.EventGetGroupMembers:      on(loggedIn, (*Server).getGroupMembers),
	jmessage.EventUpdateGroupInfo:      on(loggedIn, (*Server).updateGroupReq),
	jmessage.EventExitGroup:            on(loggedIn, (*Server).exitGroupReq),

	jmessage.EventGetConversations: on(loggedIn, (*Server).getConversations),
	jmessage.EventGetUploadToken:   on(loggedIn, (*Server).getUploadToken),

	jmessage.EventNoDisturb:             on(loggedIn, (*Server).getNoDisturb),
	jmessage.EventAddNoDisturbSingle:    on(loggedIn, noDisturbSingle(true)),
	jmessage.EventDeleteNoDisturbSingle: on(loggedIn, noDisturbSingle(false)),
	jmessage.EventAddNoDisturbGroup:     on(loggedIn, noDisturbGroup(true)),
	jmessage.EventDeleteNoDisturbGroup:  on(loggedIn, noDisturbGroup(false)),
	jmessage.EventAddNoDisturbGlobal:    on(loggedIn, noDisturbGlobal(true)),
	jmessage.EventDeleteNoDisturbGlobal: on(loggedIn, noDisturbGlobal(false)),

	jmessage.EventGetBlackList: on(loggedIn, (*Server).getBlackList),
	jmessage.EventAddBlackList: on(loggedIn, blackList(true)),
	jmessage.EventDelBlackList: on(loggedIn, blackList(false)),
}

// dispatch serves one request: ack first, then the response under the same
// event name. Every request gets both, whatever goes wrong.
func (s *Server) dispatch(c socketio.Conn, event string, raw rawArg) {
	sess := sessionOf(c)
	if sess == nil {
		return
	}
	s.serving.Add(1)
	defer s.serving.Add(-1)
	s.stats.Requests.Add(1)
	h, known := handlers[event]
	if !known {
		rid := peekRID([]byte(raw))
		sess.send(jmessage.EventAck, jmessage.Ack{RID: rid})
		s.reply(sess, event, rid, nil, jmessage.Errorf(jmessage.CodeInvalidParam, "event %s is not supported by this server (v2 only)", event))
		return
	}
	req, rid, err := h.decode([]byte(raw))
	sess.send(jmessage.EventAck, jmessage.Ack{RID: rid})
	if err != nil {
		s.reply(sess, event, rid, nil, jmessage.Errorf(jmessage.CodeInvalidParameter, "%s payload: %v", event, err))
		return
	}
	app, u := sess.state()
	switch {
	case h.access >= initDone && app == nil:
		err = jmessage.Errorf(jmessage.CodeAuthFail, "send c_init before %s", event)
	case h.access >= loggedIn && u == nil:
		err = jmessage.Errorf(jmessage.CodeAuthFail, "log in before %s", event)
	}
	var resp response
	if err == nil {
		resp, err = s.serveSafely(h, sess, req, event)
	}
	s.reply(sess, event, rid, resp, err)
}

// serveSafely runs a handler, turning a panic into 882001 so that one bad
// request never takes the server down.
func (s *Server) serveSafely(h handler, sess *session, req any, event string) (resp response, err error) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("panic serving request", "event", event, "panic", r)
			resp, err = nil, jmessage.Errorf(jmessage.CodeServerInternal, "%s", event)
		}
	}()
	return h.serve(s, sess, req)
}

// reply sends the response (or the error) and then runs the session's
// after-response hook, if a handler set one.
func (s *Server) reply(sess *session, event string, rid int64, resp response, err error) {
	if err != nil {
		var je *jmessage.Error
		if !errors.As(err, &je) {
			je = s.internal(event, err).(*jmessage.Error)
		}
		if je.Code == jmessage.CodeInvalidParameter || je.Code == jmessage.CodeInvalidParam {
			s.stats.BadRequests.Add(1)
		}
		resp = &jmessage.Status{Code: je.Code, Message: je.Message}
	}
	if resp == nil {
		resp = &jmessage.Status{}
	}
	st := resp.ResponseStatus()
	st.RID = rid
	if err == nil {
		st.Code, st.Message = jmessage.CodeSuccess, "success"
	}
	sess.send(event, resp)
	sess.mu.Lock()
	after := sess.afterReply
	sess.afterReply = nil
	sess.mu.Unlock()
	if after != nil {
		after()
	}
}

func (s *Server) cInit(sess *session, req *jmessage.CInitRequest) (response, error) {
	if app, _ := sess.state(); app != nil {
		return nil, jmessage.Errorf(jmessage.CodeRepeatedOperation, "c_init was already done on this connection")
	}
	app, err := s.verifyInit(req)
	if err != nil {
		return nil, err
	}
	sess.mu.Lock()
	sess.app = app
	sess.mu.Unlock()
	return nil, nil
}

func (s *Server) register(sess *session, req *jmessage.RegisterRequest) (response, error) {
	app, _ := sess.state()
	_, err := s.createUser(app.Key, req.Username, req.Password, *req)
	return nil, err
}

func (s *Server) login(sess *session, req *jmessage.LoginRequest) (response, error) {
	app, current := sess.state()
	if current != nil {
		return nil, jmessage.Errorf(jmessage.CodeAlreadyLoggedIn, "this connection is logged in as %s", current.username)
	}
	u := s.dir.user(app.Key, req.Username)
	if u == nil {
		return nil, jmessage.Errorf(jmessage.CodeUserNotExist, "%s", req.Username)
	}
	u.mu.Lock()
	disabled, ok, pass := u.disabled, u.password == toLowerASCII(req.Password), u.password
	u.mu.Unlock()
	if disabled {
		return nil, jmessage.NewError(jmessage.CodeUserDisabled)
	}
	if !ok {
		return nil, jmessage.NewError(jmessage.CodeInvalidPassword)
	}
	sess.mu.Lock()
	sess.user = u
	sess.loginPass = pass
	// The pending items go out after the login response, in order.
	sess.afterReply = func() { s.attach(sess, u) }
	sess.mu.Unlock()
	return &jmessage.LoginResponse{Username: u.username}, nil
}

// attach makes sess the user's session, kicks the previous one (event 1)
// and sends everything the user has not acknowledged. A password change
// or a disabling that came between the login and now (ChangePassword and
// SetDisabled act on the attached session only) is carried out on sess.
func (s *Server) attach(sess *session, u *user) {
	u.mu.Lock()
	old := u.session
	u.session = sess
	u.pending.resetSent()
	s.online.Store(u.uid, u)
	s.pushLocked(u)
	changed, disabled := u.password != sess.loginPass, u.disabled
	u.mu.Unlock()
	switch {
	case disabled:
		sess.close("user disabled")
	case changed:
		s.passwordChanged(sess, u)
	}
	if old != nil && old != sess {
		id, err := s.eventSeq.next()
		if err != nil {
			s.log.Error("allocate event_id for kick", "err", err)
		}
		now := s.now()
		old.kick(u, jmessage.EventNotification{
			UID: jmessage.ID(u.uid), EventID: jmessage.ID(id), EventType: jmessage.EventTypeKicked,
			CTime: now.Unix(), CTimeMs: now.UnixMilli(), RID: id,
			Description: "logged in elsewhere",
		})
	}
}

func (s *Server) logout(sess *session, req *jmessage.LoginRequest) (response, error) {
	sess.detach()
	return nil, nil
}

func toLowerASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

func (s *Server) getUserInfo(sess *session, req *jmessage.GetUserInfoRequest) (response, error) {
	app, _ := sess.state()
	appKey := app.Key
	if req.AppKey != "" {
		appKey = req.AppKey
	}
	if req.Name() == "" {
		return nil, jmessage.Errorf(jmessage.CodeInvalidParam, "username (key) is empty")
	}
	u := s.dir.user(appKey, req.Name())
	if u == nil {
		return nil, jmessage.Errorf(jmessage.CodeUserNotExist, "%s (appkey %s)", req.Name(), appKey)
	}
	info := u.info()
	return &jmessage.GetUserInfoResponse{UserInfo: &info}, nil
}

func (s *Server) sendSingleReq(sess *session, req *jmessage.SendSingleRequest) (response, error) {
	_, from := sess.state()
	appKey := from.appKey
	if req.AppKey != "" {
		appKey = req.AppKey
	}
	if req.Target() == "" {
		return nil, jmessage.Errorf(jmessage.CodeInvalidParam, "target_name is empty")
	}
	to := s.dir.user(appKey, req.Target())
	if to == nil {
		return nil, jmessage.Errorf(jmessage.CodeTargetUserNotExist, "%s (appkey %s)", req.Target(), appKey)
	}
	resp, err := s.sendSingle(from, to, req.Content)
	if err != nil {
		return nil, err
	}
	return resp, nil
}

func (s *Server) sendGroupReq(sess *session, req *jmessage.SendGroupRequest) (response, error) {
	_, from := sess.state()
	if req.TargetGID == 0 {
		return nil, jmessage.Errorf(jmessage.CodeInvalidParam, "target_gid is empty")
	}
	resp, err := s.sendGroup(from, int64(req.TargetGID), req.Content)
	if err != nil {
		return nil, err
	}
	return resp, nil
}

func (s *Server) createGroupReq(sess *session, req *jmessage.CreateGroupRequest) (response, error) {
	_, u := sess.state()
	g, err := s.createGroup(u, req.GroupName, req.GroupDescription, req.MediaID)
	if err != nil {
		return nil, err
	}
	return &jmessage.CreateGroupResponse{GID: jmessage.ID(g.gid), GroupName: req.GroupName,
		GroupDescription: req.GroupDescription, GroupDescriptin: req.GroupDescription}, nil
}

func (s *Server) getGroupsList(sess *session, req *jmessage.GroupRequest) (response, error) {
	_, u := sess.state()
	u.mu.Lock()
	gids := setOf(u.groups)
	u.mu.Unlock()
	list := make([]jmessage.GroupInfo, 0, len(gids))
	for _, gid := range gids {
		if g := s.dir.group(gid); g != nil {
			list = append(list, s.groupInfo(g))
		}
	}
	return &jmessage.GetGroupsListResponse{GroupList: list}, nil
}

func (s *Server) groupOf(gid jmessage.StringID) (*group, error) {
	if gid == 0 {
		return nil, jmessage.Errorf(jmessage.CodeInvalidParam, "gid is empty")
	}
	g := s.dir.group(int64(gid))
	if g == nil {
		return nil, jmessage.Errorf(jmessage.CodeTargetGroupNotExist, "gid %d", gid)
	}
	return g, nil
}

func (s *Server) getGroupInfo(sess *session, req *jmessage.GroupRequest) (response, error) {
	g, err := s.groupOf(req.GID)
	if err != nil {
		return nil, err
	}
	info := s.groupInfo(g)
	return &jmessage.GetGroupInfoResponse{GroupInfo: &info}, nil
}

func (s *Server) addMembersReq(sess *session, req *jmessage.MembersRequest) (response, error) {
	_, u := sess.state()
	g, err := s.groupOf(req.GID)
	if err != nil {
		return nil, err
	}
	add, err := s.resolveMembers(req.MemberUsernames, u.appKey, jmessage.CodeMemberNotExist)
	if err != nil {
		return nil, err
	}
	return nil, s.addMembers(u, g, add)
}

func (s *Server) delMembersReq(sess *session, req *jmessage.MembersRequest) (response, error) {
	_, u := sess.state()
	g, err := s.groupOf(req.GID)
	if err != nil {
		return nil, err
	}
	del, err := s.resolveMembers(req.MemberUsernames, u.appKey, jmessage.CodeMemberNotExist)
	if err != nil {
		return nil, err
	}
	return nil, s.removeMembers(u, g, del)
}

func (s *Server) getGroupMembers(sess *session, req *jmessage.GroupRequest) (response, error) {
	_, u := sess.state()
	g, err := s.groupOf(req.GID)
	if err != nil {
		return nil, err
	}
	g.mu.RLock()
	member := g.isMember(u.uid)
	g.mu.RUnlock()
	if !member {
		return nil, jmessage.Errorf(jmessage.CodeNotInGroup, "%s is not in group %d", u.username, g.gid)
	}
	return &jmessage.GetGroupMembersResponse{MemberList: s.groupMembers(g)}, nil
}

func (s *Server) updateGroupReq(sess *session, req *jmessage.UpdateGroupInfoRequest) (response, error) {
	_, u := sess.state()
	g, err := s.groupOf(req.GID)
	if err != nil {
		return nil, err
	}
	return nil, s.updateGroup(u, g, req.GroupName, req.GroupDescription, req.MediaID)
}

func (s *Server) exitGroupReq(sess *session, req *jmessage.GroupRequest) (response, error) {
	_, u := sess.state()
	g, err := s.groupOf(req.GID)
	if err != nil {
		return nil, err
	}
	name, err := s.exitGroup(u, g)
	if err != nil {
		return nil, err
	}
	return &jmessage.ExitGroupResponse{GID: jmessage.ID(g.gid), GroupName: name}, nil
}

func (s *Server) getConversations(sess *session, req *jmessage.GroupRequest) (response, error) {
	_, u := sess.state()
	u.mu.Lock()
	peers := make(map[int64]time.Time, len(u.convs))
	for k, v := range u.convs {
		peers[k] = v
	}
	gids := setOf(u.groups)
	u.mu.Unlock()
	var convs []jmessage.Conversation
	for uid, t := range peers {
		p := s.dir.userByUID(uid)
		if p == nil {
			continue
		}
		info := p.info()
		convs = append(convs, jmessage.Conversation{Type: jmessage.ConvSingle, Key: strconv.FormatInt(uid, 10),
			AppKey: info.AppKey, Username: info.Username, Nickname: info.Nickname, Name: info.Nickname,
			Avatar: info.Avatar, MTime: t.UnixMilli(), UTime: t.UnixMilli()})
	}
	for _, gid := range gids {
		g := s.dir.group(gid)
		if g == nil {
			continue
		}
		g.mu.RLock()
		c := jmessage.Conversation{Type: jmessage.ConvGroup, Key: strconv.FormatInt(gid, 10), AppKey: g.appKey,
			Name: g.name, Avatar: g.avatar, MTime: g.lastMsg.UnixMilli(), UTime: g.lastMsg.UnixMilli()}
		last := g.lastMsg
		g.mu.RUnlock()
		if !last.IsZero() {
			convs = append(convs, c)
		}
	}
	sort.Slice(convs, func(i, j int) bool {
		if convs[i].MTime != convs[j].MTime {
			return convs[i].MTime > convs[j].MTime
		}
		return convs[i].Key < convs[j].Key
	})
	if convs == nil {
		convs = []jmessage.Conversation{}
	}
	return &jmessage.GetConversationsResponse{Conversations: convs}, nil
}

func (s *Server) getUploadToken(sess *session, req *jmessage.GroupRequest) (response, error) {
	_, u := sess.state()
	token := jmessage.RandomString(32)
	u.mu.Lock()
	u.uploadToken, u.tokenExpiry = token, s.now().Add(uploadTokenTTL)
	u.mu.Unlock()
	return &jmessage.UploadTokenResponse{UpToken: token}, nil
}

const uploadTokenTTL = time.Hour

func (s *Server) getNoDisturb(sess *session, req *jmessage.NoDisturbRequest) (response, error) {
	_, u := sess.state()
	u.mu.Lock()
	users, groups, global := setOf(u.ndUsers), setOf(u.ndGroups), u.ndGlobal
	u.mu.Unlock()
	info := &jmessage.NoDisturbInfo{Users: []jmessage.NoDisturbUser{}, Groups: []jmessage.NoDisturbGroup{}}
	if global {
		info.Global = 1
	}
	for _, p := range s.usersOf(users) {
		pi := p.info()
		info.Users = append(info.Users, jmessage.NoDisturbUser{Username: pi.Username, Nickname: pi.Nickname, AppKey: pi.AppKey})
	}
	for _, gid := range groups {
		if g := s.dir.group(gid); g != nil {
			g.mu.RLock()
			info.Groups = append(info.Groups, jmessage.NoDisturbGroup{GID: jmessage.ID(gid), Name: g.name, AppKey: g.appKey, Desc: g.desc})
			g.mu.RUnlock()
		}
	}
	return &jmessage.NoDisturbResponse{NoDisturb: info}, nil
}

// changeSetting applies a change to u under its lock, persists u and
// tells u's sessions (event 37 or 38).
func (s *Server) changeSetting(u *user, ev jmessage.EventType, relation int64, change func() error) error {
	u.mu.Lock()
	err := change()
	if err == nil {
		u.mtime = s.now()
	}
	u.mu.Unlock()
	if err != nil {
		return err
	}
	u.mu.Lock()
	err = s.saveUser(u)
	u.mu.Unlock()
	if err != nil {
		return err
	}
	return s.notify(jmessage.EventNotification{EventType: ev, GID: jmessage.ID(relation),
		FromUID: jmessage.ID(u.uid), FromUsername: u.username, FromAppKey: u.appKey}, []*user{u})
}

func noDisturbSingle(add bool) func(*Server, *session, *jmessage.NoDisturbRequest) (response, error) {
	return func(s *Server, sess *session, req *jmessage.NoDisturbRequest) (response, error) {
		_, u := sess.state()
		appKey := u.appKey
		if req.AppKey != "" {
			appKey = req.AppKey
		}
		target := s.dir.user(appKey, req.TargetName)
		if target == nil {
			return nil, jmessage.Errorf(jmessage.CodeTargetUserNotExist, "%s (appkey %s)", req.TargetName, appKey)
		}
		return nil, s.changeSetting(u, jmessage.EventTypeNoDisturbChanged, jmessage.RelationNoDisturb, func() error {
			_, set := u.ndUsers[target.uid]
			switch {
			case add && set:
				return jmessage.NewError(jmessage.CodeNoDisturbUserAlreadySet)
			case !add && !set:
				return jmessage.NewError(jmessage.CodeNoDisturbUserNeverSet)
			case add:
				u.ndUsers[target.uid] = struct{}{}
			default:
				delete(u.ndUsers, target.uid)
			}
			return nil
		})
	}
}

func noDisturbGroup(add bool) func(*Server, *session, *jmessage.NoDisturbRequest) (response, error) {
	return func(s *Server, sess *session, req *jmessage.NoDisturbRequest) (response, error) {
		_, u := sess.state()
		g := s.dir.group(int64(req.GID))
		if g == nil {
			return nil, jmessage.Errorf(jmessage.CodeNoDisturbGroupNotExist, "gid %d", req.GID)
		}
		g.mu.RLock()
		member := g.isMember(u.uid)
		g.mu.RUnlock()
		if !member {
			return nil, jmessage.Errorf(jmessage.CodeNoDisturbNotInGroup, "%s is not in group %d", u.username, g.gid)
		}
		return nil, s.changeSetting(u, jmessage.EventTypeNoDisturbChanged, jmessage.RelationNoDisturb, func() error {
			_, set := u.ndGroups[g.gid]
			switch {
			case add && set:
				return jmessage.NewError(jmessage.CodeNoDisturbGroupAlreadySet)
			case !add && !set:
				return jmessage.NewError(jmessage.CodeNoDisturbGroupNeverSet)
			case add:
				u.ndGroups[g.gid] = struct{}{}
			default:
				delete(u.ndGroups, g.gid)
			}
			return nil
		})
	}
}

func noDisturbGlobal(add bool) func(*Server, *session, *jmessage.NoDisturbRequest) (response, error) {
	return func(s *Server, sess *session, req *jmessage.NoDisturbRequest) (response, error) {
		_, u := sess.state()
		return nil, s.changeSetting(u, jmessage.EventTypeNoDisturbChanged, jmessage.RelationNoDisturb, func() error {
			switch {
			case add && u.ndGlobal:
				return jmessage.NewError(jmessage.CodeNoDisturbGlobalAlreadySet)
			case !add && !u.ndGlobal:
				return jmessage.NewError(jmessage.CodeNoDisturbGlobalNeverSet)
			}
			u.ndGlobal = add
			return nil
		})
	}
}

func (s *Server) getBlackList(sess *session, req *jmessage.BlackListRequest) (response, error) {
	_, u := sess.state()
	u.mu.Lock()
	ids := setOf(u.blacklist)
	u.mu.Unlock()
	list := make([]jmessage.UserInfo, 0, len(ids))
	for _, p := range s.usersOf(ids) {
		list = append(list, p.info())
	}
	return &jmessage.BlackListResponse{BlackList: list}, nil
}

func blackList(add bool) func(*Server, *session, *jmessage.BlackListRequest) (response, error) {
	return func(s *Server, sess *session, req *jmessage.BlackListRequest) (response, error) {
		_, u := sess.state()
		if len(req.MemberUsernames) == 0 {
			return nil, jmessage.Errorf(jmessage.CodeInvalidParam, "member_usernames is empty")
		}
		targets, err := s.resolveMembers(req.MemberUsernames, u.appKey, jmessage.CodeTargetUserNotExist)
		if err != nil {
			return nil, err
		}
		return nil, s.setBlacklist(u, targets, add)
	}
}

// setBlacklist adds targets to (or removes them from) u's blacklist.
// Adding a user already listed, or removing one who is not, is not an
// error.
func (s *Server) setBlacklist(u *user, targets []*user, add bool) error {
	return s.changeSetting(u, jmessage.EventTypeBlacklistChanged, jmessage.RelationBlacklist, func() error {
		for _, t := range targets {
			if t.uid == u.uid {
				return jmessage.Errorf(jmessage.CodeInvalidParam, "a user cannot blacklist themself")
			}
		}
		for _, t := range targets {
			if add {
				u.blacklist[t.uid] = struct{}{}
			} else {
				delete(u.blacklist, t.uid)
			}
		}
		return nil
	})
}

// onMsgRecv removes acknowledged messages from the user's queue. msg_recv
// has no response; a malformed one is logged and ignored.
func (s *Server) onMsgRecv(c socketio.Conn, raw rawArg) {
	sess := sessionOf(c)
	if sess == nil {
		return
	}
	var recv jmessage.MsgRecv
	if err := json.Unmarshal([]byte(raw), &recv); err != nil {
		s.stats.BadRequests.Add(1)
		s.log.Debug("malformed msg_recv", "session", sess.id, "err", err)
		return
	}
	_, u := sess.state()
	if u == nil || len(recv.Messages) == 0 {
		return
	}
	keys := make([]itemKey, len(recv.Messages))
	for i, m := range recv.Messages {
		keys[i] = itemKey{kind: kindMsg, id: int64(m.MsgID)}
	}
	s.acknowledge(u, keys)
}

// onEventEcho removes an acknowledged event from the user's queue. The
// echo of a kick closes the kicked session at once.
func (s *Server) onEventEcho(c socketio.Conn, raw rawArg) {
	sess := sessionOf(c)
	if sess == nil {
		return
	}
	var echo jmessage.EventEcho
	if err := json.Unmarshal([]byte(raw), &echo); err != nil {
		s.stats.BadRequests.Add(1)
		s.log.Debug("malformed event echo", "session", sess.id, "err", err)
		return
	}
	if echo.EventType == jmessage.EventTypeKicked {
		sess.mu.Lock()
		kicked := sess.kickTimer != nil
		sess.mu.Unlock()
		if kicked {
			sess.close("kicked")
		}
		return
	}
	_, u := sess.state()
	if u == nil {
		return
	}
	s.acknowledge(u, []itemKey{{kind: kindEvent, id: int64(echo.EventID)}})
}
