package jmessage_test

import (
	"context"
	"testing"
	"time"

	"github.com/jimbot/jimbot/jmessage"
	"github.com/jimbot/jimbot/jmessage/jmtest"
)

func TestSmoke(t *testing.T) {
	srv := jmtest.Start(t)
	srv.AddUser(t, "alice")
	srv.AddUser(t, "bobby")
	a := srv.Dial(t, "alice")
	b := srv.Dial(t, "bobby")
	ctx := context.Background()
	sent, err := a.SendSingle(ctx, "bobby", jmessage.Text("hello"))
	if err != nil {
		t.Fatal(err)
	}
	in := jmtest.NextMessage(t, b, 5*time.Second)
	if in.Message.ID != sent.MsgID || in.Message.Content.Text() != "hello" {
		t.Fatalf("got %+v", in.Message)
	}
	if err := in.Ack(ctx); err != nil {
		t.Fatal(err)
	}
}
