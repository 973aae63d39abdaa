// Package help is the built-in "help" plugin: /help lists the commands a
// user can run in the chat, /help NAME explains one. Both are generated
// from the commands' declarations.
package help

import (
	"fmt"
	"sort"
	"strings"

	"github.com/jimbot/jimbot/bot"
)

// Plugin generates /help.
type Plugin struct{ b *bot.Bot }

// Info implements bot.Plugin.
func (*Plugin) Info() bot.PluginInfo {
	return bot.PluginInfo{ID: "help", New: func() bot.Plugin { return &Plugin{} }, Description: "lists and explains commands"}
}

// Provision registers /help.
func (p *Plugin) Provision(env *bot.Env) error {
	p.b = env.Bot
	return env.Command(bot.Command{
		Name:    "help",
		Aliases: []string{"h", "帮助"},
		Help:    "list commands, or explain one",
		Args:    []bot.Arg{{Name: "command", Optional: true}},
		Handler: p.help,
	})
}

func (p *Plugin) help(c *bot.Context) error {
	if name := strings.TrimLeft(c.Args().String("command"), "/!"); name != "" {
		return c.Reply(p.explain(c, strings.ToLower(name)))
	}
	return c.Reply(p.list(c))
}

// visible returns the commands usable in the event's chat, by plugin.
func (p *Plugin) visible(c *bot.Context) []bot.CommandInfo {
	sw := p.b.Switchboard()
	var out []bot.CommandInfo
	for _, ci := range p.b.Commands() {
		if ci.Hidden {
			continue
		}
		if !c.Event.Chat.IsZero() && !sw.CommandEnabled(ci.Name, c.Event.Chat) {
			continue
		}
		out = append(out, ci)
	}
	return out
}

func (p *Plugin) list(c *bot.Context) string {
	cmds := p.visible(c)
	if len(cmds) == 0 {
		return "No commands are available here."
	}
	role := c.Role()
	prefix := p.b.Prefix()
	var b strings.Builder
	b.WriteString("Commands:")
	for _, ci := range cmds {
		fmt.Fprintf(&b, "\n%s%s", prefix, ci.Name)
		if ci.Help != "" {
			fmt.Fprintf(&b, " — %s", ci.Help)
		}
		if ci.Permission > bot.RoleMember {
			if role < ci.Permission {
				fmt.Fprintf(&b, " (%s only)", ci.Permission)
			} else {
				fmt.Fprintf(&b, " (%s)", ci.Permission)
			}
		}
	}
	fmt.Fprintf(&b, "\n\n%shelp <command> explains one.", prefix)
	return b.String()
}

func (p *Plugin) explain(c *bot.Context, name string) string {
	prefix := p.b.Prefix()
	for _, ci := range p.visible(c) {
		names := append([]string{ci.Name}, ci.Aliases...)
		match := false
		for _, n := range names {
			match = match || strings.EqualFold(n, name)
		}
		if !match {
			continue
		}
		var b strings.Builder
		fmt.Fprintf(&b, "%s", ci.UsageLine(prefix))
		if ci.Help != "" {
			fmt.Fprintf(&b, "\n%s", ci.Help)
		}
		for _, a := range ci.Args {
			if a.Help != "" || a.Type != bot.ArgString {
				fmt.Fprintf(&b, "\n  %s (%s)", a.Name, a.Type)
				if a.Help != "" {
					fmt.Fprintf(&b, ": %s", a.Help)
				}
				if a.Default != "" {
					fmt.Fprintf(&b, " [default %s]", a.Default)
				}
			}
		}
		for _, f := range ci.Flags {
			fmt.Fprintf(&b, "\n  --%s", f.Name)
			if f.Short != "" {
				fmt.Fprintf(&b, ", -%s", f.Short)
			}
			if f.Type != bot.ArgBool {
				fmt.Fprintf(&b, " <%s>", f.Type)
			}
			if f.Help != "" {
				fmt.Fprintf(&b, ": %s", f.Help)
			}
		}
		if len(ci.Aliases) > 0 {
			al := append([]string(nil), ci.Aliases...)
			sort.Strings(al)
			fmt.Fprintf(&b, "\naliases: %s", strings.Join(al, ", "))
		}
		if ci.Permission > bot.RoleMember {
			fmt.Fprintf(&b, "\nneeds: %s", ci.Permission)
		}
		if ci.Cooldown > 0 {
			fmt.Fprintf(&b, "\ncooldown: %s", ci.Cooldown)
		}
		for _, ex := range ci.Examples {
			fmt.Fprintf(&b, "\nexample: %s", ex)
		}
		fmt.Fprintf(&b, "\n(plugin %s)", ci.Plugin)
		return b.String()
	}
	return fmt.Sprintf("No command %s%s here. %shelp lists them.", prefix, name, prefix)
}

var _ bot.Provisioner = (*Plugin)(nil)
