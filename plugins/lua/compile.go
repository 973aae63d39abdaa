package lua

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	glua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/ast"
	"github.com/yuin/gopher-lua/parse"
)

// program is a script compiled once: the main chunk and, for a folder
// script, the other .lua files of the folder as preloaded modules. Protos
// are read-only and shared by every LState built from them.
type program struct {
	id      string
	path    string // the .lua file or the folder, as given
	dir     bool
	main    *glua.FunctionProto
	modules map[string]*glua.FunctionProto // by module name: "util", "lib.dice"
	files   []string                       // every source file read
}

var scriptIDRe = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]*$`)

// scriptID returns the plugin ID of a script path: the file name without
// ".lua", or the folder name.
func scriptID(path string) (string, error) {
	base := filepath.Base(filepath.Clean(path))
	id := strings.TrimSuffix(base, ".lua")
	if !scriptIDRe.MatchString(id) {
		return "", fmt.Errorf("lua: script %s: its name %q is not a valid plugin ID (use lowercase letters, digits, '-', '_' and '.', starting with a letter or digit)", path, id)
	}
	return id, nil
}

// isTestFile reports whether name is a Lua test file (*_test.lua).
func isTestFile(name string) bool { return strings.HasSuffix(name, "_test.lua") }

// compileScript reads and compiles a script. Every syntax error of every
// file is reported, each as "file:line: message".
func compileScript(path string) (*program, error) {
	id, err := scriptID(path)
	if err != nil {
		return nil, err
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("lua: script %s: %w", path, err)
	}
	p := &program{id: id, path: path, dir: fi.IsDir(), modules: map[string]*glua.FunctionProto{}}
	if !p.dir {
		proto, err := compileFile(path)
		p.files = append(p.files, path)
		if err != nil {
			return nil, err
		}
		p.main = proto
		return p, nil
	}
	initPath := filepath.Join(path, "init.lua")
	if _, err := os.Stat(initPath); err != nil {
		return nil, fmt.Errorf("lua: script folder %s has no init.lua", path)
	}
	var errs []error
	err = filepath.WalkDir(path, func(file string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !strings.HasSuffix(file, ".lua") || isTestFile(d.Name()) {
			return nil
		}
		rel, _ := filepath.Rel(path, file)
		mod := strings.ReplaceAll(strings.TrimSuffix(filepath.ToSlash(rel), ".lua"), "/", ".")
		mod = strings.TrimSuffix(mod, ".init")
		proto, cerr := compileFile(file)
		p.files = append(p.files, file)
		if cerr != nil {
			errs = append(errs, cerr)
			return nil
		}
		if mod == "init" {
			p.main = proto
		} else {
			p.modules[mod] = proto
		}
		return nil
	})
	if err != nil {
		errs = append(errs, fmt.Errorf("lua: script folder %s: %w", path, err))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	sort.Strings(p.files)
	return p, nil
}

// compileFile parses, rewrites (bounded concatenation) and compiles one
// file.
func compileFile(file string) (*glua.FunctionProto, error) {
	src, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("lua: %w", err)
	}
	return compileSource(src, file)
}

// compileSource compiles src; name is the chunk name shown in errors and
// tracebacks (the file path).
func compileSource(src []byte, name string) (*glua.FunctionProto, error) {
	chunk, err := parse.Parse(bytes.NewReader(src), name)
	if err != nil {
		err := syntaxError(name, err)
		if se, ok := err.(*SyntaxError); ok && se.Line == 0 {
			// At the end of the file: point at its last line.
			se.Line = bytes.Count(bytes.TrimRight(src, "\n"), []byte("\n")) + 1
			se.Message = "unexpected end of file (a missing 'end' or ')'?)"
		}
		return nil, err
	}
	chunk = rewriteChunk(chunk)
	proto, err := glua.Compile(chunk, name)
	if err != nil {
		var ce *glua.CompileError
		if errors.As(err, &ce) {
			return nil, &SyntaxError{File: name, Line: ce.Line, Message: ce.Message}
		}
		return nil, &SyntaxError{File: name, Message: err.Error()}
	}
	return proto, nil
}

// SyntaxError is a script that does not compile.
type SyntaxError struct {
	File    string
	Line    int // 0 when unknown (end of file)
	Column  int
	Message string
}

func (e *SyntaxError) Error() string {
	if e.Line <= 0 {
		return fmt.Sprintf("%s: %s", e.File, e.Message)
	}
	return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Message)
}

func syntaxError(name string, err error) error {
	var pe *parse.Error
	if errors.As(err, &pe) {
		msg := strings.TrimSpace(pe.Message)
		if pe.Pos.Line == parse.EOF {
			return &SyntaxError{File: name, Message: msg}
		}
		if pe.Token != "" {
			msg += fmt.Sprintf(" near '%s'", pe.Token)
		}
		return &SyntaxError{File: name, Line: pe.Pos.Line, Column: pe.Pos.Column, Message: msg}
	}
	return &SyntaxError{File: name, Message: strings.TrimSpace(err.Error())}
}

// catName is the hidden local through which every `..` of a script goes:
// it cannot be written in Lua source, so scripts cannot shadow it, and the
// function it holds caps the length of the strings it makes.
const catName = "\x00cat"

// rewriteChunk makes every string concatenation a call of the bounded
// concatenation function: `a .. b .. c` becomes `cat(a, b, c)`. The VM's
// own CONCAT is a single instruction that the time budget cannot
// interrupt, and doubling a string 30 times makes a gigabyte.
func rewriteChunk(chunk []ast.Stmt) []ast.Stmt {
	rw := rewriter{}
	rw.stmts(chunk)
	if !rw.used {
		return chunk
	}
	decl := &ast.LocalAssignStmt{Names: []string{catName}, Exprs: []ast.Expr{&ast.IdentExpr{Value: catName}}}
	if len(chunk) > 0 {
		decl.SetLine(chunk[0].Line())
		decl.SetLastLine(chunk[0].Line())
	}
	return append([]ast.Stmt{decl}, chunk...)
}

type rewriter struct{ used bool }

func (rw *rewriter) stmts(list []ast.Stmt) {
	for _, s := range list {
		rw.stmt(s)
	}
}

func (rw *rewriter) exprs(list []ast.Expr) {
	for i := range list {
		list[i] = rw.expr(list[i])
	}
}

func (rw *rewriter) stmt(s ast.Stmt) {
	switch s := s.(type) {
	case *ast.AssignStmt:
		rw.exprs(s.Lhs)
		rw.exprs(s.Rhs)
	case *ast.LocalAssignStmt:
		rw.exprs(s.Exprs)
	case *ast.FuncCallStmt:
		s.Expr = rw.expr(s.Expr)
	case *ast.DoBlockStmt:
		rw.stmts(s.Stmts)
	case *ast.WhileStmt:
		s.Condition = rw.expr(s.Condition)
		rw.stmts(s.Stmts)
	case *ast.RepeatStmt:
		rw.stmts(s.Stmts)
		s.Condition = rw.expr(s.Condition)
	case *ast.IfStmt:
		s.Condition = rw.expr(s.Condition)
		rw.stmts(s.Then)
		rw.stmts(s.Else)
	case *ast.NumberForStmt:
		s.Init = rw.expr(s.Init)
		s.Limit = rw.expr(s.Limit)
		if s.Step != nil {
			s.Step = rw.expr(s.Step)
		}
		rw.stmts(s.Stmts)
	case *ast.GenericForStmt:
		rw.exprs(s.Exprs)
		rw.stmts(s.Stmts)
	case *ast.FuncDefStmt:
		if s.Name != nil {
			if s.Name.Func != nil {
				s.Name.Func = rw.expr(s.Name.Func)
			}
			if s.Name.Receiver != nil {
				s.Name.Receiver = rw.expr(s.Name.Receiver)
			}
		}
		rw.expr(s.Func)
	case *ast.ReturnStmt:
		rw.exprs(s.Exprs)
	}
}

func (rw *rewriter) expr(e ast.Expr) ast.Expr {
	switch e := e.(type) {
	case nil:
		return nil
	case *ast.StringConcatOpExpr:
		// a .. (b .. c): gather the right-nested chain into one call, as
		// the VM gathers it into one CONCAT.
		var operands []ast.Expr
		var cur ast.Expr = e
		for {
			c, ok := cur.(*ast.StringConcatOpExpr)
			if !ok {
				operands = append(operands, rw.expr(cur))
				break
			}
			operands = append(operands, rw.expr(c.Lhs))
			cur = c.Rhs
		}
		rw.used = true
		fn := &ast.IdentExpr{Value: catName}
		fn.SetLine(e.Line())
		fn.SetLastLine(e.LastLine())
		call := &ast.FuncCallExpr{Func: fn, Args: operands, AdjustRet: true}
		call.SetLine(e.Line())
		call.SetLastLine(e.LastLine())
		return call
	case *ast.AttrGetExpr:
		e.Object = rw.expr(e.Object)
		e.Key = rw.expr(e.Key)
	case *ast.TableExpr:
		for _, f := range e.Fields {
			f.Key = rw.expr(f.Key)
			f.Value = rw.expr(f.Value)
		}
	case *ast.FuncCallExpr:
		e.Func = rw.expr(e.Func)
		e.Receiver = rw.expr(e.Receiver)
		rw.exprs(e.Args)
	case *ast.LogicalOpExpr:
		e.Lhs = rw.expr(e.Lhs)
		e.Rhs = rw.expr(e.Rhs)
	case *ast.RelationalOpExpr:
		e.Lhs = rw.expr(e.Lhs)
		e.Rhs = rw.expr(e.Rhs)
	case *ast.ArithmeticOpExpr:
		e.Lhs = rw.expr(e.Lhs)
		e.Rhs = rw.expr(e.Rhs)
	case *ast.UnaryMinusOpExpr:
		e.Expr = rw.expr(e.Expr)
	case *ast.UnaryNotOpExpr:
		e.Expr = rw.expr(e.Expr)
	case *ast.UnaryLenOpExpr:
		e.Expr = rw.expr(e.Expr)
	case *ast.FunctionExpr:
		rw.stmts(e.Stmts)
	}
	return e
}
