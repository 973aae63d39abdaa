package lua

import (
	"strings"
	"testing"

	glua "github.com/yuin/gopher-lua"
)

// The sandbox's pattern functions (on the interruptible luapat matcher)
// give what gopher-lua's own give, except that string.match returns nil,
// as Lua does, where gopher-lua's returns nothing, and a plain find past
// the end gives nil where gopher-lua's fails.
func TestPatternFunctionsMatchGopherLua(t *testing.T) {
	cases := []string{
		`("hello world"):find("o w")`,
		`("hello world"):find("o", 6)`,
		`("hello world"):find("o", -3)`,
		`("hello world"):find("l+")`,
		`("hello world"):find("(h)(e)")`,
		`("hello world"):find("()ll()")`,
		`("hello world"):find("")`,
		`("a.b"):find(".", 1, true)`,
		`("a.b"):find(".", 2, true)`,
		`("hello"):find("xyz")`,
		`("key = value"):match("(%w+)%s*=%s*(%w+)")`,
		`("  trim  "):match("^%s*(.-)%s*$")`,
		`("2d6"):match("^(%d+)d(%d+)$")`,
		`("abc"):match(".", -1)`,
		`("f(a(b)c)"):match("%b()")`,
		`("THE (quick) fox"):find("%f[%a]%a+", 5)`,
		`("hello hello"):match("(h)ello %1")`,
		`(function() local t = {} for w in ("one two  three"):gmatch("%a+") do t[#t+1] = w end return table.concat(t, ",") end)()`,
		`(function() local t = {} for k, v in ("a=1, b=2"):gmatch("(%w+)=(%w+)") do t[#t+1] = k .. v end return table.concat(t, ",") end)()`,
		`(function() local n = 0 for p in ("abc"):gmatch("()") do n = n + p end return n end)()`,
		`("hello world"):gsub("o", "0")`,
		`("hello world"):gsub("(%w+)", "<%1>")`,
		`("hello world"):gsub("%w+", string.upper, 1)`,
		`("$name is $age"):gsub("%$(%w+)", {name = "bob", age = 7})`,
		`pcall(string.find, "x", "[a")`,
		`pcall(string.match, "x", "(()")`,
	}
	ours := newSandbox(&guard{maxString: 1 << 20}, nil)
	defer ours.Close()
	theirs := glua.NewState()
	defer theirs.Close()
	eval := func(L *glua.LState, expr string) string {
		if err := L.DoString(`return tostring(select("#", ` + expr + `)), ` + expr); err != nil {
			return "error: " + err.Error()
		}
		n := L.GetTop()
		parts := make([]string, n)
		for i := 1; i <= n; i++ {
			parts[i-1] = L.Get(i).String()
		}
		L.SetTop(0)
		return strings.Join(parts, " ")
	}
	for _, expr := range cases {
		got, want := eval(ours, expr), eval(theirs, expr)
		if got != want {
			t.Errorf("%s\n got  %s\n want %s", expr, got, want)
		}
	}
	// Where they differ on purpose.
	for expr, want := range map[string]string{
		`("abc"):match("x")`:          "1 nil",
		`("abc"):find("b", 10, true)`: "1 nil",
	} {
		if got := eval(ours, expr); got != want {
			t.Errorf("%s: got %s, want %s", expr, got, want)
		}
	}
}
