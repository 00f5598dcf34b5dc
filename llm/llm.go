// Package llm defines the Provider contract chatbox streams model replies
// through, the request and event types, and typed errors.
//
// A Provider turns a Request (system prompt plus the whole conversation
// history) into a Stream of Events. Streams are cancellable through the
// context passed to Provider.Stream: cancelling it must close the upstream
// request promptly and make Recv return an error wrapping ctx.Err().
//
// The package llm/llmtest holds the conformance suite every Provider must
// pass; llm/scripted is a deterministic Provider for tests and demos.
package llm

import (
	"context"
	"time"
)

// Role says who spoke a turn.
type Role string

// Turn roles. An operator turn is a human operator writing in place of the
// assistant; providers without that notion send it as an assistant turn.
const (
	RoleUser      Role = "user"
	RoleAssistant Role = "assistant"
	RoleOperator  Role = "operator"
	// RoleTool holds the results (PartToolResult) of the tool calls of the
	// assistant turn before it.
	RoleTool Role = "tool"
)

// Message is one turn of the history sent to the model. A message without
// Parts is one text part holding Text; a message with Parts ignores Text.
type Message struct {
	Role  Role
	Text  string
	Parts []Part
}

// Request is one generation request.
type Request struct {
	// Model names the model; empty means the provider's configured default.
	Model string
	// System is the system prompt; providers must send it in their native
	// system slot, never as a user turn. Empty means none.
	System string
	// Messages is the conversation history, oldest first, ending with the
	// user turn to answer.
	Messages []Message
	// MaxTokens caps the reply length; 0 means the provider's default.
	MaxTokens int
	// Temperature is used when non-nil.
	Temperature *float64
	// User is an opaque, stable id of the end user (for provider abuse
	// tracking). ConversationID identifies the conversation.
	User           string
	ConversationID string
	// Tools the model may call; none when empty. A provider that cannot
	// call tools either returns an *Error of KindInvalidRequest when Tools
	// is set, or documents that it ignores them (as Dify, whose app runs
	// its own tools).
	Tools []ToolDef
}

// FinishReason says why a reply ended.
type FinishReason string

// Finish reasons. A provider reports stop, length or content_filter; the
// server adds the others when it ends a reply itself.
const (
	FinishStop          FinishReason = "stop"           // the model finished
	FinishLength        FinishReason = "length"         // max tokens reached
	FinishContentFilter FinishReason = "content_filter" // the provider filtered the reply
	FinishAbort         FinishReason = "abort"          // the user stopped it
	FinishError         FinishReason = "error"          // the provider failed
	FinishTimeout       FinishReason = "timeout"        // a time limit ended it
	FinishInterrupted   FinishReason = "interrupted"    // the server shut down
	FinishHandoff       FinishReason = "handoff"        // an operator took over
	// FinishToolCalls: the model stopped to have its tool calls run; the
	// server runs them and asks the model again.
	FinishToolCalls FinishReason = "tool_calls"
	// FinishMaxSteps: the model still asked for tools after the server's
	// limit of steps (model calls) per reply.
	FinishMaxSteps FinishReason = "max_steps"
	// FinishBudget: the reply reached what the user's usage budget had
	// left.
	FinishBudget FinishReason = "budget"
)

// Usage counts tokens. Zero fields mean the provider did not report them.
type Usage struct {
	InputTokens  int64
	OutputTokens int64
	// CachedInputTokens is the part of InputTokens read from the
	// provider's prompt cache; ReasoningTokens the part of OutputTokens
	// spent reasoning.
	CachedInputTokens int64
	ReasoningTokens   int64
}

// EventKind discriminates Event.
type EventKind int

// Event kinds.
const (
	// EventDelta carries a piece of reply text in Text.
	EventDelta EventKind = iota + 1
	// EventUsage carries token counts in Usage. It may come at any point
	// and more than once; the last one wins.
	EventUsage
	// EventFinish carries the FinishReason. It is the last event before
	// Recv returns io.EOF.
	EventFinish
	// EventReasoning carries a piece of reasoning in Text, and the
	// block's Signature when the provider gives one (possibly with empty
	// Text). Reasoning is never part of the answer's text.
	EventReasoning
	// EventToolCallStart: the model began a call; Call has ID and Name.
	EventToolCallStart
	// EventToolCallDelta carries a piece of the arguments of the call
	// whose id is Call.ID in Text.
	EventToolCallDelta
	// EventToolCall carries a complete call in Call (ID, Name and the
	// whole Arguments). Every call the model makes is reported by one
	// EventToolCall, whether or not it was streamed before; the reply
	// then finishes with FinishToolCalls, or with FinishLength or
	// FinishContentFilter when it was cut off (its calls, perhaps half
	// written, must not be run).
	EventToolCall
)

// Event is one item of a Stream.
type Event struct {
	Kind         EventKind
	Text         string
	Signature    string   // EventReasoning
	Call         ToolCall // tool call events
	Usage        Usage
	FinishReason FinishReason
	// At is when the provider produced the event, when it knows (the
	// scripted provider stamps it for latency measurement); otherwise zero.
	At time.Time
}

// Stream is one streaming reply. To stop a stream that another goroutine is
// reading, cancel the context given to Provider.Stream; Close is for
// releasing it afterwards (a provider may also support Close during Recv, but
// callers must not rely on it).
type Stream interface {
	// Recv returns the next event. After the EventFinish event it returns
	// io.EOF itself (never wrapped), again on every later call. A failure
	// is returned as an error (typed with *Error where the provider can
	// classify it, with Provider set); after an error, and after Close,
	// every call returns a non-nil error other than io.EOF, so an abandoned
	// reply never looks complete. Deltas are never empty.
	// Cancelling the context given to Provider.Stream makes Recv return an
	// error wrapping the context's error promptly.
	Recv() (Event, error)
	// Close releases the stream and its upstream connection. It is safe to
	// call more than once and after Recv returned an error or io.EOF.
	Close() error
}

// Provider starts streaming replies.
type Provider interface {
	// Stream starts a reply to req. It returns an error (typed with *Error
	// where possible) if the request could not be started. The returned
	// stream lives until ctx is cancelled or it is closed.
	Stream(ctx context.Context, req Request) (Stream, error)
}
