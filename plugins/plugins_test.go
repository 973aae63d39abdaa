package plugins_test

import (
	"strings"
	"testing"
	"time"

	"github.com/jimbot/jimbot/bot"
	"github.com/jimbot/jimbot/bot/bottest"
	"github.com/jimbot/jimbot/plugins"
)

func builtins(t *testing.T, ids ...string) []bot.Plugin {
	reg := plugins.Default()
	var out []bot.Plugin
	for _, id := range ids {
		p, err := reg.New(id)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

func TestPingAndHelpOverTheRealServer(t *testing.T) {
	k := bottest.New(t, bottest.Plugins(builtins(t, "switchboard", "help", "why", "ping")...), bottest.Admins("alice"))
	alice := k.User("alice")
	g := k.Group("team", "alice", "bobby")
	alice.SayIn(g, "/ping")
	alice.ExpectIn(g, "^pong$")
	alice.Say("!ping")
	alice.Expect("^pong$")
	alice.SayIn(g, "/help")
	help := alice.ExpectIn(g, "Commands:")
	for _, want := range []string{"/ping — check that the bot is alive", "/plugin", "/help"} {
		if !strings.Contains(help, want) {
			t.Errorf("help lacks %q:\n%s", want, help)
		}
	}
	alice.SayIn(g, "/help ping")
	alice.ExpectIn(g, `(?s)^/ping\ncheck that the bot is alive.*\(plugin ping\)`)
	alice.SayIn(g, "/help nope")
	alice.ExpectIn(g, "No command /nope here")
}

func TestSwitchboardPersistsAcrossRestart(t *testing.T) {
	k := bottest.New(t, bottest.Plugins(builtins(t, "switchboard", "help", "ping")...), bottest.Admins("alice"))
	alice, bob := k.User("alice"), k.User("bobby")
	g := k.Group("team", "alice", "bobby")
	other := k.Group("other", "alice")

	bob.SayIn(g, "/plugin disable ping")
	bob.ExpectIn(g, `⛔ /plugin needs admin \(you are member\)`)
	alice.ExpectIn(g, `needs admin`) // alice is in the group too
	alice.SayIn(g, "/plugin disable ping")
	alice.ExpectIn(g, "✅ plugin ping disabled in this chat")
	alice.SayIn(g, "/ping")
	alice.ExpectNothing(200 * time.Millisecond)
	alice.SayIn(other, "/ping") // other chats are not affected
	alice.ExpectIn(other, "^pong$")
	alice.SayIn(g, "/plugin disable switchboard")
	alice.ExpectIn(g, "cannot be switched off")
	alice.SayIn(g, "/plugin disable /help")
	alice.ExpectIn(g, "command /help disabled")

	k.Restart(builtins(t, "switchboard", "help", "ping")...)
	alice.SayIn(g, "/ping")
	alice.SayIn(g, "/help")
	alice.ExpectNothing(200 * time.Millisecond)
	alice.SayIn(g, "/plugin list")
	list := alice.ExpectIn(g, "Plugins here:")
	if !strings.Contains(list, "⛔ ping") || !strings.Contains(list, "Commands off here: /help") {
		t.Fatalf("list after restart:\n%s", list)
	}
	alice.SayIn(g, "/plugin enable ping")
	alice.ExpectIn(g, "enabled")
	alice.SayIn(g, "/ping")
	alice.ExpectIn(g, "^pong$")
}

func TestWhyExplainsTheLastMessage(t *testing.T) {
	k := bottest.New(t, bottest.Plugins(builtins(t, "switchboard", "why", "ping")...), bottest.Admins("alice"))
	alice := k.User("alice")
	g := k.Group("team", "alice")
	alice.SayIn(g, "/ping")
	alice.ExpectIn(g, "pong")
	alice.SayIn(g, "/why")
	why := alice.ExpectIn(g, "^message m:")
	if !strings.Contains(why, "ping command /ping: matched") || !strings.Contains(why, "queued 1 action") {
		t.Fatalf("why:\n%s", why)
	}
	alice.SayIn(g, "just chatting")
	alice.SayIn(g, "/why")
	why = alice.ExpectIn(g, "^message m:")
	if !strings.Contains(why, "no command or pattern matched it") {
		t.Fatalf("why:\n%s", why)
	}
}

func TestEchoAndAnnounce(t *testing.T) {
	reg := plugins.Default()
	echo, _ := reg.New("echo")
	ann, _ := reg.New("announce")
	k := bottest.New(t, bottest.Plugins(echo), bottest.NoStart())
	alice := k.User("alice")
	g, err := k.Server.CreateGroup(k.Server.AppKey, "alice", "team", "", bottest.BotName)
	if err != nil {
		t.Fatal(err)
	}
	if err := k.Bot.AddPlugin(ann, bot.Settings{"announcements": []any{
		map[string]any{"name": "standup", "every": "1h", "group": g, "text": "stand-up time"},
	}}); err != nil {
		t.Fatal(err)
	}
	k.Start()
	k.Settle()
	alice.Say("hello there")
	alice.Expect("^hello there$")
	alice.SayIn(g, "no echo in groups")
	alice.SayIn(g, "/echo say this")
	alice.ExpectIn(g, "^say this$")
	k.Clock.WaitForTimers(1)
	k.Advance(time.Hour)
	alice.ExpectIn(g, "^stand-up time$")
}
