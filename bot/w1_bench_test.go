package bot_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/jimbot/jimbot/bot"
	"github.com/jimbot/jimbot/bot/bottest/w1"
)

// w1Plugin is the W1 behaviour: a middleware drops and counts spam, !ping
// gets pong, a catch-all counts the rest.
type w1Plugin struct{ spam, ping, other atomic.Int64 }

func (p *w1Plugin) Info() bot.PluginInfo { return bot.PluginInfo{ID: "w1"} }

func (p *w1Plugin) Provision(env *bot.Env) error {
	env.Use(func(next bot.Handler) bot.Handler {
		return func(c *bot.Context) error {
			if strings.Contains(c.Event.Text, "spamword") {
				p.spam.Add(1)
				return nil
			}
			return next(c)
		}
	})
	env.Command(bot.Command{Name: "ping", Help: "answers pong", Handler: func(c *bot.Context) error {
		p.ping.Add(1)
		return c.Reply("pong")
	}})
	env.Fallback(func(c *bot.Context) error {
		p.other.Add(1)
		return nil
	})
	return nil
}

// BenchmarkW1Route routes the W1 stream (200,000 messages from 1,000 users
// in 50 groups) through the real intake, dispatcher, chain, router,
// handlers, ledger (in memory) and governor, with a null transport.
func BenchmarkW1Route(b *testing.B) {
	w1.Bench(b, func(tr *w1.NullTransport) (w1.Run, error) {
		o := w1.Options(tr)
		o.Logger = discard()
		bt, err := bot.New(o)
		if err != nil {
			return w1.Run{}, err
		}
		p := &w1Plugin{}
		if err := bt.AddPlugin(p, nil); err != nil {
			return w1.Run{}, err
		}
		if err := bt.Start(context.Background()); err != nil {
			return w1.Run{}, err
		}
		return w1.Run{Bot: bt, Counts: func() w1.Counts {
			return w1.Counts{Spam: p.spam.Load(), Ping: p.ping.Load(), CatchAll: p.other.Load()}
		}}, nil
	})
}
