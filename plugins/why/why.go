// Package why is the built-in "why" plugin: /why shows admins what
// happened to the last message in the chat (which plugins saw it, which
// handler matched, who blocked it, what failed, and how long each took);
// /why ID shows a given event.
package why

import (
	"fmt"
	"strings"
	"time"

	"github.com/jimbot/jimbot/bot"
)

// Plugin explains events from the bot's trace ring.
type Plugin struct{ b *bot.Bot }

// Info implements bot.Plugin.
func (*Plugin) Info() bot.PluginInfo {
	return bot.PluginInfo{ID: "why", New: func() bot.Plugin { return &Plugin{} }, Description: "explains what the bot did with a message"}
}

// Provision registers /why.
func (p *Plugin) Provision(env *bot.Env) error {
	p.b = env.Bot
	return env.Command(bot.Command{
		Name:       "why",
		Help:       "explain what happened to the last message here (or to event ID)",
		Args:       []bot.Arg{{Name: "id", Optional: true, Help: "an event id such as m:1234"}},
		Permission: bot.RoleAdmin,
		Handler:    p.why,
	})
}

func (p *Plugin) why(c *bot.Context) error {
	if id := c.Args().String("id"); id != "" {
		t, ok := p.b.Traces().Find(id)
		if !ok {
			return c.Replyf("No trace of %s (only the last events are kept).", id)
		}
		return c.Reply(Format(t))
	}
	for _, t := range p.b.Traces().Recent(50, c.Event.Chat.String()) {
		if t.EventID == c.Event.ID || strings.HasPrefix(strings.TrimLeft(t.Text, "/!"), "why") {
			continue
		}
		return c.Reply(Format(t))
	}
	return c.Reply("No earlier event in this chat is traced.")
}

// Format renders a trace for chat.
func Format(t bot.Trace) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s from %s", t.Kind, t.EventID, orDash(t.Sender))
	if t.Text != "" {
		fmt.Fprintf(&b, ": %q", t.Text)
	}
	fmt.Fprintf(&b, "\nat %s, took %s", t.Start.Format("15:04:05"), round(t.Duration))
	if len(t.Steps) == 0 {
		b.WriteString("\nno plugin saw it")
	}
	for _, s := range t.Steps {
		fmt.Fprintf(&b, "\n• %s %s: %s (%s)", s.Plugin, s.Handler, s.Outcome, round(s.Duration))
		if s.Error != "" {
			fmt.Fprintf(&b, " — %s", s.Error)
		}
	}
	if !t.Matched && t.Kind == "message" {
		b.WriteString("\nno command or pattern matched it")
	}
	if t.Outbox > 0 {
		fmt.Fprintf(&b, "\nqueued %d action(s)", t.Outbox)
	}
	return b.String()
}

func round(d time.Duration) time.Duration {
	switch {
	case d > time.Second:
		return d.Round(time.Millisecond)
	case d > time.Millisecond:
		return d.Round(time.Microsecond)
	}
	return d
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

var _ bot.Provisioner = (*Plugin)(nil)
