package bot

import (
	"testing"
	"time"
)

// A unit holds as many events as its executor runs in about unitBudget,
// judged by what its recent units took per event: fast executors get
// maxUnit, slow ones one event at a time.
func TestUnitCapFollowsTheExecutorsSpeed(t *testing.T) {
	p := &pluginState{}
	if got := unitCap(p); got != maxUnit {
		t.Fatalf("cap before any unit: %d, want %d", got, maxUnit)
	}
	p.noteUnit(64*time.Microsecond, 64) // 1µs an event
	if got := unitCap(p); got != maxUnit {
		t.Fatalf("cap at 1µs an event: %d, want %d", got, maxUnit)
	}
	for i := 0; i < 100; i++ {
		p.noteUnit(50*time.Millisecond, 1)
	}
	if got := unitCap(p); got != 1 {
		t.Fatalf("cap at 50ms an event: %d, want 1", got)
	}
	for i := 0; i < 100; i++ {
		p.noteUnit(200*time.Microsecond, 1)
	}
	if got, want := unitCap(p), int(unitBudget/(200*time.Microsecond)); got < want-1 || got > want+1 {
		t.Fatalf("cap at 200µs an event: %d, want about %d", got, want)
	}
}
