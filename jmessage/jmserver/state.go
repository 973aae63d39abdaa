package jmserver

import (
	"sort"
	"sync"
	"time"

	"github.com/jimbot/jimbot/jmessage"
)

// timeLayout is the REST API's time format, used for ctime and mtime in
// user and group info (spec §13.1 leaves the v1 form open).
const timeLayout = "2006-01-02 15:04:05"

// user is one account. Its mutex guards every field below it; the server
// never holds two user locks at once, and never takes a group lock while
// holding a user lock.
type user struct {
	uid      int64
	appKey   string
	username string

	mu        sync.Mutex
	password  string // lowercase md5 hex
	nickname  string
	avatar    string
	birthday  string
	gender    int
	signature string
	region    string
	address   string
	extras    []byte
	ctime     time.Time
	mtime     time.Time
	disabled  bool

	groups    map[int64]struct{}
	blacklist map[int64]struct{}
	ndUsers   map[int64]struct{}
	ndGroups  map[int64]struct{}
	ndGlobal  bool
	convs     map[int64]time.Time // single conversations: peer uid → last message time

	session     *session // the logged-in session, nil when offline
	pending     pendingQueue
	uploadToken string
	tokenExpiry time.Time
	rate        tokenBucket
}

func newUser(uid int64, appKey, username string, now time.Time) *user {
	return &user{
		uid: uid, appKey: appKey, username: username,
		ctime: now, mtime: now,
		groups:    map[int64]struct{}{},
		blacklist: map[int64]struct{}{},
		ndUsers:   map[int64]struct{}{},
		ndGroups:  map[int64]struct{}{},
		convs:     map[int64]time.Time{},
		pending:   newPendingQueue(),
	}
}

// info returns the user's profile. The caller holds u.mu.
func (u *user) infoLocked() jmessage.UserInfo {
	return jmessage.UserInfo{
		UID: jmessage.ID(u.uid), Username: u.username, AppKey: u.appKey,
		Nickname: u.nickname, Avatar: u.avatar, Birthday: u.birthday, Gender: u.gender,
		Signature: u.signature, Region: u.region, Address: u.address,
		CTime: u.ctime.Format(timeLayout), MTime: u.mtime.Format(timeLayout),
		Extras: u.extras,
	}
}

func (u *user) info() jmessage.UserInfo {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.infoLocked()
}

func (u *user) ref() jmessage.UserRef {
	return jmessage.UserRef{Username: u.username, AppKey: u.appKey}
}

// group is one chat group. Its RWMutex guards the fields below it.
type group struct {
	gid    int64
	appKey string

	mu        sync.RWMutex
	name      string
	desc      string
	avatar    string
	groupType int
	ctime     time.Time
	mtime     time.Time
	owner     int64
	members   []int64 // owner first, then in join order
	joined    map[int64]time.Time
	silenced  map[int64]bool
	lastMsg   time.Time
}

func newGroup(gid int64, appKey string, owner int64, name, desc string, now time.Time) *group {
	return &group{
		gid: gid, appKey: appKey, name: name, desc: desc,
		ctime: now, mtime: now, owner: owner,
		members:  []int64{owner},
		joined:   map[int64]time.Time{owner: now},
		silenced: map[int64]bool{},
	}
}

func (g *group) isMember(uid int64) bool {
	_, ok := g.joined[uid]
	return ok
}

// memberSnapshot returns a copy of the member uids. The caller holds g.mu.
func (g *group) memberSnapshotLocked() []int64 {
	return append([]int64(nil), g.members...)
}

func (g *group) removeMemberLocked(uid int64) {
	delete(g.joined, uid)
	delete(g.silenced, uid)
	for i, m := range g.members {
		if m == uid {
			g.members = append(g.members[:i], g.members[i+1:]...)
			break
		}
	}
}

// infoLocked returns the group's info. The caller holds g.mu.
func (g *group) infoLocked(owner *user) jmessage.GroupInfo {
	gi := jmessage.GroupInfo{
		GID: jmessage.ID(g.gid), Name: g.name, Desc: g.desc, AppKey: g.appKey,
		CTime: g.ctime.Format(timeLayout), MTime: g.mtime.Format(timeLayout),
		Avatar: g.avatar, GroupType: g.groupType,
	}
	if owner != nil {
		gi.OwnerUsername, gi.OwnerAppKey = owner.username, owner.appKey
	}
	return gi
}

// directory indexes users and groups. Lookups are lock-free (sync.Map);
// creation serialises on createMu only to keep username uniqueness.
type directory struct {
	createMu sync.Mutex
	byName   sync.Map // appKey + "\x00" + username → *user
	byUID    sync.Map // int64 → *user
	groups   sync.Map // int64 → *group
}

func nameKey(appKey, username string) string { return appKey + "\x00" + username }

func (d *directory) user(appKey, username string) *user {
	v, ok := d.byName.Load(nameKey(appKey, username))
	if !ok {
		return nil
	}
	return v.(*user)
}

func (d *directory) userByUID(uid int64) *user {
	v, ok := d.byUID.Load(uid)
	if !ok {
		return nil
	}
	return v.(*user)
}

func (d *directory) group(gid int64) *group {
	v, ok := d.groups.Load(gid)
	if !ok {
		return nil
	}
	return v.(*group)
}

func (d *directory) addUser(u *user) {
	d.byName.Store(nameKey(u.appKey, u.username), u)
	d.byUID.Store(u.uid, u)
}

// users returns every user sorted by uid.
func (d *directory) users() []*user {
	var out []*user
	d.byUID.Range(func(_, v any) bool { out = append(out, v.(*user)); return true })
	sort.Slice(out, func(i, j int) bool { return out[i].uid < out[j].uid })
	return out
}

// allGroups returns every group sorted by gid.
func (d *directory) allGroups() []*group {
	var out []*group
	d.groups.Range(func(_, v any) bool { out = append(out, v.(*group)); return true })
	sort.Slice(out, func(i, j int) bool { return out[i].gid < out[j].gid })
	return out
}

// tokenBucket is a per-user send rate limiter (880209). A zero rate means
// unlimited. The caller holds the owning user's lock.
type tokenBucket struct {
	tokens float64
	last   time.Time
}

func (b *tokenBucket) allow(now time.Time, perMinute int) bool {
	if perMinute <= 0 {
		return true
	}
	capacity := float64(perMinute)
	if b.last.IsZero() {
		b.tokens, b.last = capacity, now
	}
	b.tokens += now.Sub(b.last).Minutes() * capacity
	if b.tokens > capacity {
		b.tokens = capacity
	}
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
