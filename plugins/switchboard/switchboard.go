// Package switchboard is the built-in "switchboard" plugin: it lets group
// admins turn plugins and single commands on and off in their chat:
//
//	/plugin list
//	/plugin disable faq        turn the faq plugin off here
//	/plugin enable faq
//	/plugin disable /roll      turn one command off here
//
// It is essential: it cannot switch itself off.
package switchboard

import (
	"fmt"
	"strings"

	"github.com/jimbot/jimbot/bot"
)

// Plugin is the chat interface to the bot's Switchboard.
type Plugin struct{ b *bot.Bot }

// Info implements bot.Plugin.
func (*Plugin) Info() bot.PluginInfo {
	return bot.PluginInfo{ID: "switchboard", New: func() bot.Plugin { return &Plugin{} },
		Description: "turns plugins and commands on and off per chat", Essential: true}
}

// Provision registers /plugin.
func (p *Plugin) Provision(env *bot.Env) error {
	p.b = env.Bot
	return env.Command(bot.Command{
		Name:       "plugin",
		Aliases:    []string{"plugins"},
		Help:       "list, enable or disable plugins and commands in this chat",
		Usage:      "list | enable NAME | disable NAME   (NAME: a plugin, or /command)",
		Args:       []bot.Arg{{Name: "action", Optional: true, Default: "list"}, {Name: "name", Optional: true}},
		Permission: bot.RoleAdmin,
		Examples:   []string{"/plugin disable faq", "/plugin enable /roll"},
		Handler:    p.handle,
	})
}

func (p *Plugin) handle(c *bot.Context) error {
	action, name := strings.ToLower(c.Args().String("action")), c.Args().String("name")
	chat := c.Event.Chat
	sw := p.b.Switchboard()
	switch action {
	case "list", "ls", "":
		return c.Reply(p.list(chat))
	case "enable", "on", "disable", "off":
		on := action == "enable" || action == "on"
		if name == "" {
			return c.Replyf("usage: %splugin %s NAME", p.b.Prefix(), action)
		}
		var err error
		what := ""
		if cmd, ok := strings.CutPrefix(name, p.b.Prefix()); ok || strings.HasPrefix(name, "!") {
			cmd = strings.TrimLeft(cmd, "!/")
			err, what = sw.SetCommand(chat, cmd, on), "command "+p.b.Prefix()+cmd
		} else {
			err, what = sw.SetPlugin(chat, strings.ToLower(name), on), "plugin "+name
		}
		if err != nil {
			return c.Replyf("❌ %v", err)
		}
		state := "disabled"
		if on {
			state = "enabled"
		}
		return c.Replyf("✅ %s %s in this chat.", what, state)
	}
	return c.Replyf("unknown action %q: use list, enable or disable", action)
}

func (p *Plugin) list(chat bot.Chat) string {
	sw := p.b.Switchboard()
	var b strings.Builder
	b.WriteString("Plugins here:")
	for _, info := range p.b.Plugins() {
		mark := "✅"
		if !sw.PluginEnabled(info.ID, chat) {
			mark = "⛔"
		}
		fmt.Fprintf(&b, "\n%s %s", mark, info.ID)
		if info.Description != "" {
			fmt.Fprintf(&b, " — %s", info.Description)
		}
		if info.Essential {
			b.WriteString(" (always on)")
		}
	}
	var off []string
	for _, ci := range p.b.Commands() {
		if sw.PluginEnabled(ci.Plugin, chat) && !sw.CommandEnabled(ci.Name, chat) {
			off = append(off, p.b.Prefix()+ci.Name)
		}
	}
	if len(off) > 0 {
		fmt.Fprintf(&b, "\nCommands off here: %s", strings.Join(off, ", "))
	}
	return b.String()
}

var _ bot.Provisioner = (*Plugin)(nil)
