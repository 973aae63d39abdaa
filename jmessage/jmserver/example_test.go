package jmserver_test

import (
	"fmt"
	"io"
	"log/slog"

	"github.com/jimbot/jimbot/jmessage/jmserver"
)

// The administrative API sets up users and groups; clients then connect
// over socket.io (see package jmessage's example).
func Example() {
	srv, err := jmserver.New(jmserver.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	for _, u := range []string{"alice", "bobby"} {
		if _, err := srv.RegisterUser(jmserver.DevAppKey, u, u+"-pw", ""); err != nil {
			panic(err)
		}
	}
	gid, _ := srv.CreateGroup(jmserver.DevAppKey, "alice", "team", "our team", "bobby")
	members, _ := srv.GroupMembers(gid)
	for _, m := range members {
		fmt.Println(m.Username, m.Flag)
	}
	// Bobby is offline: the message waits for his next login.
	srv.SendGroupText(jmserver.DevAppKey, "alice", gid, "hi team")
	n, _ := srv.Pending(jmserver.DevAppKey, "bobby")
	fmt.Println("waiting for bobby:", n)
	// Output:
	// alice 1
	// bobby 0
	// waiting for bobby: 2
}
