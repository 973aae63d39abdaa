// Command embed is a program that embeds jimbot as a library: it connects
// to a JMessage (or jimbot) server, adds the built-in plugins it wants and
// one plugin of its own, and runs until interrupted.
//
//	go run ./cmd/jimbot server --user jimbot:embed-bot-password &
//	go run ./examples/embed -url ws://127.0.0.1:9090 -user jimbot -password embed-bot-password
//
// Then say "/roll 20" or "/roll 3 6" to the bot.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/jimbot/jimbot/bot"
	"github.com/jimbot/jimbot/jmessage"
	"github.com/jimbot/jimbot/jmessage/jmserver"
	"github.com/jimbot/jimbot/plugins"
	"github.com/jimbot/jimbot/storage"
)

// Dice is the program's own plugin: /roll [COUNT] [SIDES].
type Dice struct{}

// Info names the plugin.
func (Dice) Info() bot.PluginInfo { return bot.PluginInfo{ID: "dice", Description: "rolls dice"} }

// Provision registers /roll.
func (Dice) Provision(env *bot.Env) error {
	return env.Command(bot.Command{
		Name:     "roll",
		Help:     "roll COUNT dice with SIDES sides",
		Args:     []bot.Arg{{Name: "count", Type: bot.ArgInt, Optional: true, Default: "1"}, {Name: "sides", Type: bot.ArgInt, Optional: true, Default: "6"}},
		Cooldown: 2 * time.Second,
		Examples: []string{"/roll", "/roll 3 6", "/roll 1 20"},
		Handler: func(c *bot.Context) error {
			n, sides := c.Args().Int("count"), c.Args().Int("sides")
			if n < 1 || n > 20 || sides < 2 || sides > 1000 {
				return c.Reply("I roll 1–20 dice of 2–1000 sides.")
			}
			rolls := make([]string, n)
			total := int64(0)
			for i := range rolls {
				r := 1 + rand.Int64N(sides)
				total += r
				rolls[i] = fmt.Sprint(r)
			}
			return c.Replyf("🎲 %s = %d", strings.Join(rolls, " + "), total)
		},
	})
}

func main() {
	url := flag.String("url", "ws://127.0.0.1:9090", "server URL")
	appKey := flag.String("appkey", jmserver.DevAppKey, "appkey")
	secret := flag.String("master-secret", jmserver.DevMasterSecret, "master secret")
	user := flag.String("user", "jimbot", "the bot's username")
	password := flag.String("password", os.Getenv("JIMBOT_PASSWORD"), "the bot's password (default $JIMBOT_PASSWORD)")
	data := flag.String("data", "embed.db", "state file")
	flag.Parse()
	if err := run(*url, *appKey, *secret, *user, *password, *data); err != nil {
		fmt.Fprintln(os.Stderr, "embed:", err)
		os.Exit(1)
	}
}

func run(url, appKey, secret, user, password, data string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))

	db, err := storage.Open(data, nil)
	if err != nil {
		return err
	}
	defer db.Close()
	tr, err := bot.DialJMessage(ctx, url, log, jmessage.WithAppKey(appKey, secret), jmessage.WithLogin(user, password))
	if err != nil {
		return err
	}
	defer tr.Close()
	b, err := bot.New(bot.Options{Transport: tr, Store: db, Logger: log})
	if err != nil {
		return err
	}
	reg := plugins.Default()
	for _, id := range []string{"switchboard", "help", "ping"} {
		p, err := reg.New(id)
		if err != nil {
			return err
		}
		if err := b.AddPlugin(p, nil); err != nil {
			return err
		}
	}
	if err := b.AddPlugin(Dice{}, nil); err != nil {
		return err
	}
	return b.Run(ctx, 10*time.Second)
}
