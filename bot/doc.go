// Package bot is jimbot's runtime: every inbound message and group event
// goes through one middleware chain of plugins, in order per chat and
// concurrently across chats, and every outbound action goes through one
// governor per account.
//
// A plugin has an ID and registers its handlers when provisioned:
//
//	type Hello struct{}
//
//	func (Hello) Info() bot.PluginInfo { return bot.PluginInfo{ID: "hello"} }
//
//	func (Hello) Provision(env *bot.Env) error {
//		return env.Command(bot.Command{Name: "hello", Handler: func(c *bot.Context) error {
//			return c.Replyf("hello, %s", c.Event.Sender.Username)
//		}})
//	}
//
// A bot needs a Transport (DialJMessage connects one), optionally a
// storage.DB, and its plugins; Run handles events until its context ends:
//
//	tr, _ := bot.DialJMessage(ctx, url, log, jmessage.WithAppKey(k, s), jmessage.WithLogin("jimbot", pw))
//	b, _ := bot.New(bot.Options{Transport: tr, Store: db})
//	b.AddPlugin(Hello{}, nil)
//	b.Run(ctx, 10*time.Second)
//
// Handlers are func(*Context) error and middleware is func(Handler)
// Handler; a Gate is a middleware that only decides whether the event goes
// on. The chain is built once, at Start, and registering later is an
// error (Bot.Reload swaps a plugin's routes atomically, for hot reload).
// Plugins are ordered by priority and before/after constraints. Routing
// runs the command (with typed arguments, permission and cooldown) or the
// matching RE2 hears, then the event handlers, then fallbacks when nothing
// matched. Panics of any value become *PluginError; a plugin that fails
// too often is switched off for a cool-down and the admins are told. Each
// event's path is recorded in a trace ring (/why, the admin API).
//
// # Delivery
//
// An event's id is claimed in the ledger as it comes in (a batch of
// deliveries at a time). The event is acknowledged to the server only
// after all its handlers ran and its id and the actions it queued (sends,
// member removals, blacklist changes) were committed together to the
// ledger (bbolt, in batches). A redelivered id is acknowledged without
// being handled again, across restarts too; a copy that arrives while the
// first is still being handled is dropped and acknowledged with it. The actions then go to the governor: a token bucket (50 a
// minute by default, under JMessage's ~60), lanes (moderation, replies,
// announcements, in that order), retries with backoff for temporary
// errors, and the outbox kept in the store until each action is carried
// out. Sends are at-least-once: a connection lost after the server
// accepted a message but before it answered means the message is sent
// again.
//
// # Caveats
//
// A Context is reused after its handler returns; do not keep it. Handlers
// run on a bounded pool: a handler that blocks holds up its chat and a
// worker, so honour the Context's deadline (Options.HandlerTimeout).
//
// A plugin that must run its steps on a goroutine of its own (the Lua host:
// one goroutine owns each script) implements Executor. When one of its
// gates or routed handlers comes up, the worker hands the rest of the
// event to that goroutine and goes on with other chats instead of waiting;
// the chat's next event starts once that one is done. The chat's next
// queued events whose first step is a gate of the same plugin go with it,
// as a unit (up to 16, and about a millisecond of the plugin's time): the
// plugin's goroutine runs them in order and gives the chat back once. A
// unit ends early at an event that leaves that goroutine; the events after
// it wait for it, then go again. Trace timings of such events include the
// waits: the first step's the wait for the plugin's goroutine, the last
// step's the wait for the rest of the unit. Steps of plugins
// without a goroutine of their own that come after go back to the
// workers, so a slow Go handler holds up its own chat only, never the
// executor's other chats. A middleware (Use)
// waits for the rest of the chain, so below one the hand-over cannot
// happen and the worker waits as before: prefer Gate when a decision is
// all a plugin needs.
package bot
