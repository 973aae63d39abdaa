package storage_test

import (
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/jimbot/jimbot/storage"
)

func Example() {
	dir, err := os.MkdirTemp("", "storage-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	db, err := storage.Open(filepath.Join(dir, "state", "jimbot.db"), &storage.Options{
		Migrations: []storage.Migration{{
			Version: 1,
			Name:    "seed welcome text",
			Up: func(tx *storage.Tx) error {
				return tx.Namespace("plugin:welcome").Put("text", []byte("Hello!"))
			},
		}},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()

	welcome := db.Namespace("plugin:welcome")
	group := welcome.Sub("group:42")

	text, _ := welcome.Get("text")
	fmt.Printf("%s: %s\n", welcome.Name(), text)

	// Counters are atomic and stored as decimal text.
	for range 3 {
		if _, err := group.Incr("joins", 1); err != nil {
			log.Fatal(err)
		}
	}
	joins, _ := group.Get("joins")
	fmt.Printf("%s joins: %s\n", group.Name(), joins)

	// JSON values.
	type settings struct {
		Enabled bool   `json:"enabled"`
		Message string `json:"message"`
	}
	if err := storage.PutJSON(group, "settings", settings{true, "Welcome, {name}!"}); err != nil {
		log.Fatal(err)
	}
	s, _ := storage.GetJSON[settings](group, "settings")
	fmt.Printf("%+v\n", s)

	// Several operations atomically; an error rolls everything back.
	err = group.Update(func(tx *storage.Tx) error {
		if err := tx.Put("pending:alice", []byte("1")); err != nil {
			return err
		}
		return errors.New("changed my mind")
	})
	ok, _ := group.Has("pending:alice")
	fmt.Println("update error:", err, "- pending:alice stored:", ok)

	// Short-lived state.
	_ = group.PutTTL("captcha:bob", []byte("1234"), 5*time.Minute)
	keys, _ := group.Keys("")
	fmt.Println("keys:", keys)

	v, _ := db.SchemaVersion()
	fmt.Println("user schema version:", v)

	// Output:
	// plugin:welcome: Hello!
	// plugin:welcome/group:42 joins: 3
	// {Enabled:true Message:Welcome, {name}!}
	// update error: changed my mind - pending:alice stored: false
	// keys: [captcha:bob joins settings]
	// user schema version: 1
}
