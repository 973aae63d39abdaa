package bot_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"time"

	"github.com/jimbot/jimbot/bot"
	"github.com/jimbot/jimbot/jmessage"
	"github.com/jimbot/jimbot/jmessage/jmserver"
)

// Hello is a plugin with one command.
type Hello struct{}

func (Hello) Info() bot.PluginInfo { return bot.PluginInfo{ID: "hello"} }

func (Hello) Provision(env *bot.Env) error {
	return env.Command(bot.Command{
		Name: "hello",
		Args: []bot.Arg{{Name: "name", Optional: true}},
		Handler: func(c *bot.Context) error {
			name := c.Args().String("name")
			if name == "" {
				name = c.Event.Sender.Username
			}
			return c.Replyf("hello, %s", name)
		},
	})
}

// A bot with one plugin, on a local server; alice talks to it.
func Example() {
	srv, _ := jmserver.New(jmserver.Options{Logger: discard()})
	defer srv.Close()
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	srv.RegisterUser(jmserver.DevAppKey, "jimbot", "bot-pw", "")
	srv.RegisterUser(jmserver.DevAppKey, "alice", "alice-pw", "")

	ctx := context.Background()
	auth := jmessage.WithAppKey(jmserver.DevAppKey, jmserver.DevMasterSecret)
	tr, err := bot.DialJMessage(ctx, hs.URL, discard(), auth, jmessage.WithLogin("jimbot", "bot-pw"), jmessage.WithLogger(discard()))
	if err != nil {
		panic(err)
	}
	defer tr.Close()
	b, _ := bot.New(bot.Options{Transport: tr, Logger: discard()})
	b.AddPlugin(Hello{}, nil)
	if err := b.Start(ctx); err != nil {
		panic(err)
	}
	defer b.Stop(ctx)

	alice, _ := jmessage.Dial(ctx, hs.URL, auth, jmessage.WithLogin("alice", "alice-pw"), jmessage.WithLogger(discard()))
	defer alice.Close()
	for _, text := range []string{"/hello", "!hello world", "/hello a b"} {
		alice.SendSingle(ctx, "jimbot", jmessage.Text(text))
		select {
		case in := <-alice.Inbound():
			fmt.Println(in.Message.Content.Text())
			in.Ack(ctx)
		case <-time.After(5 * time.Second):
			fmt.Println("no answer")
		}
	}
	// Output:
	// hello, alice
	// hello, world
	// too many arguments (2, at most 1)
	// usage: /hello [name]
}
