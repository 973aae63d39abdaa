package clock_test

import (
	"fmt"
	"time"

	"github.com/jimbot/jimbot/bot/clock"
)

// A fake clock moves only when told to, so time-driven code is tested
// without sleeping.
func Example() {
	c := clock.NewFake(time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC))
	t := c.NewTimer(10 * time.Minute)
	c.Advance(9 * time.Minute)
	select {
	case <-t.C():
		fmt.Println("fired early")
	default:
		fmt.Println("not yet at", c.Now().Format("15:04"))
	}
	c.Advance(time.Minute)
	fmt.Println("fired at", (<-t.C()).Format("15:04"))
	// Output:
	// not yet at 09:09
	// fired at 09:10
}
