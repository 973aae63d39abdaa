package main

import (
	"testing"

	"github.com/jimbot/jimbot/bot/bottest"
)

func TestDice(t *testing.T) {
	k := bottest.New(t, bottest.Plugins(Dice{}))
	alice := k.User("alice")
	g := k.Group("team", "alice")
	alice.SayIn(g, "/roll 3 6")
	alice.ExpectIn(g, `^🎲 [1-6] \+ [1-6] \+ [1-6] = \d+$`)
	alice.Say("/roll 50")
	alice.Expect("I roll 1–20 dice")
}
