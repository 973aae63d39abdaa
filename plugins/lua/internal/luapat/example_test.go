package luapat_test

import (
	"fmt"

	"github.com/jimbot/jimbot/plugins/lua/internal/luapat"
)

// Find a Lua pattern's matches and their captures. A nil stop channel
// never stops a match; the Lua host passes the call's.
func Example() {
	src := []byte("roll 2d6 and 1d20")
	mds, err := luapat.Find(`(%d+)d(%d+)`, src, 0, -1, nil)
	if err != nil {
		panic(err)
	}
	for _, m := range mds {
		fmt.Println(string(src[m.Capture(2):m.Capture(3)]), "dice of", string(src[m.Capture(4):m.Capture(5)]))
	}
	// Output:
	// 2 dice of 6
	// 1 dice of 20
}

// A match stops with ErrInterrupted once its stop channel is closed.
func ExampleFind_interrupted() {
	stop := make(chan struct{})
	close(stop)
	src := []byte("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")
	pattern := ""
	for i := 0; i < 40; i++ {
		pattern += "a-"
	}
	_, err := luapat.Find(pattern+"b", src, 0, 1, stop)
	fmt.Println(err == luapat.ErrInterrupted)
	// Output: true
}
