package bot_test

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/jimbot/jimbot/bot"
	"github.com/jimbot/jimbot/bot/clock"
	"github.com/jimbot/jimbot/storage"
)

func claim(t *testing.T, l bot.Ledger, ids ...string) []bot.Claim {
	t.Helper()
	out := make([]bot.Claim, len(ids))
	if err := l.Claim(ids, out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestMemoryLedgerClaimsReleaseAndTTL(t *testing.T) {
	fc := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	l := bot.NewMemoryLedger(time.Hour, fc)
	if got := claim(t, l, "a", "b", "a"); got[0] != bot.Fresh || got[1] != bot.Fresh || got[2] != bot.Committed {
		t.Fatalf("first claims: %v", got)
	}
	l.Release([]string{"b"})
	if got := claim(t, l, "a", "b"); got[0] != bot.Committed || got[1] != bot.Fresh {
		t.Fatalf("after release: %v", got)
	}
	fc.Advance(2 * time.Hour)
	if got := claim(t, l, "a"); got[0] != bot.Fresh {
		t.Fatalf("past the TTL: %v", got)
	}
	// A batch longer than the ledger's chunk, with repeats across chunks.
	var ids []string
	for i := range 150 {
		ids = append(ids, fmt.Sprint("m:", i%100))
	}
	for i, c := range claim(t, l, ids...) {
		if want := map[bool]bot.Claim{true: bot.Fresh, false: bot.Committed}[i < 100]; c != want {
			t.Fatalf("claim %d of %s: %v, want %v", i, ids[i], c, want)
		}
	}
}

func TestStoreLedgerTellsInFlightFromCommitted(t *testing.T) {
	db, err := storage.Open(filepath.Join(t.TempDir(), "ledger.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	l := bot.NewStoreLedger(db, time.Hour)
	if got := claim(t, l, "a", "b", "a"); got[0] != bot.Fresh || got[1] != bot.Fresh || got[2] != bot.InFlight {
		t.Fatalf("first claims: %v", got)
	}
	if err := l.Commit([]string{"a"}, nil); err != nil {
		t.Fatal(err)
	}
	l.Release([]string{"b"})
	if got := claim(t, l, "a", "b"); got[0] != bot.Committed || got[1] != bot.Fresh {
		t.Fatalf("after commit and release: %v", got)
	}
	// A new ledger over the same store (a restart) knows the committed
	// ids only.
	l2 := bot.NewStoreLedger(db, time.Hour)
	if got := claim(t, l2, "a", "b"); got[0] != bot.Committed || got[1] != bot.Fresh {
		t.Fatalf("after a restart: %v", got)
	}
}
