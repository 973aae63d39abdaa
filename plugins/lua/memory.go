package lua

import (
	"fmt"
	"time"
	"unsafe"

	glua "github.com/yuin/gopher-lua"
)

// A script's memory: Go cannot say how much of its heap one LState holds,
// so the host takes a census of what the state can reach (its globals,
// registry and registered functions, the tables, functions, upvalues and
// strings under them) at
// most once every censusEvery, after a call that ended well, and rebuilds
// a state found over Options.MaxMemory, as it does a runaway. Each call is
// bounded in time already; this catches the script that grows a table a
// little on every call.
//
// The census is an estimate: it counts what Lua values commonly cost in
// gopher-lua, a string's bytes once however many places hold it, and it
// cannot see into the stacks of suspended coroutines.

// censusEvery is the least time between two censuses of one script
// (a variable so that tests can take one after every call).
var censusEvery = time.Second

// What values cost, in bytes, roughly.
const (
	costTable    = 64 // the LTable
	costEntry    = 32 // a slot of a table's array or hash part
	costFunction = 64 // the LFunction
	costUpvalue  = 32 // an upvalue of a closure
	costUserData = 48
	costString   = 16 // a string's header; its bytes come on top
)

// errOverBudget ends a census early.
type errOverBudget struct{}

// census estimates what st holds, stopping as soon as it passes limit; it
// reports the estimate and whether it passed limit.
func (st *state) census(limit int64) (total int64, over bool) {
	c := &censusWalk{seen: map[unsafe.Pointer]struct{}{}, limit: limit}
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(errOverBudget); !ok {
				panic(r)
			}
			total, over = c.total, true
		}
	}()
	c.value(st.L.G.Global)
	c.value(st.L.G.Registry)
	// The registered functions are held by the host, not by Lua: their
	// upvalues (a script's local tables) are reached through them.
	for _, r := range st.regs {
		c.value(r.fn)
	}
	for _, fn := range st.uses {
		c.value(fn)
	}
	if st.ctx != nil {
		c.value(st.ctx.tbl)
	}
	for len(c.todo) > 0 {
		t := c.todo[len(c.todo)-1]
		c.todo = c.todo[:len(c.todo)-1]
		t.ForEach(func(k, v glua.LValue) {
			c.add(costEntry)
			c.value(k)
			c.value(v)
		})
	}
	return c.total, false
}

// censusWalk is one census in progress.
type censusWalk struct {
	seen  map[unsafe.Pointer]struct{}
	todo  []*glua.LTable
	total int64
	limit int64
}

func (c *censusWalk) add(n int64) {
	c.total += n
	if c.total > c.limit {
		panic(errOverBudget{})
	}
}

// first reports whether p is seen for the first time.
func (c *censusWalk) first(p unsafe.Pointer) bool {
	if _, ok := c.seen[p]; ok {
		return false
	}
	c.seen[p] = struct{}{}
	return true
}

func (c *censusWalk) value(v glua.LValue) {
	switch x := v.(type) {
	case glua.LString:
		if len(x) > 0 && c.first(unsafe.Pointer(unsafe.StringData(string(x)))) {
			c.add(costString + int64(len(x)))
		}
	case *glua.LTable:
		if x != nil && c.first(unsafe.Pointer(x)) {
			c.add(costTable)
			c.value(x.Metatable)
			c.todo = append(c.todo, x)
		}
	case *glua.LFunction:
		if x != nil && c.first(unsafe.Pointer(x)) {
			c.add(costFunction + costUpvalue*int64(len(x.Upvalues)))
			if x.Env != nil {
				c.value(x.Env)
			}
			for _, uv := range x.Upvalues {
				c.value(uv.Value())
			}
		}
	case *glua.LUserData:
		if x != nil && c.first(unsafe.Pointer(x)) {
			c.add(costUserData)
			c.value(x.Metatable)
		}
	}
}

// checkMemory takes a census of st when one is due, after a call that
// ended well, and rebuilds the state when it holds more than
// Options.MaxMemory; the call then fails as a runaway.
func (rt *runtime) checkMemory(st *state, what string) error {
	limit := int64(rt.opts.MaxMemory)
	if limit <= 0 {
		return nil
	}
	now := coarseNow()
	if now-rt.censusAt < int64(censusEvery) {
		return nil
	}
	rt.censusAt = now
	if _, over := st.census(limit); !over {
		return nil
	}
	reason := fmt.Sprintf("holds more than %s, its memory budget", formatBytes(limit))
	e := &Error{Script: rt.id, Handler: what, Message: "the script's state " + reason, Runaway: reason}
	rt.rebuild(reason, e.Message)
	return e
}

// formatBytes writes n as KiB or MiB.
func formatBytes(n int64) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	if n >= 1<<10 {
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d B", n)
}
