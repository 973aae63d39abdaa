// Package jmessage speaks the JMessage (极光 IM) Web SDK v1 protocol: the
// typed requests, responses, pushes and error codes of the wire protocol
// (socket.io 1.4 over engine.io 3), the c_init signer, and a Client that
// logs in, stays logged in, and hands pushed messages and events to its
// consumer to acknowledge after processing.
//
// A client is one socket.io connection:
//
//	c, err := jmessage.Dial(ctx, "ws://127.0.0.1:9090",
//		jmessage.WithAppKey(appKey, masterSecret),
//		jmessage.WithLogin("alice", "password"))
//	sent, err := c.SendGroup(ctx, gid, jmessage.Text("hello"))
//	for in := range c.Inbound() {
//		// process in.Message or in.Event, persist what matters, then:
//		in.Ack(ctx)
//	}
//
// Every call takes a context, is matched to its response by rid, and
// returns the server's error code as an *Error that works with errors.Is
// against the exported sentinels (ErrUserNotExist, …). The client
// reconnects by itself with exponential backoff, signing c_init afresh and
// logging in again each time; it stops for good when the server reports
// that the user logged in elsewhere (ErrKicked) or changed password
// (ErrPasswordChanged).
//
// The compatible server is in subpackage jmserver; docs/protocol.md
// records how each open point of the protocol was decided.
package jmessage
