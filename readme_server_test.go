package chatbox_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"testing"
)

// TestReadmeProgramBoundsRequestHeaders: the README's host sets
// ReadHeaderTimeout, without which half-sent upgrade requests (slowloris)
// hold a goroutine each for as long as the client likes; and it sets no
// WriteTimeout.
func TestReadmeProgramBoundsRequestHeaders(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "main.go", readmeProgram(t), 0)
	if err != nil {
		t.Fatal(err)
	}
	var servers int
	fields := map[string]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		lit, ok := n.(*ast.CompositeLit)
		if !ok {
			return true
		}
		sel, ok := lit.Type.(*ast.SelectorExpr)
		if !ok || sel.Sel.Name != "Server" {
			return true
		}
		if pkg, ok := sel.X.(*ast.Ident); !ok || pkg.Name != "http" {
			return true
		}
		servers++
		for _, e := range lit.Elts {
			if kv, ok := e.(*ast.KeyValueExpr); ok {
				if k, ok := kv.Key.(*ast.Ident); ok {
					fields[k.Name] = true
				}
			}
		}
		return true
	})
	if servers != 1 {
		t.Fatalf("the README's program builds %d http.Server values, want 1", servers)
	}
	if !fields["ReadHeaderTimeout"] {
		t.Error("the README's http.Server sets no ReadHeaderTimeout: half-sent requests would hold goroutines")
	}
	if fields["WriteTimeout"] {
		t.Error("the README's http.Server sets WriteTimeout")
	}
}
