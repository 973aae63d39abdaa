package lua

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	glua "github.com/yuin/gopher-lua"

	"github.com/jimbot/jimbot/bot"
	"github.com/jimbot/jimbot/bot/bottest/w1"
)

// w1Script is the whole W1 behaviour in Lua: a middleware drops and
// counts spam, !ping gets pong, a catch-all counts the rest.
const w1Script = `
local bot = require("jimbot")
local spam, ping, other = 0, 0, 0

bot.use(function(ctx, next)
  if ctx.text:find("spamword", 1, true) then
    spam = spam + 1
    return          -- not calling next() drops the event
  end
  next()
end)

bot.command("ping", {help = "answers pong"}, function(ctx)
  ping = ping + 1
  ctx:reply("pong")
end)

bot.fallback(function(ctx)
  other = other + 1
end)

-- read back by the benchmark
function counts() return spam, ping, other end
`

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// luaCounts calls the script's global counts() on its goroutine.
func luaCounts(tb testing.TB, s *Script) []int64 {
	var out []int64
	rt := s.rt
	var err error
	if derr := rt.do(func() {
		L := rt.cur.L
		err = L.CallByParam(glua.P{Fn: L.GetGlobal("counts"), NRet: 3, Protect: true})
		if err == nil {
			for i := -3; i < 0; i++ {
				out = append(out, int64(glua.LVAsNumber(L.Get(i))))
			}
			L.Pop(3)
		}
	}); derr != nil {
		tb.Fatal(derr)
	}
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// BenchmarkW1Lua routes the W1 stream through the real bot runtime
// (intake, dispatcher, chain, router, in-memory ledger, governor) with a
// null transport, with all of the logic in one Lua script run by the real
// host.
func BenchmarkW1Lua(b *testing.B) {
	path := filepath.Join(b.TempDir(), "w1.lua")
	if err := os.WriteFile(path, []byte(w1Script), 0o644); err != nil {
		b.Fatal(err)
	}
	w1.Bench(b, func(tr *w1.NullTransport) (w1.Run, error) {
		ps, err := Load(Options{Scripts: []string{path}, Logger: discardLogger()})
		if err != nil {
			return w1.Run{}, err
		}
		o := w1.Options(tr)
		o.Logger = discardLogger()
		bt, err := bot.New(o)
		if err != nil {
			return w1.Run{}, err
		}
		if err := bt.AddPlugin(ps[0], nil); err != nil {
			return w1.Run{}, err
		}
		if err := bt.Start(context.Background()); err != nil {
			return w1.Run{}, err
		}
		return w1.Run{Bot: bt, Counts: func() w1.Counts {
			got := luaCounts(b, ps[0].(*Script))
			return w1.Counts{Spam: got[0], Ping: got[1], CatchAll: got[2]}
		}}, nil
	})
}
