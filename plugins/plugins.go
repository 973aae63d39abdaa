// Package plugins holds jimbot's built-in Go plugins and the registry
// that knows them.
//
//	reg := plugins.Default() // help, ping, switchboard, why, echo, announce
//	p, _ := reg.New("ping")
package plugins

import (
	"github.com/jimbot/jimbot/bot"
	"github.com/jimbot/jimbot/plugins/announce"
	"github.com/jimbot/jimbot/plugins/echo"
	"github.com/jimbot/jimbot/plugins/help"
	"github.com/jimbot/jimbot/plugins/ping"
	"github.com/jimbot/jimbot/plugins/switchboard"
	"github.com/jimbot/jimbot/plugins/why"
)

// Default returns a new registry with the built-in plugins: help, ping,
// switchboard, why, echo and announce. Each call returns a fresh value:
// registries are not global.
func Default() *bot.Registry {
	r := bot.NewRegistry()
	r.MustRegister(&help.Plugin{})
	r.MustRegister(&echo.Plugin{})
	r.MustRegister(&announce.Plugin{})
	r.MustRegister(&ping.Plugin{})
	r.MustRegister(&switchboard.Plugin{})
	r.MustRegister(&why.Plugin{})
	return r
}

// Essentials are the plugins every bot loads unless its config says
// otherwise.
var Essentials = []string{"switchboard", "help", "why"}
