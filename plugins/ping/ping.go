// Package ping is the built-in "ping" plugin: /ping answers pong, the
// smallest proof that a bot is alive and routing.
package ping

import "github.com/jimbot/jimbot/bot"

// Plugin answers /ping.
type Plugin struct{}

// Info implements bot.Plugin.
func (Plugin) Info() bot.PluginInfo {
	return bot.PluginInfo{ID: "ping", New: func() bot.Plugin { return Plugin{} }, Description: "answers /ping with pong"}
}

// Provision registers /ping.
func (Plugin) Provision(env *bot.Env) error {
	return env.Command(bot.Command{
		Name:    "ping",
		Help:    "check that the bot is alive",
		Handler: func(c *bot.Context) error { return c.Reply("pong") },
	})
}

var _ bot.Provisioner = Plugin{}
