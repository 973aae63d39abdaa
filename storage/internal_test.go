package storage

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// TestDefaults asserts every default documented on Options.
func TestDefaults(t *testing.T) {
	path := filepath.Join(t.TempDir(), "d.db")
	for _, opts := range []*Options{nil, {}} {
		db, err := Open(path, opts)
		if err != nil {
			t.Fatal(err)
		}
		// Timeout: DefaultTimeout, 1s.
		if DefaultTimeout != time.Second || db.timeout != time.Second {
			t.Errorf("timeout = %v (DefaultTimeout %v), want 1s", db.timeout, DefaultTimeout)
		}
		// NoSync: false.
		if db.bolt.NoSync {
			t.Error("NoSync defaulted to true")
		}
		// Now: time.Now.
		before := time.Now()
		got := db.now()
		if got.Before(before) || got.Sub(before) > time.Second {
			t.Errorf("now() = %v, want about %v", got, before)
		}
		// Migrations: none; the user version stays 0.
		if v, err := db.SchemaVersion(); err != nil || v != 0 {
			t.Errorf("SchemaVersion = %d, %v; want 0", v, err)
		}
		// ReadOnly: false.
		if db.readOnly || db.bolt.IsReadOnly() {
			t.Error("ReadOnly defaulted to true")
		}
		if err := db.Namespace("n").Put("k", []byte("v")); err != nil {
			t.Errorf("write on default DB: %v", err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if DefaultSweepInterval != time.Minute {
		t.Errorf("DefaultSweepInterval = %v", DefaultSweepInterval)
	}
}

// TestDefaultTimeoutBehaviour checks the default lock wait end to end.
func TestDefaultTimeoutBehaviour(t *testing.T) {
	if testing.Short() {
		t.Skip("waits 1s")
	}
	path := filepath.Join(t.TempDir(), "d.db")
	db, err := Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	start := time.Now()
	_, err = Open(path, nil)
	elapsed := time.Since(start)
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("err = %v, want ErrLocked", err)
	}
	if !strings.Contains(err.Error(), "(waited 1s)") {
		t.Errorf("message %q does not mention the 1s wait", err)
	}
	if elapsed < 900*time.Millisecond || elapsed > 3*time.Second {
		t.Errorf("waited %v, want about 1s", elapsed)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestSweeperLifecycle(t *testing.T) {
	t.Run("stops when ctx is done", func(t *testing.T) {
		db, err := Open(filepath.Join(t.TempDir(), "s.db"), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		ctx, cancel := context.WithCancel(context.Background())
		db.StartSweeper(ctx, time.Millisecond)
		if n := db.running.Load(); n != 1 {
			t.Fatalf("running sweepers = %d, want 1", n)
		}
		cancel()
		waitFor(t, "sweeper to stop", func() bool { return db.running.Load() == 0 })
	})
	t.Run("Close waits", func(t *testing.T) {
		db, err := Open(filepath.Join(t.TempDir(), "s.db"), nil)
		if err != nil {
			t.Fatal(err)
		}
		for range 3 {
			db.StartSweeper(context.Background(), time.Millisecond)
		}
		time.Sleep(10 * time.Millisecond) // let them sweep a few times
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		if n := db.running.Load(); n != 0 {
			t.Fatalf("%d sweepers still running after Close returned", n)
		}
	})
	t.Run("no-op after Close", func(t *testing.T) {
		db, err := Open(filepath.Join(t.TempDir(), "s.db"), nil)
		if err != nil {
			t.Fatal(err)
		}
		db.Close()
		db.StartSweeper(context.Background(), time.Millisecond)
		if n := db.running.Load(); n != 0 {
			t.Fatalf("sweeper started on a closed DB")
		}
	})
}

func TestSweeperRemovesExpired(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	db, err := Open(filepath.Join(t.TempDir(), "s.db"), &Options{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ns := db.Namespace("n").Sub("deep")
	if err := ns.PutTTL("tmp", []byte("v"), time.Second); err != nil {
		t.Fatal(err)
	}
	if err := ns.Put("keep", []byte("v")); err != nil {
		t.Fatal(err)
	}
	rawExists := func(key string) bool {
		var ok bool
		_ = db.bolt.View(func(btx *bolt.Tx) error {
			ok = btx.Bucket([]byte("n")).Bucket([]byte("deep")).Get([]byte(key)) != nil
			return nil
		})
		return ok
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	db.StartSweeper(ctx, 2*time.Millisecond)
	time.Sleep(20 * time.Millisecond)
	if !rawExists("tmp") {
		t.Fatal("sweeper removed a live key")
	}
	mu.Lock()
	now = now.Add(time.Second)
	mu.Unlock()
	waitFor(t, "sweeper to remove the expired key", func() bool { return !rawExists("tmp") })
	if !rawExists("keep") {
		t.Fatal("sweeper removed a key without TTL")
	}
}

func TestOpenRejectsIncompatibleFiles(t *testing.T) {
	tests := []struct {
		name  string
		setup func(btx *bolt.Tx) error
		want  string
	}{
		{"foreign bbolt file", func(btx *bolt.Tx) error {
			_, err := btx.CreateBucket([]byte("someone-else"))
			return err
		}, `not a storage database: bucket "someone-else" exists but the meta bucket does not`},
		{"newer layout", func(btx *bolt.Tx) error {
			meta, err := btx.CreateBucket([]byte(metaBucket))
			if err != nil {
				return err
			}
			_ = meta.Put(metaUserKey, []byte("0"))
			return meta.Put(metaSchemaKey, []byte("2"))
		}, "written by a newer version of package storage (layout 2, this build supports up to 1)"},
		{"garbled meta", func(btx *bolt.Tx) error {
			meta, err := btx.CreateBucket([]byte(metaBucket))
			if err != nil {
				return err
			}
			_ = meta.Put(metaSchemaKey, []byte("1"))
			return meta.Put(metaUserKey, []byte("x"))
		}, `meta bucket: user_version: invalid value "x"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "f.db")
			bdb, err := bolt.Open(path, 0o600, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := bdb.Update(tc.setup); err != nil {
				t.Fatal(err)
			}
			bdb.Close()
			for _, ro := range []bool{false, true} {
				_, err = Open(path, &Options{ReadOnly: ro})
				if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
					if !(ro && tc.name == "foreign bbolt file" && err != nil) {
						t.Errorf("ReadOnly=%v: err = %v, want it to contain %q", ro, err, tc.want)
					}
				}
			}
		})
	}
}
