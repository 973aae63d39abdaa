// Package echo is the built-in "echo" plugin: /echo TEXT repeats TEXT,
// and in 1:1 chats every text message that is not a command is echoed
// back. Settings:
//
//	groups: false   # also echo every group message (noisy; default off)
package echo

import "github.com/jimbot/jimbot/bot"

// Plugin repeats what it is told.
type Plugin struct {
	cfg struct {
		Groups bool `json:"groups"`
	}
}

// Info implements bot.Plugin.
func (*Plugin) Info() bot.PluginInfo {
	return bot.PluginInfo{ID: "echo", New: func() bot.Plugin { return &Plugin{} }, Description: "repeats messages (/echo, and 1:1 chats)"}
}

// Provision registers /echo and the 1:1 fallback.
func (p *Plugin) Provision(env *bot.Env) error {
	if err := env.Settings.Decode(&p.cfg); err != nil {
		return err
	}
	if err := env.Command(bot.Command{
		Name: "echo", Help: "repeat TEXT", Args: []bot.Arg{{Name: "text", Rest: true}},
		Handler: func(c *bot.Context) error { return c.Reply(c.Args().String("text")) },
	}); err != nil {
		return err
	}
	return env.Fallback(func(c *bot.Context) error {
		if c.Event.Chat.IsGroup() && !p.cfg.Groups {
			return nil
		}
		return c.Reply(c.Event.Text)
	})
}

var _ bot.Provisioner = (*Plugin)(nil)
