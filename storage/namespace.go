package storage

import (
	"time"

	bolt "go.etcd.io/bbolt"
)

// Namespace names a bucket path in a DB, such as "plugin:welcome" or
// "plugin:welcome/group:42". It is a small value, cheap to copy and safe for
// concurrent use; creating one does not touch the file (buckets are created
// on first write). Each method runs in its own transaction; use Update,
// View or Batch to group several operations atomically.
//
// Get, Has, Keys and ForEach use a read transaction (db.View). Put, PutTTL,
// Delete, Incr and Clear use a write transaction (db.Update), which commits
// (and, unless Options.NoSync, fsyncs) before returning. All of those writes
// would be correct under Batch too; they use Update so that a lone caller is
// not delayed by Batch's coalescing window. On hot paths with many
// concurrent writers, call Batch with a function doing the write instead.
//
// A Namespace with an invalid name (see ErrBadName), or the zero Namespace,
// returns an error wrapping ErrBadName from every method.
type Namespace struct {
	db   *DB
	path []string
	err  error
}

// Namespace returns the top-level namespace called name. An invalid name is
// reported, wrapping ErrBadName, by the first method called on the result.
func (db *DB) Namespace(name string) Namespace {
	return Namespace{db: db, path: []string{name}, err: validateName(name)}
}

// Sub returns the namespace name nested inside ns (a nested bbolt bucket),
// e.g. db.Namespace("plugin:welcome").Sub("group:42"). Keys and
// sub-namespaces share one name space: a key cannot have the same name as a
// sub-namespace of the same namespace.
func (ns Namespace) Sub(name string) Namespace {
	sub := Namespace{db: ns.db, path: append(ns.path[:len(ns.path):len(ns.path)], name), err: ns.err}
	if sub.err == nil {
		sub.err = validateName(name)
	}
	return sub
}

// Name returns the namespace path joined with '/', e.g.
// "plugin:welcome/group:42", for logs and error messages.
func (ns Namespace) Name() string { return nsName(ns.path) }

func (ns Namespace) usable() error {
	if ns.db == nil {
		return wrapf(ErrBadName, "storage: zero Namespace (use DB.Namespace)")
	}
	if ns.db.closed.Load() {
		return ErrClosed
	}
	return ns.err
}

type txMode int

const (
	modeView txMode = iota
	modeUpdate
	modeBatch
)

func (ns Namespace) run(mode txMode, fn func(*Tx) error) error {
	if err := ns.usable(); err != nil {
		return err
	}
	inner := func(btx *bolt.Tx) error {
		tx := ns.db.newTx(btx, ns.path)
		defer tx.finish()
		return callSafely(fn, tx)
	}
	switch mode {
	case modeView:
		return ns.db.view(inner)
	case modeBatch:
		return ns.db.batch(inner)
	default:
		return ns.db.update(inner)
	}
}

// Update runs fn in a write transaction scoped to ns. If fn returns an
// error the transaction is rolled back and that error is returned as is. If
// fn panics, with any value, the transaction is rolled back and the panic is
// NOT re-raised: Update returns a *PanicError holding the value and stack.
// Otherwise the transaction commits; a commit failure is returned.
//
// Only one write transaction runs at a time per file; Update blocks until it
// can start. fn must not start other transactions on the same DB.
func (ns Namespace) Update(fn func(tx *Tx) error) error {
	return ns.run(modeUpdate, fn)
}

// View runs fn in a read-only transaction scoped to ns, which sees a
// consistent snapshot. Writes through tx fail with ErrReadOnly. Panics are
// converted to a *PanicError as in Update. A long View keeps old pages
// alive and blocks Close, so keep it short.
func (ns Namespace) View(fn func(tx *Tx) error) error {
	return ns.run(modeView, fn)
}

// Batch is like Update but uses bbolt's DB.Batch, which coalesces the
// functions of concurrent callers into one transaction (one commit, one
// fsync), greatly raising write throughput on hot paths. It only helps with
// many concurrent callers: a lone call waits up to bbolt's batch delay
// (10ms by default) before committing.
//
// fn MAY RUN MORE THAN ONCE: if any function in a batch fails, the batch is
// rolled back and the others are retried, and the failing one is re-run on
// its own. Only the final run's transaction commits, so writes through tx
// are applied exactly once, but side effects outside tx must be idempotent
// or deferred until Batch returns nil. Panics are converted to a
// *PanicError as in Update.
func (ns Namespace) Batch(fn func(tx *Tx) error) error {
	return ns.run(modeBatch, fn)
}

// Get returns a copy of the value of key. It returns an error wrapping
// ErrNotFound if the key does not exist or has expired.
func (ns Namespace) Get(key string) ([]byte, error) {
	var val []byte
	err := ns.View(func(tx *Tx) error {
		var err error
		val, err = tx.Get(key)
		return err
	})
	return val, err
}

// Put stores val under key without expiry (removing any previous TTL).
func (ns Namespace) Put(key string, val []byte) error {
	return ns.Update(func(tx *Tx) error { return tx.Put(key, val) })
}

// PutTTL stores val under key, expiring ttl from now (per Options.Now).
// ttl must be positive. See the package Caveats about TTLs.
func (ns Namespace) PutTTL(key string, val []byte, ttl time.Duration) error {
	return ns.Update(func(tx *Tx) error { return tx.PutTTL(key, val, ttl) })
}

// Delete removes key; deleting a missing key is not an error.
func (ns Namespace) Delete(key string) error {
	return ns.Update(func(tx *Tx) error { return tx.Delete(key) })
}

// Has reports whether key exists and has not expired.
func (ns Namespace) Has(key string) (bool, error) {
	var ok bool
	err := ns.View(func(tx *Tx) error {
		var err error
		ok, err = tx.Has(key)
		return err
	})
	return ok, err
}

// Keys returns the live keys starting with prefix ("" for all), sorted in
// byte order, or nil if there are none. Sub-namespaces are not listed.
func (ns Namespace) Keys(prefix string) ([]string, error) {
	var keys []string
	err := ns.View(func(tx *Tx) error {
		var err error
		keys, err = tx.Keys(prefix)
		return err
	})
	return keys, err
}

// ForEach calls fn for each live key starting with prefix, in byte order,
// inside one read transaction, stopping at the first error fn returns. val
// is only valid during the call to fn and must not be modified: copy it to
// keep it. fn must not start transactions on the same DB (writing from fn
// can deadlock); collect what you need and write afterwards.
func (ns Namespace) ForEach(prefix string, fn func(key string, val []byte) error) error {
	return ns.View(func(tx *Tx) error { return tx.ForEach(prefix, fn) })
}

// Incr atomically adds delta to the decimal integer at key (missing or
// expired counts as 0) and returns the new value, keeping the key's TTL.
func (ns Namespace) Incr(key string, delta int64) (int64, error) {
	var n int64
	err := ns.Update(func(tx *Tx) error {
		var err error
		n, err = tx.Incr(key, delta)
		return err
	})
	return n, err
}

// Clear deletes every key and sub-namespace of ns, and resets its sequence,
// in one transaction. Clearing a namespace that does not exist is not an
// error.
func (ns Namespace) Clear() error {
	return ns.Update(func(tx *Tx) error { return tx.clear() })
}

// Size returns how many live keys ns holds and their bytes (see Tx.Size).
// It reads every key, in one read transaction.
func (ns Namespace) Size() (keys int, bytes int64, err error) {
	err = ns.View(func(tx *Tx) error {
		keys, bytes, err = tx.Size()
		return err
	})
	return keys, bytes, err
}
