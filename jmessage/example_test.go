package jmessage_test

import (
	"context"
	"fmt"
	"net/http/httptest"

	"github.com/jimbot/jimbot/jmessage"
	"github.com/jimbot/jimbot/jmessage/jmserver"
)

// Two clients chat through a jimbot server: Dial logs in, SendSingle sends,
// Inbound receives, Ack acknowledges once the message is processed.
func Example() {
	srv, _ := jmserver.New(jmserver.Options{Logger: quiet()})
	defer srv.Close()
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	srv.RegisterUser(jmserver.DevAppKey, "alice", "alice-pw", "Alice")
	srv.RegisterUser(jmserver.DevAppKey, "bobby", "bobby-pw", "Bob")

	ctx := context.Background()
	dial := func(user, pw string) *jmessage.Client {
		c, err := jmessage.Dial(ctx, hs.URL, jmessage.WithAppKey(jmserver.DevAppKey, jmserver.DevMasterSecret),
			jmessage.WithLogin(user, pw), jmessage.WithLogger(quiet()))
		if err != nil {
			panic(err)
		}
		return c
	}
	alice, bob := dial("alice", "alice-pw"), dial("bobby", "bobby-pw")
	defer alice.Close()
	defer bob.Close()

	if _, err := alice.SendSingle(ctx, "bobby", jmessage.Text("hello, bob")); err != nil {
		panic(err)
	}
	in := <-bob.Inbound()
	fmt.Printf("%s says %q\n", in.Message.Content.FromID, in.Message.Content.Text())
	if err := in.Ack(ctx); err != nil {
		panic(err)
	}

	_, err := alice.SendSingle(ctx, "nobody", jmessage.Text("hi"))
	fmt.Println(err)
	// Output:
	// alice says "hello, bob"
	// jmessage: 880203 target user not exist: nobody (appkey 6a696d626f74646576303031)
}
