package bot

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"
)

// Role is a sender's standing in a chat.
type Role uint8

// Roles, least first.
const (
	RoleMember Role = iota
	RoleAdmin
	RoleOwner
)

var roleNames = [...]string{"member", "admin", "owner"}

// String returns "member", "admin" or "owner".
func (r Role) String() string {
	if int(r) < len(roleNames) {
		return roleNames[r]
	}
	return "role?"
}

// ParseRole parses "member", "admin" or "owner".
func ParseRole(s string) (Role, error) {
	for i, n := range roleNames {
		if strings.EqualFold(s, n) {
			return Role(i), nil
		}
	}
	return 0, fmt.Errorf("unknown role %q (want member, admin or owner)", s)
}

// roleOf returns u's role in chat: RoleOwner for the group's owner,
// RoleAdmin for configured admins, RoleMember otherwise.
func (b *Bot) roleOf(ctx context.Context, u User, chat Chat) Role {
	r := RoleMember
	if b.IsAdmin(u) {
		r = RoleAdmin
	}
	if chat.IsGroup() {
		owner, err := b.owners.get(ctx, b.transport, chat.Group, b.clock.Now())
		if err != nil {
			b.log.Warn("cannot tell the group's owner", "group", chat.Group, "err", err)
		} else if owner.Is(u) {
			r = RoleOwner
		}
	}
	return r
}

// Role returns u's role in chat, asking the server for the group's owner
// if it is not cached.
func (b *Bot) Role(ctx context.Context, u User, chat Chat) Role { return b.roleOf(ctx, u, chat) }

// ownerCache remembers group owners for ownerTTL; group events clear a
// group's entry.
type ownerCache struct {
	mu      sync.Mutex
	entries map[int64]ownerEntry
}

type ownerEntry struct {
	owner User
	at    time.Time
}

const ownerTTL = 10 * time.Minute

func (oc *ownerCache) get(ctx context.Context, t Transport, gid int64, now time.Time) (User, error) {
	oc.mu.Lock()
	if e, ok := oc.entries[gid]; ok && now.Sub(e.at) < ownerTTL {
		oc.mu.Unlock()
		return e.owner, nil
	}
	oc.mu.Unlock()
	ga, ok := t.(GroupAdmin)
	if !ok {
		return User{}, ErrNotSupported
	}
	members, err := ga.GroupMembers(ctx, gid)
	if err != nil {
		return User{}, err
	}
	var owner User
	for _, m := range members {
		if m.Flag == 1 {
			owner = User{AppKey: m.AppKey, Username: m.Username, UID: int64(m.UID), Nickname: m.Nickname}
			break
		}
	}
	oc.mu.Lock()
	if oc.entries == nil {
		oc.entries = map[int64]ownerEntry{}
	}
	oc.entries[gid] = ownerEntry{owner, now}
	oc.mu.Unlock()
	return owner, nil
}

func (oc *ownerCache) forget(gid int64) {
	if gid == 0 {
		return
	}
	oc.mu.Lock()
	delete(oc.entries, gid)
	oc.mu.Unlock()
}

// noticeLimiter lets the bot tell a user "you may not" or "wait" at most
// once per noticeEvery per command, so denials cannot be used to make the
// bot spam a group.
type noticeLimiter struct {
	mu   sync.Mutex
	last map[string]time.Time
}

const noticeEvery = 30 * time.Second

func (n *noticeLimiter) allow(chat ChatKey, user, cmd string, now time.Time) bool {
	key := fmt.Sprint(chat, "|", user, "|", cmd)
	n.mu.Lock()
	defer n.mu.Unlock()
	if t, ok := n.last[key]; ok && now.Sub(t) < noticeEvery {
		return false
	}
	if n.last == nil || len(n.last) > 10000 {
		n.last = map[string]time.Time{}
	}
	n.last[key] = now
	return true
}
