package lua

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/jimbot/jimbot/bot"
	"github.com/jimbot/jimbot/bot/bottest/w1"
)

// BenchmarkLuaCalls measures the Lua side of W1 alone, on the script's
// goroutine: one middleware call per message and one handler call for the
// messages it passes, without the bot runtime or the hand-off between
// goroutines.
func BenchmarkLuaCalls(b *testing.B) {
	path := filepath.Join(b.TempDir(), "w1.lua")
	if err := os.WriteFile(path, []byte(w1Script), 0o644); err != nil {
		b.Fatal(err)
	}
	opts := Options{Scripts: []string{path}, Logger: discardLogger()}
	ps, err := Load(opts)
	if err != nil {
		b.Fatal(err)
	}
	tr := w1.NewNullTransport(0)
	bt, _ := bot.New(bot.Options{Transport: tr, Logger: discardLogger()})
	s := ps[0].(*Script)
	rt := newRuntime(s, &bot.Env{Bot: bt, Log: discardLogger()}, nil)
	defer rt.stop()
	var st *state
	rt.do(func() { st, err = rt.build(s.prog, 1); rt.setCur(st) })
	if err != nil {
		b.Fatal(err)
	}
	evs := w1.Events()
	b.ReportAllocs()
	b.ResetTimer()
	c := new(bot.Context)
	rt.do(func() {
		for i := 0; i < b.N; i++ {
			ev := evs[i%len(evs)]
			*c = bot.Context{Event: ev}
			pass, err := rt.runMiddleware(c)
			if err != nil {
				b.Fatal(err)
			}
			if pass {
				idx := 1
				if ev.Text == "!ping" {
					idx = 0
				}
				if err := rt.runHandler(1, idx, c); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}
