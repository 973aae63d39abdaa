package bot

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/jimbot/jimbot/storage"
)

// Plugin is a unit of bot behaviour. It needs only Info; the lifecycle
// steps are optional interfaces, called in this order:
//
//  1. Provision(*Env): read settings, register commands, hears, event
//     handlers and middleware;
//  2. Validate(): check what Provision set up;
//  3. Start(ctx): start background work;
//  4. Stop(ctx): stop it, when the bot stops (in reverse order).
type Plugin interface {
	Info() PluginInfo
}

// PluginInfo describes a plugin.
type PluginInfo struct {
	// ID names the plugin: lowercase letters, digits, '-', '_' and '.'.
	ID string
	// New returns a new instance; registries need it, bots given an
	// instance do not.
	New func() Plugin
	// Description is one line for /help and /plugin list.
	Description string
	// Priority orders plugins in the chain: lower first. Ties keep the
	// order in which plugins were added. Default 0.
	Priority int
	// Before and After order this plugin relative to others by ID; they
	// override Priority. Unknown IDs are ignored with a warning.
	Before, After []string
	// DefaultOff disables the plugin in every chat until enabled there.
	DefaultOff bool
	// Essential plugins cannot be disabled (the switchboard itself).
	Essential bool
}

// Provisioner is implemented by plugins that set themselves up.
type Provisioner interface{ Provision(env *Env) error }

// Validator is implemented by plugins that check their setup.
type Validator interface{ Validate() error }

// Starter is implemented by plugins with background work.
type Starter interface {
	Start(ctx context.Context) error
}

// Stopper is implemented by plugins that must clean up.
type Stopper interface {
	Stop(ctx context.Context) error
}

// Env is what a plugin gets to provision itself.
type Env struct {
	// Router registers the plugin's commands, hears, handlers and
	// middleware.
	*Router
	// ID is the plugin's ID.
	ID string
	// Settings are the plugin's settings from the config file.
	Settings Settings
	// Store is the plugin's namespace (zero if the bot has no store).
	Store storage.Namespace
	// Log is the plugin's logger.
	Log *slog.Logger
	// Bot is the bot, for Self, Clock, Send and the rest.
	Bot *Bot
}

// Settings are a plugin's settings: a map from the config file.
type Settings map[string]any

// Decode fills v (a pointer to a struct with json tags) from the settings.
// Unknown keys are an error that names them.
func (s Settings) Decode(v any) error {
	if len(s) == 0 {
		return nil
	}
	raw, err := json.Marshal(map[string]any(s))
	if err != nil {
		return fmt.Errorf("settings: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("settings: %w", err)
	}
	return nil
}

// Registry maps plugin IDs to constructors. Registries are values: make
// one with NewRegistry, or use plugins.Default() for the built-ins.
type Registry struct {
	mu    sync.Mutex
	infos map[string]PluginInfo
	order []string
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{infos: map[string]PluginInfo{}} }

var pluginIDRe = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]*$`)

// Register adds a plugin. It fails on an invalid or duplicate ID, or a
// missing constructor.
func (r *Registry) Register(p Plugin) error {
	info := p.Info()
	if !pluginIDRe.MatchString(info.ID) {
		return fmt.Errorf("bot: plugin ID %q: use lowercase letters, digits, '-', '_' and '.'", info.ID)
	}
	if info.New == nil {
		return fmt.Errorf("bot: plugin %s: PluginInfo.New is nil", info.ID)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.infos[info.ID]; dup {
		return fmt.Errorf("bot: plugin %s is registered twice", info.ID)
	}
	r.infos[info.ID] = info
	r.order = append(r.order, info.ID)
	return nil
}

// MustRegister is Register that panics on error, for init-time use.
func (r *Registry) MustRegister(p Plugin) {
	if err := r.Register(p); err != nil {
		panic(err)
	}
}

// Lookup returns the info of a registered plugin.
func (r *Registry) Lookup(id string) (PluginInfo, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	info, ok := r.infos[id]
	return info, ok
}

// IDs returns the registered IDs in registration order.
func (r *Registry) IDs() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.order...)
}

// New returns a new instance of plugin id.
func (r *Registry) New(id string) (Plugin, error) {
	info, ok := r.Lookup(id)
	if !ok {
		return nil, fmt.Errorf("bot: no plugin %q (known: %v)", id, r.IDs())
	}
	return info.New(), nil
}

// pluginState is a plugin inside a bot.
type pluginState struct {
	id       string
	info     PluginInfo
	p        Plugin
	settings Settings
	idx      int
	added    int
	// switchKey is pluginKey(id), precomputed for the hot path.
	switchKey string
	log       *slog.Logger
	layers    []layerSpec // middleware and gates, in registration order
	exec      Executor    // the plugin's own goroutine, if it has one
	routes    *routes

	failures      atomic.Int32
	disabledUntil atomic.Int64 // unix nanoseconds; 0: not tripped
	// unitNs is the time an event of a unit took on the executor, a
	// moving average in nanoseconds (0: none yet). See unitCap.
	unitNs  atomic.Int64
	metrics *pluginMetrics
}

// orderPlugins sorts by Priority (stable) and then applies Before/After.
func orderPlugins(ps []*pluginState, warn func(string)) ([]*pluginState, error) {
	sort.SliceStable(ps, func(i, j int) bool {
		if ps[i].info.Priority != ps[j].info.Priority {
			return ps[i].info.Priority < ps[j].info.Priority
		}
		return ps[i].added < ps[j].added
	})
	index := map[string]int{}
	for i, p := range ps {
		index[p.id] = i
	}
	// edges[a] holds the plugins that must come after a.
	edges := make([][]int, len(ps))
	indeg := make([]int, len(ps))
	edge := func(from, to int) {
		edges[from] = append(edges[from], to)
		indeg[to]++
	}
	for i, p := range ps {
		for _, id := range p.info.Before {
			if j, ok := index[id]; ok {
				edge(i, j)
			} else {
				warn(fmt.Sprintf("plugin %s: before %q, which is not loaded", p.id, id))
			}
		}
		for _, id := range p.info.After {
			if j, ok := index[id]; ok {
				edge(j, i)
			} else {
				warn(fmt.Sprintf("plugin %s: after %q, which is not loaded", p.id, id))
			}
		}
	}
	// Kahn's algorithm, always taking the earliest ready plugin, so the
	// priority order survives where constraints allow.
	out := make([]*pluginState, 0, len(ps))
	done := make([]bool, len(ps))
	for len(out) < len(ps) {
		next := -1
		for i := range ps {
			if !done[i] && indeg[i] == 0 {
				next = i
				break
			}
		}
		if next < 0 {
			var cyc []string
			for i, p := range ps {
				if !done[i] {
					cyc = append(cyc, p.id)
				}
			}
			return nil, fmt.Errorf("bot: plugins %v order each other in a cycle (before/after)", cyc)
		}
		done[next] = true
		out = append(out, ps[next])
		for _, j := range edges[next] {
			indeg[j]--
		}
	}
	for i, p := range out {
		p.idx = i
	}
	return out, nil
}

// ErrLateRegistration is returned by registrations after the bot started:
// the chain is built once, at start.
var ErrLateRegistration = errors.New("bot: registration after start (the chain is built once, at start)")
