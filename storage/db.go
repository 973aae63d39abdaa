package storage

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// SchemaVersion is the version of this package's own on-disk layout (the
// value header and the meta bucket). Open records it in new databases and
// refuses files written with a newer layout. It is unrelated to the user
// versions carried by [Migration].
const SchemaVersion = 1

// DefaultTimeout is the lock wait Open uses when Options.Timeout is zero.
const DefaultTimeout = time.Second

// DefaultSweepInterval is the interval StartSweeper uses when every <= 0.
const DefaultSweepInterval = time.Minute

// MaxKeySize is the maximum length of a key, in bytes (bbolt's limit).
const MaxKeySize = bolt.MaxKeySize

// File modes used when Open creates things.
const (
	dirMode  = 0o700
	fileMode = 0o600
)

// metaBucket is the reserved top-level bucket holding the layout and user
// schema versions. Its leading NUL makes it unreachable as a namespace name.
const metaBucket = "\x00meta"

var (
	metaSchemaKey = []byte("schema_version")
	metaUserKey   = []byte("user_version")
)

// Options configure Open. A nil *Options is the same as &Options{}: every
// field's zero value selects the default documented on that field.
type Options struct {
	// Timeout is how long Open waits for the file lock when another process
	// (or another DB handle in this process) has the file open. On timeout
	// Open returns an error wrapping ErrLocked that names the path. It bounds
	// only the lock wait at Open, never transactions.
	// Default (zero): DefaultTimeout, 1s. A negative value tries the lock
	// once and fails immediately if it is held.
	Timeout time.Duration

	// NoSync skips fsync on every commit. Writes become much faster and
	// still survive a crash of the process, but the last commits can be
	// lost, and the file can be corrupted, on power loss or OS crash.
	// Default: false (every commit is fsynced).
	NoSync bool

	// Now is the clock used for TTLs. Default (nil): time.Now. Tests inject
	// a fake clock here.
	Now func() time.Time

	// Migrations are run in order at Open, each in its own write
	// transaction, for every Version above the stored user version. Versions
	// must be >= 1 and strictly ascending. Default (nil): no migrations; the
	// stored user version is left as it is.
	Migrations []Migration

	// ReadOnly opens the file with a shared lock and rejects every write
	// with ErrReadOnly. The file must already exist and have been
	// initialised by a writable Open, and no migration may be pending.
	// Several read-only handles may coexist; none can coexist with a writer.
	// Default: false.
	ReadOnly bool
}

// Migration is one step of the user schema. Up runs inside a write
// transaction rooted at the top level: use tx.Namespace (or tx.Sub) to reach
// namespaces. If Up returns an error or panics, the step is rolled back, Open
// fails, and the stored user version stays at the last successful step.
type Migration struct {
	// Version is the user schema version this step brings the database to.
	Version int
	// Name describes the step in errors and logs.
	Name string
	// Up performs the step.
	Up func(tx *Tx) error
}

// DB is an open storage file. It is safe for concurrent use by multiple
// goroutines. Obtain namespaces with DB.Namespace.
type DB struct {
	bolt     *bolt.DB
	path     string
	now      func() time.Time
	readOnly bool
	timeout  time.Duration // effective lock wait, for tests and messages

	closed atomic.Bool

	mu       sync.Mutex // guards done/closing against StartSweeper
	done     chan struct{}
	sweepers sync.WaitGroup
	running  atomic.Int32 // live sweeper goroutines, for tests
}

// Open opens (creating if needed, unless opts.ReadOnly) the database file at
// path. It creates missing parent directories (mode 0700; the file gets
// 0600), waits up to opts.Timeout for the file lock, initialises or
// validates the reserved meta bucket, and then runs pending migrations, each
// in its own transaction, recording the user version after each. opts may be
// nil.
//
// Open fails if the file holds top-level buckets but no meta bucket (it was
// not created by this package) or was written with a newer SchemaVersion.
func Open(path string, opts *Options) (*DB, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if path == "" {
		return nil, errors.New("storage: open: empty path")
	}
	if err := validateMigrations(o.Migrations); err != nil {
		return nil, fmt.Errorf("storage: open %s: %w", path, err)
	}
	timeout := o.Timeout
	switch {
	case timeout == 0:
		timeout = DefaultTimeout
	case timeout < 0:
		timeout = time.Nanosecond // bbolt: one attempt, then give up
	}
	now := o.Now
	if now == nil {
		now = time.Now
	}

	if !o.ReadOnly {
		if err := os.MkdirAll(filepath.Dir(path), dirMode); err != nil {
			return nil, fmt.Errorf("storage: open %s: create parent directory: %w", path, err)
		}
	}
	bdb, err := bolt.Open(path, fileMode, &bolt.Options{
		Timeout:  timeout,
		NoSync:   o.NoSync,
		ReadOnly: o.ReadOnly,
	})
	if err != nil {
		if errors.Is(err, berrors.ErrTimeout) {
			waited := o.Timeout
			if waited < 0 {
				waited = 0
			} else if waited == 0 {
				waited = DefaultTimeout
			}
			return nil, wrapf(ErrLocked, "storage: open %s: the file is locked by another process (waited %s)", path, waited)
		}
		return nil, fmt.Errorf("storage: open %s: %w", path, err)
	}
	db := &DB{
		bolt:     bdb,
		path:     path,
		now:      now,
		readOnly: o.ReadOnly,
		timeout:  timeout,
		done:     make(chan struct{}),
	}
	if err := db.init(o.Migrations); err != nil {
		_ = bdb.Close()
		return nil, fmt.Errorf("storage: open %s: %w", path, err)
	}
	return db, nil
}

func validateMigrations(ms []Migration) error {
	prev := 0
	for i, m := range ms {
		switch {
		case m.Version < 1:
			return fmt.Errorf("migrations[%d] (version %d %q): version must be >= 1", i, m.Version, m.Name)
		case m.Version <= prev:
			return fmt.Errorf("migrations[%d] (version %d %q): versions must be strictly ascending and unique (previous is %d)", i, m.Version, m.Name, prev)
		case m.Up == nil:
			return fmt.Errorf("migrations[%d] (version %d %q): Up is nil", i, m.Version, m.Name)
		}
		prev = m.Version
	}
	return nil
}

// init validates or creates the meta bucket and runs pending migrations.
func (db *DB) init(migrations []Migration) error {
	var user int
	if db.readOnly {
		err := db.bolt.View(func(btx *bolt.Tx) error {
			meta := btx.Bucket([]byte(metaBucket))
			if meta == nil {
				return errors.New("not initialised by this package (no meta bucket); open it writable first")
			}
			var err error
			user, err = checkMeta(meta)
			return err
		})
		if err != nil {
			return err
		}
		for _, m := range migrations {
			if m.Version > user {
				return wrapf(ErrReadOnly, "migration %d %q is pending but the database is opened read-only", m.Version, m.Name)
			}
		}
		return nil
	}

	err := db.bolt.Update(func(btx *bolt.Tx) error {
		meta := btx.Bucket([]byte(metaBucket))
		if meta == nil {
			var foreign []byte
			_ = btx.ForEach(func(name []byte, _ *bolt.Bucket) error {
				foreign = name
				return errStop
			})
			if foreign != nil {
				return fmt.Errorf("not a storage database: bucket %q exists but the meta bucket does not", foreign)
			}
			var err error
			if meta, err = btx.CreateBucket([]byte(metaBucket)); err != nil {
				return err
			}
			if err := meta.Put(metaSchemaKey, itob(SchemaVersion)); err != nil {
				return err
			}
			return meta.Put(metaUserKey, itob(0))
		}
		var err error
		user, err = checkMeta(meta)
		return err
	})
	if err != nil {
		return err
	}

	for _, m := range migrations {
		if m.Version <= user {
			continue
		}
		err := db.bolt.Update(func(btx *bolt.Tx) error {
			tx := db.newTx(btx, nil)
			defer tx.finish()
			if err := callSafely(m.Up, tx); err != nil {
				return err
			}
			return btx.Bucket([]byte(metaBucket)).Put(metaUserKey, itob(m.Version))
		})
		if err != nil {
			return fmt.Errorf("migration %d %q failed (database left at user version %d): %w", m.Version, m.Name, user, err)
		}
		user = m.Version
	}
	return nil
}

// errStop ends a bbolt ForEach early.
var errStop = errors.New("stop")

// checkMeta validates the meta bucket and returns the stored user version.
func checkMeta(meta *bolt.Bucket) (int, error) {
	schema, err := atoi(meta.Get(metaSchemaKey))
	if err != nil {
		return 0, fmt.Errorf("meta bucket: schema_version: %w", err)
	}
	if schema > SchemaVersion {
		return 0, fmt.Errorf("written by a newer version of package storage (layout %d, this build supports up to %d)", schema, SchemaVersion)
	}
	if schema < 1 {
		return 0, fmt.Errorf("meta bucket: invalid schema_version %d", schema)
	}
	user, err := atoi(meta.Get(metaUserKey))
	if err != nil {
		return 0, fmt.Errorf("meta bucket: user_version: %w", err)
	}
	return user, nil
}

func itob(n int) []byte { return strconv.AppendInt(nil, int64(n), 10) }

func atoi(b []byte) (int, error) {
	if b == nil {
		return 0, errors.New("missing")
	}
	n, err := strconv.Atoi(string(b))
	if err != nil || n < 0 {
		return 0, fmt.Errorf("invalid value %q", b)
	}
	return n, nil
}

// Path returns the path the database was opened with, as given to Open.
func (db *DB) Path() string { return db.path }

// SchemaVersion returns the user schema version stored in the database: the
// Version of the last migration applied (0 if none ever ran), or the version
// adopted by Import. The package's own layout version is the constant
// SchemaVersion.
func (db *DB) SchemaVersion() (int, error) {
	var v int
	err := db.view(func(btx *bolt.Tx) error {
		var err error
		v, err = atoi(btx.Bucket([]byte(metaBucket)).Get(metaUserKey))
		return err
	})
	return v, err
}

// Close stops background sweepers (waiting for them to return), waits for
// running transactions to finish, and closes the file, releasing its lock.
// After Close every method of db and of its Namespaces returns ErrClosed,
// including a second Close.
func (db *DB) Close() error {
	db.mu.Lock()
	if db.closed.Load() {
		db.mu.Unlock()
		return ErrClosed
	}
	db.closed.Store(true)
	close(db.done)
	db.mu.Unlock()

	db.sweepers.Wait()
	if err := db.bolt.Close(); err != nil {
		return fmt.Errorf("storage: close %s: %w", db.path, err)
	}
	return nil
}

// view runs fn in a bbolt read transaction, mapping bbolt errors.
func (db *DB) view(fn func(*bolt.Tx) error) error {
	if db == nil || db.closed.Load() {
		return ErrClosed
	}
	return mapErr(db.bolt.View(fn))
}

// update runs fn in a bbolt write transaction, mapping bbolt errors.
func (db *DB) update(fn func(*bolt.Tx) error) error {
	if db == nil || db.closed.Load() {
		return ErrClosed
	}
	if db.readOnly {
		return wrapf(ErrReadOnly, "storage: %s is opened read-only", db.path)
	}
	return mapErr(db.bolt.Update(fn))
}

// batch runs fn through bbolt's Batch.
func (db *DB) batch(fn func(*bolt.Tx) error) error {
	if db == nil || db.closed.Load() {
		return ErrClosed
	}
	if db.readOnly {
		return wrapf(ErrReadOnly, "storage: %s is opened read-only", db.path)
	}
	return mapErr(db.bolt.Batch(fn))
}

// mapErr translates bbolt errors raised by bbolt itself (not by our
// callbacks, whose errors already carry our sentinels) into ours.
func mapErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, berrors.ErrDatabaseNotOpen):
		return ErrClosed
	case errors.Is(err, berrors.ErrDatabaseReadOnly):
		return ErrReadOnly
	}
	return err
}

// Sweep deletes every expired key in every namespace and returns how many it
// removed. Expired keys are already invisible to reads; Sweep only reclaims
// their space. It first scans in a read transaction and only opens a write
// transaction when something has expired.
func (db *DB) Sweep() (removed int, err error) {
	if db == nil || db.closed.Load() {
		return 0, ErrClosed
	}
	if db.readOnly {
		return 0, wrapf(ErrReadOnly, "storage: sweep %s: opened read-only", db.path)
	}
	now := db.now().UnixNano()
	found := 0
	err = db.view(func(btx *bolt.Tx) error {
		return walkNamespaces(btx, func(_ []string, b *bolt.Bucket) error {
			n, err := sweepBucket(b, now, false)
			found += n
			return err
		})
	})
	if err != nil || found == 0 {
		return 0, err
	}
	err = db.update(func(btx *bolt.Tx) error {
		removed = 0
		return walkNamespaces(btx, func(_ []string, b *bolt.Bucket) error {
			n, err := sweepBucket(b, now, true)
			removed += n
			return err
		})
	})
	if err != nil {
		return 0, err
	}
	return removed, nil
}

// sweepBucket counts (and, if del, deletes) the expired values directly in b.
// Corrupt values are left alone: they are reported by reads, not destroyed.
func sweepBucket(b *bolt.Bucket, now int64, del bool) (int, error) {
	var dead [][]byte
	c := b.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if v == nil {
			continue
		}
		if _, exp, err := decodeValue(v); err == nil && expired(exp, now) {
			dead = append(dead, k)
		}
	}
	if del {
		for _, k := range dead {
			if err := b.Delete(k); err != nil {
				return 0, err
			}
		}
	}
	return len(dead), nil
}

// walkNamespaces calls fn for every namespace bucket, parents before
// children, skipping the meta bucket.
func walkNamespaces(btx *bolt.Tx, fn func(path []string, b *bolt.Bucket) error) error {
	var walk func(path []string, b *bolt.Bucket) error
	walk = func(path []string, b *bolt.Bucket) error {
		if err := fn(path, b); err != nil {
			return err
		}
		var subs [][]byte
		c := b.Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if v == nil {
				subs = append(subs, k)
			}
		}
		for _, k := range subs {
			if sb := b.Bucket(k); sb != nil {
				if err := walk(append(path[:len(path):len(path)], string(k)), sb); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return btx.ForEach(func(name []byte, b *bolt.Bucket) error {
		if string(name) == metaBucket {
			return nil
		}
		return walk([]string{string(name)}, b)
	})
}

// StartSweeper starts a goroutine that calls Sweep every interval until ctx
// is done or db is closed; Close waits for it to return, so no goroutine is
// abandoned. every <= 0 means DefaultSweepInterval. Sweep errors are
// dropped (the next tick retries). It does nothing on a closed or read-only
// database. It may be called more than once; each call starts one goroutine.
func (db *DB) StartSweeper(ctx context.Context, every time.Duration) {
	if every <= 0 {
		every = DefaultSweepInterval
	}
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.closed.Load() || db.readOnly {
		return
	}
	db.sweepers.Add(1)
	db.running.Add(1)
	go func() {
		defer db.sweepers.Done()
		defer db.running.Add(-1)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-db.done:
				return
			case <-t.C:
				_, _ = db.Sweep()
			}
		}
	}()
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
