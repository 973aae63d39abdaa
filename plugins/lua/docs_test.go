package lua

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	glua "github.com/yuin/gopher-lua"
)

// The examples of docs/lua.md work: every Lua script block loads in a
// bot, and every test block passes against the script block before it
// (or the scripts/ file its first line names).
func TestDocsExamples(t *testing.T) {
	src, err := os.ReadFile("../../docs/lua.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```lua\n(.*?)```").FindAllStringSubmatch(string(src), -1)
	if len(blocks) < 15 {
		t.Fatalf("only %d Lua blocks in docs/lua.md", len(blocks))
	}
	named := regexp.MustCompile(`^-- (\w+)_test\.lua: tests (\w+)\.lua`)
	dir := t.TempDir()
	tests := map[string]string{}
	var scripts []string
	for _, b := range blocks {
		code := dedent(b[1])
		switch {
		case named.MatchString(code):
			m := named.FindStringSubmatch(code)
			sub := filepath.Join(dir, "lib")
			os.MkdirAll(sub, 0o755)
			lib, err := os.ReadFile(filepath.Join("../../scripts", m[2]+".lua"))
			if err != nil {
				t.Fatal(err)
			}
			writeScripts(t, sub, m[2]+".lua", string(lib), m[1]+"_test.lua", code)
		case strings.Contains(code, "function test_"):
			if len(scripts) == 0 {
				t.Fatalf("a test block before any script block:\n%s", code)
			}
			last := scripts[len(scripts)-1]
			tests[last] += code + "\n"
		case strings.Contains(code, `require("jimbot")`):
			name := fmt.Sprintf("doc%02d", len(scripts)+1)
			scripts = append(scripts, name)
			writeScripts(t, dir, name+".lua", code)
		default:
			if _, err := compileSource([]byte(code), "docs"); err != nil {
				t.Errorf("a Lua block does not compile: %v\n%s", err, code)
			}
		}
	}
	for _, name := range scripts {
		code := tests[name]
		if code == "" {
			code = "function test_loads(t)\n  t:send_as(\"alice\", \"/no-such-command\")\nend\n"
		}
		writeScripts(t, dir, name+"_test.lua", code)
	}
	var out strings.Builder
	sum, err := RunTests(t.Context(), []string{dir}, &out)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Failed > 0 || sum.Passed == 0 {
		t.Errorf("doc examples: %d passed, %d failed\n%s", sum.Passed, sum.Failed, out.String())
	}
}

func dedent(s string) string {
	lines := strings.Split(s, "\n")
	min := -1
	for _, l := range lines {
		if strings.TrimSpace(l) == "" {
			continue
		}
		n := len(l) - len(strings.TrimLeft(l, " "))
		if min < 0 || n < min {
			min = n
		}
	}
	for i, l := range lines {
		if len(l) >= min && min > 0 {
			lines[i] = l[min:]
		}
	}
	return strings.Join(lines, "\n")
}

// Every function and field of the API is in the annotation file.
func TestAnnotationsCoverTheAPI(t *testing.T) {
	ann, err := os.ReadFile("jimbot_v1.lua")
	if err != nil {
		t.Fatal(err)
	}
	paths := writeScripts(t, t.TempDir(), "api.lua", `local bot = require("jimbot")
bot.command("x", function(ctx) end)`)
	k, ps := kitWith(t, Options{Scripts: paths})
	_ = k
	rt := ps[0].(*Script).rt
	var names []string
	rt.do(func() {
		L := rt.cur.L
		mod := L.GetField(L.GetField(L.GetField(L.Get(glua.GlobalsIndex), "package"), "loaded"), "jimbot")
		if mod == glua.LNil {
			mod = L.GetField(L.GetField(L.GetField(L.Get(glua.GlobalsIndex), "package"), "preload"), "jimbot")
		}
		tbl, _ := mod.(*glua.LTable)
		if tbl == nil {
			return
		}
		tbl.ForEach(func(k, v glua.LValue) {
			names = append(names, "bot."+k.String())
			if sub, ok := v.(*glua.LTable); ok && k.String() != "config" && k.String() != "self" {
				sub.ForEach(func(k2, _ glua.LValue) {
					prefix := map[string]string{"store": "Store.", "log": "Log.", "json": "JSON.", "time": "Time."}[k.String()]
					names = append(names, prefix+k2.String())
				})
			}
		})
		rt.cur.ctx.tbl.ForEach(func(k, _ glua.LValue) {
			if k.String() != "text" && k.String() != "kind" {
				names = append(names, "Ctx:"+k.String())
			}
		})
	})
	if len(names) < 20 {
		t.Fatalf("found only %v", names)
	}
	for _, f := range lazyFields {
		names = append(names, "@field "+f)
	}
	names = append(names, "@field text", "@field kind")
	for _, n := range names {
		want := n
		switch {
		case strings.HasPrefix(n, "bot."):
			field := strings.TrimPrefix(n, "bot.")
			if !strings.Contains(string(ann), "function bot."+field+"(") && !strings.Contains(string(ann), "---@field "+field+" ") {
				t.Errorf("jimbot_v1.lua does not describe %s", n)
			}
			continue
		case strings.HasPrefix(n, "@field "):
			want = "---" + n
		default:
			want = "function " + n + "("
		}
		if !strings.Contains(string(ann), want) {
			t.Errorf("jimbot_v1.lua does not describe %s (looked for %q)", n, want)
		}
	}
}
