// Package tools holds the tools a model may call through chatbox: the Tool
// contract, a typed constructor that derives a tool's JSON Schema from a Go
// type (New), Invoke, which runs one call safely, and Collect, which puts
// the tools of a request together.
//
// A tool runs on the server, in the reply that asked for it, with a context
// that carries the Caller (the user, the conversation, the call) so the tool
// can check permissions. Give tools to the Server with chatbox.WithTools.
package tools

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
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

// Validator is implemented by a tool that validates its own arguments,
// usually against a schema it resolved once. Invoke uses it instead of
// resolving Def().InputSchema on every call (BenchmarkInvoke: 0.26 ms and
// 60 KB per call for a small schema, against 0.03 ms with a Validator). ValidateArguments must agree with the
// tool's InputSchema and be safe for concurrent use. Tools made by New and
// by the MCP adapter implement it.
type Validator interface {
	// ValidateArguments checks args, a decoded JSON object, and returns
	// an error that says briefly what is wrong.
	ValidateArguments(args map[string]any) error
}

// MaxNameBytes is the longest tool name accepted.
const MaxNameBytes = 64

// ErrInvalidName reports a tool name that providers refuse.
var ErrInvalidName = errors.New("tools: invalid tool name")

// ValidateName reports whether name is a valid tool name: 1 to
// MaxNameBytes bytes of ASCII letters, digits, '_' and '-'. The error wraps
// ErrInvalidName.
func ValidateName(name string) error {
	if name == "" || len(name) > MaxNameBytes {
		return fmt.Errorf("%w %q: must be 1 to %d bytes", ErrInvalidName, name, MaxNameBytes)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return fmt.Errorf("%w %q: only letters, digits, '_' and '-' are allowed", ErrInvalidName, name)
		}
	}
	return nil
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
