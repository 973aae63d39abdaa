package bot

import (
	"errors"
	"hash/maphash"
	"strconv"
	"sync"
	"time"

	"github.com/jimbot/jimbot/bot/clock"
	"github.com/jimbot/jimbot/storage"
)

// Ledger remembers which events were handled (so a redelivered event is
// never handled twice) and journals the ops they produced (so a crash
// never loses them). The bot claims each event id as it comes in and
// commits the ids and their ops in one step before it acknowledges the
// events.
type Ledger interface {
	// Claim sets claims[i] to what the ledger knows of event id ids[i]
	// (claims is as long as ids). An id it has not seen is claimed for
	// the delivery at hand (Fresh): a later delivery of it is a duplicate
	// until the claim is committed or released. The same id twice in ids
	// is Fresh, then InFlight (or Committed, for a ledger that cannot
	// tell them apart). On error, no id is claimed.
	Claim(ids []string, claims []Claim) error
	// Release gives up the claims of ids whose events were not committed,
	// so that a redelivery is handled.
	Release(ids []string)
	// Commit records the claimed event ids as handled and journals the
	// ops (setting their ID), atomically.
	Commit(ids []string, ops []*Op) error
	// Done removes carried-out ops from the journal.
	Done(ops []*Op) error
	// Pending returns the journaled ops of an earlier run.
	Pending() ([]*Op, error)
}

// Claim is what a Ledger knows of an event id when it comes in.
type Claim uint8

const (
	// Fresh: the id is new, and now claimed for this delivery.
	Fresh Claim = iota
	// InFlight: another delivery of the id is being handled. The
	// duplicate is dropped and acknowledged when that one is committed,
	// not before: if it is lost, the server delivers the duplicate again.
	InFlight
	// Committed: the id was handled and committed. The duplicate is
	// acknowledged and dropped.
	Committed
)

// MemoryLedger is a Ledger that forgets everything at exit: the default
// of a bot without a store, and for tests and benchmarks. It remembers
// ids for TTL as 64-bit hashes (12 bytes an id, so that millions fit in
// memory): two different ids collide with a probability of about
// n²/2⁶⁵ for n ids, which is negligible for its uses but not zero;
// StoreLedger compares ids exactly.
//
// A claim is recorded as the id comes in, and Commit has nothing left to
// do for it: one lookup an event instead of two. The price is that
// MemoryLedger cannot tell a claim in flight from a committed one, so it
// answers Committed for both and the duplicate of an event still being
// handled is acknowledged at once. Without a store nothing survives a
// crash anyway, so this loses no promise the ledger makes.
type MemoryLedger struct {
	seed  maphash.Seed
	ttl   time.Duration
	clock clock.Clock
	real  bool
	epoch time.Time

	// idMu guards the id shards. One lock for a whole batch lets the
	// lookups of its ids overlap in memory; the shards keep each sweep of
	// expired ids short.
	idMu   sync.Mutex
	shards [64]memShard

	mu   sync.Mutex
	ops  map[uint64]*Op
	next uint64
}

type memShard struct {
	ids  map[uint64]uint32 // hash → claim time, in seconds since epoch
	adds int
}

// NewMemoryLedger returns an empty MemoryLedger that keeps ids for ttl.
func NewMemoryLedger(ttl time.Duration, c clock.Clock) *MemoryLedger {
	if c == nil {
		c = clock.Real
	}
	m := &MemoryLedger{seed: maphash.MakeSeed(), ops: map[uint64]*Op{}, ttl: ttl, clock: c, real: c == clock.Real, epoch: c.Now()}
	for i := range m.shards {
		m.shards[i].ids = make(map[uint64]uint32, 2048)
	}
	return m
}

func (m *MemoryLedger) shard(id string) (*memShard, uint64) {
	h := maphash.String(m.seed, id)
	return &m.shards[h&63], h
}

// stamp returns the time since the ledger was made, in seconds.
func (m *MemoryLedger) stamp() uint32 {
	if m.real {
		return uint32(time.Since(m.epoch) / time.Second) // monotonic, and cheaper than Now
	}
	return uint32(m.clock.Now().Sub(m.epoch) / time.Second)
}

// Claim implements Ledger. Ids older than the TTL are forgotten as new
// ones come in.
func (m *MemoryLedger) Claim(ids []string, claims []Claim) error {
	stamp := m.stamp()
	ttl := uint32(m.ttl / time.Second)
	var hs [64]uint64
	m.idMu.Lock()
	defer m.idMu.Unlock()
	for start := 0; start < len(ids); start += len(hs) {
		chunk := ids[start:min(start+len(hs), len(ids))]
		// A first pass only looks the ids up: the lookups do not depend
		// on each other, so the CPU overlaps their cache misses, and the
		// second pass finds the table's lines in cache.
		for i, id := range chunk {
			s, h := m.shard(id)
			hs[i] = h
			_ = s.ids[h] // the compiler keeps map reads
		}
		for i := range chunk {
			h := hs[i]
			s := &m.shards[h&63]
			if t, ok := s.ids[h]; ok && stamp-t <= ttl {
				claims[start+i] = Committed
				continue
			}
			claims[start+i] = Fresh
			s.ids[h] = stamp
			if s.adds++; s.adds > 1<<16 {
				s.adds = 0
				for k, t := range s.ids {
					if stamp-t > ttl {
						delete(s.ids, k)
					}
				}
			}
		}
	}
	return nil
}

// Release implements Ledger.
func (m *MemoryLedger) Release(ids []string) {
	m.idMu.Lock()
	defer m.idMu.Unlock()
	for _, id := range ids {
		s, h := m.shard(id)
		delete(s.ids, h)
	}
}

// Commit implements Ledger: the ids were recorded when they were
// claimed, so only the ops are journaled.
func (m *MemoryLedger) Commit(_ []string, ops []*Op) error {
	if len(ops) > 0 {
		m.mu.Lock()
		for _, o := range ops {
			m.next++
			o.ID = m.next
			m.ops[o.ID] = o
		}
		m.mu.Unlock()
	}
	return nil
}

// Done implements Ledger.
func (m *MemoryLedger) Done(ops []*Op) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, o := range ops {
		delete(m.ops, o.ID)
	}
	return nil
}

// Pending implements Ledger; a MemoryLedger never has ops of an earlier run.
func (m *MemoryLedger) Pending() ([]*Op, error) { return nil, nil }

// StoreLedger is the Ledger of a bot with a store: ids in namespace
// "jimbot:dedup" (with a TTL), ops in "jimbot:outbox". Claims in flight
// are kept in memory: after a crash, the store alone says what was
// handled.
type StoreLedger struct {
	dedup, outbox storage.Namespace
	ttl           time.Duration

	mu       sync.Mutex
	inflight map[string]struct{}
}

// NewStoreLedger returns a ledger in db that keeps ids for ttl.
func NewStoreLedger(db *storage.DB, ttl time.Duration) *StoreLedger {
	return &StoreLedger{dedup: db.Namespace("jimbot:dedup"), outbox: db.Namespace("jimbot:outbox"), ttl: ttl, inflight: map[string]struct{}{}}
}

// Claim implements Ledger: one read transaction for the batch.
func (l *StoreLedger) Claim(ids []string, claims []Claim) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	err := l.dedup.View(func(tx *storage.Tx) error {
		for i, id := range ids {
			if _, ok := l.inflight[id]; ok {
				claims[i] = InFlight
				continue
			}
			done, err := tx.Has(id)
			if err != nil {
				return err
			}
			if done {
				claims[i] = Committed
				continue
			}
			claims[i] = Fresh
			l.inflight[id] = struct{}{}
		}
		return nil
	})
	if err != nil {
		for i, id := range ids {
			if claims[i] == Fresh {
				delete(l.inflight, id)
			}
		}
	}
	return err
}

// Release implements Ledger.
func (l *StoreLedger) Release(ids []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, id := range ids {
		delete(l.inflight, id)
	}
}

// Commit implements Ledger: one transaction for ids and ops.
func (l *StoreLedger) Commit(ids []string, ops []*Op) error {
	recs := make([][]byte, len(ops))
	for i, o := range ops {
		b, err := o.marshal()
		if err != nil {
			return err
		}
		recs[i] = b
	}
	err := l.dedup.Update(func(tx *storage.Tx) error {
		for _, id := range ids {
			if err := tx.PutTTL(id, nil, l.ttl); err != nil {
				return err
			}
		}
		ob := tx.Namespace("jimbot:outbox")
		for i, o := range ops {
			seq, err := ob.NextSequence()
			if err != nil {
				return err
			}
			o.ID = seq
			if err := ob.Put(opKey(seq), recs[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		l.Release(ids)
	}
	return err
}

func opKey(id uint64) string {
	s := strconv.FormatUint(id, 10)
	return "0000000000000000000"[len(s):] + s // sortable
}

// Done implements Ledger.
func (l *StoreLedger) Done(ops []*Op) error {
	if len(ops) == 0 {
		return nil
	}
	return l.outbox.Update(func(tx *storage.Tx) error {
		for _, o := range ops {
			if err := tx.Delete(opKey(o.ID)); err != nil {
				return err
			}
		}
		return nil
	})
}

// Pending implements Ledger.
func (l *StoreLedger) Pending() ([]*Op, error) {
	var ops []*Op
	var bad []error
	err := l.outbox.ForEach("", func(k string, v []byte) error {
		o, err := unmarshalOp(v)
		if err != nil {
			bad = append(bad, errors.New("outbox/"+k+": "+err.Error()))
			return nil
		}
		o.ID, _ = strconv.ParseUint(k, 10, 64)
		ops = append(ops, o)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return ops, errors.Join(bad...)
}
