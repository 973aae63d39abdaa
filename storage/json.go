package storage

import (
	"encoding/json"
	"fmt"
	"time"
)

// GetJSON reads key from ns and decodes its JSON value into a T. Missing or
// expired keys return the zero T and an error wrapping ErrNotFound.
func GetJSON[T any](ns Namespace, key string) (T, error) {
	var v T
	err := ns.View(func(tx *Tx) error {
		var err error
		v, err = TxGetJSON[T](tx, key)
		return err
	})
	return v, err
}

// PutJSON encodes v as JSON (encoding/json) and stores it under key
// without expiry.
func PutJSON(ns Namespace, key string, v any) error {
	data, err := marshal(ns.Name(), key, v)
	if err != nil {
		return err
	}
	return ns.Put(key, data)
}

// PutJSONTTL is PutJSON with a TTL, as PutTTL.
func PutJSONTTL(ns Namespace, key string, v any, ttl time.Duration) error {
	data, err := marshal(ns.Name(), key, v)
	if err != nil {
		return err
	}
	return ns.PutTTL(key, data, ttl)
}

// TxGetJSON is GetJSON inside a transaction.
func TxGetJSON[T any](tx *Tx, key string) (T, error) {
	var v T
	p, _, err := tx.lookup(key)
	if err != nil {
		return v, err
	}
	// p aliases bbolt memory; json.Unmarshal copies whatever it keeps.
	if err := json.Unmarshal(p, &v); err != nil {
		var zero T
		return zero, fmt.Errorf("storage: namespace %s: key %q: decode JSON into %T: %w", tx.name(), key, v, err)
	}
	return v, nil
}

// TxPutJSON is PutJSON inside a transaction.
func TxPutJSON(tx *Tx, key string, v any) error {
	data, err := marshal(tx.name(), key, v)
	if err != nil {
		return err
	}
	return tx.Put(key, data)
}

func marshal(ns, key string, v any) ([]byte, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("storage: namespace %s: key %q: encode JSON: %w", ns, key, err)
	}
	return data, nil
}
