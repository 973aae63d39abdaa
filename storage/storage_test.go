package storage_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jimbot/jimbot/storage"
)

// fakeClock is an injectable Options.Now.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock {
	return &fakeClock{t: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func openDB(t testing.TB, opts *storage.Options) *storage.DB {
	t.Helper()
	db, err := storage.Open(filepath.Join(t.TempDir(), "test.db"), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil && !errors.Is(err, storage.ErrClosed) {
			t.Error(err)
		}
	})
	return db
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestOpenCreatesParentDir(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a", "b", "c.db")
	db, err := storage.Open(path, nil)
	must(t, err)
	defer db.Close()
	if db.Path() != path {
		t.Errorf("Path() = %q, want %q", db.Path(), path)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatal(err)
	}
}

func TestBasicOps(t *testing.T) {
	db := openDB(t, nil)
	ns := db.Namespace("plugin:test")
	must(t, ns.Put("user:1", []byte("alice")))
	must(t, ns.Put("user:2", []byte("bob")))
	must(t, ns.Put("user:10", []byte("carol")))
	must(t, ns.Put("group:1", []byte("g")))
	must(t, ns.Put("empty", nil))

	tests := []struct {
		name    string
		key     string
		want    string
		wantErr error
	}{
		{"present", "user:1", "alice", nil},
		{"empty value", "empty", "", nil},
		{"missing", "user:3", "", storage.ErrNotFound},
		{"empty key", "", "", storage.ErrBadKey},
		{"invalid utf8 key", "\xff", "", storage.ErrBadKey},
		{"too long key", strings.Repeat("k", storage.MaxKeySize+1), "", storage.ErrBadKey},
	}
	for _, tc := range tests {
		t.Run("Get/"+tc.name, func(t *testing.T) {
			got, err := ns.Get(tc.key)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if err == nil && string(got) != tc.want {
				t.Fatalf("Get = %q, want %q", got, tc.want)
			}
			ok, err := ns.Has(tc.key)
			if tc.wantErr == storage.ErrBadKey {
				if !errors.Is(err, storage.ErrBadKey) {
					t.Fatalf("Has err = %v", err)
				}
			} else if err != nil || ok != (tc.wantErr == nil) {
				t.Fatalf("Has = %v, %v", ok, err)
			}
		})
	}

	prefixes := []struct {
		name, prefix string
		want         []string
	}{
		{"all", "", []string{"empty", "group:1", "user:1", "user:10", "user:2"}},
		{"user", "user:", []string{"user:1", "user:10", "user:2"}},
		{"user:1", "user:1", []string{"user:1", "user:10"}},
		{"none", "zzz", nil},
	}
	for _, tc := range prefixes {
		t.Run("Keys/"+tc.name, func(t *testing.T) {
			got, err := ns.Keys(tc.prefix)
			must(t, err)
			if !slices.Equal(got, tc.want) {
				t.Fatalf("Keys(%q) = %q, want %q", tc.prefix, got, tc.want)
			}
			var seen []string
			must(t, ns.ForEach(tc.prefix, func(k string, v []byte) error {
				seen = append(seen, k)
				return nil
			}))
			if !slices.Equal(seen, tc.want) {
				t.Fatalf("ForEach(%q) saw %q, want %q", tc.prefix, seen, tc.want)
			}
		})
	}

	t.Run("Get returns a copy", func(t *testing.T) {
		v, err := ns.Get("user:1")
		must(t, err)
		v[0] = 'X'
		v2, _ := ns.Get("user:1")
		if string(v2) != "alice" {
			t.Fatalf("stored value changed to %q", v2)
		}
	})
	t.Run("Put overwrites", func(t *testing.T) {
		must(t, ns.Put("user:2", []byte("bobby")))
		if v, _ := ns.Get("user:2"); string(v) != "bobby" {
			t.Fatalf("got %q", v)
		}
	})
	t.Run("Delete", func(t *testing.T) {
		must(t, ns.Delete("user:2"))
		if _, err := ns.Get("user:2"); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("after Delete: %v", err)
		}
		must(t, ns.Delete("user:2"))               // missing: fine
		must(t, db.Namespace("never").Delete("k")) // missing namespace: fine
	})
	t.Run("ForEach stops on error", func(t *testing.T) {
		stop := errors.New("stop")
		n := 0
		err := ns.ForEach("", func(string, []byte) error { n++; return stop })
		if err != stop || n != 1 {
			t.Fatalf("err = %v after %d calls", err, n)
		}
	})
	t.Run("not found message", func(t *testing.T) {
		_, err := ns.Get("nope")
		want := `storage: key not found: "nope" in namespace plugin:test`
		if err == nil || err.Error() != want {
			t.Fatalf("err = %q, want %q", err, want)
		}
	})
	t.Run("empty key message", func(t *testing.T) {
		err := ns.Put("", []byte("x"))
		if !errors.Is(err, storage.ErrBadKey) || !strings.Contains(err.Error(), "empty key") {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestNamespaceNames(t *testing.T) {
	db := openDB(t, nil)
	tests := []struct {
		name    string
		ns      storage.Namespace
		path    string
		wantErr error
	}{
		{"top", db.Namespace("plugin:welcome"), "plugin:welcome", nil},
		{"nested", db.Namespace("plugin:welcome").Sub("group:42"), "plugin:welcome/group:42", nil},
		{"deep", db.Namespace("a").Sub("b").Sub("c"), "a/b/c", nil},
		{"empty", db.Namespace(""), "", storage.ErrBadName},
		{"slash", db.Namespace("a/b"), "a/b", storage.ErrBadName},
		{"meta", db.Namespace("\x00meta"), "\x00meta", storage.ErrBadName},
		{"bad sub", db.Namespace("a").Sub(""), "a/", storage.ErrBadName},
		{"bad parent", db.Namespace("").Sub("x"), "/x", storage.ErrBadName},
		{"invalid utf8", db.Namespace("\xff"), "\xff", storage.ErrBadName},
		{"zero value", storage.Namespace{}, "", storage.ErrBadName},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.ns.Name(); got != tc.path {
				t.Errorf("Name() = %q, want %q", got, tc.path)
			}
			err := tc.ns.Put("k", []byte("v"))
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Put err = %v, want %v", err, tc.wantErr)
			}
			if tc.wantErr != nil {
				if _, err := tc.ns.Get("k"); !errors.Is(err, tc.wantErr) {
					t.Fatalf("Get err = %v", err)
				}
				return
			}
			if v, err := tc.ns.Get("k"); err != nil || string(v) != "v" {
				t.Fatalf("Get = %q, %v", v, err)
			}
		})
	}
}

func TestSubNamespaces(t *testing.T) {
	db := openDB(t, nil)
	parent := db.Namespace("p")
	g1, g2 := parent.Sub("g1"), parent.Sub("g2")
	must(t, g1.Put("k", []byte("one")))
	must(t, g2.Put("k", []byte("two")))
	must(t, parent.Put("k", []byte("parent")))

	for _, tc := range []struct {
		ns   storage.Namespace
		want string
	}{{g1, "one"}, {g2, "two"}, {parent, "parent"}} {
		if v, err := tc.ns.Get("k"); err != nil || string(v) != tc.want {
			t.Errorf("%s: Get = %q, %v; want %q", tc.ns.Name(), v, err, tc.want)
		}
	}
	t.Run("sub-namespaces are not keys", func(t *testing.T) {
		keys, err := parent.Keys("")
		must(t, err)
		if !slices.Equal(keys, []string{"k"}) {
			t.Fatalf("Keys = %q", keys)
		}
		if _, err := parent.Get("g1"); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("Get of a sub-namespace name: %v", err)
		}
		if err := parent.Put("g1", []byte("x")); !errors.Is(err, storage.ErrBadKey) {
			t.Fatalf("Put over a sub-namespace: %v", err)
		}
		if err := parent.Sub("k").Put("x", nil); !errors.Is(err, storage.ErrBadName) {
			t.Fatalf("Sub named like a key: %v", err)
		}
	})
	t.Run("copies do not alias", func(t *testing.T) {
		base := db.Namespace("a").Sub("b")
		x, y := base.Sub("x"), base.Sub("y")
		if x.Name() != "a/b/x" || y.Name() != "a/b/y" {
			t.Fatalf("names %q %q", x.Name(), y.Name())
		}
	})
	t.Run("reads of missing namespaces are empty", func(t *testing.T) {
		ghost := db.Namespace("ghost").Sub("deeper")
		keys, err := ghost.Keys("")
		if err != nil || keys != nil {
			t.Fatalf("Keys = %q, %v", keys, err)
		}
		if ok, err := ghost.Has("k"); ok || err != nil {
			t.Fatalf("Has = %v, %v", ok, err)
		}
	})
	t.Run("Clear", func(t *testing.T) {
		must(t, parent.Update(func(tx *storage.Tx) error {
			_, err := tx.NextSequence()
			return err
		}))
		must(t, parent.Clear())
		for _, ns := range []storage.Namespace{parent, g1, g2} {
			if ok, _ := ns.Has("k"); ok {
				t.Errorf("%s still has k", ns.Name())
			}
		}
		var seq uint64
		must(t, parent.Update(func(tx *storage.Tx) error {
			var err error
			seq, err = tx.NextSequence()
			return err
		}))
		if seq != 1 {
			t.Errorf("sequence after Clear = %d, want 1", seq)
		}
		must(t, db.Namespace("never").Clear())
		must(t, db.Namespace("never").Sub("x").Clear())
		// Clearing a child leaves the parent alone.
		must(t, g1.Put("k", []byte("one")))
		must(t, parent.Put("k", []byte("parent")))
		must(t, g1.Clear())
		if ok, _ := parent.Has("k"); !ok {
			t.Error("clearing a child removed the parent's key")
		}
	})
}

func TestIncr(t *testing.T) {
	db := openDB(t, nil)
	ns := db.Namespace("counters")
	tests := []struct {
		name  string
		delta int64
		want  int64
	}{
		{"from missing", 5, 5},
		{"add", 10, 15},
		{"negative", -20, -5},
		{"zero", 0, -5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n, err := ns.Incr("c", tc.delta)
			if err != nil || n != tc.want {
				t.Fatalf("Incr = %d, %v; want %d", n, err, tc.want)
			}
		})
	}
	t.Run("stored as decimal text", func(t *testing.T) {
		if v, _ := ns.Get("c"); string(v) != "-5" {
			t.Fatalf("stored %q", v)
		}
	})
	t.Run("non-integer", func(t *testing.T) {
		must(t, ns.Put("s", []byte("abc")))
		if _, err := ns.Incr("s", 1); err == nil || !strings.Contains(err.Error(), "not a decimal integer") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("overflow", func(t *testing.T) {
		must(t, ns.Put("big", []byte("9223372036854775807")))
		if _, err := ns.Incr("big", 1); err == nil || !strings.Contains(err.Error(), "overflow") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("concurrent", func(t *testing.T) {
		const workers, per = 16, 50
		var wg sync.WaitGroup
		errs := make(chan error, workers)
		for range workers {
			wg.Go(func() {
				for range per {
					if _, err := ns.Incr("hits", 1); err != nil {
						errs <- err
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		if v, _ := ns.Get("hits"); string(v) != fmt.Sprint(workers*per) {
			t.Fatalf("hits = %s, want %d", v, workers*per)
		}
	})
}

func TestUpdateRollback(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name    string
		fn      func(tx *storage.Tx) error
		check   func(t *testing.T, err error)
		wantMsg string
	}{
		{
			name: "error",
			fn: func(tx *storage.Tx) error {
				must(t, tx.Put("k", []byte("new")))
				return boom
			},
			check: func(t *testing.T, err error) {
				if err != boom {
					t.Fatalf("err = %v, want boom unchanged", err)
				}
			},
		},
		{
			name: "panic with int",
			fn: func(tx *storage.Tx) error {
				must(t, tx.Put("k", []byte("new")))
				panic(42)
			},
			check: func(t *testing.T, err error) {
				var pe *storage.PanicError
				if !errors.As(err, &pe) || pe.Value != 42 || len(pe.Stack) == 0 {
					t.Fatalf("err = %#v, want *PanicError{42}", err)
				}
				if !strings.Contains(err.Error(), "panic") || !strings.Contains(err.Error(), "42") {
					t.Fatalf("message %q", err)
				}
			},
		},
		{
			name: "panic with error",
			fn: func(tx *storage.Tx) error {
				must(t, tx.Put("k", []byte("new")))
				panic(boom)
			},
			check: func(t *testing.T, err error) {
				if !errors.Is(err, boom) {
					t.Fatalf("err = %v, want to wrap boom", err)
				}
			},
		},
		{
			name: "panic nil",
			fn: func(tx *storage.Tx) error {
				must(t, tx.Put("k", []byte("new")))
				panic(nil)
			},
			check: func(t *testing.T, err error) {
				var pe *storage.PanicError
				if !errors.As(err, &pe) {
					t.Fatalf("err = %v", err)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db := openDB(t, nil)
			ns := db.Namespace("n")
			must(t, ns.Put("k", []byte("old")))
			tc.check(t, ns.Update(tc.fn))
			if v, _ := ns.Get("k"); string(v) != "old" {
				t.Fatalf("value after rollback = %q", v)
			}
			// The DB remains usable.
			must(t, ns.Put("k", []byte("after")))
		})
	}
	t.Run("View panic", func(t *testing.T) {
		db := openDB(t, nil)
		err := db.Namespace("n").View(func(*storage.Tx) error { panic("oops") })
		var pe *storage.PanicError
		if !errors.As(err, &pe) || pe.Value != "oops" {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestTx(t *testing.T) {
	db := openDB(t, nil)
	ns := db.Namespace("n")

	t.Run("commit several", func(t *testing.T) {
		must(t, ns.Update(func(tx *storage.Tx) error {
			if !tx.Writable() {
				t.Error("Update tx not writable")
			}
			must(t, tx.Put("a", []byte("1")))
			must(t, tx.Sub("s").Put("b", []byte("2")))
			v, err := tx.Get("a") // read own write
			if err != nil || string(v) != "1" {
				t.Errorf("Get in tx = %q, %v", v, err)
			}
			n, err := tx.Incr("a", 1)
			if err != nil || n != 2 {
				t.Errorf("Incr = %d, %v", n, err)
			}
			return nil
		}))
		if v, _ := ns.Sub("s").Get("b"); string(v) != "2" {
			t.Fatalf("sub value %q", v)
		}
	})
	t.Run("view is read-only", func(t *testing.T) {
		must(t, ns.View(func(tx *storage.Tx) error {
			if tx.Writable() {
				t.Error("View tx writable")
			}
			for name, err := range map[string]error{
				"Put":    tx.Put("x", nil),
				"Delete": tx.Delete("a"),
				"Sub":    tx.Sub("new").Put("x", nil),
			} {
				if !errors.Is(err, storage.ErrReadOnly) {
					t.Errorf("%s: %v", name, err)
				}
			}
			if _, err := tx.Incr("a", 1); !errors.Is(err, storage.ErrReadOnly) {
				t.Errorf("Incr: %v", err)
			}
			if _, err := tx.NextSequence(); !errors.Is(err, storage.ErrReadOnly) {
				t.Errorf("NextSequence: %v", err)
			}
			return nil
		}))
	})
	t.Run("used after closure", func(t *testing.T) {
		var saved, savedSub *storage.Tx
		must(t, ns.Update(func(tx *storage.Tx) error {
			saved, savedSub = tx, tx.Sub("s")
			return nil
		}))
		if _, err := saved.Get("a"); !errors.Is(err, storage.ErrTxClosed) {
			t.Errorf("Get: %v", err)
		}
		if err := savedSub.Put("a", nil); !errors.Is(err, storage.ErrTxClosed) {
			t.Errorf("Sub Put: %v", err)
		}
		if err := saved.Namespace("x").Put("a", nil); !errors.Is(err, storage.ErrTxClosed) {
			t.Errorf("Namespace Put: %v", err)
		}
		if saved.Writable() {
			t.Error("Writable after closure")
		}
	})
	t.Run("NextSequence", func(t *testing.T) {
		var got []uint64
		for range 3 {
			must(t, ns.Sub("seq").Update(func(tx *storage.Tx) error {
				n, err := tx.NextSequence()
				got = append(got, n)
				return err
			}))
		}
		if !slices.Equal(got, []uint64{1, 2, 3}) {
			t.Fatalf("sequence %v", got)
		}
	})
	t.Run("Namespace reaches the top level", func(t *testing.T) {
		must(t, ns.Update(func(tx *storage.Tx) error {
			return tx.Namespace("other").Put("k", []byte("v"))
		}))
		if v, _ := db.Namespace("other").Get("k"); string(v) != "v" {
			t.Fatalf("got %q", v)
		}
	})
	t.Run("JSON in tx", func(t *testing.T) {
		type rec struct{ N int }
		must(t, ns.Update(func(tx *storage.Tx) error {
			if err := storage.TxPutJSON(tx, "rec", rec{7}); err != nil {
				return err
			}
			r, err := storage.TxGetJSON[rec](tx, "rec")
			if r.N != 7 {
				t.Errorf("TxGetJSON = %+v", r)
			}
			return err
		}))
	})
}

func TestJSON(t *testing.T) {
	db := openDB(t, nil)
	ns := db.Namespace("j")
	type settings struct {
		Name  string   `json:"name"`
		Tags  []string `json:"tags"`
		Limit int      `json:"limit"`
	}
	in := settings{"x", []string{"a", "b"}, 3}
	must(t, storage.PutJSON(ns, "s", in))
	out, err := storage.GetJSON[settings](ns, "s")
	must(t, err)
	if out.Name != in.Name || !slices.Equal(out.Tags, in.Tags) || out.Limit != in.Limit {
		t.Fatalf("round trip %+v", out)
	}
	if _, err := storage.GetJSON[settings](ns, "missing"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("missing: %v", err)
	}
	must(t, ns.Put("bad", []byte("{")))
	if _, err := storage.GetJSON[settings](ns, "bad"); err == nil || !strings.Contains(err.Error(), `key "bad"`) {
		t.Fatalf("bad JSON: %v", err)
	}
	if err := storage.PutJSON(ns, "c", make(chan int)); err == nil {
		t.Fatal("PutJSON of a channel succeeded")
	}
}

func TestBatch(t *testing.T) {
	db := openDB(t, nil)
	ns := db.Namespace("batch")
	const workers = 64
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for i := range workers {
		wg.Go(func() {
			err := ns.Batch(func(tx *storage.Tx) error {
				if err := tx.Put(fmt.Sprintf("k%02d", i), []byte("v")); err != nil {
					return err
				}
				_, err := tx.Incr("total", 1)
				return err
			})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		must(t, err)
	}
	keys, err := ns.Keys("k")
	must(t, err)
	if len(keys) != workers {
		t.Fatalf("%d keys, want %d", len(keys), workers)
	}
	if v, _ := ns.Get("total"); string(v) != fmt.Sprint(workers) {
		t.Fatalf("total = %s, want %d (each write applied exactly once)", v, workers)
	}

	t.Run("failing function does not break the batch", func(t *testing.T) {
		boom := errors.New("boom")
		var wg sync.WaitGroup
		results := make([]error, 20)
		for i := range results {
			wg.Go(func() {
				results[i] = ns.Batch(func(tx *storage.Tx) error {
					if i == 7 {
						panic("bad")
					}
					if i == 3 {
						return boom
					}
					return tx.Put(fmt.Sprintf("f%02d", i), nil)
				})
			})
		}
		wg.Wait()
		for i, err := range results {
			var pe *storage.PanicError
			switch {
			case i == 7 && !errors.As(err, &pe):
				t.Errorf("call 7: %v, want PanicError", err)
			case i == 3 && err != boom:
				t.Errorf("call 3: %v, want boom", err)
			case i != 3 && i != 7 && err != nil:
				t.Errorf("call %d: %v", i, err)
			}
		}
		keys, _ := ns.Keys("f")
		if len(keys) != 18 {
			t.Errorf("%d keys committed, want 18", len(keys))
		}
	})
}

func TestTTL(t *testing.T) {
	clock := newClock()
	db := openDB(t, &storage.Options{Now: clock.Now})
	ns := db.Namespace("ttl")
	must(t, ns.PutTTL("short", []byte("s"), time.Minute))
	must(t, ns.PutTTL("long", []byte("l"), time.Hour))
	must(t, ns.Put("forever", []byte("f")))
	must(t, ns.PutTTL("count", []byte("10"), time.Minute))
	must(t, ns.Sub("deep").PutTTL("x", []byte("x"), time.Minute))

	if err := ns.PutTTL("bad", nil, 0); err == nil {
		t.Error("PutTTL with ttl 0 succeeded")
	}
	if err := ns.PutTTL("bad", nil, -time.Second); err == nil {
		t.Error("PutTTL with negative ttl succeeded")
	}

	visible := func(t *testing.T, key string, want bool) {
		t.Helper()
		_, err := ns.Get(key)
		if got := err == nil; got != want {
			t.Errorf("Get(%q) visible = %v, want %v (err %v)", key, got, want, err)
		}
		if ok, _ := ns.Has(key); ok != want {
			t.Errorf("Has(%q) = %v, want %v", key, ok, want)
		}
	}

	t.Run("before expiry", func(t *testing.T) {
		clock.Advance(30 * time.Second)
		visible(t, "short", true)
		n, err := ns.Incr("count", 1) // keeps the TTL
		if err != nil || n != 11 {
			t.Fatalf("Incr = %d, %v", n, err)
		}
		keys, _ := ns.Keys("")
		if !slices.Equal(keys, []string{"count", "forever", "long", "short"}) {
			t.Fatalf("Keys = %q", keys)
		}
	})
	t.Run("after expiry", func(t *testing.T) {
		clock.Advance(30 * time.Second) // exactly at expiry: expired
		visible(t, "short", false)
		visible(t, "count", false) // Incr kept the 1-minute TTL
		visible(t, "long", true)
		visible(t, "forever", true)
		keys, _ := ns.Keys("")
		if !slices.Equal(keys, []string{"forever", "long"}) {
			t.Fatalf("Keys = %q", keys)
		}
		var seen []string
		must(t, ns.ForEach("", func(k string, _ []byte) error { seen = append(seen, k); return nil }))
		if !slices.Equal(seen, keys) {
			t.Fatalf("ForEach saw %q", seen)
		}
		n, err := ns.Incr("count", 1) // expired counts as 0 and loses the TTL
		if err != nil || n != 1 {
			t.Fatalf("Incr on expired = %d, %v", n, err)
		}
		must(t, ns.Delete("count"))
	})
	t.Run("Sweep removes expired", func(t *testing.T) {
		removed, err := db.Sweep()
		must(t, err)
		if removed != 2 { // short, deep/x
			t.Fatalf("Sweep removed %d, want 2", removed)
		}
		removed, err = db.Sweep()
		if err != nil || removed != 0 {
			t.Fatalf("second Sweep = %d, %v", removed, err)
		}
		// Rewinding the clock cannot resurrect swept keys.
		clock.Advance(-time.Hour)
		visible(t, "short", false)
		clock.Advance(time.Hour)
	})
	t.Run("Put clears TTL", func(t *testing.T) {
		must(t, ns.PutTTL("k", []byte("v"), time.Second))
		must(t, ns.Put("k", []byte("v")))
		clock.Advance(time.Hour)
		visible(t, "k", true)
	})
}

func TestLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "locked.db")
	db, err := storage.Open(path, nil)
	must(t, err)
	defer db.Close()

	tests := []struct {
		name    string
		timeout time.Duration
		waited  string
		max     time.Duration
	}{
		{"100ms", 100 * time.Millisecond, "(waited 100ms)", 600 * time.Millisecond},
		{"negative does not wait", -1, "(waited 0s)", 100 * time.Millisecond},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			db2, err := storage.Open(path, &storage.Options{Timeout: tc.timeout})
			elapsed := time.Since(start)
			if err == nil {
				db2.Close()
				t.Fatal("second Open of a locked file succeeded")
			}
			if !errors.Is(err, storage.ErrLocked) {
				t.Fatalf("err = %v, want ErrLocked", err)
			}
			want := "storage: open " + path + ": the file is locked by another process " + tc.waited
			if err.Error() != want {
				t.Errorf("message\n got %q\nwant %q", err, want)
			}
			if elapsed > tc.max {
				t.Errorf("took %v, want < %v", elapsed, tc.max)
			}
		})
	}
	t.Run("read-only waits for the writer too", func(t *testing.T) {
		_, err := storage.Open(path, &storage.Options{Timeout: 50 * time.Millisecond, ReadOnly: true})
		if !errors.Is(err, storage.ErrLocked) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("released by Close", func(t *testing.T) {
		must(t, db.Close())
		db2, err := storage.Open(path, &storage.Options{Timeout: 100 * time.Millisecond})
		must(t, err)
		must(t, db2.Close())
	})
}

func TestReadOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ro.db")
	t.Run("missing file", func(t *testing.T) {
		_, err := storage.Open(path, &storage.Options{ReadOnly: true})
		if !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("err = %v, want not-exist", err)
		}
	})
	db, err := storage.Open(path, nil)
	must(t, err)
	must(t, db.Namespace("n").Put("k", []byte("v")))
	must(t, db.Close())

	ro1, err := storage.Open(path, &storage.Options{ReadOnly: true})
	must(t, err)
	defer ro1.Close()
	ro2, err := storage.Open(path, &storage.Options{ReadOnly: true, Timeout: 100 * time.Millisecond})
	must2(t, err, "two read-only handles share the lock")
	defer ro2.Close()

	ns := ro1.Namespace("n")
	if v, err := ns.Get("k"); err != nil || string(v) != "v" {
		t.Fatalf("Get = %q, %v", v, err)
	}
	writes := map[string]error{
		"Put":    ns.Put("k", nil),
		"Delete": ns.Delete("k"),
		"Clear":  ns.Clear(),
		"Update": ns.Update(func(*storage.Tx) error { return nil }),
		"Batch":  ns.Batch(func(*storage.Tx) error { return nil }),
		"Import": ro1.Import(strings.NewReader(`{}`)),
	}
	_, writes["Incr"] = ns.Incr("c", 1)
	_, writes["Sweep"] = ro1.Sweep()
	for name, err := range writes {
		if !errors.Is(err, storage.ErrReadOnly) {
			t.Errorf("%s: err = %v, want ErrReadOnly", name, err)
		}
	}
	var buf bytes.Buffer
	must(t, ro1.Export(&buf))

	t.Run("pending migration", func(t *testing.T) {
		_, err := storage.Open(path, &storage.Options{ReadOnly: true, Migrations: []storage.Migration{
			{Version: 1, Name: "m1", Up: func(*storage.Tx) error { return nil }},
		}})
		if !errors.Is(err, storage.ErrReadOnly) || !strings.Contains(err.Error(), `"m1"`) {
			t.Fatalf("err = %v", err)
		}
	})
}

func must2(t testing.TB, err error, msg string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", msg, err)
	}
}

func TestClosed(t *testing.T) {
	db := openDB(t, nil)
	ns := db.Namespace("n")
	must(t, ns.Put("k", []byte("v")))
	must(t, db.Close())

	calls := map[string]func() error{
		"Close":         db.Close,
		"Get":           func() error { _, err := ns.Get("k"); return err },
		"Put":           func() error { return ns.Put("k", nil) },
		"PutTTL":        func() error { return ns.PutTTL("k", nil, time.Second) },
		"Delete":        func() error { return ns.Delete("k") },
		"Has":           func() error { _, err := ns.Has("k"); return err },
		"Keys":          func() error { _, err := ns.Keys(""); return err },
		"ForEach":       func() error { return ns.ForEach("", func(string, []byte) error { return nil }) },
		"Incr":          func() error { _, err := ns.Incr("c", 1); return err },
		"Update":        func() error { return ns.Update(func(*storage.Tx) error { return nil }) },
		"View":          func() error { return ns.View(func(*storage.Tx) error { return nil }) },
		"Batch":         func() error { return ns.Batch(func(*storage.Tx) error { return nil }) },
		"Clear":         ns.Clear,
		"GetJSON":       func() error { _, err := storage.GetJSON[int](ns, "k"); return err },
		"PutJSON":       func() error { return storage.PutJSON(ns, "k", 1) },
		"SchemaVersion": func() error { _, err := db.SchemaVersion(); return err },
		"Sweep":         func() error { _, err := db.Sweep(); return err },
		"Export":        func() error { return db.Export(&bytes.Buffer{}) },
		"Import":        func() error { return db.Import(strings.NewReader("{}")) },
		"new Namespace": func() error { return db.Namespace("x").Sub("y").Put("k", nil) },
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			if err := call(); !errors.Is(err, storage.ErrClosed) {
				t.Fatalf("err = %v, want ErrClosed", err)
			}
		})
	}
	db.StartSweeper(context.Background(), time.Millisecond) // must not panic or leak
}

func TestOpenForeignFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "junk.db")
	must(t, os.WriteFile(path, []byte(strings.Repeat("not a bolt file ", 512)), 0o600))
	if _, err := storage.Open(path, &storage.Options{Timeout: 100 * time.Millisecond}); err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("err = %v", err)
	}
}

// TestCloseDuringUse closes the DB while goroutines hammer it: every call
// must either succeed or return ErrClosed, never panic.
func TestCloseDuringUse(t *testing.T) {
	db := openDB(t, &storage.Options{NoSync: true})
	ns := db.Namespace("n")
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range 8 {
		wg.Go(func() {
			<-start
			for j := 0; ; j++ {
				var err error
				switch j % 4 {
				case 0:
					err = ns.Put(fmt.Sprint(i, j), []byte("v"))
				case 1:
					_, err = ns.Get(fmt.Sprint(i, j-1))
				case 2:
					_, err = ns.Incr("c", 1)
				case 3:
					err = ns.Batch(func(tx *storage.Tx) error { return tx.Put("b", nil) })
				}
				if errors.Is(err, storage.ErrClosed) {
					return
				}
				if err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	close(start)
	time.Sleep(20 * time.Millisecond)
	must(t, db.Close())
	wg.Wait()
}

// Size counts the live keys of a namespace and their bytes: not expired
// keys, not sub-namespaces.
func TestSize(t *testing.T) {
	clk := newClock()
	db := openDB(t, &storage.Options{Now: clk.Now})
	ns := db.Namespace("plugin:hoard")
	if n, b, err := ns.Size(); err != nil || n != 0 || b != 0 {
		t.Fatalf("empty: %d keys, %d bytes, %v", n, b, err)
	}
	must(t, ns.Put("a", []byte("12345")))
	must(t, ns.Put("bb", []byte("1")))
	must(t, ns.PutTTL("gone", []byte("xxxxxxxx"), time.Minute))
	must(t, ns.Sub("inner").Put("k", []byte("v")))
	if n, b, err := ns.Size(); err != nil || n != 3 || b != 1+5+2+1+4+8 {
		t.Fatalf("%d keys, %d bytes (%v); want 3 keys, 21 bytes", n, b, err)
	}
	clk.Advance(2 * time.Minute)
	if n, b, err := ns.Size(); err != nil || n != 2 || b != 9 {
		t.Fatalf("after the TTL: %d keys, %d bytes (%v); want 2 keys, 9 bytes", n, b, err)
	}
}
