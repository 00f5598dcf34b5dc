// Package llmtest is the conformance suite every llm.Provider runs.
//
// A provider's test drives its real code against a local fixture (for HTTP
// providers, an httptest.Server replaying the provider's wire format) and
// hands the suite a Factory that sets the fixture up for each Scenario:
//
//	func TestConformance(t *testing.T) {
//		llmtest.Run(t, func(t *testing.T, s llmtest.Scenario) llm.Provider {
//			srv := httptest.NewServer(fixture(s)) // replays s on every request
//			t.Cleanup(srv.Close)
//			return myprovider.New(myprovider.WithBaseURL(srv.URL))
//		})
//	}
//
// The suite checks streaming order and completeness, the end of a stream
// (finish, io.EOF, Close), cancellation and deadlines (each within one
// second), error classification, concurrent streams and goroutine leaks.
// RunToolCalls adds the checks of tool calls and RunReasoning those of
// reasoning, for providers whose API has them; their scenarios send
// ToolRequest, whose history holds reasoning, tool calls and tool results.
// Checking that the request reaches the provider's upstream in the right
// shape (ToolRequest included: its tool definitions and its tool results
// in the provider's wire format) is left to each provider's own tests.
//
// RunFiles adds the checks of attachments (file parts) for every provider:
// the files it accepts reach its upstream (images and PDFs as files, text
// files inlined or as files), and a type it refuses is refused by
// llm.CheckFiles and by Stream with nothing sent. Its FilesFactory returns
// with the provider a function that decodes what the upstream received
// from the provider's wire format, so each provider's test checks its own
// (a data URL, a base64 source and its media type):
//
//	llmtest.RunFiles(t, func(t *testing.T) (llm.Provider, func() []llmtest.Received) {
//		srv := startFixture(t, llmtest.Reply)
//		return myprovider.New(myprovider.WithBaseURL(srv.URL)), func() []llmtest.Received {
//			return decodeEach(t, srv.Requests()) // strict about the wire format
//		}
//	})
//
// Beyond what package llm states, the suite holds providers to these
// choices, which callers rely on:
//   - io.EOF is returned itself, never wrapped (as io.Reader requires);
//   - deltas are never empty, and events stamped with At never go back in time;
//   - Close after io.EOF returns nil;
//   - Recv on a stream closed before its end returns an error other than
//     io.EOF, since an abandoned reply must not pass for a complete one;
//   - an *llm.Error names its Provider;
//   - a context already done when Stream is called fails the call (from
//     Stream or the first Recv) without any event;
//   - a stream is released by cancelling its context alone, or by Close
//     alone: no goroutine of the provider (or of its fixture) outlives
//     either, so a Stall fixture must stop when its client goes away
//     (for an HTTP handler: return once the request's context is done).
//
// Run must not be called from a parallel test: its leak check counts every
// goroutine of the process.
package llmtest

import (
	"strconv"
	"testing"

	"github.com/chatboxsdk/chatbox/llm"
)

// ReplyText is the text the Reply scenario must stream, split by the
// fixture into at least three deltas. It holds non-ASCII text, quotes, a
// backslash and a newline so that wire decoding is exercised.
const ReplyText = "Conformance reply: ünïcödé, “quotes”, a \\ backslash, emoji 🙂,\nand a second line."

// Scenario says how the provider returned by a Factory must behave on every
// Stream call.
type Scenario int

// Scenarios.
const (
	// Reply streams exactly ReplyText in at least three non-empty
	// EventDelta events, optionally EventUsage events, then one EventFinish
	// with llm.FinishStop; Recv then returns io.EOF, and again on every
	// later call.
	Reply Scenario = iota + 1
	// Stall streams one delta (any text), then produces nothing until the
	// context is cancelled.
	Stall
	// FailBeforeStream fails with an *llm.Error of kind
	// llm.KindRateLimited, either from Stream or from the first Recv.
	FailBeforeStream
	// FailMidStream streams one or more deltas, then Recv returns an
	// *llm.Error of kind llm.KindOverloaded.
	FailMidStream
	// ToolCallStreamed streams one call of ToolName with ToolArguments:
	// an llm.EventToolCallStart, the arguments in at least two
	// llm.EventToolCallDelta events, then one llm.EventToolCall; it
	// finishes with llm.FinishToolCalls. Text deltas, usage and reasoning
	// may come too.
	ToolCallStreamed
	// TwoToolCalls streams two calls in one step, in this order: ToolName
	// with ToolArguments, then OtherToolName with OtherToolArguments, each
	// as ToolCallStreamed says or in one piece; it finishes with
	// llm.FinishToolCalls.
	TwoToolCalls
	// ToolCallInOneChunk sends one call of ToolName with ToolArguments in
	// one piece of the upstream stream (a start and argument deltas are
	// optional, one llm.EventToolCall is not); it finishes with
	// llm.FinishToolCalls.
	ToolCallInOneChunk
	// Reasoning streams ReasoningText in at least two llm.EventReasoning
	// events (events carrying only a Signature may come too), and
	// ReasonedAnswer in one or more deltas; it finishes with
	// llm.FinishStop. No reasoning may appear in the deltas.
	Reasoning
)

// Tool calls and reasoning the tool call and reasoning scenarios stream.
// The arguments hold non-ASCII text, escaped quotes and a backslash, so
// that the decoding of JSON inside JSON is exercised.
const (
	ToolName           = "lookup_order"
	ToolArguments      = `{"order_id":"1234","note":"ünïcödé, \"quoted\", a \\ backslash"}`
	OtherToolName      = "refund_order"
	OtherToolArguments = `{"order_id":"5678","reason":"damaged"}`
	ReasoningText      = "The user wants the conformance answer.\nThinking about “it”: ünïcödé."
	ReasonedAnswer     = "The answer is 42."
)

// String returns the scenario's name.
func (s Scenario) String() string {
	switch s {
	case Reply:
		return "Reply"
	case Stall:
		return "Stall"
	case FailBeforeStream:
		return "FailBeforeStream"
	case FailMidStream:
		return "FailMidStream"
	case ToolCallStreamed:
		return "ToolCallStreamed"
	case TwoToolCalls:
		return "TwoToolCalls"
	case ToolCallInOneChunk:
		return "ToolCallInOneChunk"
	case Reasoning:
		return "Reasoning"
	}
	return "Scenario(" + strconv.Itoa(int(s)) + ")"
}

// Factory returns a provider whose every Stream call behaves as s says.
// The suite calls it once per check, with that check's t, and may make
// several Stream calls on the result, concurrently in the Reply scenario.
// Fixtures should be released with t.Cleanup.
type Factory func(t *testing.T, s Scenario) llm.Provider

// Run runs the conformance suite against the providers newProvider makes.
// Each check is a subtest named after what it proves.
func Run(t *testing.T, newProvider Factory) {
	t.Run("Reply", func(t *testing.T) {
		t.Run("CompleteAndInOrder", func(t *testing.T) { testReplyComplete(t, newProvider) })
		t.Run("EOFAfterFinishRepeats", func(t *testing.T) { testEOFRepeats(t, newProvider) })
		t.Run("CloseIdempotentAfterEOF", func(t *testing.T) { testCloseAfterEOF(t, newProvider) })
		t.Run("ConcurrentStreams", func(t *testing.T) { testConcurrent(t, newProvider) })
	})
	t.Run("Cancel", func(t *testing.T) {
		t.Run("RecvReturnsCanceledWithin1s", func(t *testing.T) { testCancelDuringStall(t, newProvider) })
		t.Run("DeadlineExceededWithin1s", func(t *testing.T) { testDeadline(t, newProvider) })
		t.Run("AlreadyCancelledContextFailsPromptly", func(t *testing.T) { testAlreadyCancelled(t, newProvider) })
		t.Run("ExpiredDeadlineFailsPromptly", func(t *testing.T) { testExpiredDeadline(t, newProvider) })
	})
	t.Run("Close", func(t *testing.T) {
		t.Run("AbandonsStalledStream", func(t *testing.T) { testCloseStalled(t, newProvider) })
		t.Run("BeforeFirstRecv", func(t *testing.T) { testCloseBeforeRecv(t, newProvider) })
	})
	t.Run("Errors", func(t *testing.T) {
		t.Run("RateLimitedBeforeStream", func(t *testing.T) { testFailBeforeStream(t, newProvider) })
		t.Run("OverloadedMidStream", func(t *testing.T) { testFailMidStream(t, newProvider) })
	})
	t.Run("Leaks", func(t *testing.T) {
		t.Run("NoGoroutineLeftAfter50AbandonedStreams", func(t *testing.T) { testNoLeak(t, newProvider) })
	})
}
