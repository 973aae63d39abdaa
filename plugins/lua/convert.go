package lua

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"time"

	glua "github.com/yuin/gopher-lua"
)

// maxDepth bounds nesting when converting between Lua and Go values (and
// so catches cycles).
const maxDepth = 64

// toLua converts a Go value (from settings, JSON or the event) to Lua.
func toLua(L *glua.LState, v any, depth int) glua.LValue {
	if depth > maxDepth {
		return glua.LNil
	}
	switch v := v.(type) {
	case nil:
		return glua.LNil
	case glua.LValue:
		return v
	case string:
		return glua.LString(v)
	case bool:
		return glua.LBool(v)
	case float64:
		return glua.LNumber(v)
	case float32:
		return glua.LNumber(v)
	case int:
		return glua.LNumber(v)
	case int64:
		return glua.LNumber(v)
	case int32:
		return glua.LNumber(v)
	case uint64:
		return glua.LNumber(v)
	case json.Number:
		f, _ := v.Float64()
		return glua.LNumber(f)
	case time.Duration:
		return glua.LNumber(v.Seconds())
	case time.Time:
		return glua.LNumber(float64(v.UnixNano()) / 1e9)
	case []string:
		t := L.CreateTable(len(v), 0)
		for _, s := range v {
			t.Append(glua.LString(s))
		}
		return t
	case []any:
		t := L.CreateTable(len(v), 0)
		for i, x := range v {
			t.RawSetInt(i+1, toLua(L, x, depth+1))
		}
		return t
	case map[string]any:
		t := L.CreateTable(0, len(v))
		for k, x := range v {
			t.RawSetString(k, toLua(L, x, depth+1))
		}
		return t
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Map:
		t := L.NewTable()
		iter := rv.MapRange()
		for iter.Next() {
			t.RawSet(toLua(L, fmt.Sprint(iter.Key().Interface()), depth+1), toLua(L, iter.Value().Interface(), depth+1))
		}
		return t
	case reflect.Slice, reflect.Array:
		t := L.CreateTable(rv.Len(), 0)
		for i := 0; i < rv.Len(); i++ {
			t.RawSetInt(i+1, toLua(L, rv.Index(i).Interface(), depth+1))
		}
		return t
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return glua.LNumber(rv.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return glua.LNumber(rv.Uint())
	case reflect.Float32, reflect.Float64:
		return glua.LNumber(rv.Float())
	case reflect.String:
		return glua.LString(rv.String())
	case reflect.Bool:
		return glua.LBool(rv.Bool())
	}
	return glua.LString(fmt.Sprint(v))
}

// fromLua converts a Lua value to plain Go (nil, bool, float64 or int64,
// string, []any, map[string]any). A table whose keys are exactly 1..n is
// a list; any other table is a map with string keys. Functions,
// coroutines and userdata cannot be converted.
func fromLua(v glua.LValue, depth int) (any, error) {
	switch v := v.(type) {
	case *glua.LNilType:
		return nil, nil
	case glua.LBool:
		return bool(v), nil
	case glua.LNumber:
		f := float64(v)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("cannot encode %v", f)
		}
		if f == math.Trunc(f) && math.Abs(f) < 1<<53 {
			return int64(f), nil
		}
		return f, nil
	case glua.LString:
		return string(v), nil
	case *glua.LTable:
		if depth >= maxDepth {
			return nil, errors.New("table nested too deeply (or it contains itself)")
		}
		n := 0
		count := 0
		isList := true
		v.ForEach(func(k, _ glua.LValue) {
			count++
			if kn, ok := k.(glua.LNumber); ok && float64(kn) == math.Trunc(float64(kn)) && kn >= 1 {
				if int(kn) > n {
					n = int(kn)
				}
				return
			}
			isList = false
		})
		if isList && n == count && n > 0 {
			out := make([]any, n)
			for i := 1; i <= n; i++ {
				x, err := fromLua(v.RawGetInt(i), depth+1)
				if err != nil {
					return nil, err
				}
				out[i-1] = x
			}
			return out, nil
		}
		out := make(map[string]any, count)
		var ferr error
		v.ForEach(func(k, val glua.LValue) {
			if ferr != nil {
				return
			}
			var key string
			switch k := k.(type) {
			case glua.LString:
				key = string(k)
			case glua.LNumber:
				key = k.String()
			case glua.LBool:
				key = strconv.FormatBool(bool(k))
			default:
				ferr = fmt.Errorf("cannot encode a table key of type %s", k.Type())
				return
			}
			x, err := fromLua(val, depth+1)
			if err != nil {
				ferr = err
				return
			}
			out[key] = x
		})
		if ferr != nil {
			return nil, ferr
		}
		return out, nil
	}
	return nil, fmt.Errorf("cannot encode a %s", v.Type())
}

// encodeJSON encodes a Lua value as JSON (map keys sorted).
func encodeJSON(v glua.LValue) ([]byte, error) {
	x, err := fromLua(v, 0)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(x); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// decodeJSON decodes JSON into a Lua value; null becomes nil.
func decodeJSON(L *glua.LState, data []byte) (glua.LValue, error) {
	var x any
	if err := json.Unmarshal(data, &x); err != nil {
		return glua.LNil, err
	}
	return toLua(L, x, 0), nil
}

// jsonModule is the json module: encode(value) and decode(text), both
// returning nil, message on failure.
func jsonModule(L *glua.LState) *glua.LTable {
	t := L.NewTable()
	t.RawSetString("encode", L.NewFunction(func(L *glua.LState) int {
		data, err := encodeJSON(L.CheckAny(1))
		if err != nil {
			L.Push(glua.LNil)
			L.Push(glua.LString("json.encode: " + err.Error()))
			return 2
		}
		L.Push(glua.LString(data))
		return 1
	}))
	t.RawSetString("decode", L.NewFunction(func(L *glua.LState) int {
		v, err := decodeJSON(L, []byte(L.CheckString(1)))
		if err != nil {
			L.Push(glua.LNil)
			L.Push(glua.LString("json.decode: " + err.Error()))
			return 2
		}
		L.Push(v)
		return 1
	}))
	return t
}
