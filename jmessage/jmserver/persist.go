package jmserver

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/jimbot/jimbot/jmessage"
	"github.com/jimbot/jimbot/storage"
)

// Layout of the server's state in the store, all under the namespace
// "jmserver":
//
//	users/<uid>              userRecord
//	groups/<gid>             groupRecord
//	glast/<gid>              time of the group's last message (unix ms)
//	convs/<uid>/<peer uid>   time of the last single message (unix ms)
//	pending/<uid>/<m|e:id>   itemRecord, an unacknowledged message or event
//	ids/<name>               end of the reserved id block
//	media/<media_id>         mediaRecord; mediadata/<media_id> the bytes
const storeNamespace = "jmserver"

type persister struct {
	ns storage.Namespace
}

func openPersister(db *storage.DB) (*persister, error) {
	return &persister{ns: db.Namespace(storeNamespace)}, nil
}

type userRecord struct {
	UID       int64           `json:"uid"`
	AppKey    string          `json:"appkey"`
	Username  string          `json:"username"`
	Password  string          `json:"password"`
	Nickname  string          `json:"nickname,omitempty"`
	Avatar    string          `json:"avatar,omitempty"`
	Birthday  string          `json:"birthday,omitempty"`
	Gender    int             `json:"gender,omitempty"`
	Signature string          `json:"signature,omitempty"`
	Region    string          `json:"region,omitempty"`
	Address   string          `json:"address,omitempty"`
	Extras    json.RawMessage `json:"extras,omitempty"`
	CTime     time.Time       `json:"ctime"`
	MTime     time.Time       `json:"mtime"`
	Disabled  bool            `json:"disabled,omitempty"`
	Blacklist []int64         `json:"blacklist,omitempty"`
	NDUsers   []int64         `json:"nd_users,omitempty"`
	NDGroups  []int64         `json:"nd_groups,omitempty"`
	NDGlobal  bool            `json:"nd_global,omitempty"`
}

type groupRecord struct {
	GID       int64     `json:"gid"`
	AppKey    string    `json:"appkey"`
	Name      string    `json:"name"`
	Desc      string    `json:"desc,omitempty"`
	Avatar    string    `json:"avatar,omitempty"`
	GroupType int       `json:"group_type,omitempty"`
	CTime     time.Time `json:"ctime"`
	MTime     time.Time `json:"mtime"`
	Owner     int64     `json:"owner"`
	Members   []int64   `json:"members"`
	JoinedMs  []int64   `json:"joined_ms"`
	Silenced  []int64   `json:"silenced,omitempty"`
}

type itemRecord struct {
	Kind    string          `json:"kind"`
	ID      int64           `json:"id"`
	Seq     uint64          `json:"seq"`
	Payload json.RawMessage `json:"payload"`
}

func setOf(m map[int64]struct{}) []int64 {
	out := make([]int64, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

func key(n int64) string { return strconv.FormatInt(n, 10) }

// putUser writes u's record. The caller holds u.mu or owns u exclusively.
func putUser(tx *storage.Tx, u *user) error {
	return storage.TxPutJSON(tx.Sub("users"), key(u.uid), userRecord{
		UID: u.uid, AppKey: u.appKey, Username: u.username, Password: u.password,
		Nickname: u.nickname, Avatar: u.avatar, Birthday: u.birthday, Gender: u.gender,
		Signature: u.signature, Region: u.region, Address: u.address, Extras: u.extras,
		CTime: u.ctime, MTime: u.mtime, Disabled: u.disabled,
		Blacklist: setOf(u.blacklist), NDUsers: setOf(u.ndUsers), NDGroups: setOf(u.ndGroups), NDGlobal: u.ndGlobal,
	})
}

// putGroup writes g's record. The caller holds g.mu.
func putGroup(tx *storage.Tx, g *group) error {
	rec := groupRecord{
		GID: g.gid, AppKey: g.appKey, Name: g.name, Desc: g.desc, Avatar: g.avatar, GroupType: g.groupType,
		CTime: g.ctime, MTime: g.mtime, Owner: g.owner, Members: g.members,
	}
	for _, m := range g.members {
		rec.JoinedMs = append(rec.JoinedMs, g.joined[m].UnixMilli())
	}
	for uid, on := range g.silenced {
		if on {
			rec.Silenced = append(rec.Silenced, uid)
		}
	}
	sort.Slice(rec.Silenced, func(i, j int) bool { return rec.Silenced[i] < rec.Silenced[j] })
	return storage.TxPutJSON(tx.Sub("groups"), key(g.gid), rec)
}

func deleteGroup(tx *storage.Tx, gid int64) error {
	if err := tx.Sub("groups").Delete(key(gid)); err != nil {
		return err
	}
	return tx.Sub("glast").Delete(key(gid))
}

func putGroupLast(tx *storage.Tx, gid int64, t time.Time) error {
	return tx.Sub("glast").Put(key(gid), []byte(key(t.UnixMilli())))
}

func putConv(tx *storage.Tx, uid, peer int64, t time.Time) error {
	return tx.Sub("convs").Sub(key(uid)).Put(key(peer), []byte(key(t.UnixMilli())))
}

func putItem(tx *storage.Tx, uid int64, it *item) error {
	return storage.TxPutJSON(tx.Sub("pending").Sub(key(uid)), it.key.String(), itemRecord{
		Kind: string(rune(it.key.kind)), ID: it.key.id, Seq: it.seq, Payload: json.RawMessage(it.payload),
	})
}

func deleteItems(tx *storage.Tx, uid int64, keys []itemKey) error {
	p := tx.Sub("pending").Sub(key(uid))
	for _, k := range keys {
		if err := p.Delete(k.String()); err != nil {
			return err
		}
	}
	return nil
}

func (p *persister) reserveIDs(name string, limit int64) error {
	return p.ns.Update(func(tx *storage.Tx) error {
		return tx.Sub("ids").Put(name, []byte(key(limit)))
	})
}

// load reads the whole state into memory. It runs before the server
// accepts connections.
func (s *Server) load() error {
	for _, a := range []*idAllocator{&s.uidSeq, &s.gidSeq, &s.msgSeq, &s.eventSeq} {
		a.reserve = s.store.reserveIDs
	}
	s.uidSeq.name, s.gidSeq.name, s.msgSeq.name, s.eventSeq.name = "uid", "gid", "msg_id", "event_id"
	err := s.store.ns.View(func(tx *storage.Tx) error {
		ids := tx.Sub("ids")
		for _, a := range []*idAllocator{&s.uidSeq, &s.gidSeq, &s.msgSeq, &s.eventSeq} {
			v, err := ids.Get(a.name)
			if errors.Is(err, storage.ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			n, err := strconv.ParseInt(string(v), 10, 64)
			if err != nil {
				return fmt.Errorf("ids/%s: %w", a.name, err)
			}
			a.cur.Store(n)
			a.limit.Store(n)
		}
		if err := tx.Sub("users").ForEach("", func(k string, v []byte) error {
			var r userRecord
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("users/%s: %w", k, err)
			}
			u := newUser(r.UID, r.AppKey, r.Username, r.CTime)
			u.password, u.nickname, u.avatar, u.birthday = r.Password, r.Nickname, r.Avatar, r.Birthday
			u.gender, u.signature, u.region, u.address = r.Gender, r.Signature, r.Region, r.Address
			u.extras, u.mtime, u.disabled, u.ndGlobal = r.Extras, r.MTime, r.Disabled, r.NDGlobal
			for _, id := range r.Blacklist {
				u.blacklist[id] = struct{}{}
			}
			for _, id := range r.NDUsers {
				u.ndUsers[id] = struct{}{}
			}
			for _, id := range r.NDGroups {
				u.ndGroups[id] = struct{}{}
			}
			s.dir.addUser(u)
			return nil
		}); err != nil {
			return err
		}
		if err := tx.Sub("groups").ForEach("", func(k string, v []byte) error {
			var r groupRecord
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("groups/%s: %w", k, err)
			}
			g := newGroup(r.GID, r.AppKey, r.Owner, r.Name, r.Desc, r.CTime)
			g.avatar, g.groupType, g.mtime = r.Avatar, r.GroupType, r.MTime
			g.members = append([]int64(nil), r.Members...)
			g.joined = map[int64]time.Time{}
			for i, m := range r.Members {
				if i < len(r.JoinedMs) {
					g.joined[m] = time.UnixMilli(r.JoinedMs[i])
				} else {
					g.joined[m] = r.CTime
				}
				if u := s.dir.userByUID(m); u != nil {
					u.groups[g.gid] = struct{}{}
				}
			}
			for _, uid := range r.Silenced {
				g.silenced[uid] = true
			}
			s.dir.groups.Store(g.gid, g)
			return nil
		}); err != nil {
			return err
		}
		if err := tx.Sub("glast").ForEach("", func(k string, v []byte) error {
			gid, _ := strconv.ParseInt(k, 10, 64)
			ms, _ := strconv.ParseInt(string(v), 10, 64)
			if g := s.dir.group(gid); g != nil {
				g.lastMsg = time.UnixMilli(ms)
			}
			return nil
		}); err != nil {
			return err
		}
		for _, u := range s.dir.users() {
			if err := tx.Sub("convs").Sub(key(u.uid)).ForEach("", func(k string, v []byte) error {
				peer, _ := strconv.ParseInt(k, 10, 64)
				ms, _ := strconv.ParseInt(string(v), 10, 64)
				u.convs[peer] = time.UnixMilli(ms)
				return nil
			}); err != nil {
				return err
			}
			var items []*item
			if err := tx.Sub("pending").Sub(key(u.uid)).ForEach("", func(k string, v []byte) error {
				var r itemRecord
				if err := json.Unmarshal(v, &r); err != nil {
					return fmt.Errorf("pending/%d/%s: %w", u.uid, k, err)
				}
				if len(r.Kind) != 1 || (r.Kind[0] != byte(kindMsg) && r.Kind[0] != byte(kindEvent)) {
					return fmt.Errorf("pending/%d/%s: unknown kind %q", u.uid, k, r.Kind)
				}
				items = append(items, &item{key: itemKey{kind: itemKind(r.Kind[0]), id: r.ID}, seq: r.Seq, payload: jmessage.RawJSON(r.Payload)})
				return nil
			}); err != nil {
				return err
			}
			sort.Slice(items, func(i, j int) bool { return items[i].seq < items[j].seq })
			for _, it := range items {
				u.pending.add(it)
				if it.seq > s.itemSeq.Load() {
					s.itemSeq.Store(it.seq)
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("jmserver: load state from %s: %w", s.opts.Store.Path(), err)
	}
	return nil
}
