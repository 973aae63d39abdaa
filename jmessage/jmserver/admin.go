package jmserver

import (
	"fmt"

	"github.com/jimbot/jimbot/jmessage"
)

// This file is the server's administrative API, for embedding programs
// (`jimbot dev` seeds its demo users and group with it) and for tests. It
// does what the JMessage REST admin calls do, with the same events sent
// to the users concerned; actions have no acting user (from_uid 0).

// RegisterUser creates a user with a plain password. It returns the new
// user's profile, or *jmessage.Error 882002 if the user exists.
func (s *Server) RegisterUser(appKey, username, password, nickname string) (jmessage.UserInfo, error) {
	if _, ok := s.apps[appKey]; !ok {
		return jmessage.UserInfo{}, jmessage.Errorf(jmessage.CodeAppKeyNotExist, "%s", appKey)
	}
	u, err := s.createUser(appKey, username, jmessage.HashPassword(password), jmessage.RegisterRequest{Nickname: nickname})
	if err != nil {
		return jmessage.UserInfo{}, err
	}
	return u.info(), nil
}

// EnsureUser is RegisterUser that accepts an existing user as long as the
// password matches.
func (s *Server) EnsureUser(appKey, username, password, nickname string) (jmessage.UserInfo, error) {
	if u := s.dir.user(appKey, username); u != nil {
		u.mu.Lock()
		ok := u.password == jmessage.HashPassword(password)
		u.mu.Unlock()
		if !ok {
			return jmessage.UserInfo{}, fmt.Errorf("jmserver: user %s exists with another password", username)
		}
		return u.info(), nil
	}
	return s.RegisterUser(appKey, username, password, nickname)
}

// User returns a user's profile.
func (s *Server) User(appKey, username string) (jmessage.UserInfo, error) {
	u, err := s.userOf(appKey, username)
	if err != nil {
		return jmessage.UserInfo{}, err
	}
	return u.info(), nil
}

func (s *Server) userOf(appKey, username string) (*user, error) {
	u := s.dir.user(appKey, username)
	if u == nil {
		return nil, jmessage.Errorf(jmessage.CodeUserNotExist, "%s (appkey %s)", username, appKey)
	}
	return u, nil
}

func (s *Server) usersNamed(appKey string, usernames []string) ([]*user, error) {
	out := make([]*user, 0, len(usernames))
	for _, n := range usernames {
		u, err := s.userOf(appKey, n)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, nil
}

// CreateGroup creates a group owned by owner with the given members (of
// the same app) and returns its gid.
func (s *Server) CreateGroup(appKey, owner, name, desc string, members ...string) (int64, error) {
	o, err := s.userOf(appKey, owner)
	if err != nil {
		return 0, err
	}
	g, err := s.createGroup(o, name, desc, "")
	if err != nil {
		return 0, err
	}
	if len(members) > 0 {
		if err := s.AddMembers(g.gid, appKey, members...); err != nil {
			return g.gid, err
		}
	}
	return g.gid, nil
}

// FindGroup returns the gid of the first group of owner named name, or 0.
func (s *Server) FindGroup(appKey, owner, name string) int64 {
	o := s.dir.user(appKey, owner)
	if o == nil {
		return 0
	}
	for _, g := range s.dir.allGroups() {
		g.mu.RLock()
		match := g.owner == o.uid && g.name == name
		g.mu.RUnlock()
		if match {
			return g.gid
		}
	}
	return 0
}

func (s *Server) groupByID(gid int64) (*group, error) {
	g := s.dir.group(gid)
	if g == nil {
		return nil, jmessage.Errorf(jmessage.CodeTargetGroupNotExist, "gid %d", gid)
	}
	return g, nil
}

// AddMembers adds users of appKey to a group (event 10, from_uid 0).
func (s *Server) AddMembers(gid int64, appKey string, usernames ...string) error {
	g, err := s.groupByID(gid)
	if err != nil {
		return err
	}
	users, err := s.usersNamed(appKey, usernames)
	if err != nil {
		return err
	}
	return s.addMembers(nil, g, users)
}

// RemoveMembers removes users of appKey from a group (event 11).
func (s *Server) RemoveMembers(gid int64, appKey string, usernames ...string) error {
	g, err := s.groupByID(gid)
	if err != nil {
		return err
	}
	users, err := s.usersNamed(appKey, usernames)
	if err != nil {
		return err
	}
	return s.removeMembers(nil, g, users)
}

// GroupMembers lists a group's members, owner first.
func (s *Server) GroupMembers(gid int64) ([]jmessage.GroupMember, error) {
	g, err := s.groupByID(gid)
	if err != nil {
		return nil, err
	}
	return s.groupMembers(g), nil
}

// GroupInfo returns a group's info.
func (s *Server) GroupInfo(gid int64) (jmessage.GroupInfo, error) {
	g, err := s.groupByID(gid)
	if err != nil {
		return jmessage.GroupInfo{}, err
	}
	return s.groupInfo(g), nil
}

// SetSilence silences (or un-silences) a member: their group messages are
// refused with 880212.
func (s *Server) SetSilence(gid int64, appKey, username string, on bool) error {
	g, err := s.groupByID(gid)
	if err != nil {
		return err
	}
	u, err := s.userOf(appKey, username)
	if err != nil {
		return err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.isMember(u.uid) {
		return jmessage.Errorf(jmessage.CodeNotInGroup, "%s is not in group %d", username, gid)
	}
	if on {
		g.silenced[u.uid] = true
	} else {
		delete(g.silenced, u.uid)
	}
	return s.saveGroup(g)
}

// ChangePassword sets a new password and, as the real service does, logs
// the user out everywhere with event 2.
func (s *Server) ChangePassword(appKey, username, password string) error {
	u, err := s.userOf(appKey, username)
	if err != nil {
		return err
	}
	u.mu.Lock()
	u.password = jmessage.HashPassword(password)
	u.mtime = s.now()
	sess := u.session
	err = s.saveUser(u)
	u.mu.Unlock()
	if err != nil {
		return err
	}
	if sess != nil {
		s.passwordChanged(sess, u)
	}
	return nil
}

// passwordChanged tells sess that u's password changed (event 2) and
// closes it.
func (s *Server) passwordChanged(sess *session, u *user) {
	id, _ := s.eventSeq.next()
	now := s.now()
	sess.kick(u, jmessage.EventNotification{UID: jmessage.ID(u.uid), EventID: jmessage.ID(id),
		EventType: jmessage.EventTypePasswordChanged, CTime: now.Unix(), CTimeMs: now.UnixMilli(), RID: id})
}

// SetDisabled disables (or enables) a user; a disabled user cannot log in
// (880111) and is disconnected.
func (s *Server) SetDisabled(appKey, username string, disabled bool) error {
	u, err := s.userOf(appKey, username)
	if err != nil {
		return err
	}
	u.mu.Lock()
	u.disabled = disabled
	sess := u.session
	err = s.saveUser(u)
	u.mu.Unlock()
	if err == nil && disabled && sess != nil {
		sess.close("user disabled")
	}
	return err
}

// Blacklist adds (or removes) targets to owner's blacklist, as
// add_black_list does.
func (s *Server) Blacklist(appKey, owner string, add bool, targets ...string) error {
	u, err := s.userOf(appKey, owner)
	if err != nil {
		return err
	}
	ts, err := s.usersNamed(appKey, targets)
	if err != nil {
		return err
	}
	return s.setBlacklist(u, ts, add)
}

// SendText sends a text message from one user to another, as that user's
// client would. It returns the msg_id.
func (s *Server) SendText(appKey, from, to, text string) (int64, error) {
	f, err := s.userOf(appKey, from)
	if err != nil {
		return 0, err
	}
	t, err := s.userOf(appKey, to)
	if err != nil {
		return 0, err
	}
	raw, err := textContent(jmessage.TargetSingle, to, from, s.now().UnixMilli(), text)
	if err != nil {
		return 0, err
	}
	resp, err := s.sendSingle(f, t, jmessage.RawJSON(raw))
	if err != nil {
		return 0, err
	}
	return int64(resp.MsgID), nil
}

// SendGroupText sends a text message from a member to a group.
func (s *Server) SendGroupText(appKey, from string, gid int64, text string) (int64, error) {
	f, err := s.userOf(appKey, from)
	if err != nil {
		return 0, err
	}
	raw, err := textContent(jmessage.TargetGroup, fmt.Sprint(gid), from, s.now().UnixMilli(), text)
	if err != nil {
		return 0, err
	}
	resp, err := s.sendGroup(f, gid, jmessage.RawJSON(raw))
	if err != nil {
		return 0, err
	}
	return int64(resp.MsgID), nil
}

func textContent(targetType, target, from string, nowMs int64, text string) ([]byte, error) {
	ct, err := jmessage.NewContent(targetType, target, from, nowMs, jmessage.Text(text))
	if err != nil {
		return nil, err
	}
	return ct.Encode()
}

// Pending returns how many items user has not acknowledged.
func (s *Server) Pending(appKey, username string) (int, error) {
	u, err := s.userOf(appKey, username)
	if err != nil {
		return 0, err
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.pending.len(), nil
}

// Online reports whether user has a logged-in session.
func (s *Server) Online(appKey, username string) bool {
	u := s.dir.user(appKey, username)
	if u == nil {
		return false
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.session != nil
}

// Redeliver runs one redelivery sweep now (tests drive it through
// Options.RedeliverTick or call it directly).
func (s *Server) Redeliver() { s.redeliver() }
