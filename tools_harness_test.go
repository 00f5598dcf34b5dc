package chatbox_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/chatboxsdk/chatbox/client"
	"github.com/chatboxsdk/chatbox/llm"
	"github.com/chatboxsdk/chatbox/llm/tools"
	"github.com/chatboxsdk/chatbox/protocol"
)

// stepModel is a provider for tool tests: respond scripts each model call
// (step counts the calls of the test, from 1) and every request is kept.
type stepModel struct {
	respond func(step int, req llm.Request) []llm.Event
	mu      sync.Mutex
	reqs    []llm.Request
}

func (m *stepModel) Stream(ctx context.Context, req llm.Request) (llm.Stream, error) {
	m.mu.Lock()
	m.reqs = append(m.reqs, req)
	step := len(m.reqs)
	m.mu.Unlock()
	return &stepStream{ctx: ctx, events: m.respond(step, req)}, nil
}

func (m *stepModel) requests() []llm.Request {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]llm.Request(nil), m.reqs...)
}

type stepStream struct {
	ctx    context.Context
	events []llm.Event
	done   bool
}

func (s *stepStream) Recv() (llm.Event, error) {
	if err := s.ctx.Err(); err != nil {
		return llm.Event{}, err
	}
	if len(s.events) == 0 {
		if s.done {
			return llm.Event{}, io.EOF
		}
		return llm.Event{}, errors.New("script ended without a finish")
	}
	ev := s.events[0]
	s.events = s.events[1:]
	s.done = ev.Kind == llm.EventFinish
	return ev, nil
}

func (s *stepStream) Close() error { return nil }

// callTool scripts a step that calls one tool, its arguments streamed in
// two pieces.
func callTool(id, name, args string) []llm.Event {
	half := len(args) / 2
	return []llm.Event{
		{Kind: llm.EventToolCallStart, Call: llm.ToolCall{ID: id, Name: name}},
		{Kind: llm.EventToolCallDelta, Call: llm.ToolCall{ID: id}, Text: args[:half]},
		{Kind: llm.EventToolCallDelta, Call: llm.ToolCall{ID: id}, Text: args[half:]},
		{Kind: llm.EventToolCall, Call: llm.ToolCall{ID: id, Name: name, Arguments: args}},
		{Kind: llm.EventFinish, FinishReason: llm.FinishToolCalls},
	}
}

// answer scripts a step that answers with text.
func answer(text string) []llm.Event {
	return []llm.Event{{Kind: llm.EventDelta, Text: text}, {Kind: llm.EventFinish, FinishReason: llm.FinishStop}}
}

// lastToolResults returns the tool results a request ends with.
func lastToolResults(req llm.Request) []llm.Part {
	if n := len(req.Messages); n > 0 && req.Messages[n-1].Role == llm.RoleTool {
		return req.Messages[n-1].Parts
	}
	return nil
}

// orderTool is a typed tool that counts its calls.
type orderIn struct {
	OrderID string `json:"order_id" jsonschema:"the order's number"`
}

type orderOut struct {
	Status string `json:"status"`
}

func newOrderTool(t *testing.T, calls *counter, opts ...tools.Option) tools.Tool {
	t.Helper()
	tool, err := tools.New("lookup_order", "Looks up an order by its number.", func(ctx context.Context, in orderIn) (orderOut, error) {
		calls.add()
		c, ok := tools.CallerFrom(ctx)
		if !ok || c.UserID == "" || c.ConversationID == "" {
			return orderOut{}, errors.New("no caller in the context")
		}
		return orderOut{Status: "order " + in.OrderID + " shipped to " + c.UserID}, nil
	}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return tool
}

type counter struct {
	mu sync.Mutex
	n  int
}

func (c *counter) add() {
	c.mu.Lock()
	c.n++
	c.mu.Unlock()
}

func (c *counter) get() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// readUntil reads frames until one of type typ arrives and returns it with
// the frames before it.
func readUntil(ctx context.Context, t *testing.T, c *client.Client, typ string) (protocol.ServerFrame, []protocol.ServerFrame) {
	t.Helper()
	var seen []protocol.ServerFrame
	for {
		f, err := c.Next(ctx)
		if err != nil {
			t.Fatalf("waiting for %s after %s: %v", typ, frameTypes(seen), err)
		}
		if f.Type == typ {
			return f, seen
		}
		seen = append(seen, f)
	}
}

func frameTypes(fs []protocol.ServerFrame) string {
	var b strings.Builder
	for i, f := range fs {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(f.Type)
		if f.Call != nil && f.Call.Status != "" {
			b.WriteString("(" + f.Call.Status + ")")
		}
	}
	return b.String()
}

func approve(ctx context.Context, c *client.Client, conv, reply, call string, yes bool) (protocol.ServerFrame, error) {
	return c.Request(ctx, protocol.ClientFrame{Type: protocol.TypeApprove, ConversationID: conv, ReplyID: reply, CallID: call, Approved: &yes})
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}
