package app_test

import (
	"fmt"

	"github.com/jimbot/jimbot/bot/app"
)

// Targets on the command line (jimbot send --to) name a group or a user.
func ExampleParseTarget() {
	for _, s := range []string{"group:10001", "user:alice", "user:otherapp/bob", "room:1"} {
		chat, err := app.ParseTarget(s, "myapp")
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Println(chat)
	}
	// Output:
	// group:10001
	// user:myapp/alice
	// user:otherapp/bob
	// target "room:1": want group:<gid> or user:<username>
}
