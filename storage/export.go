package storage

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// exportFormat is the value of the "format" field of an export document.
const exportFormat = "jimbot-state"

type stateDoc struct {
	Format      string              `json:"format"`
	Version     int                 `json:"version"`
	UserVersion int                 `json:"user_version"`
	Namespaces  map[string]*stateNS `json:"namespaces"`
}

type stateNS struct {
	Keys       map[string]stateVal `json:"keys"`
	Sequence   uint64              `json:"sequence"`
	Namespaces map[string]*stateNS `json:"namespaces,omitempty"`
}

type stateVal struct {
	JSON      json.RawMessage `json:"json,omitempty"`
	B64       *string         `json:"b64,omitempty"`
	ExpiresAt string          `json:"expires_at,omitempty"`
}

// Export writes all state (every namespace, key, TTL and sequence, plus the
// user schema version) to w as one indented JSON document:
//
//	{
//	  "format": "jimbot-state",
//	  "version": 1,
//	  "user_version": 3,
//	  "namespaces": {
//	    "plugin:welcome": {
//	      "keys": {
//	        "greeting": {"json": {"text": "hi"}},
//	        "blob": {"b64": "AAEC", "expires_at": "2030-01-02T03:04:05.123Z"}
//	      },
//	      "sequence": 7,
//	      "namespaces": {"group:42": {"keys": {}, "sequence": 0}}
//	    }
//	  }
//	}
//
// A value is shown under "json" when it is valid, compact JSON (so the
// exact bytes come back on Import), and under "b64" (standard base64)
// otherwise. Expired keys are omitted. The output is deterministic: object
// keys are sorted and it is read from one consistent snapshot.
func (db *DB) Export(w io.Writer) error {
	doc := stateDoc{Format: exportFormat, Version: SchemaVersion, Namespaces: map[string]*stateNS{}}
	err := db.view(func(btx *bolt.Tx) error {
		var err error
		if doc.UserVersion, err = atoi(btx.Bucket([]byte(metaBucket)).Get(metaUserKey)); err != nil {
			return fmt.Errorf("meta bucket: user_version: %w", err)
		}
		now := db.now().UnixNano()
		return btx.ForEach(func(name []byte, b *bolt.Bucket) error {
			if string(name) == metaBucket {
				return nil
			}
			ns, err := exportBucket([]string{string(name)}, b, now)
			doc.Namespaces[string(name)] = ns
			return err
		})
	})
	if errors.Is(err, ErrClosed) {
		return err
	}
	if err != nil {
		return fmt.Errorf("storage: export: %w", err)
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("storage: export: %w", err)
	}
	return nil
}

func exportBucket(path []string, b *bolt.Bucket, now int64) (*stateNS, error) {
	ns := &stateNS{Keys: map[string]stateVal{}, Sequence: b.Sequence()}
	c := b.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if v == nil {
			sb := b.Bucket(k)
			if sb == nil {
				continue
			}
			sub, err := exportBucket(append(path[:len(path):len(path)], string(k)), sb, now)
			if err != nil {
				return nil, err
			}
			if ns.Namespaces == nil {
				ns.Namespaces = map[string]*stateNS{}
			}
			ns.Namespaces[string(k)] = sub
			continue
		}
		payload, exp, err := decodeValue(v)
		if err != nil {
			return nil, fmt.Errorf("namespace %s: key %q: %w", nsName(path), k, err)
		}
		if expired(exp, now) {
			continue
		}
		var sv stateVal
		if isCompactJSON(payload) {
			sv.JSON = append(json.RawMessage(nil), payload...)
		} else {
			s := base64.StdEncoding.EncodeToString(payload)
			sv.B64 = &s
		}
		if exp != 0 {
			sv.ExpiresAt = time.Unix(0, exp).UTC().Format(time.RFC3339Nano)
		}
		ns.Keys[string(k)] = sv
	}
	return ns, nil
}

// isCompactJSON reports whether p is valid UTF-8 JSON that json.Compact
// leaves unchanged, i.e. Import can restore its exact bytes by compacting
// what Export wrote.
func isCompactJSON(p []byte) bool {
	if !utf8.Valid(p) || !json.Valid(p) {
		return false
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, p); err != nil {
		return false
	}
	return bytes.Equal(buf.Bytes(), p)
}

// importNS is a validated namespace from an import document.
type importNS struct {
	keys []importKey
	seq  uint64
	subs map[string]*importNS
}

type importKey struct {
	key     string
	payload []byte
	exp     int64
}

// Import reads a document written by Export and loads it. The whole
// document is validated before anything is written; a problem is reported
// with the JSON path of the offending element, e.g.
// "storage: import: namespaces.a.keys.k: both json and b64 set". It is then
// written in one transaction: each top-level namespace in the document
// replaces the namespace of the same name (its keys, sub-namespaces and
// sequence); other namespaces are left alone. Entries already expired are
// skipped.
//
// The document's user_version must equal the database's stored user schema
// version, unless the database has no namespaces at all, in which case the
// database adopts the document's user_version (so a later Open runs any
// newer migrations over the imported data).
func (db *DB) Import(r io.Reader) error {
	if db == nil || db.closed.Load() {
		return ErrClosed
	}
	if db.readOnly {
		return wrapf(ErrReadOnly, "storage: import into %s: opened read-only", db.path)
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return fmt.Errorf("storage: import: read: %w", err)
	}
	userVersion, nss, err := parseImport(data)
	if err != nil {
		return fmt.Errorf("storage: import: %w", err)
	}
	err = db.update(func(btx *bolt.Tx) error {
		meta := btx.Bucket([]byte(metaBucket))
		stored, err := atoi(meta.Get(metaUserKey))
		if err != nil {
			return fmt.Errorf("meta bucket: user_version: %w", err)
		}
		if stored != userVersion {
			var other []byte
			_ = btx.ForEach(func(name []byte, _ *bolt.Bucket) error {
				if string(name) != metaBucket {
					other = name
					return errStop
				}
				return nil
			})
			if other != nil {
				return fmt.Errorf("user_version: document has %d but the database is at %d and not empty (namespace %q exists); migrate one side first", userVersion, stored, other)
			}
			if err := meta.Put(metaUserKey, itob(userVersion)); err != nil {
				return err
			}
		}
		now := db.now().UnixNano()
		for _, name := range sortedKeys(nss) {
			if err := btx.DeleteBucket([]byte(name)); err != nil && !errors.Is(err, berrors.ErrBucketNotFound) {
				return fmt.Errorf("namespace %s: %w", name, err)
			}
			b, err := btx.CreateBucket([]byte(name))
			if err != nil {
				return fmt.Errorf("namespace %s: %w", name, err)
			}
			if err := importBucket(b, nss[name], now); err != nil {
				return fmt.Errorf("namespace %s: %w", name, err)
			}
		}
		return nil
	})
	if errors.Is(err, ErrClosed) || errors.Is(err, ErrReadOnly) {
		return err
	}
	if err != nil {
		return fmt.Errorf("storage: import: %w", err)
	}
	return nil
}

func importBucket(b *bolt.Bucket, ns *importNS, now int64) error {
	for _, k := range ns.keys {
		if expired(k.exp, now) {
			continue
		}
		if err := b.Put([]byte(k.key), encodeValue(k.payload, k.exp)); err != nil {
			return fmt.Errorf("key %q: %w", k.key, err)
		}
	}
	if err := b.SetSequence(ns.seq); err != nil {
		return err
	}
	for _, name := range sortedKeys(ns.subs) {
		sb, err := b.CreateBucket([]byte(name))
		if err == nil {
			err = importBucket(sb, ns.subs[name], now)
		}
		if err != nil {
			return fmt.Errorf("sub-namespace %s: %w", name, err)
		}
	}
	return nil
}

// parseImport validates a whole document. Errors start with the JSON path.
func parseImport(data []byte) (userVersion int, nss map[string]*importNS, err error) {
	if !json.Valid(data) {
		var v any
		if err := json.Unmarshal(data, &v); err != nil {
			return 0, nil, fmt.Errorf("invalid JSON: %w", err)
		}
		return 0, nil, errors.New("invalid JSON")
	}
	top, err := object(data, "(document)", "format", "version", "user_version", "namespaces")
	if err != nil {
		return 0, nil, err
	}
	for _, f := range []string{"format", "version", "user_version"} {
		if _, ok := top[f]; !ok {
			return 0, nil, fmt.Errorf("%s: missing", f)
		}
	}
	var format string
	if isNull(top["format"]) || json.Unmarshal(top["format"], &format) != nil {
		return 0, nil, errors.New("format: must be a string")
	}
	if format != exportFormat {
		return 0, nil, fmt.Errorf("format: %q is not %q", format, exportFormat)
	}
	if _, err := integer(top["version"], "version", 1, SchemaVersion); err != nil {
		return 0, nil, err
	}
	uv, err := integer(top["user_version"], "user_version", 0, math.MaxInt32)
	if err != nil {
		return 0, nil, err
	}
	nss = map[string]*importNS{}
	if raw, ok := top["namespaces"]; ok {
		nss, err = parseNamespaces(raw, "namespaces")
		if err != nil {
			return 0, nil, err
		}
	}
	return int(uv), nss, nil
}

func parseNamespaces(raw json.RawMessage, path string) (map[string]*importNS, error) {
	m, err := object(raw, path)
	if err != nil {
		return nil, err
	}
	out := make(map[string]*importNS, len(m))
	for _, name := range sortedKeys(m) {
		p := jpath(path, name)
		if why := nameProblem(name); why != "" {
			return nil, wrapf(ErrBadName, "%s: invalid namespace name: %s", p, why)
		}
		ns, err := parseNS(m[name], p)
		if err != nil {
			return nil, err
		}
		out[name] = ns
	}
	return out, nil
}

func parseNS(raw json.RawMessage, path string) (*importNS, error) {
	m, err := object(raw, path, "keys", "sequence", "namespaces")
	if err != nil {
		return nil, err
	}
	ns := &importNS{}
	if raw, ok := m["sequence"]; ok {
		seq, err := integer(raw, jpath(path, "sequence"), 0, math.MaxInt64)
		if err != nil {
			return nil, err
		}
		ns.seq = uint64(seq)
	}
	if raw, ok := m["namespaces"]; ok {
		if ns.subs, err = parseNamespaces(raw, jpath(path, "namespaces")); err != nil {
			return nil, err
		}
	}
	if raw, ok := m["keys"]; ok {
		kpath := jpath(path, "keys")
		keys, err := object(raw, kpath)
		if err != nil {
			return nil, err
		}
		for _, key := range sortedKeys(keys) {
			p := jpath(kpath, key)
			if why := keyProblem(key); why != "" {
				return nil, wrapf(ErrBadKey, "%s: invalid key: %s", p, why)
			}
			if _, dup := ns.subs[key]; dup {
				return nil, fmt.Errorf("%s: %q is both a key and a sub-namespace", p, key)
			}
			k, err := parseKey(keys[key], p)
			if err != nil {
				return nil, err
			}
			k.key = key
			ns.keys = append(ns.keys, k)
		}
	}
	return ns, nil
}

func parseKey(raw json.RawMessage, path string) (importKey, error) {
	var k importKey
	m, err := object(raw, path, "json", "b64", "expires_at")
	if err != nil {
		return k, err
	}
	j, hasJSON := m["json"]
	b, hasB64 := m["b64"]
	switch {
	case hasJSON && hasB64:
		return k, fmt.Errorf("%s: both json and b64 set", path)
	case hasJSON:
		var buf bytes.Buffer
		if err := json.Compact(&buf, j); err != nil {
			return k, fmt.Errorf("%s: %w", jpath(path, "json"), err)
		}
		k.payload = buf.Bytes()
	case hasB64:
		var s string
		if isNull(b) || json.Unmarshal(b, &s) != nil {
			return k, fmt.Errorf("%s: must be a string", jpath(path, "b64"))
		}
		if k.payload, err = base64.StdEncoding.Strict().DecodeString(s); err != nil {
			return k, fmt.Errorf("%s: invalid standard base64: %w", jpath(path, "b64"), err)
		}
	default:
		return k, fmt.Errorf("%s: neither json nor b64 set", path)
	}
	if e, ok := m["expires_at"]; ok {
		p := jpath(path, "expires_at")
		var s string
		if isNull(e) || json.Unmarshal(e, &s) != nil {
			return k, fmt.Errorf("%s: must be an RFC 3339 time string", p)
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return k, fmt.Errorf("%s: %w", p, err)
		}
		if !t.Before(maxExpiry) || !t.After(time.Unix(0, 0)) {
			return k, fmt.Errorf("%s: %s is out of range (1970 to 2262)", p, s)
		}
		k.exp = t.UnixNano()
	}
	return k, nil
}

// object decodes raw as a JSON object. If fields are given, any other
// member is rejected.
func object(raw json.RawMessage, path string, fields ...string) (map[string]json.RawMessage, error) {
	var m map[string]json.RawMessage
	if isNull(raw) || json.Unmarshal(raw, &m) != nil {
		return nil, fmt.Errorf("%s: must be a JSON object", path)
	}
	if len(fields) > 0 {
		for _, name := range sortedKeys(m) {
			known := false
			for _, f := range fields {
				known = known || name == f
			}
			if !known {
				return nil, fmt.Errorf("%s: unknown field (expected one of %s)", jpath(path, name), strings.Join(fields, ", "))
			}
		}
	}
	return m, nil
}

func integer(raw json.RawMessage, path string, lo, hi int64) (int64, error) {
	var n int64
	if isNull(raw) || json.Unmarshal(raw, &n) != nil || n < lo || n > hi {
		return 0, fmt.Errorf("%s: must be an integer from %d to %d, got %s", path, lo, hi, bytes.TrimSpace(raw))
	}
	return n, nil
}

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

// jpath appends a member name to a dotted JSON path, quoting names that
// would otherwise be ambiguous.
func jpath(path, name string) string {
	plain := name != ""
	for _, r := range name {
		if r == '.' || r == '/' || r == '"' || r == '[' || r == ']' || unicode.IsSpace(r) || !unicode.IsPrint(r) {
			plain = false
			break
		}
	}
	if !plain {
		name = strconv.Quote(name)
	}
	if path == "(document)" || path == "" {
		return name
	}
	return path + "." + name
}
