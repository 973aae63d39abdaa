package storage_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jimbot/jimbot/storage"
)

func exportString(t *testing.T, db *storage.DB) string {
	t.Helper()
	var buf bytes.Buffer
	must(t, db.Export(&buf))
	return buf.String()
}

func seed(t *testing.T, db *storage.DB) {
	t.Helper()
	w := db.Namespace("plugin:welcome")
	must(t, storage.PutJSON(w, "settings", map[string]any{"on": true, "msg": "hi"}))
	must(t, w.Put("html", []byte("\"hi <b>&</b>\u2028\"")))
	must(t, w.Put("raw", []byte{0, 1, 2, 0xff}))
	must(t, w.Put("empty", nil))
	must(t, w.Put("spaced json", []byte(`{"a": 1}`))) // valid but not compact: b64
	must(t, w.Put("text", []byte("plain text")))
	must(t, w.PutTTL("captcha", []byte(`"1234"`), time.Hour))
	must(t, w.PutTTL("gone", []byte("x"), time.Second))
	_, err := w.Incr("count", 41)
	must(t, err)
	g := w.Sub("group:42")
	must(t, g.Put("null", []byte("null")))
	must(t, g.Sub("deeper").Put("k.with.dots", []byte("1")))
	must(t, g.Update(func(tx *storage.Tx) error {
		for range 5 {
			if _, err := tx.NextSequence(); err != nil {
				return err
			}
		}
		return nil
	}))
	must(t, db.Namespace("other").Put("k", []byte(`[1,2]`)))
}

func TestExportFormat(t *testing.T) {
	clock := newClock()
	db := openDB(t, &storage.Options{Now: clock.Now})
	seed(t, db)
	clock.Advance(2 * time.Second) // "gone" expires
	out := exportString(t, db)

	var doc map[string]any
	must(t, json.Unmarshal([]byte(out), &doc))
	if doc["format"] != "jimbot-state" || doc["version"] != float64(storage.SchemaVersion) || doc["user_version"] != float64(0) {
		t.Fatalf("header: %v %v %v", doc["format"], doc["version"], doc["user_version"])
	}
	for _, want := range []string{
		`"captcha": {` + "\n" + `          "json": "1234",` + "\n" + `          "expires_at": "2030-01-02T04:04:05Z"`,
		`"raw": {` + "\n" + `          "b64": "AAEC/w=="`,
		`"empty": {` + "\n" + `          "b64": ""`,
		`"count": {` + "\n" + `          "json": 41`,
		`"spaced json": {` + "\n" + `          "b64": "eyJhIjogMX0="`,
		`"sequence": 5`,
		`"hi <b>&</b>` + "\u2028" + `"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("export lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, `"gone"`) {
		t.Error("expired key exported")
	}
	if strings.Contains(out, "meta") {
		t.Error("meta bucket exported")
	}
	if again := exportString(t, db); again != out {
		t.Error("Export is not deterministic")
	}
}

func TestExportImportRoundTrip(t *testing.T) {
	clock := newClock()
	src := openDB(t, &storage.Options{Now: clock.Now})
	seed(t, src)
	first := exportString(t, src)

	dst := openDB(t, &storage.Options{Now: clock.Now})
	must(t, dst.Import(strings.NewReader(first)))
	if second := exportString(t, dst); second != first {
		t.Fatalf("round trip differs:\n--- source\n%s\n--- imported\n%s", first, second)
	}
	// Exact bytes, TTLs and sequences survive.
	w := dst.Namespace("plugin:welcome")
	for key, want := range map[string]string{
		"raw": "\x00\x01\x02\xff", "spaced json": `{"a": 1}`, "count": "41", "empty": "",
	} {
		if v, err := w.Get(key); err != nil || string(v) != want {
			t.Errorf("%s = %q, %v; want %q", key, v, err, want)
		}
	}
	var seq uint64
	must(t, w.Sub("group:42").Update(func(tx *storage.Tx) error {
		var err error
		seq, err = tx.NextSequence()
		return err
	}))
	if seq != 6 {
		t.Errorf("sequence after import = %d, want 6", seq)
	}
	clock.Advance(2 * time.Hour)
	if ok, _ := w.Has("captcha"); ok {
		t.Error("imported TTL was lost")
	}
}

func TestImportReplacesNamespaces(t *testing.T) {
	clock := newClock()
	db := openDB(t, &storage.Options{Now: clock.Now})
	a := db.Namespace("a")
	must(t, a.Put("old", []byte("1")))
	must(t, a.Sub("oldsub").Put("k", []byte("1")))
	must(t, db.Namespace("b").Put("keep", []byte("1")))
	doc := `{"format":"jimbot-state","version":1,"user_version":0,"namespaces":{"a":{"keys":{
		"new":{"json":{"x":1}},
		"expired":{"b64":"eA==","expires_at":"2000-01-01T00:00:00Z"},
		"later":{"b64":"eA==","expires_at":"2030-01-02T03:04:06.5Z"}}}}}`
	must(t, db.Import(strings.NewReader(doc)))
	keys, _ := a.Keys("")
	if fmt.Sprint(keys) != "[later new]" {
		t.Errorf("a keys = %v", keys)
	}
	if v, _ := a.Get("new"); string(v) != `{"x":1}` {
		t.Errorf("new = %q", v)
	}
	if ok, _ := a.Sub("oldsub").Has("k"); ok {
		t.Error("old sub-namespace survived")
	}
	if ok, _ := db.Namespace("b").Has("keep"); !ok {
		t.Error("namespace not in the document was touched")
	}
	clock.Advance(1500 * time.Millisecond)
	if ok, _ := a.Has("later"); ok {
		t.Error("expires_at not honoured")
	}
}

func TestImportUserVersion(t *testing.T) {
	doc := func(v int) string {
		return fmt.Sprintf(`{"format":"jimbot-state","version":1,"user_version":%d,"namespaces":{"n":{"keys":{"k":{"json":1}}}}}`, v)
	}
	t.Run("empty database adopts it", func(t *testing.T) {
		db := openDB(t, nil)
		must(t, db.Import(strings.NewReader(doc(7))))
		if v, _ := db.SchemaVersion(); v != 7 {
			t.Fatalf("SchemaVersion = %d", v)
		}
	})
	t.Run("mismatch with data is rejected", func(t *testing.T) {
		db := openDB(t, nil)
		must(t, db.Namespace("x").Put("k", nil))
		err := db.Import(strings.NewReader(doc(7)))
		if err == nil || !strings.Contains(err.Error(), "user_version: document has 7 but the database is at 0") {
			t.Fatalf("err = %v", err)
		}
		if ok, _ := db.Namespace("n").Has("k"); ok {
			t.Fatal("rejected import wrote data")
		}
	})
	t.Run("newer migrations run after import into empty db", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "m.db")
		db, err := storage.Open(path, nil)
		must(t, err)
		must(t, db.Import(strings.NewReader(doc(1))))
		must(t, db.Close())
		ran := 0
		db, err = storage.Open(path, &storage.Options{Migrations: []storage.Migration{
			{Version: 1, Name: "one", Up: func(*storage.Tx) error { ran += 1; return nil }},
			{Version: 2, Name: "two", Up: func(*storage.Tx) error { ran += 10; return nil }},
		}})
		must(t, err)
		defer db.Close()
		if ran != 10 {
			t.Fatalf("ran = %d, want only migration 2", ran)
		}
	})
}

func TestImportMalformed(t *testing.T) {
	const head = `"format":"jimbot-state","version":1,"user_version":0`
	ns := func(body string) string { return `{` + head + `,"namespaces":` + body + `}` }
	tests := []struct {
		name, doc, want string
	}{
		{"not JSON", `{"format":`, "invalid JSON"},
		{"not an object", `[]`, "(document): must be a JSON object"},
		{"missing format", `{"version":1,"user_version":0}`, "format: missing"},
		{"wrong format", `{"format":"x","version":1,"user_version":0}`, `format: "x" is not "jimbot-state"`},
		{"future version", `{"format":"jimbot-state","version":99,"user_version":0}`, "version: must be an integer from 1 to 1, got 99"},
		{"fractional user_version", `{"format":"jimbot-state","version":1,"user_version":1.5}`, "user_version: must be an integer"},
		{"unknown top field", `{` + head + `,"extra":1}`, "extra: unknown field"},
		{"namespaces not object", ns(`[]`), "namespaces: must be a JSON object"},
		{"bad namespace name", ns(`{"a/b":{}}`), `namespaces."a/b"`},
		{"empty namespace name", ns(`{"":{}}`), `namespaces."": invalid namespace name: empty`},
		{"namespace null", ns(`{"a":null}`), "namespaces.a: must be a JSON object"},
		{"unknown ns field", ns(`{"a":{"kes":{}}}`), "namespaces.a.kes: unknown field"},
		{"negative sequence", ns(`{"a":{"sequence":-1}}`), "namespaces.a.sequence: must be an integer"},
		{"both", ns(`{"a":{"keys":{"k":{"json":1,"b64":""}}}}`), "namespaces.a.keys.k: both json and b64 set"},
		{"neither", ns(`{"a":{"keys":{"k":{}}}}`), "namespaces.a.keys.k: neither json nor b64 set"},
		{"bad base64", ns(`{"a":{"keys":{"k":{"b64":"!!"}}}}`), "namespaces.a.keys.k.b64: invalid standard base64"},
		{"b64 not string", ns(`{"a":{"keys":{"k":{"b64":1}}}}`), "namespaces.a.keys.k.b64: must be a string"},
		{"bad expiry", ns(`{"a":{"keys":{"k":{"json":1,"expires_at":"tomorrow"}}}}`), "namespaces.a.keys.k.expires_at:"},
		{"empty key", ns(`{"a":{"keys":{"":{"json":1}}}}`), `namespaces.a.keys."": invalid key: empty key`},
		{"unknown key field", ns(`{"a":{"keys":{"k":{"json":1,"ttl":5}}}}`), "namespaces.a.keys.k.ttl: unknown field"},
		{"nested path", ns(`{"a":{"namespaces":{"b c":{"keys":{"k.1":{"json":1,"b64":""}}}}}}`),
			`namespaces.a.namespaces."b c".keys."k.1": both json and b64 set`},
		{"key and sub clash", ns(`{"a":{"keys":{"s":{"json":1}},"namespaces":{"s":{}}}}`),
			`namespaces.a.keys.s: "s" is both a key and a sub-namespace`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db := openDB(t, nil)
			must(t, db.Namespace("a").Put("keep", []byte("1")))
			err := db.Import(strings.NewReader(tc.doc))
			if err == nil {
				t.Fatal("Import succeeded")
			}
			if !strings.HasPrefix(err.Error(), "storage: import: ") || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %q, want it to contain %q", err, tc.want)
			}
			if ok, _ := db.Namespace("a").Has("keep"); !ok {
				t.Fatal("failed import modified the database")
			}
		})
	}
	t.Run("ErrBadKey is matchable", func(t *testing.T) {
		db := openDB(t, nil)
		err := db.Import(strings.NewReader(ns(`{"a":{"keys":{"":{"json":1}}}}`)))
		if !errors.Is(err, storage.ErrBadKey) {
			t.Fatalf("err = %v", err)
		}
		err = db.Import(strings.NewReader(ns(`{"\u0000meta":{}}`)))
		if !errors.Is(err, storage.ErrBadName) {
			t.Fatalf("reserved name: err = %v", err)
		}
	})
}
