package storage

import (
	"errors"
	"fmt"
	"math"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// Tx is a namespace-scoped view of one bbolt transaction. It is valid only
// inside the function it was passed to (Namespace.Update, View, Batch or
// Migration.Up); afterwards every method returns ErrTxClosed. Like the bbolt
// transaction underneath, a Tx must not be used from more than one goroutine
// at a time.
//
// Nested namespaces are created lazily: reading a namespace that does not
// exist behaves as reading an empty one, and the first write creates it and
// any missing parents. Reads use the clock value captured when the
// transaction began, so TTL decisions are consistent within one Tx.
//
// A root Tx (the one passed to Migration.Up) is not scoped to any namespace:
// its key methods return an error wrapping ErrBadName; use Namespace or Sub
// to select one.
type Tx struct {
	db    *DB
	btx   *bolt.Tx
	path  []string
	now   int64 // Unix nanos captured at transaction start
	state *txState
	err   error // deferred from Sub/Namespace with an invalid name
}

type txState struct{ closed atomic.Bool }

func (db *DB) newTx(btx *bolt.Tx, path []string) *Tx {
	return &Tx{db: db, btx: btx, path: path, now: db.now().UnixNano(), state: &txState{}}
}

// finish invalidates tx and every Tx derived from it.
func (tx *Tx) finish() { tx.state.closed.Store(true) }

// callSafely runs fn, turning a panic of any value into a *PanicError.
func callSafely(fn func(*Tx) error, tx *Tx) (err error) {
	if fn == nil {
		return errors.New("storage: nil transaction function")
	}
	defer func() {
		if r := recover(); r != nil {
			err = &PanicError{Value: r, Stack: debug.Stack()}
		}
	}()
	return fn(tx)
}

func (tx *Tx) name() string {
	if tx == nil {
		return ""
	}
	return nsName(tx.path)
}

func nsName(path []string) string { return strings.Join(path, "/") }

// usable reports whether tx may be used at all (root or not).
func (tx *Tx) usable() error {
	if tx == nil || tx.state == nil || tx.state.closed.Load() {
		return ErrTxClosed
	}
	return tx.err
}

// check is usable plus "tx is scoped to a namespace".
func (tx *Tx) check() error {
	if err := tx.usable(); err != nil {
		return err
	}
	if len(tx.path) == 0 {
		return wrapf(ErrBadName, "storage: the root transaction has no keys; select a namespace with tx.Namespace(name)")
	}
	return nil
}

func (tx *Tx) checkKey(key string) error {
	if why := keyProblem(key); why != "" {
		return wrapf(ErrBadKey, "storage: namespace %s: %s", tx.name(), why)
	}
	return nil
}

func (tx *Tx) writeCheck() error {
	if !tx.btx.Writable() {
		return wrapf(ErrReadOnly, "storage: namespace %s: write in a read-only transaction", tx.name())
	}
	return nil
}

// bucket resolves the namespace's bucket. Without create, a missing bucket
// is (nil, nil). With create, missing buckets along the path are created.
func (tx *Tx) bucket(create bool) (*bolt.Bucket, error) {
	var b *bolt.Bucket
	for i, p := range tx.path {
		key := []byte(p)
		var next *bolt.Bucket
		if i == 0 {
			next = tx.btx.Bucket(key)
		} else {
			next = b.Bucket(key)
		}
		if next == nil {
			if !create {
				return nil, nil
			}
			var err error
			if i == 0 {
				next, err = tx.btx.CreateBucket(key)
			} else {
				next, err = b.CreateBucket(key)
			}
			if errors.Is(err, berrors.ErrIncompatibleValue) {
				return nil, wrapf(ErrBadName, "storage: namespace %s: %q is a key in namespace %s, not a namespace", tx.name(), p, nsName(tx.path[:i]))
			}
			if err != nil {
				return nil, fmt.Errorf("storage: namespace %s: %w", tx.name(), err)
			}
		}
		b = next
	}
	return b, nil
}

func (tx *Tx) notFound(key string) error {
	return fmt.Errorf("%w: %q in namespace %s", ErrNotFound, key, tx.name())
}

// lookup returns the live payload (aliasing bbolt memory) and expiry of key.
func (tx *Tx) lookup(key string) ([]byte, int64, error) {
	if err := tx.check(); err != nil {
		return nil, 0, err
	}
	if err := tx.checkKey(key); err != nil {
		return nil, 0, err
	}
	b, err := tx.bucket(false)
	if err != nil {
		return nil, 0, err
	}
	if b == nil {
		return nil, 0, tx.notFound(key)
	}
	raw := b.Get([]byte(key))
	if raw == nil { // missing, or a sub-namespace
		return nil, 0, tx.notFound(key)
	}
	payload, exp, err := decodeValue(raw)
	if err != nil {
		return nil, 0, fmt.Errorf("storage: namespace %s: key %q: %w", tx.name(), key, err)
	}
	if expired(exp, tx.now) {
		return nil, 0, tx.notFound(key)
	}
	return payload, exp, nil
}

// Get returns a copy of the value of key, safe to keep and modify after the
// transaction ends. It returns an error wrapping ErrNotFound if the key does
// not exist or has expired.
func (tx *Tx) Get(key string) ([]byte, error) {
	p, _, err := tx.lookup(key)
	if err != nil {
		return nil, err
	}
	return append(make([]byte, 0, len(p)), p...), nil
}

// Has reports whether key exists and has not expired.
func (tx *Tx) Has(key string) (bool, error) {
	_, _, err := tx.lookup(key)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

func (tx *Tx) put(key string, val []byte, exp int64) error {
	if err := tx.check(); err != nil {
		return err
	}
	if err := tx.checkKey(key); err != nil {
		return err
	}
	if err := tx.writeCheck(); err != nil {
		return err
	}
	b, err := tx.bucket(true)
	if err != nil {
		return err
	}
	if err := b.Put([]byte(key), encodeValue(val, exp)); err != nil {
		if errors.Is(err, berrors.ErrIncompatibleValue) {
			return wrapf(ErrBadKey, "storage: namespace %s: key %q is the name of a sub-namespace", tx.name(), key)
		}
		return fmt.Errorf("storage: namespace %s: put %q: %w", tx.name(), key, err)
	}
	return nil
}

// Put stores val under key without expiry, replacing any previous value and
// removing any TTL it had. val is copied; nil and empty values are stored as
// empty.
func (tx *Tx) Put(key string, val []byte) error { return tx.put(key, val, 0) }

// PutTTL stores val under key so that it expires ttl after the
// transaction's clock reading. Expired keys are invisible to every read and
// are removed by Sweep. ttl must be positive.
func (tx *Tx) PutTTL(key string, val []byte, ttl time.Duration) error {
	exp, err := tx.expiry(key, ttl)
	if err != nil {
		return err
	}
	return tx.put(key, val, exp)
}

// maxExpiry keeps expiries inside the range time.UnixNano can represent.
var maxExpiry = time.Unix(0, math.MaxInt64)

func (tx *Tx) expiry(key string, ttl time.Duration) (int64, error) {
	if err := tx.usable(); err != nil {
		return 0, err
	}
	if ttl <= 0 {
		return 0, fmt.Errorf("storage: namespace %s: key %q: ttl must be positive, got %s", tx.name(), key, ttl)
	}
	at := time.Unix(0, tx.now).Add(ttl)
	if !at.Before(maxExpiry) || at.Before(time.Unix(0, tx.now)) {
		return 0, fmt.Errorf("storage: namespace %s: key %q: ttl %s is too large", tx.name(), key, ttl)
	}
	exp := at.UnixNano()
	if exp == 0 { // 0 means "no expiry" on disk; 1ns later is indistinguishable
		exp = 1
	}
	return exp, nil
}

// Delete removes key. Deleting a missing key (or a name that belongs to a
// sub-namespace rather than a key) is not an error.
func (tx *Tx) Delete(key string) error {
	if err := tx.check(); err != nil {
		return err
	}
	if err := tx.checkKey(key); err != nil {
		return err
	}
	if err := tx.writeCheck(); err != nil {
		return err
	}
	b, err := tx.bucket(false)
	if err != nil || b == nil {
		return err
	}
	if err := b.Delete([]byte(key)); err != nil && !errors.Is(err, berrors.ErrIncompatibleValue) {
		return fmt.Errorf("storage: namespace %s: delete %q: %w", tx.name(), key, err)
	}
	return nil
}

// scan calls fn for every live key with the given prefix, in byte order.
// payload aliases bbolt memory.
func (tx *Tx) scan(prefix string, fn func(key string, payload []byte) error) error {
	if err := tx.check(); err != nil {
		return err
	}
	b, err := tx.bucket(false)
	if err != nil || b == nil {
		return err
	}
	pre := []byte(prefix)
	c := b.Cursor()
	for k, v := c.Seek(pre); k != nil && strings.HasPrefix(string(k), prefix); k, v = c.Next() {
		if v == nil { // sub-namespace
			continue
		}
		payload, exp, err := decodeValue(v)
		if err != nil {
			return fmt.Errorf("storage: namespace %s: key %q: %w", tx.name(), k, err)
		}
		if expired(exp, tx.now) {
			continue
		}
		if err := fn(string(k), payload); err != nil {
			return err
		}
	}
	return nil
}

// Keys returns the live (non-expired) keys that start with prefix, sorted
// in byte order. An empty prefix matches every key. Sub-namespaces are not
// keys and are not listed. The result is nil when nothing matches.
func (tx *Tx) Keys(prefix string) ([]string, error) {
	var keys []string
	err := tx.scan(prefix, func(k string, _ []byte) error {
		keys = append(keys, k)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return keys, nil
}

// ForEach calls fn for each live key starting with prefix, in byte order,
// stopping at and returning the first error fn returns. val points into the
// database's memory map: it is valid only until fn returns and must not be
// modified; copy it to keep it. fn must not write to this namespace (bbolt
// cursors do not tolerate modification during iteration); collect keys and
// write after ForEach returns.
func (tx *Tx) ForEach(prefix string, fn func(key string, val []byte) error) error {
	return tx.scan(prefix, fn)
}

// Size returns how many live keys the namespace holds (sub-namespaces
// aside) and their bytes: the keys' and the values' lengths.
func (tx *Tx) Size() (keys int, bytes int64, err error) {
	err = tx.scan("", func(k string, payload []byte) error {
		keys++
		bytes += int64(len(k) + len(payload))
		return nil
	})
	return keys, bytes, err
}

// Incr adds delta to the integer stored at key and returns the new value. A
// missing or expired key counts as 0. The value is stored as decimal text
// (so it reads naturally in exports and through Get), and the TTL of an
// existing key is kept. It fails if the current value is not a decimal
// integer or the result would overflow int64.
func (tx *Tx) Incr(key string, delta int64) (int64, error) {
	if err := tx.check(); err != nil {
		return 0, err
	}
	if err := tx.checkKey(key); err != nil {
		return 0, err
	}
	if err := tx.writeCheck(); err != nil {
		return 0, err
	}
	var cur, exp int64
	p, e, err := tx.lookup(key)
	switch {
	case err == nil:
		cur, err = strconv.ParseInt(string(p), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("storage: namespace %s: Incr %q: value %.40q is not a decimal integer", tx.name(), key, p)
		}
		exp = e
	case errors.Is(err, ErrNotFound):
	default:
		return 0, err
	}
	n := cur + delta
	if (delta > 0 && n < cur) || (delta < 0 && n > cur) {
		return 0, fmt.Errorf("storage: namespace %s: Incr %q: %d%+d overflows int64", tx.name(), key, cur, delta)
	}
	if err := tx.put(key, strconv.AppendInt(nil, n, 10), exp); err != nil {
		return 0, err
	}
	return n, nil
}

// NextSequence returns the next value of this namespace's bbolt bucket
// sequence (1 for the first call), creating the namespace if needed. The
// sequence is included in Export/Import. It requires a write transaction.
func (tx *Tx) NextSequence() (uint64, error) {
	if err := tx.check(); err != nil {
		return 0, err
	}
	if err := tx.writeCheck(); err != nil {
		return 0, err
	}
	b, err := tx.bucket(true)
	if err != nil {
		return 0, err
	}
	seq, err := b.NextSequence()
	if err != nil {
		return 0, fmt.Errorf("storage: namespace %s: next sequence: %w", tx.name(), err)
	}
	return seq, nil
}

// Sub returns the nested namespace name of tx's namespace, in the same
// transaction. On a root Tx it selects a top-level namespace, like
// Namespace. An invalid name is reported (wrapping ErrBadName) by the first
// method called on the result.
func (tx *Tx) Sub(name string) *Tx {
	if tx == nil {
		return &Tx{err: ErrTxClosed}
	}
	sub := *tx
	sub.path = append(tx.path[:len(tx.path):len(tx.path)], name)
	if sub.err == nil {
		sub.err = validateName(name)
	}
	return &sub
}

// Namespace returns the top-level namespace name in the same transaction,
// regardless of which namespace tx is scoped to. It exists for migrations,
// whose Up receives a root Tx; inside Namespace.Update prefer Sub, which
// keeps code scoped to its own namespace. An invalid name is reported by the
// first method called on the result.
func (tx *Tx) Namespace(name string) *Tx {
	if tx == nil {
		return &Tx{err: ErrTxClosed}
	}
	ns := *tx
	ns.path = []string{name}
	if ns.err == nil {
		ns.err = validateName(name)
	}
	return &ns
}

// Writable reports whether tx is a write transaction that is still usable.
func (tx *Tx) Writable() bool {
	return tx.usable() == nil && tx.btx.Writable()
}

// clear deletes the namespace bucket (all keys, sub-namespaces and the
// sequence). A missing namespace is not an error.
func (tx *Tx) clear() error {
	if err := tx.check(); err != nil {
		return err
	}
	if err := tx.writeCheck(); err != nil {
		return err
	}
	last := []byte(tx.path[len(tx.path)-1])
	var err error
	if len(tx.path) == 1 {
		err = tx.btx.DeleteBucket(last)
	} else {
		parent := &Tx{path: tx.path[:len(tx.path)-1], btx: tx.btx}
		b, perr := parent.bucket(false)
		if perr != nil || b == nil {
			return perr
		}
		err = b.DeleteBucket(last)
	}
	if err != nil && !errors.Is(err, berrors.ErrBucketNotFound) && !errors.Is(err, berrors.ErrIncompatibleValue) {
		return fmt.Errorf("storage: namespace %s: clear: %w", tx.name(), err)
	}
	return nil
}

// validateName checks a namespace name.
func validateName(name string) error {
	if why := nameProblem(name); why != "" {
		return wrapf(ErrBadName, "storage: invalid namespace name %q: %s", name, why)
	}
	return nil
}

// nameProblem says what is wrong with a namespace name, or "" if nothing.
func nameProblem(name string) string {
	switch {
	case name == "":
		return "empty"
	case strings.Contains(name, "/"):
		return "contains '/'"
	case name[0] == 0:
		return "names starting with a NUL byte are reserved"
	case !utf8.ValidString(name):
		return "not valid UTF-8"
	case len(name) > MaxKeySize:
		return fmt.Sprintf("longer than %d bytes", MaxKeySize)
	}
	return ""
}

// keyProblem says what is wrong with a key, or "" if nothing.
func keyProblem(key string) string {
	switch {
	case key == "":
		return "empty key (keys must be non-empty)"
	case len(key) > MaxKeySize:
		return fmt.Sprintf("key of %d bytes exceeds MaxKeySize (%d)", len(key), MaxKeySize)
	case !utf8.ValidString(key):
		return fmt.Sprintf("key %q is not valid UTF-8", key)
	}
	return ""
}
