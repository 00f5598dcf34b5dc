package tools_test

import (
	"context"
	"testing"

	"github.com/chatboxsdk/chatbox/llm/tools"
)

// BenchmarkInvoke compares a typed tool, whose schema is resolved once, with
// a Tool without Validator, whose schema Invoke resolves on every call.
func BenchmarkInvoke(b *testing.B) {
	const args = `{"item":"tea","quantity":2,"ship_to":{"city":"Oslo"}}`
	typed, err := tools.New("place_order", "Places an order.", func(_ context.Context, in orderInput) (string, error) {
		return in.Item, nil
	})
	if err != nil {
		b.Fatal(err)
	}
	raw := &rawTool{name: "place_order", schema: string(typed.Def().InputSchema)}
	ctx := context.Background()
	for _, bc := range []struct {
		name string
		tool tools.Tool
	}{{"typed", typed}, {"resolve_per_call", raw}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if r := tools.Invoke(ctx, bc.tool, args, 0); r.IsError {
					b.Fatal(r.Content)
				}
			}
		})
	}
}
