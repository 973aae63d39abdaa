package config

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/jimbot/jimbot/bot"
)

// meta is what parsing learned about the file, for Validate's messages.
type meta struct {
	file string
	// lines maps a key's dotted path (plugins[2].id) to its line.
	lines map[string]int
	// bad holds the paths that failed to decode; Validate says nothing
	// more about them or below them.
	bad map[string]bool
	// scripts are lua.scripts as written, before resolution.
	scripts []string
}

// line returns the line of path, or of its nearest ancestor in the file.
func (m *meta) line(path string) int {
	if m == nil {
		return 0
	}
	for p := path; p != ""; p = parent(p) {
		if l, ok := m.lines[p]; ok {
			return l
		}
	}
	return 0
}

// isBad reports whether path or an ancestor failed to decode.
func (m *meta) isBad(path string) bool {
	if m == nil {
		return false
	}
	for p := path; p != ""; p = parent(p) {
		if m.bad[p] {
			return true
		}
	}
	return false
}

// parent returns "a.b" for "a.b.c" and "a.b" for "a.b[2]".
func parent(p string) string {
	i := strings.LastIndexAny(p, ".[")
	if i < 0 {
		return ""
	}
	return p[:i]
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// decoder walks the YAML node tree onto a Config by reflection, on the
// yaml struct tags, collecting every problem with its path and line.
type decoder struct {
	m    *meta
	errs Errors
}

func (d *decoder) fail(path string, line int, format string, args ...any) {
	d.errs = append(d.errs, &Error{Path: path, Line: line, Msg: fmt.Sprintf(format, args...)})
	d.m.bad[path] = true
}

var (
	unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()
	settingsType    = reflect.TypeFor[bot.Settings]()
	pluginType      = reflect.TypeFor[Plugin]()
)

// decode sets v from n. Null values leave v as it is (its default).
func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) {
	n = deref(n)
	if isNull(n) {
		return
	}
	if v.CanAddr() && v.Addr().Type().Implements(unmarshalerType) {
		if err := v.Addr().Interface().(yaml.Unmarshaler).UnmarshalYAML(n); err != nil {
			d.fail(path, n.Line, "%s", err.Error())
		}
		return
	}
	if v.Type() == settingsType {
		if n.Kind != yaml.MappingNode {
			d.fail(path, n.Line, "must be a mapping, not %s", describe(n))
			return
		}
		if m, ok := d.toAny(n, path).(map[string]any); ok {
			v.Set(reflect.ValueOf(bot.Settings(m)))
		}
		return
	}
	if v.Type() == pluginType && n.Kind == yaml.ScalarNode {
		// "- ping" is short for "- id: ping".
		v.Set(reflect.ValueOf(Plugin{ID: n.Value}))
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		d.decodeStruct(n, v, path)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.fail(path, n.Line, "must be a list, not %s", describe(n))
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, item := range n.Content {
			p := fmt.Sprintf("%s[%d]", path, i)
			d.m.lines[p] = item.Line
			d.decode(item, s.Index(i), p)
		}
		v.Set(s)
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			d.fail(path, n.Line, "must be a mapping, not %s", describe(n))
			return
		}
		m := reflect.MakeMap(v.Type())
		for _, e := range d.entries(n, path) {
			p := join(path, e.k.Value)
			d.m.lines[p] = e.k.Line
			elem := reflect.New(v.Type().Elem()).Elem()
			d.decode(e.v, elem, p)
			m.SetMapIndex(reflect.ValueOf(e.k.Value), elem)
		}
		v.Set(m)
	case reflect.Pointer:
		before := len(d.errs)
		e := reflect.New(v.Type().Elem())
		d.decode(n, e.Elem(), path)
		if len(d.errs) == before {
			v.Set(e)
		}
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			d.fail(path, n.Line, "must be text, not %s", describe(n))
			return
		}
		v.SetString(n.Value)
	case reflect.Int, reflect.Int64:
		var i int64
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || n.Decode(&i) != nil {
			d.fail(path, n.Line, "must be an integer, not %s", describe(n))
			return
		}
		v.SetInt(i)
	case reflect.Float64:
		var f float64
		if n.Kind != yaml.ScalarNode || (n.ShortTag() != "!!int" && n.ShortTag() != "!!float") || n.Decode(&f) != nil {
			d.fail(path, n.Line, "must be a number, not %s", describe(n))
			return
		}
		v.SetFloat(f)
	case reflect.Bool:
		var b bool
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" || n.Decode(&b) != nil {
			d.fail(path, n.Line, "must be true or false, not %s", describe(n))
			return
		}
		v.SetBool(b)
	default:
		panic("config: no decoder for " + v.Type().String())
	}
}

// decodeStruct sets the fields of v from the mapping n, by yaml tag.
// Unknown keys are errors, with a suggestion when one is close; keys
// starting with "x-" are ignored (room for YAML anchors).
func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.fail(path, n.Line, "must be a mapping, not %s", describe(n))
		return
	}
	names, index := fieldsOf(v.Type())
	present := map[string]bool{}
	var suggested []string
	for _, e := range d.entries(n, path) {
		key := e.k.Value
		p := join(path, key)
		d.m.lines[p] = e.k.Line
		i, ok := index[key]
		if !ok {
			if strings.HasPrefix(key, "x-") {
				continue
			}
			if s := suggest(key, names); s != "" {
				d.fail(p, e.k.Line, "unknown key (did you mean %s?)", s)
				suggested = append(suggested, s)
			} else {
				d.fail(p, e.k.Line, "unknown key (known: %s)", strings.Join(names, ", "))
			}
			continue
		}
		present[key] = true
		d.decode(e.v, v.Field(i), p)
	}
	// A misspelt key is one problem: don't also report the key it was
	// meant to be as missing.
	for _, s := range suggested {
		if !present[s] {
			d.m.bad[join(path, s)] = true
		}
	}
}

// fieldsOf returns the yaml keys of t's fields, in order, and their
// field indexes.
func fieldsOf(t reflect.Type) ([]string, map[string]int) {
	var names []string
	index := map[string]int{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if !f.IsExported() || name == "" || name == "-" {
			continue
		}
		names = append(names, name)
		index[name] = i
	}
	return names, index
}

type entry struct{ k, v *yaml.Node }

// entries returns the key/value pairs of mapping n, applying merge keys
// ("<<: *anchor") and reporting duplicate and non-text keys.
func (d *decoder) entries(n *yaml.Node, path string) []entry {
	var own, merged []entry
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			merged = append(merged, d.mergeEntries(v, path)...)
			continue
		}
		if k.Kind != yaml.ScalarNode || isNull(k) {
			d.fail(path, k.Line, "keys must be text, not %s", describe(k))
			continue
		}
		if first, dup := seen[k.Value]; dup {
			d.fail(join(path, k.Value), k.Line, "duplicate key (first at line %d)", first)
			continue
		}
		seen[k.Value] = k.Line
		own = append(own, entry{k, v})
	}
	var out []entry
	for _, e := range merged {
		if _, ok := seen[e.k.Value]; !ok {
			seen[e.k.Value] = e.k.Line
			out = append(out, e)
		}
	}
	return append(out, own...)
}

// mergeEntries returns the entries a merge key brings in: those of a
// mapping, or of a list of mappings (earlier ones win).
func (d *decoder) mergeEntries(v *yaml.Node, path string) []entry {
	v = deref(v)
	switch v.Kind {
	case yaml.MappingNode:
		return d.entries(v, path)
	case yaml.SequenceNode:
		var out []entry
		for _, item := range v.Content {
			item = deref(item)
			if item.Kind != yaml.MappingNode {
				d.fail(join(path, "<<"), item.Line, "must be a mapping or a list of mappings, not %s", describe(item))
				continue
			}
			out = append(out, d.entries(item, path)...)
		}
		return out
	}
	d.fail(join(path, "<<"), v.Line, "must be a mapping or a list of mappings, not %s", describe(v))
	return nil
}

// toAny converts n to plain Go values for bot.Settings: mappings become
// map[string]any (so settings survive JSON), lists []any.
func (d *decoder) toAny(n *yaml.Node, path string) any {
	n = deref(n)
	switch n.Kind {
	case yaml.MappingNode:
		m := map[string]any{}
		for _, e := range d.entries(n, path) {
			m[e.k.Value] = d.toAny(e.v, join(path, e.k.Value))
		}
		return m
	case yaml.SequenceNode:
		s := make([]any, len(n.Content))
		for i, item := range n.Content {
			s[i] = d.toAny(item, fmt.Sprintf("%s[%d]", path, i))
		}
		return s
	}
	var v any
	if err := n.Decode(&v); err != nil {
		d.fail(path, n.Line, "%v", err)
	}
	return v
}

// deref follows aliases.
func deref(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// describe names a value in a type error: a mapping, a list, "text", 12.
func describe(n *yaml.Node) string {
	n = deref(n)
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	switch n.ShortTag() {
	case "!!str":
		return strconv.Quote(n.Value)
	case "!!null":
		return "null"
	}
	return n.Value
}
