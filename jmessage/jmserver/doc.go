// Package jmserver is a JMessage Web SDK v1 compatible server, built on
// go-socket.io v1.7.0. The unmodified v1 SDK, socket.io-client 1.4.5 and
// jimbot's own client talk to it: it implements every request event of the
// protocol with its response fields and error codes, users and apps
// (cross-app addressing included), groups and their events, no-disturb,
// blacklists, conversations, media upload and download, and per-user
// queues that deliver messages and events until they are acknowledged —
// flushed at login, redelivered on a timer, de-duplicated by id, and kept
// in a bbolt store when one is given.
//
//	srv, err := jmserver.New(jmserver.Options{})   // the development app, in memory
//	defer srv.Close()
//	go srv.ListenAndServe(ctx, "127.0.0.1:9090")
//
// Besides the protocol, the Server has an administrative Go API (RegisterUser,
// CreateGroup, AddMembers, SetSilence, ChangePassword, …) for embedding
// programs and tests. Run it standalone with `jimbot server`.
//
// # Caveats
//
// A client that stops reading is dropped once its outbound queue
// (Options.OutboundQueue frames) overflows; its unacknowledged items wait for
// its next login. Each user's queue of unacknowledged items is bounded
// (Options.MaxPending); past it the oldest item is dropped and logged. With a
// store, the server commits each change before it answers; the store is
// opened with NoSync by `jimbot server` unless --fsync is given, so state
// survives a crash of the process but not necessarily of the machine.
package jmserver
