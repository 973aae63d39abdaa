// Package ping is the built-in "ping" plugin: /ping answers pong, the
// smallest proof that a bot is alive and routing. Settings:
//
//	reply: pong   # what /ping answers
package ping

import "github.com/jimbot/jimbot/bot"

// Plugin answers /ping.
type Plugin struct {
	cfg struct {
		Reply string `json:"reply"`
	}
}

// Info implements bot.Plugin.
func (*Plugin) Info() bot.PluginInfo {
	return bot.PluginInfo{ID: "ping", New: func() bot.Plugin { return &Plugin{} }, Description: "answers /ping with pong"}
}

// Provision registers /ping.
func (p *Plugin) Provision(env *bot.Env) error {
	p.cfg.Reply = "pong"
	if err := env.Settings.Decode(&p.cfg); err != nil {
		return err
	}
	return env.Command(bot.Command{
		Name:    "ping",
		Help:    "check that the bot is alive",
		Handler: func(c *bot.Context) error { return c.Reply(p.cfg.Reply) },
	})
}

var _ bot.Provisioner = (*Plugin)(nil)
