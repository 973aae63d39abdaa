package bot

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// ArgType is the type of a command argument or option.
type ArgType uint8

// Argument types.
const (
	// ArgString is any text (the default).
	ArgString ArgType = iota
	// ArgInt is a whole number.
	ArgInt
	// ArgFloat is a number.
	ArgFloat
	// ArgDuration is a duration such as 10m, 1h30m or 2d.
	ArgDuration
	// ArgBool is true/false, yes/no, on/off or 1/0.
	ArgBool
	// ArgUser is a username, with or without a leading @.
	ArgUser
)

var argTypeNames = [...]string{"text", "integer", "number", "duration", "bool", "user"}

// String returns the type's name as shown in usage errors.
func (t ArgType) String() string {
	if int(t) < len(argTypeNames) {
		return argTypeNames[t]
	}
	return "arg"
}

// ParseArgType parses a type name: string|text, int|integer,
// float|number, duration, bool, user.
func ParseArgType(s string) (ArgType, error) {
	switch s {
	case "", "string", "text", "str":
		return ArgString, nil
	case "int", "integer":
		return ArgInt, nil
	case "float", "number":
		return ArgFloat, nil
	case "duration":
		return ArgDuration, nil
	case "bool", "boolean":
		return ArgBool, nil
	case "user":
		return ArgUser, nil
	}
	return 0, fmt.Errorf("unknown argument type %q (want string, int, float, duration, bool or user)", s)
}

// Arg declares a positional argument of a command.
type Arg struct {
	Name string
	Type ArgType
	// Optional arguments may be left out; Default is used then.
	Optional bool
	Default  string
	// Variadic takes every remaining token (it must be last).
	Variadic bool
	// Rest takes the rest of the line verbatim, quotes and spacing
	// included (it must be last).
	Rest bool
	Help string
}

// Flag declares an option: --name value, --name=value or -s value; a bool
// option takes no value.
type Flag struct {
	Name    string
	Short   string
	Type    ArgType
	Default string
	Help    string
}

// Args are a command's parsed arguments and options.
type Args struct {
	raw    []string
	text   string
	values map[string]any
	set    map[string]bool
}

// Raw returns the positional tokens as typed (quotes removed).
func (a *Args) Raw() []string { return a.raw }

// Text returns everything after the command name, verbatim.
func (a *Args) Text() string { return a.text }

// Has reports whether the argument or option was given (not defaulted).
func (a *Args) Has(name string) bool { return a.set[name] }

// String returns an argument or option as text.
func (a *Args) String(name string) string {
	switch v := a.values[name].(type) {
	case string:
		return v
	case []string:
		return strings.Join(v, " ")
	case nil:
		return ""
	default:
		return fmt.Sprint(v)
	}
}

// Int returns an integer argument or option (0 if absent).
func (a *Args) Int(name string) int64 { v, _ := a.values[name].(int64); return v }

// Float returns a number argument or option (0 if absent).
func (a *Args) Float(name string) float64 { v, _ := a.values[name].(float64); return v }

// Duration returns a duration argument or option (0 if absent).
func (a *Args) Duration(name string) time.Duration { v, _ := a.values[name].(time.Duration); return v }

// Bool returns a bool argument or option (false if absent).
func (a *Args) Bool(name string) bool { v, _ := a.values[name].(bool); return v }

// Strings returns a variadic argument's values.
func (a *Args) Strings(name string) []string {
	switch v := a.values[name].(type) {
	case []string:
		return v
	case string:
		return []string{v}
	}
	return nil
}

// Value returns the typed value (string, int64, float64, time.Duration,
// bool or []string), or nil.
func (a *Args) Value(name string) any { return a.values[name] }

// token is one word of a command line and where it starts.
type token struct {
	text  string
	start int
}

// tokenize splits s shell-style: whitespace separates, "double" and
// 'single' quotes group, and a backslash escapes the next character inside
// double quotes or outside quotes.
func tokenize(s string) ([]token, error) {
	var out []token
	var b strings.Builder
	in := false
	start := 0
	var quote rune
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case quote != 0:
			switch {
			case r == quote:
				quote = 0
			case r == '\\' && quote == '"' && i+n < len(s):
				r2, n2 := utf8.DecodeRuneInString(s[i+n:])
				b.WriteRune(r2)
				i += n + n2
				continue
			default:
				b.WriteRune(r)
			}
		case unicode.IsSpace(r):
			if in {
				out = append(out, token{b.String(), start})
				b.Reset()
				in = false
			}
		case r == '"' || r == '\'' || r == '“' || r == '”':
			if !in {
				in, start = true, i
			}
			quote = r
			if r == '“' {
				quote = '”'
			}
		case r == '\\' && i+n < len(s):
			if !in {
				in, start = true, i
			}
			r2, n2 := utf8.DecodeRuneInString(s[i+n:])
			b.WriteRune(r2)
			i += n + n2
			continue
		default:
			if !in {
				in, start = true, i
			}
			b.WriteRune(r)
		}
		i += n
	}
	if quote != 0 {
		return nil, errors.New("unclosed quote")
	}
	if in {
		out = append(out, token{b.String(), start})
	}
	return out, nil
}

// ParseDuration parses 90s, 10m, 1h30m, 2d and 1w (days and weeks are 24h
// and 7d), and plain seconds.
func ParseDuration(s string) (time.Duration, error) {
	if s == "" {
		return 0, errors.New("empty duration")
	}
	if n, err := strconv.ParseFloat(s, 64); err == nil {
		return time.Duration(n * float64(time.Second)), nil
	}
	var total time.Duration
	rest := s
	for rest != "" {
		i := 0
		for i < len(rest) && (rest[i] >= '0' && rest[i] <= '9' || rest[i] == '.') {
			i++
		}
		if i == 0 {
			return 0, fmt.Errorf("bad duration %q (try 90s, 10m, 1h30m or 2d)", s)
		}
		num, err := strconv.ParseFloat(rest[:i], 64)
		if err != nil {
			return 0, fmt.Errorf("bad duration %q", s)
		}
		j := i
		for j < len(rest) && (rest[j] < '0' || rest[j] > '9') && rest[j] != '.' {
			j++
		}
		var unit time.Duration
		switch rest[i:j] {
		case "ms":
			unit = time.Millisecond
		case "s", "sec", "secs":
			unit = time.Second
		case "m", "min", "mins":
			unit = time.Minute
		case "h", "hr", "hrs":
			unit = time.Hour
		case "d", "day", "days":
			unit = 24 * time.Hour
		case "w", "week", "weeks":
			unit = 7 * 24 * time.Hour
		default:
			return 0, fmt.Errorf("bad duration %q: unknown unit %q", s, rest[i:j])
		}
		total += time.Duration(num * float64(unit))
		rest = rest[j:]
	}
	return total, nil
}

func parseBool(s string) (bool, error) {
	switch strings.ToLower(s) {
	case "1", "true", "yes", "y", "on":
		return true, nil
	case "0", "false", "no", "n", "off":
		return false, nil
	}
	return false, fmt.Errorf("%q is not yes/no", s)
}

func convert(t ArgType, s string) (any, error) {
	switch t {
	case ArgInt:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not an integer", s)
		}
		return n, nil
	case ArgFloat:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not a number", s)
		}
		return f, nil
	case ArgDuration:
		return ParseDuration(s)
	case ArgBool:
		return parseBool(s)
	case ArgUser:
		u := strings.TrimPrefix(s, "@")
		if u == "" {
			return nil, errors.New("empty username")
		}
		return u, nil
	}
	return s, nil
}

// UsageError is returned when a command's arguments do not fit its
// declaration; the router answers it with the command's usage.
type UsageError struct {
	Command string
	Problem string
	Usage   string
}

func (e *UsageError) Error() string { return e.Problem }

// parseArgs fills a from text according to cmd's declaration.
func parseArgs(spec *Command, text string, a *Args) error {
	a.text = text
	a.values = nil
	a.set = nil
	toks, err := tokenize(text)
	if err != nil {
		return err
	}
	if len(spec.Args) == 0 && len(spec.Flags) == 0 {
		for _, t := range toks {
			a.raw = append(a.raw, t.text)
		}
		return nil
	}
	a.values = make(map[string]any, len(spec.Args)+len(spec.Flags))
	a.set = make(map[string]bool, len(spec.Args)+len(spec.Flags))
	var pos []token
	flagsDone := false
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		if n := len(pos); n < len(spec.Args) && spec.Args[n].Rest && !(strings.HasPrefix(t.text, "-") && !flagsDone && len(spec.Flags) > 0 && !isNumber(t.text)) {
			// Everything from here on is the rest argument, verbatim.
			pos = append(pos, t)
			break
		}
		if flagsDone || len(spec.Flags) == 0 || !strings.HasPrefix(t.text, "-") || t.text == "-" || isNumber(t.text) {
			pos = append(pos, t)
			continue
		}
		if t.text == "--" {
			flagsDone = true
			continue
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(t.text, "-"), "=")
		f := spec.flag(name, !strings.HasPrefix(t.text, "--"))
		if f == nil {
			return fmt.Errorf("unknown option %s", t.text)
		}
		if !hasValue && f.Type != ArgBool {
			if i+1 >= len(toks) {
				return fmt.Errorf("option --%s needs a %s", f.Name, f.Type)
			}
			i++
			value = toks[i].text
		} else if !hasValue {
			value = "true"
		}
		v, err := convert(f.Type, value)
		if err != nil {
			return fmt.Errorf("option --%s: %v", f.Name, err)
		}
		a.values[f.Name], a.set[f.Name] = v, true
	}
	for _, t := range pos {
		a.raw = append(a.raw, t.text)
	}
	for _, f := range spec.Flags {
		if _, ok := a.values[f.Name]; !ok && f.Default != "" {
			v, err := convert(f.Type, f.Default)
			if err == nil {
				a.values[f.Name] = v
			}
		}
	}
	for i, arg := range spec.Args {
		switch {
		case arg.Rest:
			if i < len(pos) {
				a.values[arg.Name], a.set[arg.Name] = text[pos[i].start:], true
			}
		case arg.Variadic:
			var vs []string
			for _, t := range pos[min(i, len(pos)):] {
				if _, err := convert(arg.Type, t.text); err != nil {
					return fmt.Errorf("%s: %v", arg.Name, err)
				}
				vs = append(vs, strings.TrimPrefix(t.text, "@"))
			}
			if len(vs) > 0 {
				a.values[arg.Name], a.set[arg.Name] = vs, true
			}
		case i < len(pos):
			v, err := convert(arg.Type, pos[i].text)
			if err != nil {
				return fmt.Errorf("%s: %v", arg.Name, err)
			}
			a.values[arg.Name], a.set[arg.Name] = v, true
		}
		if !a.set[arg.Name] {
			if !arg.Optional && !arg.Variadic {
				return fmt.Errorf("missing %s", arg.Name)
			}
			if arg.Default != "" {
				v, err := convert(arg.Type, arg.Default)
				if err == nil {
					a.values[arg.Name] = v
				}
			}
		}
	}
	if n := len(spec.Args); n > 0 && !spec.Args[n-1].Variadic && !spec.Args[n-1].Rest && len(pos) > n {
		return fmt.Errorf("too many arguments (%d, at most %d)", len(pos), n)
	}
	return nil
}

func isNumber(s string) bool {
	_, err := strconv.ParseFloat(s, 64)
	return err == nil
}
