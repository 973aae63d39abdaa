package lua

import (
	"errors"
	"fmt"
	"strings"
	"time"

	glua "github.com/yuin/gopher-lua"

	"github.com/jimbot/jimbot/bot"
	"github.com/jimbot/jimbot/storage"
)

// storeModule is bot.store: the script's persistent namespace. Values
// are stored as JSON, so any string, number, boolean or table of them
// round-trips. Failures return nil, message; a missing key is just nil.
func (rt *runtime) storeModule(L *glua.LState) *glua.LTable {
	t := L.NewTable()
	// args returns the index of the first real argument, so that both
	// bot.store.get(k) and bot.store:get(k) work.
	args := func(L *glua.LState) int {
		if L.Get(1) == t {
			return 2
		}
		return 1
	}
	fail := func(L *glua.LState, what string, err error) int {
		L.Push(glua.LNil)
		L.Push(glua.LString("bot.store." + what + ": " + err.Error()))
		return 2
	}
	live := func(L *glua.LState, what string) {
		if err := L.Context().Err(); err != nil {
			L.RaiseError("bot.store.%s: %v", what, err)
		}
	}
	fn := func(name string, f glua.LGFunction) { t.RawSetString(name, L.NewFunction(f)) }
	fn("get", func(L *glua.LState) int {
		i := args(L)
		key := L.CheckString(i)
		live(L, "get")
		data, err := rt.store.Get(key)
		if errors.Is(err, storage.ErrNotFound) {
			L.Push(glua.LNil)
			return 1
		}
		if err != nil {
			return fail(L, "get", err)
		}
		v, err := decodeJSON(L, data)
		if err != nil {
			return fail(L, "get", err)
		}
		L.Push(v)
		return 1
	})
	fn("set", func(L *glua.LState) int {
		i := args(L)
		key := L.CheckString(i)
		val := L.Get(i + 1)
		live(L, "set")
		var ttl time.Duration
		switch v := L.Get(i + 2).(type) {
		case *glua.LNilType:
		case glua.LNumber:
			ttl = time.Duration(float64(v) * float64(time.Second))
		case glua.LString:
			d, err := bot.ParseDuration(string(v))
			if err != nil {
				L.ArgError(i+2, err.Error())
			}
			ttl = d
		default:
			L.ArgError(i+2, "ttl must be a duration such as \"10m\" or a number of seconds")
		}
		var err error
		if val == glua.LNil {
			err = rt.store.Delete(key)
			rt.storeCounted = false // count again before the next write
		} else {
			var data []byte
			data, err = encodeJSON(val)
			if err == nil && len(data) > rt.opts.MaxString {
				err = errors.New("value too large")
			}
			if err == nil {
				err = rt.storeRoom(len(key) + len(data))
			}
			if err == nil {
				if ttl > 0 {
					err = rt.store.PutTTL(key, data, ttl)
				} else {
					err = rt.store.Put(key, data)
				}
			}
		}
		if err != nil {
			return fail(L, "set", err)
		}
		L.Push(glua.LTrue)
		return 1
	})
	fn("incr", func(L *glua.LState) int {
		i := args(L)
		key := L.CheckString(i)
		delta := L.OptInt64(i+1, 1)
		live(L, "incr")
		if err := rt.storeRoom(len(key) + 20); err != nil {
			return fail(L, "incr", err)
		}
		n, err := rt.store.Incr(key, delta)
		if err != nil {
			return fail(L, "incr", err)
		}
		L.Push(glua.LNumber(n))
		return 1
	})
	fn("del", func(L *glua.LState) int {
		i := args(L)
		key := L.CheckString(i)
		live(L, "del")
		if err := rt.store.Delete(key); err != nil {
			return fail(L, "del", err)
		}
		rt.storeCounted = false // count again before the next write
		L.Push(glua.LTrue)
		return 1
	})
	fn("keys", func(L *glua.LState) int {
		i := args(L)
		prefix := L.OptString(i, "")
		live(L, "keys")
		keys, err := rt.store.Keys(prefix)
		if err != nil {
			return fail(L, "keys", err)
		}
		L.Push(toLua(L, keys, 0))
		return 1
	})
	return t
}

// Layout names time.format and time.parse accept besides Go layouts.
var layouts = map[string]string{
	"":         time.RFC3339,
	"rfc3339":  time.RFC3339,
	"date":     "2006-01-02",
	"time":     "15:04",
	"datetime": "2006-01-02 15:04",
	"clock":    "15:04:05",
}

// timeModule is the time module. Times are unix seconds (numbers, with a
// fraction); durations are seconds. now reads the bot's clock, so tests
// that move the clock move it.
func timeModule(L *glua.LState, now func() time.Time) *glua.LTable {
	t := L.NewTable()
	zone := func(L *glua.LState, idx int) *time.Location {
		name := L.OptString(idx, "")
		if name == "" {
			return now().Location()
		}
		if strings.EqualFold(name, "utc") {
			return time.UTC
		}
		loc, err := time.LoadLocation(name)
		if err != nil {
			L.ArgError(idx, "unknown time zone "+name)
		}
		return loc
	}
	layout := func(L *glua.LState, idx int) string {
		s := L.OptString(idx, "")
		if l, ok := layouts[strings.ToLower(s)]; ok {
			return l
		}
		return s
	}
	t.RawSetString("now", L.NewFunction(func(L *glua.LState) int {
		L.Push(glua.LNumber(float64(now().UnixNano()) / 1e9))
		return 1
	}))
	t.RawSetString("format", L.NewFunction(func(L *glua.LState) int {
		sec := float64(L.CheckNumber(1))
		L.Push(glua.LString(unixTime(sec).In(zone(L, 3)).Format(layout(L, 2))))
		return 1
	}))
	t.RawSetString("parse", L.NewFunction(func(L *glua.LState) int {
		s := L.CheckString(1)
		tm, err := time.ParseInLocation(layout(L, 2), s, zone(L, 3))
		if err != nil {
			L.Push(glua.LNil)
			L.Push(glua.LString("time.parse: " + err.Error()))
			return 2
		}
		L.Push(glua.LNumber(float64(tm.UnixNano()) / 1e9))
		return 1
	}))
	t.RawSetString("parse_duration", L.NewFunction(func(L *glua.LState) int {
		d, err := bot.ParseDuration(L.CheckString(1))
		if err != nil {
			L.Push(glua.LNil)
			L.Push(glua.LString("time.parse_duration: " + err.Error()))
			return 2
		}
		L.Push(glua.LNumber(d.Seconds()))
		return 1
	}))
	t.RawSetString("date", L.NewFunction(func(L *glua.LState) int {
		sec := now()
		if L.Get(1) != glua.LNil {
			sec = unixTime(float64(L.CheckNumber(1)))
		}
		tm := sec.In(zone(L, 2))
		d := L.NewTable()
		d.RawSetString("year", glua.LNumber(tm.Year()))
		d.RawSetString("month", glua.LNumber(tm.Month()))
		d.RawSetString("day", glua.LNumber(tm.Day()))
		d.RawSetString("hour", glua.LNumber(tm.Hour()))
		d.RawSetString("min", glua.LNumber(tm.Minute()))
		d.RawSetString("sec", glua.LNumber(tm.Second()))
		d.RawSetString("wday", glua.LNumber(int(tm.Weekday())+1))
		d.RawSetString("yday", glua.LNumber(tm.YearDay()))
		L.Push(d)
		return 1
	}))
	return t
}

// storeCountEvery is the least time between two counts of a script's
// store for its quota; in between, what the script writes is added to the
// last count (a value written over another is counted twice until the
// next count).
const storeCountEvery = time.Second

// storeRoom checks that n more bytes fit in the script's store quota
// (Options.MaxStore), counting the store again when the last count is old,
// or when the estimate says full and the count is not fresh.
func (rt *runtime) storeRoom(n int) error {
	limit := int64(rt.opts.MaxStore)
	if limit <= 0 {
		return nil
	}
	now := coarseNow()
	age := now - rt.storeAt
	if !rt.storeCounted || age >= int64(storeCountEvery) || (rt.storeUsed+int64(n) > limit && age >= int64(storeCountEvery/20)) {
		_, used, err := rt.store.Size()
		if err != nil {
			return nil // the write reports what is wrong with the store
		}
		rt.storeUsed, rt.storeAt, rt.storeCounted = used, now, true
	}
	if rt.storeUsed+int64(n) > limit {
		return fmt.Errorf("the script's store is full (it holds about %s, its quota is %s): delete keys first", formatBytes(rt.storeUsed), formatBytes(limit))
	}
	rt.storeUsed += int64(n)
	return nil
}
