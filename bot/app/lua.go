package app

import (
	"github.com/jimbot/jimbot/bot"
	"github.com/jimbot/jimbot/bot/config"
)

// luaPlugins loads the config's Lua scripts.
func (in *Instance) luaPlugins() ([]bot.Plugin, error) {
	return nil, nil
}

// CheckScripts compiles the config's Lua scripts and reports every error.
func CheckScripts(cfg *config.Config) error {
	return nil
}
