package plugins_test

import (
	"fmt"

	"github.com/jimbot/jimbot/plugins"
)

// The default registry knows the built-in plugins; it is a fresh value on
// every call, so adding to it affects nobody else.
func Example() {
	reg := plugins.Default()
	fmt.Println(reg.IDs())
	p, _ := reg.New("ping")
	fmt.Println(p.Info().ID, "-", p.Info().Description)
	// Output:
	// [help echo announce ping switchboard why]
	// ping - answers /ping with pong
}
