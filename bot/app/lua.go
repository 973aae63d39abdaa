package app

import (
	"fmt"

	"github.com/jimbot/jimbot/bot"
	"github.com/jimbot/jimbot/bot/config"
	"github.com/jimbot/jimbot/plugins/lua"
)

// luaOptions turns the config's lua section into the host's options.
func luaOptions(cfg *config.Config) (lua.Options, error) {
	scripts, err := cfg.LuaScripts()
	if err != nil {
		return lua.Options{}, err
	}
	opts := lua.Options{
		Timeout:         cfg.Lua.Timeout.D(),
		MaxSendsPerCall: cfg.Lua.MaxSendsPerCall,
		MaxMemory:       cfg.Lua.MaxMemoryMB << 20,
		MaxStore:        cfg.Lua.MaxStoreMB << 20,
		Settings:        cfg.Lua.Settings,
		Reload:          cfg.Lua.Reload,
	}
	for _, s := range scripts {
		opts.Scripts = append(opts.Scripts, s.Path)
	}
	return opts, nil
}

// luaPlugins loads the config's Lua scripts: one plugin per script.
func (in *Instance) luaPlugins() ([]bot.Plugin, error) {
	if len(in.Config.Lua.Scripts) == 0 {
		return nil, nil
	}
	opts, err := luaOptions(in.Config)
	if err != nil {
		return nil, err
	}
	if in.opts.Reload != nil {
		opts.Reload = *in.opts.Reload
	}
	opts.Logger = in.Log.With("part", "lua")
	// The host logs each reload and refusal itself.
	ps, err := lua.Load(opts)
	if err != nil {
		return nil, fmt.Errorf("lua: %w", err)
	}
	return ps, nil
}

// CheckScripts compiles the config's Lua scripts and reports every
// syntax error with its file and line.
func CheckScripts(cfg *config.Config) error {
	if len(cfg.Lua.Scripts) == 0 {
		return nil
	}
	opts, err := luaOptions(cfg)
	if err != nil {
		return err
	}
	_, err = lua.Load(opts)
	return err
}
