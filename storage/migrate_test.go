package storage_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jimbot/jimbot/storage"
)

func TestMigrations(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.db")
	runs := map[int]int{}
	step := func(v int, name string, up func(tx *storage.Tx) error) storage.Migration {
		return storage.Migration{Version: v, Name: name, Up: func(tx *storage.Tx) error {
			runs[v]++
			return up(tx)
		}}
	}
	m1 := step(1, "create settings", func(tx *storage.Tx) error {
		return tx.Namespace("settings").Put("lang", []byte("en"))
	})
	m2 := step(2, "nested", func(tx *storage.Tx) error {
		if _, err := tx.Get("x"); !errors.Is(err, storage.ErrBadName) {
			t.Errorf("key op on root Tx: %v", err)
		}
		return tx.Sub("plugin:a").Sub("g").Put("k", []byte("v"))
	})
	open := func(ms ...storage.Migration) (*storage.DB, error) {
		return storage.Open(path, &storage.Options{Migrations: ms})
	}

	t.Run("applied once", func(t *testing.T) {
		db, err := open(m1, m2)
		must(t, err)
		if v, _ := db.SchemaVersion(); v != 2 {
			t.Fatalf("SchemaVersion = %d, want 2", v)
		}
		if v, _ := db.Namespace("plugin:a").Sub("g").Get("k"); string(v) != "v" {
			t.Fatalf("migration 2 did not write: %q", v)
		}
		must(t, db.Close())
	})
	t.Run("not re-applied on reopen", func(t *testing.T) {
		db, err := open(m1, m2)
		must(t, err)
		must(t, db.Close())
		if runs[1] != 1 || runs[2] != 1 {
			t.Fatalf("runs = %v, want each once", runs)
		}
	})
	t.Run("failure names the migration and keeps last success", func(t *testing.T) {
		m3 := step(3, "ok step", func(tx *storage.Tx) error {
			return tx.Namespace("settings").Put("m3", []byte("yes"))
		})
		m4 := step(4, "broken step", func(tx *storage.Tx) error {
			if err := tx.Namespace("settings").Put("m4", []byte("partial")); err != nil {
				return err
			}
			return errors.New("disk on fire")
		})
		_, err := open(m1, m2, m3, m4)
		if err == nil {
			t.Fatal("Open succeeded")
		}
		for _, want := range []string{path, "migration 4", `"broken step"`, "disk on fire", "user version 3"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not mention %q", err, want)
			}
		}
		db, err := open() // no migrations: inspect
		must(t, err)
		defer db.Close()
		if v, _ := db.SchemaVersion(); v != 3 {
			t.Errorf("SchemaVersion = %d, want 3", v)
		}
		if ok, _ := db.Namespace("settings").Has("m3"); !ok {
			t.Error("migration 3 was rolled back")
		}
		if ok, _ := db.Namespace("settings").Has("m4"); ok {
			t.Error("failed migration 4 was not rolled back")
		}
	})
	t.Run("panic is an error", func(t *testing.T) {
		_, err := storage.Open(filepath.Join(t.TempDir(), "p.db"), &storage.Options{Migrations: []storage.Migration{
			{Version: 1, Name: "panicky", Up: func(*storage.Tx) error { panic(42) }},
		}})
		var pe *storage.PanicError
		if !errors.As(err, &pe) || !strings.Contains(err.Error(), `"panicky"`) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestMigrationValidation(t *testing.T) {
	noop := func(*storage.Tx) error { return nil }
	tests := []struct {
		name string
		ms   []storage.Migration
		want string
	}{
		{"descending", []storage.Migration{{1, "a", noop}, {3, "c", noop}, {2, "b", noop}},
			`migrations[2] (version 2 "b"): versions must be strictly ascending and unique (previous is 3)`},
		{"duplicate", []storage.Migration{{1, "a", noop}, {1, "again", noop}},
			`migrations[1] (version 1 "again"): versions must be strictly ascending`},
		{"zero version", []storage.Migration{{0, "zero", noop}},
			`migrations[0] (version 0 "zero"): version must be >= 1`},
		{"nil Up", []storage.Migration{{1, "a", noop}, {2, "nil", nil}},
			`migrations[1] (version 2 "nil"): Up is nil`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "sub", "v.db")
			_, err := storage.Open(path, &storage.Options{Migrations: tc.ms})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
			if _, statErr := os.Stat(filepath.Join(dir, "sub")); !errors.Is(statErr, os.ErrNotExist) {
				t.Fatalf("rejected Open created the parent directory (stat: %v)", statErr)
			}
		})
	}
}
