package jmserver

import (
	"encoding/json"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jimbot/jimbot/jmessage"
	"github.com/jimbot/jimbot/storage"
)

// idAllocator hands out increasing ids without a lock on the fast path.
// With a store it reserves ids in blocks: the store records the end of the
// current block, so ids are never reused across restarts (a restart skips
// the rest of the block).
type idAllocator struct {
	name    string
	cur     atomic.Int64
	limit   atomic.Int64
	mu      sync.Mutex
	reserve func(name string, limit int64) error // nil: memory only
}

const idBlock = 1000

func (a *idAllocator) next() (int64, error) {
	n := a.cur.Add(1)
	if a.reserve == nil || n <= a.limit.Load() {
		return n, nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for n > a.limit.Load() {
		l := a.limit.Load() + idBlock
		if err := a.reserve(a.name, l); err != nil {
			return 0, err
		}
		a.limit.Store(l)
	}
	return n, nil
}

// internal wraps an unexpected failure (a storage error) as 882001.
func (s *Server) internal(op string, err error) error {
	s.log.Error("internal error", "op", op, "err", err)
	return jmessage.Errorf(jmessage.CodeServerInternal, "%s", op)
}

// persist runs fn in one write transaction of the store (Update, not
// Batch: a lone sender must not wait for a batch window); without a
// store it does nothing.
func (s *Server) persist(fn func(tx *storage.Tx) error) error {
	if s.store == nil {
		return nil
	}
	return s.store.ns.Update(fn)
}

// createUser adds a user. password is the md5 hex digest.
func (s *Server) createUser(appKey, username, password string, profile jmessage.RegisterRequest) (*user, error) {
	if !validUsername(username) {
		return nil, jmessage.Errorf(jmessage.CodeInvalidParam, "username %q must be 4-128 bytes of letters, digits, _ - . @, starting with a letter or digit", username)
	}
	if password == "" {
		return nil, jmessage.Errorf(jmessage.CodeInvalidParam, "password is empty")
	}
	s.dir.createMu.Lock()
	defer s.dir.createMu.Unlock()
	if s.dir.user(appKey, username) != nil {
		return nil, jmessage.Errorf(jmessage.CodeUserExist, "%s", username)
	}
	uid, err := s.uidSeq.next()
	if err != nil {
		return nil, s.internal("allocate uid", err)
	}
	u := newUser(uid, appKey, username, s.now())
	u.password = strings.ToLower(password)
	u.nickname, u.birthday, u.signature = profile.Nickname, profile.Birthday, profile.Signature
	u.gender, u.region, u.address, u.avatar = profile.Gender, profile.Region, profile.Address, profile.MediaID
	if len(profile.Extras) > 0 {
		u.extras = append([]byte(nil), profile.Extras...)
	}
	if err := s.persist(func(tx *storage.Tx) error { return putUser(tx, u) }); err != nil {
		return nil, s.internal("save user", err)
	}
	s.dir.addUser(u)
	return u, nil
}

// saveUser persists u's record after a change made under u.mu.
func (s *Server) saveUser(u *user) error {
	if s.store == nil {
		return nil
	}
	if err := s.persist(func(tx *storage.Tx) error { return putUser(tx, u) }); err != nil {
		return s.internal("save user", err)
	}
	return nil
}

// saveGroup persists g's record after a change made under g.mu.
func (s *Server) saveGroup(g *group) error {
	if s.store == nil {
		return nil
	}
	if err := s.persist(func(tx *storage.Tx) error { return putGroup(tx, g) }); err != nil {
		return s.internal("save group", err)
	}
	return nil
}

// enqueue queues an item (already persisted) for u and pushes what the
// in-flight window allows.
func (s *Server) enqueue(u *user, it *item) {
	u.mu.Lock()
	defer u.mu.Unlock()
	for u.pending.len() >= s.opts.MaxPending {
		old := u.pending.oldest()
		u.pending.remove(old.key)
		s.stats.PendingDrops.Add(1)
		s.log.Warn("pending queue full, dropping oldest item", "user", u.username, "item", old.key.String(), "max", s.opts.MaxPending)
		if err := s.persist(func(tx *storage.Tx) error { return deleteItems(tx, u.uid, []itemKey{old.key}) }); err != nil {
			s.log.Error("delete dropped item", "err", err)
		}
	}
	if u.pending.add(it) {
		s.pushLocked(u)
	}
}

// pushLocked sends u's unsent items that fit in the window to u's session.
// The caller holds u.mu.
func (s *Server) pushLocked(u *user) {
	sess := u.session
	if sess == nil {
		return
	}
	items := u.pending.takeUnsent(s.now(), s.opts.InflightWindow)
	s.sendItemsLocked(u, sess, items)
}

func (s *Server) sendItemsLocked(u *user, sess *session, items []*item) {
	if len(items) == 0 {
		return
	}
	for _, f := range frames(u.uid, &sess.syncSeq, items, s.opts.MaxSyncBatch) {
		if !sess.send(f.event, f.payload) {
			return
		}
	}
}

// redeliver is one sweep: every online user gets again what has waited
// RedeliverAfter without an acknowledgement, then what the window allows.
func (s *Server) redeliver() {
	now := s.now()
	s.online.Range(func(_, v any) bool {
		u := v.(*user)
		u.mu.Lock()
		if sess := u.session; sess != nil {
			overdue := u.pending.takeOverdue(now, s.opts.RedeliverAfter)
			s.stats.Redeliveries.Add(int64(len(overdue)))
			s.sendItemsLocked(u, sess, append(overdue, u.pending.takeUnsent(now, s.opts.InflightWindow)...))
		}
		u.mu.Unlock()
		return true
	})
}

// acknowledge removes acknowledged items from u's queue, persists that,
// and tops the window up.
func (s *Server) acknowledge(u *user, keys []itemKey) {
	u.mu.Lock()
	defer u.mu.Unlock()
	removed := keys[:0:0]
	for _, k := range keys {
		if _, ok := u.pending.remove(k); ok {
			removed = append(removed, k)
		}
	}
	if len(removed) > 0 {
		if err := s.persist(func(tx *storage.Tx) error { return deleteItems(tx, u.uid, removed) }); err != nil {
			s.log.Error("delete acknowledged items", "user", u.username, "err", err)
		}
	}
	s.pushLocked(u)
}

// newMessageItem builds the queued form of a message.
func (s *Server) newMessageItem(msgID int64, convType int, from *user, gid int64, level int, now time.Time, content jmessage.RawJSON) (*item, error) {
	payload, err := json.Marshal(jmessage.SyncMessage{
		MsgID: jmessage.ID(msgID), MsgType: convType, FromUID: jmessage.ID(from.uid), FromGID: jmessage.ID(gid),
		MsgLevel: level, CTime: now.Unix(), CTimeMs: now.UnixMilli(), Content: content,
	})
	if err != nil {
		return nil, err
	}
	return &item{key: itemKey{kind: kindMsg, id: msgID}, seq: s.itemSeq.Add(1), payload: jmessage.RawJSON(payload)}, nil
}

// checkContent applies the checks every send shares: size, shape, the
// sender's identity and sensitive words. The content names its sender
// (from_id, from_appkey); the server refuses content that names someone
// else, so a receiver can trust it together with the envelope's from_uid.
func (s *Server) checkContent(from *user, raw jmessage.RawJSON) (*jmessage.Content, error) {
	if len(raw) > s.opts.MaxMessageSize {
		return nil, jmessage.Errorf(jmessage.CodeMessageTooLong, "content is %d bytes, limit %d", len(raw), s.opts.MaxMessageSize)
	}
	if len(raw) == 0 {
		return nil, jmessage.Errorf(jmessage.CodeInvalidParameter, "content is missing")
	}
	var c jmessage.Content
	if err := json.Unmarshal([]byte(raw), &c); err != nil {
		return nil, jmessage.Errorf(jmessage.CodeInvalidValue, "content is not a message object: %v", err)
	}
	if err := c.Validate(); err != nil {
		return nil, jmessage.Errorf(jmessage.CodeInvalidValue, "content: %v", err)
	}
	if c.FromID != from.username || (c.FromAppKey != "" && c.FromAppKey != from.appKey) {
		return nil, jmessage.Errorf(jmessage.CodeInvalidValue, "content: from_id %q (appkey %q) is not the sender %s", c.FromID, c.FromAppKey, from.username)
	}
	if len(s.opts.SensitiveWords) > 0 && c.MsgType == jmessage.MsgText {
		text := c.Text()
		for _, w := range s.opts.SensitiveWords {
			if w != "" && strings.Contains(text, w) {
				return nil, jmessage.NewError(jmessage.CodeSensitive)
			}
		}
	}
	return &c, nil
}

func (s *Server) allowSend(from *user) error {
	if s.opts.SendRatePerMinute <= 0 {
		return nil
	}
	from.mu.Lock()
	ok := from.rate.allow(s.now(), s.opts.SendRatePerMinute)
	from.mu.Unlock()
	if !ok {
		return jmessage.Errorf(jmessage.CodeRateLimited, "more than %d messages a minute", s.opts.SendRatePerMinute)
	}
	return nil
}

// sendSingle delivers content from one user to another.
func (s *Server) sendSingle(from, to *user, raw jmessage.RawJSON) (*jmessage.SendResponse, error) {
	if _, err := s.checkContent(from, raw); err != nil {
		return nil, err
	}
	to.mu.Lock()
	_, blocked := to.blacklist[from.uid]
	to.mu.Unlock()
	if blocked {
		return nil, jmessage.Errorf(jmessage.CodeInBlacklist, "%s has blacklisted %s", to.username, from.username)
	}
	if err := s.allowSend(from); err != nil {
		return nil, err
	}
	msgID, err := s.msgSeq.next()
	if err != nil {
		return nil, s.internal("allocate msg_id", err)
	}
	now := s.now()
	level := jmessage.LevelNormal
	if from.appKey != to.appKey {
		level = jmessage.LevelAcross
	}
	it, err := s.newMessageItem(msgID, jmessage.ConvSingle, from, 0, level, now, raw)
	if err != nil {
		return nil, s.internal("encode message", err)
	}
	if err := s.persist(func(tx *storage.Tx) error {
		if err := putItem(tx, to.uid, it); err != nil {
			return err
		}
		if err := putConv(tx, from.uid, to.uid, now); err != nil {
			return err
		}
		return putConv(tx, to.uid, from.uid, now)
	}); err != nil {
		return nil, s.internal("queue message", err)
	}
	from.mu.Lock()
	from.convs[to.uid] = now
	from.mu.Unlock()
	to.mu.Lock()
	to.convs[from.uid] = now
	to.mu.Unlock()
	s.enqueue(to, it)
	s.stats.MessagesSent.Add(1)
	return &jmessage.SendResponse{MsgID: jmessage.ID(msgID), CTimeMs: now.UnixMilli(), AppKey: to.appKey, TargetUsername: to.username}, nil
}

// sendGroup delivers content from a member to every other member.
func (s *Server) sendGroup(from *user, gid int64, raw jmessage.RawJSON) (*jmessage.SendResponse, error) {
	g := s.dir.group(gid)
	if g == nil {
		return nil, jmessage.Errorf(jmessage.CodeTargetGroupNotExist, "gid %d", gid)
	}
	if _, err := s.checkContent(from, raw); err != nil {
		return nil, err
	}
	g.mu.RLock()
	member, silenced := g.isMember(from.uid), g.silenced[from.uid]
	members := g.memberSnapshotLocked()
	g.mu.RUnlock()
	if !member {
		return nil, jmessage.Errorf(jmessage.CodeNotInGroup, "%s is not in group %d", from.username, gid)
	}
	if silenced {
		return nil, jmessage.Errorf(jmessage.CodeSilenced, "%s is silenced in group %d", from.username, gid)
	}
	if err := s.allowSend(from); err != nil {
		return nil, err
	}
	msgID, err := s.msgSeq.next()
	if err != nil {
		return nil, s.internal("allocate msg_id", err)
	}
	now := s.now()
	proto, err := s.newMessageItem(msgID, jmessage.ConvGroup, from, gid, jmessage.LevelNormal, now, raw)
	if err != nil {
		return nil, s.internal("encode message", err)
	}
	type delivery struct {
		u  *user
		it *item
	}
	deliveries := make([]delivery, 0, len(members))
	for _, uid := range members {
		if uid == from.uid {
			continue
		}
		if u := s.dir.userByUID(uid); u != nil {
			it := *proto
			it.seq = s.itemSeq.Add(1)
			deliveries = append(deliveries, delivery{u, &it})
		}
	}
	if err := s.persist(func(tx *storage.Tx) error {
		for _, d := range deliveries {
			if err := putItem(tx, d.u.uid, d.it); err != nil {
				return err
			}
		}
		return putGroupLast(tx, gid, now)
	}); err != nil {
		return nil, s.internal("queue group message", err)
	}
	g.mu.Lock()
	g.lastMsg = now
	g.mu.Unlock()
	for _, d := range deliveries {
		s.enqueue(d.u, d.it)
	}
	s.stats.MessagesSent.Add(1)
	return &jmessage.SendResponse{MsgID: jmessage.ID(msgID), CTimeMs: now.UnixMilli(), TargetGID: jmessage.ID(gid)}, nil
}

// notify queues one event for each recipient. ev is completed per
// recipient (uid, event_id, times).
func (s *Server) notify(ev jmessage.EventNotification, recipients []*user) error {
	id, err := s.eventSeq.next()
	if err != nil {
		return s.internal("allocate event_id", err)
	}
	now := s.now()
	ev.EventID, ev.CTime, ev.CTimeMs, ev.RID = jmessage.ID(id), now.Unix(), now.UnixMilli(), id
	type delivery struct {
		u  *user
		it *item
	}
	deliveries := make([]delivery, 0, len(recipients))
	for _, u := range recipients {
		ev.UID = jmessage.ID(u.uid)
		payload, err := json.Marshal(ev)
		if err != nil {
			return s.internal("encode event", err)
		}
		deliveries = append(deliveries, delivery{u, &item{key: itemKey{kind: kindEvent, id: id}, seq: s.itemSeq.Add(1), payload: jmessage.RawJSON(payload)}})
	}
	if err := s.persist(func(tx *storage.Tx) error {
		for _, d := range deliveries {
			if err := putItem(tx, d.u.uid, d.it); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return s.internal("queue event", err)
	}
	for _, d := range deliveries {
		s.enqueue(d.u, d.it)
	}
	return nil
}

// usersOf resolves uids to users, skipping unknown ones.
func (s *Server) usersOf(uids []int64) []*user {
	out := make([]*user, 0, len(uids))
	for _, uid := range uids {
		if u := s.dir.userByUID(uid); u != nil {
			out = append(out, u)
		}
	}
	return out
}

func refsOf(users []*user) ([]jmessage.ID, []jmessage.UserRef) {
	ids := make([]jmessage.ID, len(users))
	refs := make([]jmessage.UserRef, len(users))
	for i, u := range users {
		ids[i], refs[i] = jmessage.ID(u.uid), u.ref()
	}
	return ids, refs
}

// groupEvent builds a group event from actor (nil for an admin action) to
// the users in to.
func groupEvent(typ jmessage.EventType, g *group, groupName string, actor *user, to []*user) jmessage.EventNotification {
	ev := jmessage.EventNotification{EventType: typ, GID: jmessage.ID(g.gid), GroupName: groupName}
	if actor != nil {
		ev.FromUID, ev.FromUsername, ev.FromAppKey = jmessage.ID(actor.uid), actor.username, actor.appKey
		ev.FromNickname = actor.info().Nickname
	}
	ev.ToUIDList, ev.ToUsernames = refsOf(to)
	return ev
}

func (s *Server) createGroup(owner *user, name, desc, avatar string) (*group, error) {
	if name == "" {
		return nil, jmessage.Errorf(jmessage.CodeInvalidParam, "group_name is empty")
	}
	if len(name) > maxGroupName {
		return nil, jmessage.Errorf(jmessage.CodeGroupNameTooLong, "group_name is %d bytes, limit %d", len(name), maxGroupName)
	}
	if len(desc) > maxGroupDesc {
		return nil, jmessage.Errorf(jmessage.CodeGroupDescTooLong, "group_description is %d bytes, limit %d", len(desc), maxGroupDesc)
	}
	owner.mu.Lock()
	count := len(owner.groups)
	owner.mu.Unlock()
	if count >= s.opts.MaxGroupsPerUser {
		return nil, jmessage.Errorf(jmessage.CodeTooManyGroups, "%s is in %d groups, limit %d", owner.username, count, s.opts.MaxGroupsPerUser)
	}
	gid, err := s.gidSeq.next()
	if err != nil {
		return nil, s.internal("allocate gid", err)
	}
	g := newGroup(gid, owner.appKey, owner.uid, name, desc, s.now())
	g.avatar = avatar
	if err := s.saveGroup(g); err != nil {
		return nil, err
	}
	s.dir.groups.Store(gid, g)
	owner.mu.Lock()
	owner.groups[gid] = struct{}{}
	owner.mu.Unlock()
	return g, s.notify(groupEvent(jmessage.EventTypeGroupCreated, g, name, owner, []*user{owner}), []*user{owner})
}

// Limits on group names and descriptions, in bytes.
const (
	maxGroupName = 64
	maxGroupDesc = 250
)

// resolveMembers turns a member list into users; names without an appkey
// belong to defaultApp.
func (s *Server) resolveMembers(refs jmessage.MemberNames, defaultApp string, missing int) ([]*user, error) {
	if len(refs) == 0 {
		return nil, jmessage.Errorf(jmessage.CodeZeroMember, "member_usernames is empty")
	}
	out := make([]*user, 0, len(refs))
	seen := map[int64]bool{}
	for _, r := range refs {
		app := r.AppKey
		if app == "" {
			app = defaultApp
		}
		u := s.dir.user(app, r.Username)
		if u == nil {
			return nil, jmessage.Errorf(missing, "%s (appkey %s)", r.Username, app)
		}
		if seen[u.uid] {
			continue
		}
		seen[u.uid] = true
		out = append(out, u)
	}
	return out, nil
}

// addMembers adds users to g. actor is nil for an admin action, which
// skips the membership check.
func (s *Server) addMembers(actor *user, g *group, add []*user) error {
	for _, u := range add {
		u.mu.Lock()
		n := len(u.groups)
		u.mu.Unlock()
		if n >= s.opts.MaxGroupsPerUser {
			return jmessage.Errorf(jmessage.CodeMemberGroupLimit, "%s is in %d groups, limit %d", u.username, n, s.opts.MaxGroupsPerUser)
		}
	}
	g.mu.Lock()
	if actor != nil && !g.isMember(actor.uid) {
		g.mu.Unlock()
		return jmessage.Errorf(jmessage.CodeAdderNotInGroup, "%s is not in group %d", actor.username, g.gid)
	}
	for _, u := range add {
		if g.isMember(u.uid) {
			g.mu.Unlock()
			return jmessage.Errorf(jmessage.CodeMemberRepeated, "%s is already in group %d", u.username, g.gid)
		}
	}
	if len(g.members)+len(add) > s.opts.MaxMembersPerGroup {
		g.mu.Unlock()
		return jmessage.Errorf(jmessage.CodeGroupMemberLimit, "group %d would have %d members, limit %d", g.gid, len(g.members)+len(add), s.opts.MaxMembersPerGroup)
	}
	now := s.now()
	for _, u := range add {
		g.members = append(g.members, u.uid)
		g.joined[u.uid] = now
	}
	g.mtime = now
	members, name := g.memberSnapshotLocked(), g.name
	err := s.saveGroup(g)
	g.mu.Unlock()
	if err != nil {
		return err
	}
	for _, u := range add {
		u.mu.Lock()
		u.groups[g.gid] = struct{}{}
		u.mu.Unlock()
	}
	return s.notify(groupEvent(jmessage.EventTypeGroupMemberAdded, g, name, actor, add), s.usersOf(members))
}

// removeMembers removes users from g. actor is nil for an admin action,
// which skips the owner check.
func (s *Server) removeMembers(actor *user, g *group, del []*user) error {
	g.mu.Lock()
	if actor != nil {
		if !g.isMember(actor.uid) {
			g.mu.Unlock()
			return jmessage.Errorf(jmessage.CodeDeleterNotInGroup, "%s is not in group %d", actor.username, g.gid)
		}
		if g.owner != actor.uid {
			g.mu.Unlock()
			return jmessage.Errorf(jmessage.CodeDeleteNotPermitted, "only the owner removes members of group %d", g.gid)
		}
	}
	for _, u := range del {
		if !g.isMember(u.uid) {
			g.mu.Unlock()
			return jmessage.Errorf(jmessage.CodeMemberNotExist, "%s is not in group %d", u.username, g.gid)
		}
		if u.uid == g.owner {
			g.mu.Unlock()
			return jmessage.Errorf(jmessage.CodeMemberNotDeletable, "the owner %s cannot be removed from group %d", u.username, g.gid)
		}
	}
	before, name := g.memberSnapshotLocked(), g.name
	for _, u := range del {
		g.removeMemberLocked(u.uid)
	}
	g.mtime = s.now()
	err := s.saveGroup(g)
	g.mu.Unlock()
	if err != nil {
		return err
	}
	for _, u := range del {
		u.mu.Lock()
		delete(u.groups, g.gid)
		delete(u.ndGroups, g.gid)
		u.mu.Unlock()
	}
	return s.notify(groupEvent(jmessage.EventTypeGroupMemberRemoved, g, name, actor, del), s.usersOf(before))
}

// exitGroup takes u out of g. When the owner leaves, the longest-standing
// member becomes owner; when the last member leaves, the group is
// dissolved.
func (s *Server) exitGroup(u *user, g *group) (string, error) {
	g.mu.Lock()
	if !g.isMember(u.uid) {
		g.mu.Unlock()
		return "", jmessage.Errorf(jmessage.CodeExitNotInGroup, "%s is not in group %d", u.username, g.gid)
	}
	before, name := g.memberSnapshotLocked(), g.name
	g.removeMemberLocked(u.uid)
	var newOwner *user
	if g.owner == u.uid && len(g.members) > 0 {
		g.owner = g.members[0]
		newOwner = s.dir.userByUID(g.owner)
	}
	g.mtime = s.now()
	dissolved := len(g.members) == 0
	var err error
	if dissolved {
		if s.store != nil {
			err = s.persist(func(tx *storage.Tx) error { return deleteGroup(tx, g.gid) })
		}
	} else {
		err = s.saveGroup(g)
	}
	g.mu.Unlock()
	if err != nil {
		return "", s.internal("save group", err)
	}
	if dissolved {
		s.dir.groups.Delete(g.gid)
	}
	u.mu.Lock()
	delete(u.groups, g.gid)
	delete(u.ndGroups, g.gid)
	u.mu.Unlock()
	ev := groupEvent(jmessage.EventTypeGroupMemberExited, g, name, u, []*user{u})
	if newOwner != nil {
		ref := newOwner.ref()
		ev.NewOwner = &ref
	}
	return name, s.notify(ev, s.usersOf(before))
}

// updateGroup changes g's name and description. actor nil is an admin.
func (s *Server) updateGroup(actor *user, g *group, name, desc, avatar string) error {
	if len(name) > maxGroupName {
		return jmessage.Errorf(jmessage.CodeUpdateNameTooLong, "group_name is %d bytes, limit %d", len(name), maxGroupName)
	}
	if len(desc) > maxGroupDesc {
		return jmessage.Errorf(jmessage.CodeUpdateDescTooLong, "group_description is %d bytes, limit %d", len(desc), maxGroupDesc)
	}
	g.mu.Lock()
	if actor != nil {
		if !g.isMember(actor.uid) {
			g.mu.Unlock()
			return jmessage.Errorf(jmessage.CodeNotInGroup, "%s is not in group %d", actor.username, g.gid)
		}
		if g.owner != actor.uid {
			g.mu.Unlock()
			return jmessage.Errorf(jmessage.CodeNotGroupAdmin, "only the owner updates group %d", g.gid)
		}
	}
	if name != "" {
		g.name = name
	}
	g.desc = desc
	if avatar != "" {
		g.avatar = avatar
	}
	g.mtime = s.now()
	members, newName := g.memberSnapshotLocked(), g.name
	err := s.saveGroup(g)
	g.mu.Unlock()
	if err != nil {
		return err
	}
	return s.notify(groupEvent(jmessage.EventTypeGroupInfoUpdated, g, newName, actor, nil), s.usersOf(members))
}

// groupInfo returns g's info with its owner.
func (s *Server) groupInfo(g *group) jmessage.GroupInfo {
	g.mu.RLock()
	owner := g.owner
	g.mu.RUnlock()
	ou := s.dir.userByUID(owner)
	g.mu.RLock()
	defer g.mu.RUnlock()
	return g.infoLocked(ou)
}

// groupMembers lists g's members, owner first.
func (s *Server) groupMembers(g *group) []jmessage.GroupMember {
	g.mu.RLock()
	members, owner := g.memberSnapshotLocked(), g.owner
	joined := make(map[int64]time.Time, len(members))
	silenced := map[int64]bool{}
	for _, uid := range members {
		joined[uid] = g.joined[uid]
		silenced[uid] = g.silenced[uid]
	}
	g.mu.RUnlock()
	sort.SliceStable(members, func(i, j int) bool { return members[i] == owner && members[j] != owner })
	out := make([]jmessage.GroupMember, 0, len(members))
	for _, u := range s.usersOf(members) {
		info := u.info()
		m := jmessage.GroupMember{
			UID: info.UID, Username: info.Username, AppKey: info.AppKey, Nickname: info.Nickname,
			Avatar: info.Avatar, MTime: joined[u.uid].Format(timeLayout), KeepSilence: silenced[u.uid],
		}
		if u.uid == owner {
			m.Flag = 1
		}
		out = append(out, m)
	}
	return out
}
