package openai_test

import (
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/chatboxsdk/chatbox/llm"
	"github.com/chatboxsdk/chatbox/llm/internal/fixture"
	"github.com/chatboxsdk/chatbox/llm/llmtest"
)

// calls returns the complete calls of evs.
func calls(evs []llm.Event) []llm.ToolCall {
	var out []llm.ToolCall
	for _, ev := range evs {
		if ev.Kind == llm.EventToolCall {
			out = append(out, ev.Call)
		}
	}
	return out
}

// inline answers every request with the given data lines as events.
func inline(t *testing.T, data ...string) *fixture.Server {
	var events [][]byte
	for _, d := range data {
		events = append(events, []byte("data: "+d+"\n\n"))
	}
	var srv *fixture.Server
	srv = fixture.New(t, func(w http.ResponseWriter, r *http.Request) { srv.SSE(w, r, events, 0) })
	return srv
}

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

func TestToolRequestCarriesToolsCallsAndResults(t *testing.T) {
	srv := sse(t, "tool_call.sse", 0)
	p := newProvider(t, srv)
	if _, err := readAll(t, stream(t, p, t.Context(), llmtest.ToolRequest())); err != io.EOF {
		t.Fatal(err)
	}
	var body struct {
		Tools []struct {
			Type     string `json:"type"`
			Function struct {
				Name        string          `json:"name"`
				Description string          `json:"description"`
				Parameters  json.RawMessage `json:"parameters"`
			} `json:"function"`
		} `json:"tools"`
		Messages []map[string]json.RawMessage `json:"messages"`
	}
	raw := srv.Requests()[0].Body
	if err := json.Unmarshal(raw, &body); err != nil {
		t.Fatalf("%v in %s", err, raw)
	}
	want := llmtest.ToolRequest()
	if len(body.Tools) != len(want.Tools) {
		t.Fatalf("tools %s", raw)
	}
	for i, tool := range body.Tools {
		w := want.Tools[i]
		if tool.Type != "function" || tool.Function.Name != w.Name || tool.Function.Description != w.Description ||
			!jsonEqual(t, tool.Function.Parameters, w.InputSchema) {
			t.Errorf("tool %d: %+v, want %+v", i, tool, w)
		}
	}
	wantMessages := []string{
		`{"role":"system","content":"You are the llmtest conformance fixture."}`,
		`{"role":"user","content":"Where is order 1234, and refund it."}`,
		`{"role":"assistant","content":"Let me look that up.","tool_calls":[
			{"id":"call_prev_1","type":"function","function":{"name":"lookup_order","arguments":"{\"order_id\":\"1234\"}"}},
			{"id":"call_prev_2","type":"function","function":{"name":"refund_order","arguments":"{\"order_id\":\"1234\",\"reason\":\"late\"}"}}]}`,
		`{"role":"tool","tool_call_id":"call_prev_1","content":"Order 1234 shipped on May 2."}`,
		`{"role":"tool","tool_call_id":"call_prev_2","content":"Error: refund refused: not delivered yet"}`,
	}
	if len(body.Messages) != len(wantMessages) {
		t.Fatalf("messages in %s", raw)
	}
	for i, m := range body.Messages {
		got, _ := json.Marshal(m)
		if !jsonEqual(t, got, []byte(wantMessages[i])) {
			t.Errorf("message %d is %s, want %s", i, got, wantMessages[i])
		}
	}
	if strings.Contains(string(raw), "signature") || strings.Contains(string(raw), "asks about order") {
		t.Errorf("reasoning was sent back: %s", raw)
	}
}

func TestAssistantTurnWithOnlyCallsHasNoContent(t *testing.T) {
	srv := sse(t, "reply.sse", 0)
	req := request()
	req.Messages = append(req.Messages,
		llm.Message{Role: llm.RoleAssistant, Parts: []llm.Part{{Kind: llm.PartToolCall, Call: llm.ToolCall{ID: "c1", Name: "x", Arguments: "{}"}}}},
		llm.Message{Role: llm.RoleTool, Parts: []llm.Part{{Kind: llm.PartToolResult, Call: llm.ToolCall{ID: "c1"}, Text: "ok"}}},
	)
	if _, err := readAll(t, stream(t, newProvider(t, srv), t.Context(), req)); err != io.EOF {
		t.Fatal(err)
	}
	var body struct {
		Messages []map[string]any `json:"messages"`
		Tools    any              `json:"tools"`
	}
	if err := json.Unmarshal(srv.Requests()[0].Body, &body); err != nil {
		t.Fatal(err)
	}
	if c, ok := body.Messages[1]["content"]; ok && c != nil {
		t.Fatalf("assistant message %v has content", body.Messages[1])
	}
	if body.Tools != nil {
		t.Fatalf("tools %v sent for a request without tools", body.Tools)
	}
}

func TestStreamedCallEventsThenUsageWithCachedTokens(t *testing.T) {
	p := newProvider(t, sse(t, "tool_call.sse", 0))
	evs, err := readAll(t, stream(t, p, t.Context(), llmtest.ToolRequest()))
	if err != io.EOF {
		t.Fatal(err)
	}
	n := len(evs)
	if evs[0].Kind != llm.EventToolCallStart || evs[0].Call != (llm.ToolCall{ID: "call_Q3x9LmT2", Name: llmtest.ToolName}) {
		t.Fatalf("first event %+v", evs[0])
	}
	for _, ev := range evs[1 : n-3] {
		if ev.Kind != llm.EventToolCallDelta || ev.Call.ID != "call_Q3x9LmT2" {
			t.Fatalf("%+v, want argument deltas", ev)
		}
	}
	want := llm.ToolCall{ID: "call_Q3x9LmT2", Name: llmtest.ToolName, Arguments: llmtest.ToolArguments}
	if evs[n-3].Kind != llm.EventToolCall || evs[n-3].Call != want {
		t.Fatalf("event %+v, want the whole call", evs[n-3])
	}
	if u := evs[n-2]; u.Kind != llm.EventUsage || u.Usage != (llm.Usage{InputTokens: 88, OutputTokens: 24, CachedInputTokens: 64}) {
		t.Fatalf("usage %+v", u)
	}
	if f := evs[n-1]; f.FinishReason != llm.FinishToolCalls {
		t.Fatalf("finish %+v", f)
	}
}

func TestCallsWithoutIndexAreMatchedByIDOrContinueTheLastCall(t *testing.T) {
	p := newProvider(t, sse(t, "tool_calls_noindex.sse", 0))
	evs, err := readAll(t, stream(t, p, t.Context(), llmtest.ToolRequest()))
	if err != io.EOF {
		t.Fatal(err)
	}
	want := []llm.ToolCall{
		{ID: "call_a", Name: llmtest.ToolName, Arguments: llmtest.ToolArguments},
		{ID: "call_b", Name: llmtest.OtherToolName, Arguments: llmtest.OtherToolArguments},
	}
	if got := calls(evs); !reflect.DeepEqual(got, want) {
		t.Fatalf("calls %+v, want %+v", got, want)
	}
}

func TestCallWithoutIDOrWithItsNameLateGetsAnID(t *testing.T) {
	p := newProvider(t, inline(t,
		`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"a\":"}}]}}]}`,
		`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"name":"x","arguments":"1}"}}]}}]}`,
		`{"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}`,
	))
	evs, err := readAll(t, stream(t, p, t.Context(), request()))
	if err != io.EOF || len(evs) != 4 {
		t.Fatalf("%+v, %v", evs, err)
	}
	id := evs[0].Call.ID
	if evs[0].Kind != llm.EventToolCallStart || !strings.HasPrefix(id, "call_") || len(id) < 10 {
		t.Fatalf("start %+v, want a made-up id", evs[0])
	}
	// The arguments that came before the name follow the start at once.
	if evs[1].Text != `{"a":1}` || evs[2].Call != (llm.ToolCall{ID: id, Name: "x", Arguments: `{"a":1}`}) {
		t.Fatalf("events %+v", evs)
	}
}

func TestServerNumberingEveryCallZeroStillGivesTwoCalls(t *testing.T) {
	p := newProvider(t, inline(t,
		`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"c1","function":{"name":"x","arguments":"{}"}}]}}]}`,
		`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"c2","function":{"name":"y","arguments":""}}]}}]}`,
		`{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`,
	))
	evs, err := readAll(t, stream(t, p, t.Context(), request()))
	if err != io.EOF {
		t.Fatal(err)
	}
	want := []llm.ToolCall{{ID: "c1", Name: "x", Arguments: "{}"}, {ID: "c2", Name: "y", Arguments: "{}"}}
	if got := calls(evs); !reflect.DeepEqual(got, want) || evs[len(evs)-1].FinishReason != llm.FinishToolCalls {
		t.Fatalf("calls %+v then %+v, want %+v then tool_calls", got, evs[len(evs)-1], want)
	}
}

func TestToolCallsFinishWithoutCallsIsAStop(t *testing.T) {
	p := newProvider(t, inline(t,
		`{"choices":[{"index":0,"delta":{"content":"hi"}}]}`,
		`{"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}`,
	))
	evs, err := readAll(t, stream(t, p, t.Context(), request()))
	if err != io.EOF || evs[len(evs)-1].FinishReason != llm.FinishStop {
		t.Fatalf("%+v, %v", evs, err)
	}
}

func TestCallsCutByTheLengthLimitFinishWithLength(t *testing.T) {
	p := newProvider(t, inline(t,
		`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"c1","function":{"name":"x","arguments":"{\"a\":"}}]}}]}`,
		`{"choices":[{"index":0,"delta":{},"finish_reason":"length"}]}`,
	))
	evs, err := readAll(t, stream(t, p, t.Context(), request()))
	if err != io.EOF || len(calls(evs)) != 1 || evs[len(evs)-1].FinishReason != llm.FinishLength {
		t.Fatalf("%+v, %v", evs, err)
	}
}

func TestReasoningFieldsStreamApartWithReasoningTokens(t *testing.T) {
	p := newProvider(t, sse(t, "reasoning.sse", 0))
	evs, err := readAll(t, stream(t, p, t.Context(), request()))
	if err != io.EOF {
		t.Fatal(err)
	}
	var reasoning strings.Builder
	n := 0
	for _, ev := range evs {
		if ev.Kind == llm.EventReasoning {
			n++
			reasoning.WriteString(ev.Text)
		}
	}
	if reasoning.String() != llmtest.ReasoningText || n != 4 {
		t.Fatalf("reasoning %q in %d events, want ReasoningText in 4 (a chunk with both fields counts once)", reasoning.String(), n)
	}
	if got, _ := text(evs); got != llmtest.ReasonedAnswer {
		t.Fatalf("text %q", got)
	}
	u := evs[len(evs)-2]
	if u.Kind != llm.EventUsage || u.Usage != (llm.Usage{InputTokens: 40, OutputTokens: 90, CachedInputTokens: 32, ReasoningTokens: 84}) {
		t.Fatalf("usage %+v", u)
	}
}

func TestDeepSeekCacheHitTokensCountAsCached(t *testing.T) {
	p := newProvider(t, inline(t,
		`{"choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":"stop"}]}`,
		`{"choices":[],"usage":{"prompt_tokens":10,"completion_tokens":1,"total_tokens":11,"prompt_cache_hit_tokens":8,"prompt_cache_miss_tokens":2}}`,
	))
	evs, err := readAll(t, stream(t, p, t.Context(), request()))
	if err != io.EOF || evs[len(evs)-2].Usage != (llm.Usage{InputTokens: 10, OutputTokens: 1, CachedInputTokens: 8}) {
		t.Fatalf("%+v, %v", evs, err)
	}
}

func TestToolSchemaThatIsNotAnObjectIsAnInvalidRequest(t *testing.T) {
	srv := sse(t, "reply.sse", 0)
	for _, schema := range []string{`[1]`, `{"type":`, `"x"`, `{} {}`} {
		req := request()
		req.Tools = []llm.ToolDef{{Name: "x", InputSchema: json.RawMessage(schema)}}
		_, err := newProvider(t, srv).Stream(t.Context(), req)
		kindOf(t, err, llm.KindInvalidRequest)
	}
	if n := len(srv.Requests()); n != 0 {
		t.Fatalf("%d requests sent", n)
	}
}

func TestToolWithoutSchemaDeclaresNoParameters(t *testing.T) {
	srv := sse(t, "reply.sse", 0)
	req := request()
	req.Tools = []llm.ToolDef{{Name: "now"}}
	if _, err := readAll(t, stream(t, newProvider(t, srv), t.Context(), req)); err != io.EOF {
		t.Fatal(err)
	}
	var body struct {
		Tools []struct {
			Function map[string]any `json:"function"`
		} `json:"tools"`
	}
	if err := json.Unmarshal(srv.Requests()[0].Body, &body); err != nil {
		t.Fatal(err)
	}
	if f := body.Tools[0].Function; f["name"] != "now" || f["parameters"] != nil || f["description"] != nil {
		t.Fatalf("tool %v", body.Tools[0])
	}
}

func TestToolSchemaNumbersAreSentAsWritten(t *testing.T) {
	srv := sse(t, "reply.sse", 0)
	schema := `{"type":"object","properties":{"n":{"type":"integer","minimum":-3,"maximum":12345678901234567890,"multipleOf":0.25}}}`
	req := request()
	req.Tools = []llm.ToolDef{{Name: "x", InputSchema: json.RawMessage(schema)}}
	if _, err := readAll(t, stream(t, newProvider(t, srv), t.Context(), req)); err != io.EOF {
		t.Fatal(err)
	}
	if body := string(srv.Requests()[0].Body); !strings.Contains(body, `"maximum":12345678901234567890`) || !strings.Contains(body, `"multipleOf":0.25`) || !strings.Contains(body, `"minimum":-3`) {
		t.Fatalf("schema numbers changed: %s", body)
	}
}
