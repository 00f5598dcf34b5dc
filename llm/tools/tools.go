// Package tools holds the tools a model may call through chatbox: the Tool
// contract, a typed constructor that derives a tool's JSON Schema from a Go
// type, and Invoke, which runs one call safely.
//
// A tool runs on the server, in the reply that asked for it, with a context
// that carries the Caller (the user, the conversation, the call) so the tool
// can check permissions. Give tools to the Server with chatbox.WithTools.
package tools

import (
	"context"
	"encoding/json"
	"time"

	"github.com/chatboxsdk/chatbox/llm"
)

// Tool is a function the model may call. Implementations must be safe for
// concurrent use: one reply may run several calls at once.
type Tool interface {
	// Def declares the tool to the model: its name, description and the
	// JSON Schema of its arguments.
	Def() llm.ToolDef
	// NeedsApproval reports whether a person must approve each call
	// before it runs.
	NeedsApproval() bool
	// Timeout bounds one call; zero means the server's default.
	Timeout() time.Duration
	// Call runs the tool with arguments that Invoke has validated against
	// the schema. The returned text goes back to the model; an error goes
	// back as an error result (see Invoke).
	Call(ctx context.Context, arguments json.RawMessage) (string, error)
}

// Source supplies a list of tools that may change while the Server runs
// (the tools of an MCP server). Tools is called once per model step and
// must be cheap and safe for concurrent use.
type Source interface {
	Tools() []Tool
}

// Caller identifies who a call runs for.
type Caller struct {
	UserID         string
	Roles          []string
	ConversationID string
	ReplyID        string
	CallID         string
}

type callerKey struct{}

// WithCaller returns a context carrying c; the Server sets it on every
// call's context.
func WithCaller(ctx context.Context, c Caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

// CallerFrom returns the Caller of a call's context.
func CallerFrom(ctx context.Context) (Caller, bool) {
	c, ok := ctx.Value(callerKey{}).(Caller)
	return c, ok
}
