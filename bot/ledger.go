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
// never loses them). The bot commits both in one step before it
// acknowledges the events.
type Ledger interface {
	// Seen reports whether the event id was committed.
	Seen(id string) (bool, error)
	// Commit records the event ids and journals the ops (setting their
	// ID), atomically.
	Commit(ids []string, ops []*Op) error
	// Done removes carried-out ops from the journal.
	Done(ops []*Op) error
	// Pending returns the journaled ops of an earlier run.
	Pending() ([]*Op, error)
}

// MemoryLedger is a Ledger that forgets everything at exit, for tests and
// benchmarks. It remembers ids for TTL as 64-bit hashes (12 bytes an id,
// so that millions fit in cache): two different ids collide with a
// probability of about n²/2⁶⁵ for n ids, which is negligible for its uses
// but not zero; StoreLedger compares ids exactly.
type MemoryLedger struct {
	seed   maphash.Seed
	shards [64]memShard
	ttl    time.Duration
	clock  clock.Clock
	epoch  time.Time

	mu   sync.Mutex
	ops  map[uint64]*Op
	next uint64
}

type memShard struct {
	mu   sync.Mutex
	ids  map[uint64]uint32 // hash → commit time, in seconds since epoch
	adds int
	_    [40]byte // keep shards on separate cache lines
}

// NewMemoryLedger returns an empty MemoryLedger that keeps ids for ttl.
func NewMemoryLedger(ttl time.Duration, c clock.Clock) *MemoryLedger {
	if c == nil {
		c = clock.Real
	}
	m := &MemoryLedger{seed: maphash.MakeSeed(), ops: map[uint64]*Op{}, ttl: ttl, clock: c, epoch: c.Now()}
	for i := range m.shards {
		m.shards[i].ids = make(map[uint64]uint32, 2048)
	}
	return m
}

func (m *MemoryLedger) shard(id string) (*memShard, uint64) {
	h := maphash.String(m.seed, id)
	return &m.shards[h&63], h
}

// Seen implements Ledger.
func (m *MemoryLedger) Seen(id string) (bool, error) {
	s, h := m.shard(id)
	s.mu.Lock()
	_, ok := s.ids[h]
	s.mu.Unlock()
	return ok, nil
}

// Commit implements Ledger.
func (m *MemoryLedger) Commit(ids []string, ops []*Op) error {
	if len(ids) > 0 {
		now := m.clock.Now()
		stamp := uint32(now.Sub(m.epoch) / time.Second)
		ttl := uint32(m.ttl / time.Second)
		for _, id := range ids {
			s, h := m.shard(id)
			s.mu.Lock()
			s.ids[h] = stamp
			if s.adds++; s.adds > 1<<16 {
				s.adds = 0
				for k, t := range s.ids {
					if stamp-t > ttl {
						delete(s.ids, k)
					}
				}
			}
			s.mu.Unlock()
		}
	}
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
// "jimbot:dedup" (with a TTL), ops in "jimbot:outbox".
type StoreLedger struct {
	dedup, outbox storage.Namespace
	ttl           time.Duration
}

// NewStoreLedger returns a ledger in db that keeps ids for ttl.
func NewStoreLedger(db *storage.DB, ttl time.Duration) *StoreLedger {
	return &StoreLedger{dedup: db.Namespace("jimbot:dedup"), outbox: db.Namespace("jimbot:outbox"), ttl: ttl}
}

// Seen implements Ledger.
func (l *StoreLedger) Seen(id string) (bool, error) { return l.dedup.Has(id) }

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
	return l.dedup.Update(func(tx *storage.Tx) error {
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
