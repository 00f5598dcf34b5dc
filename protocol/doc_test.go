package protocol_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestEveryCodeIsDocumented: every error code and close code declared in
// codes.go has its row in PROTOCOL.md's tables, so the two cannot drift.
func TestEveryCodeIsDocumented(t *testing.T) {
	doc, err := os.ReadFile("PROTOCOL.md")
	if err != nil {
		t.Fatal(err)
	}
	f, err := parser.ParseFile(token.NewFileSet(), "codes.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	ast.Inspect(f, func(n ast.Node) bool {
		vs, ok := n.(*ast.ValueSpec)
		if !ok || len(vs.Values) != 1 {
			return true
		}
		lit, ok := vs.Values[0].(*ast.BasicLit)
		if !ok {
			return true
		}
		name := vs.Names[0].Name
		var row string
		switch {
		case strings.HasPrefix(name, "Code") && lit.Kind == token.STRING:
			v, _ := strconv.Unquote(lit.Value)
			row = "| `" + v + "` |"
		case strings.HasPrefix(name, "Close") && lit.Kind == token.INT:
			row = "| " + lit.Value + " |"
		default:
			return true
		}
		found++
		if !strings.Contains(string(doc), row) {
			t.Errorf("%s has no row %q in PROTOCOL.md", name, row)
		}
		return true
	})
	if found < 20 {
		t.Fatalf("only %d codes found in codes.go", found)
	}
}
