package anthropic_test

import (
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/chatboxsdk/chatbox/llm"
	"github.com/chatboxsdk/chatbox/llm/anthropic"
	"github.com/chatboxsdk/chatbox/llm/internal/fixture"
	"github.com/chatboxsdk/chatbox/llm/llmtest"
)

// jsonEqual reports whether a and b hold the same JSON value.
func jsonEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatalf("%v in %s", err, a)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatalf("%v in %s", err, b)
	}
	return reflect.DeepEqual(x, y)
}

// inline answers every request with the given events, each a name and its
// data.
func inline(t *testing.T, nameData ...string) *fixture.Server {
	var events [][]byte
	for i := 0; i+1 < len(nameData); i += 2 {
		events = append(events, []byte("event: "+nameData[i]+"\ndata: "+nameData[i+1]+"\n\n"))
	}
	var srv *fixture.Server
	srv = fixture.New(t, func(w http.ResponseWriter, r *http.Request) { srv.SSE(w, r, events, 0) })
	return srv
}

const (
	messageStart = `{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","content":[],"model":"claude-sonnet-4-5","usage":{"input_tokens":5,"output_tokens":1}}}`
	messageStop  = `{"type":"message_stop"}`
)

// body decodes the request body the server received.
func body(t *testing.T, srv *fixture.Server) (map[string]json.RawMessage, []byte) {
	t.Helper()
	raw := srv.Requests()[0].Body
	var b map[string]json.RawMessage
	if err := json.Unmarshal(raw, &b); err != nil {
		t.Fatalf("%v in %s", err, raw)
	}
	return b, raw
}

func TestToolRequestCarriesToolsThinkingCallsAndResults(t *testing.T) {
	srv := sse(t, "tool_use.sse", 0)
	if _, err := readAll(t, stream(t, newProvider(t, srv), t.Context(), llmtest.ToolRequest())); err != io.EOF {
		t.Fatal(err)
	}
	b, raw := body(t, srv)
	var tools []struct {
		Name        string          `json:"name"`
		Description string          `json:"description"`
		InputSchema json.RawMessage `json:"input_schema"`
	}
	if err := json.Unmarshal(b["tools"], &tools); err != nil {
		t.Fatalf("%v in %s", err, raw)
	}
	want := llmtest.ToolRequest()
	if len(tools) != len(want.Tools) {
		t.Fatalf("tools in %s", raw)
	}
	for i, tool := range tools {
		w := want.Tools[i]
		if tool.Name != w.Name || tool.Description != w.Description || !jsonEqual(t, tool.InputSchema, w.InputSchema) {
			t.Errorf("tool %d: %s %q %s, want %+v", i, tool.Name, tool.Description, tool.InputSchema, w)
		}
	}
	wantMessages := `[
		{"role":"user","content":[{"type":"text","text":"Where is order 1234, and refund it."}]},
		{"role":"assistant","content":[
			{"type":"thinking","thinking":"The user asks about order 1234.","signature":"c2lnbmF0dXJlLTE="},
			{"type":"text","text":"Let me look that up."},
			{"type":"tool_use","id":"call_prev_1","name":"lookup_order","input":{"order_id":"1234"}},
			{"type":"tool_use","id":"call_prev_2","name":"refund_order","input":{"order_id":"1234","reason":"late"}}]},
		{"role":"user","content":[
			{"type":"tool_result","tool_use_id":"call_prev_1","content":[{"type":"text","text":"Order 1234 shipped on May 2."}]},
			{"type":"tool_result","tool_use_id":"call_prev_2","is_error":true,"content":[{"type":"text","text":"refund refused: not delivered yet"}]}]}
	]`
	if !jsonEqual(t, b["messages"], []byte(wantMessages)) {
		t.Fatalf("messages %s, want %s", b["messages"], wantMessages)
	}
	if b["thinking"] != nil {
		t.Fatalf("thinking %s sent without WithThinking", b["thinking"])
	}
}

func TestWithThinkingAsksForItWithoutTemperature(t *testing.T) {
	srv := sse(t, "thinking.sse", 0)
	p := newProvider(t, srv, anthropic.WithThinking(2048))
	req := request()
	temp := 0.3
	req.Temperature = &temp
	if _, err := readAll(t, stream(t, p, t.Context(), req)); err != io.EOF {
		t.Fatal(err)
	}
	b, raw := body(t, srv)
	if !jsonEqual(t, b["thinking"], []byte(`{"type":"enabled","budget_tokens":2048}`)) || b["temperature"] != nil {
		t.Fatalf("body %s", raw)
	}
	// The default cap of 1024 does not exceed the budget: it is added to it.
	if string(b["max_tokens"]) != "3072" {
		t.Fatalf("max_tokens %s, want 3072", b["max_tokens"])
	}
}

func TestWithThinkingKeepsACapAboveTheBudget(t *testing.T) {
	srv := sse(t, "thinking.sse", 0)
	p := newProvider(t, srv, anthropic.WithThinking(2048), anthropic.WithMaxTokens(8000))
	if _, err := readAll(t, stream(t, p, t.Context(), request())); err != io.EOF {
		t.Fatal(err)
	}
	if b, _ := body(t, srv); string(b["max_tokens"]) != "8000" {
		t.Fatalf("max_tokens %s, want 8000", b["max_tokens"])
	}
}

func TestWithThinkingIsValidated(t *testing.T) {
	_, err := anthropic.New(anthropic.WithAPIKey(testKey), anthropic.WithModel("m"), anthropic.WithThinking(1000), anthropic.WithTemperature(0.5))
	if err == nil || !strings.Contains(err.Error(), "thinking budget 1000") {
		t.Fatalf("New: %v", err)
	}
	_, err = anthropic.New(anthropic.WithAPIKey(testKey), anthropic.WithModel("m"), anthropic.WithThinking(anthropic.MinThinkingBudget), anthropic.WithTemperature(0.5))
	if err == nil || !strings.Contains(err.Error(), "WithThinking and WithTemperature") {
		t.Fatalf("New: %v", err)
	}
}

func TestHistoryOddities(t *testing.T) {
	srv := sse(t, "reply.sse", 0)
	req := llm.Request{Messages: []llm.Message{
		{Role: llm.RoleUser, Text: "hi"},
		{Role: llm.RoleAssistant, Parts: []llm.Part{
			{Kind: llm.PartText, Text: "Checking."},
			{Kind: llm.PartReasoning, Text: "unsigned reasoning is dropped"},
			{Kind: llm.PartText, Text: ""},
			{Kind: llm.PartToolCall, Call: llm.ToolCall{ID: "c1", Name: "x", Arguments: `{"a":`}},
		}},
		{Role: llm.RoleOperator, Parts: []llm.Part{{Kind: llm.PartReasoning, Text: "signed", Signature: "s"}, {Kind: llm.PartText, Text: "note"}}},
		{Role: llm.RoleTool, Parts: []llm.Part{{Kind: llm.PartToolResult, Call: llm.ToolCall{ID: "c1"}, Text: ""}}},
		{Role: llm.RoleUser, Text: "and?"},
	}}
	if _, err := readAll(t, stream(t, newProvider(t, srv), t.Context(), req)); err != io.EOF {
		t.Fatal(err)
	}
	b, _ := body(t, srv)
	// Broken arguments go back as {}, an empty result without content,
	// thinking first in a merged turn, tool results before text.
	want := `[
		{"role":"user","content":[{"type":"text","text":"hi"}]},
		{"role":"assistant","content":[
			{"type":"thinking","thinking":"signed","signature":"s"},
			{"type":"text","text":"Checking."},
			{"type":"tool_use","id":"c1","name":"x","input":{}},
			{"type":"text","text":"note"}]},
		{"role":"user","content":[{"type":"tool_result","tool_use_id":"c1"},{"type":"text","text":"and?"}]}
	]`
	if !jsonEqual(t, b["messages"], []byte(want)) {
		t.Fatalf("messages %s, want %s", b["messages"], want)
	}
}

func TestToolSchemaThatIsNotAnObjectSchemaIsAnInvalidRequest(t *testing.T) {
	srv := sse(t, "reply.sse", 0)
	for _, schema := range []string{`[1]`, `{"type":"string"}`, `{"type":`, `"x"`} {
		req := request()
		req.Tools = []llm.ToolDef{{Name: "x", InputSchema: json.RawMessage(schema)}}
		_, err := newProvider(t, srv).Stream(t.Context(), req)
		kindOf(t, err, llm.KindInvalidRequest)
	}
	if n := len(srv.Requests()); n != 0 {
		t.Fatalf("%d requests sent", n)
	}
}

func TestToolSchemaFieldsAreSentAsWritten(t *testing.T) {
	srv := sse(t, "reply.sse", 0)
	schema := `{"properties":{"n":{"type":"integer","maximum":12345678901234567890}},"required":["n"],"additionalProperties":false,"$defs":{"a":{"type":"string"}}}`
	req := request()
	req.Tools = []llm.ToolDef{{Name: "x", InputSchema: json.RawMessage(schema)}, {Name: "now"}}
	if _, err := readAll(t, stream(t, newProvider(t, srv), t.Context(), req)); err != io.EOF {
		t.Fatal(err)
	}
	b, raw := body(t, srv)
	var tools []struct {
		Name        string          `json:"name"`
		InputSchema json.RawMessage `json:"input_schema"`
	}
	if err := json.Unmarshal(b["tools"], &tools); err != nil {
		t.Fatal(err)
	}
	withType := `{"type":"object",` + schema[1:]
	if len(tools) != 2 || !jsonEqual(t, tools[0].InputSchema, []byte(withType)) || !strings.Contains(string(raw), "12345678901234567890") {
		t.Fatalf("tools %s", b["tools"])
	}
	if !jsonEqual(t, tools[1].InputSchema, []byte(`{"type":"object","properties":{}}`)) {
		t.Fatalf("a tool without schema: %s", tools[1].InputSchema)
	}
}

func TestToolUseStreamsAfterTextWithCachedUsage(t *testing.T) {
	p := newProvider(t, sse(t, "tool_use.sse", 0))
	evs, err := readAll(t, stream(t, p, t.Context(), request()))
	if err != io.EOF {
		t.Fatal(err)
	}
	if u := evs[0]; u.Kind != llm.EventUsage || u.Usage != (llm.Usage{InputTokens: 88, OutputTokens: 1, CachedInputTokens: 64}) {
		t.Fatalf("first event %+v", u)
	}
	if got, n := text(evs); got != "Let me check." || n != 2 {
		t.Fatalf("text %q in %d", got, n)
	}
	const id = "toolu_01T1x1fJ34qAmk2tNTrN7Up6"
	var kinds []llm.EventKind
	var args strings.Builder
	for _, ev := range evs[3:] {
		kinds = append(kinds, ev.Kind)
		if ev.Kind == llm.EventToolCallDelta {
			if ev.Text == "" || ev.Call.ID != id {
				t.Fatalf("delta %+v", ev)
			}
			args.WriteString(ev.Text)
		}
	}
	n := len(evs)
	if evs[3].Kind != llm.EventToolCallStart || evs[3].Call != (llm.ToolCall{ID: id, Name: llmtest.ToolName}) {
		t.Fatalf("start %+v", evs[3])
	}
	if c := evs[n-3]; c.Kind != llm.EventToolCall || c.Call != (llm.ToolCall{ID: id, Name: llmtest.ToolName, Arguments: llmtest.ToolArguments}) || args.String() != llmtest.ToolArguments {
		t.Fatalf("call %+v after deltas %q", c, args.String())
	}
	if u := evs[n-2]; u.Usage != (llm.Usage{InputTokens: 88, OutputTokens: 61, CachedInputTokens: 64}) {
		t.Fatalf("usage %+v", u)
	}
	if evs[n-1].FinishReason != llm.FinishToolCalls {
		t.Fatalf("finish %+v", evs[n-1])
	}
}

func TestThinkingStreamsAsReasoningWithItsSignature(t *testing.T) {
	p := newProvider(t, sse(t, "thinking.sse", 0), anthropic.WithThinking(2048))
	evs, err := readAll(t, stream(t, p, t.Context(), request()))
	if err != io.EOF {
		t.Fatal(err)
	}
	var reasoning strings.Builder
	var signatures []string
	for _, ev := range evs {
		if ev.Kind == llm.EventReasoning {
			reasoning.WriteString(ev.Text)
			if ev.Signature != "" {
				signatures = append(signatures, ev.Signature)
			}
		}
	}
	if reasoning.String() != llmtest.ReasoningText || len(signatures) != 1 || !strings.HasPrefix(signatures[0], "EqQBCgIYAhIM") {
		t.Fatalf("reasoning %q, signatures %q", reasoning.String(), signatures)
	}
	if got, _ := text(evs); got != llmtest.ReasonedAnswer {
		t.Fatalf("text %q", got)
	}
	if u := evs[len(evs)-2].Usage; u != (llm.Usage{InputTokens: 40, OutputTokens: 90, ReasoningTokens: 84}) {
		t.Fatalf("usage %+v", u)
	}
}

func TestToolUseWithoutInputHasEmptyObjectArguments(t *testing.T) {
	p := newProvider(t, inline(t,
		"message_start", messageStart,
		"content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"toolu_1","name":"now","input":{}}}`,
		"content_block_stop", `{"type":"content_block_stop","index":0}`,
		"message_delta", `{"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":9}}`,
		"message_stop", messageStop,
	))
	evs, err := readAll(t, stream(t, p, t.Context(), request()))
	if err != io.EOF {
		t.Fatal(err)
	}
	if c := evs[2]; c.Kind != llm.EventToolCall || c.Call != (llm.ToolCall{ID: "toolu_1", Name: "now", Arguments: "{}"}) {
		t.Fatalf("call %+v", c)
	}
}

func TestToolUseStopWithoutCallsIsAStop(t *testing.T) {
	p := newProvider(t, inline(t,
		"message_start", messageStart,
		"message_delta", `{"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":9}}`,
		"message_stop", messageStop,
	))
	evs, err := readAll(t, stream(t, p, t.Context(), request()))
	if err != io.EOF || evs[len(evs)-1].FinishReason != llm.FinishStop {
		t.Fatalf("%+v, %v", evs, err)
	}
}
