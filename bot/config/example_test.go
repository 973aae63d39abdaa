package config_test

import (
	"fmt"

	"github.com/jimbot/jimbot/bot/config"
)

// A config file becomes bot.Options (and jmessage options); the secrets
// may come from the environment. Load does the same from a file.
func Example() {
	file := []byte(`server:
  url: ws://127.0.0.1:9090
  appkey: 6a696d626f74646576303031
bot:
  username: jimbot
  prefixes: ["/"]
data: state/jimbot.db
groups:
  "10001": {enable: [faq], disable: [ping, /roll]}
`)
	env := map[string]string{
		config.EnvMasterSecret: "6a696d626f74736563726574",
		config.EnvPassword:     "jimbot-password",
	}
	loader := config.Loader{Getenv: func(k string) string { return env[k] }}
	cfg, err := loader.Parse(file, "/srv/jimbot")
	if err != nil {
		fmt.Println(err)
		return
	}
	opts := cfg.BotOptions()
	fmt.Println("data:", cfg.Data)
	fmt.Println("prefixes:", opts.Prefixes, "handler timeout:", opts.HandlerTimeout, "rate:", opts.Send.RatePerMinute)
	fmt.Println("switches:", opts.Switches)
	fmt.Println("plugins:", len(cfg.PluginList()), "secret:", cfg.Redacted().Server.MasterSecret)
	// Output:
	// data: /srv/jimbot/state/jimbot.db
	// prefixes: [/] handler timeout: 30s rate: 50
	// switches: map[group:10001:map[command:roll:false plugin:faq:true plugin:ping:false]]
	// plugins: 4 secret: ********
}

// Every problem is reported at once, with its line and key path.
func Example_errors() {
	file := []byte(`server:
  url: ws://127.0.0.1:9090
  appkey: 6a696d626f74646576303031
  master_secret: s
bot:
  usrname: jimbot
  password: p
  workers: many
send: {rate_per_minute: 0}
`)
	_, err := config.Parse(file, "")
	fmt.Println(err)
	// Output:
	// line 6: bot.usrname: unknown key (did you mean username?)
	// line 8: bot.workers: must be an integer, not "many"
	// line 9: send.rate_per_minute: must be more than 0, or -1 for no limit
}
