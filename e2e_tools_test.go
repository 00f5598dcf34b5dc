package chatbox_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/chatboxsdk/chatbox"
	"github.com/chatboxsdk/chatbox/chatboxtest"
	"github.com/chatboxsdk/chatbox/llm"
	"github.com/chatboxsdk/chatbox/llm/tools"
	"github.com/chatboxsdk/chatbox/protocol"
	"github.com/chatboxsdk/chatbox/storage"
)

func TestAReplyCallsAToolAndUsesItsResult(t *testing.T) {
	var calls counter
	model := &stepModel{respond: func(step int, req llm.Request) []llm.Event {
		if step == 1 {
			return callTool("call_1", "lookup_order", `{"order_id":"42"}`)
		}
		res := lastToolResults(req)
		if len(res) != 1 || res[0].IsError {
			return answer("no result")
		}
		var out orderOut
		_ = json.Unmarshal([]byte(res[0].Text), &out)
		return answer("Your " + out.Status + ".")
	}}
	h := chatboxtest.New(t, chatboxtest.Config{Provider: model, Options: []chatbox.Option{chatbox.WithTools(newOrderTool(t, &calls))}})
	ctx := testCtx(t)
	c := h.Dial(t, "alice")
	conv := openNew(t, c)
	if _, err := c.Send(ctx, conv, "m1", "where is order 42?"); err != nil {
		t.Fatal(err)
	}
	end, seen := readUntil(ctx, t, c, protocol.TypeReplyEnd)
	if end.FinishReason != "stop" {
		t.Fatalf("reply ended %q after %s", end.FinishReason, frameTypes(seen))
	}
	want := "message reply.start tool.call(started) tool.delta tool.delta tool.call(running) tool.result(done) reply.delta"
	if got := frameTypes(seen); got != want {
		t.Fatalf("events = %s\nwant     %s", got, want)
	}
	if r := seen[6].Call.Result; r != `{"status":"order 42 shipped to alice"}` {
		t.Fatalf("tool.result carries %q", r)
	}
	if calls.get() != 1 {
		t.Fatalf("the tool ran %d times", calls.get())
	}
	reqs := model.requests()
	if len(reqs) != 2 || len(reqs[0].Tools) != 1 || reqs[0].Tools[0].Name != "lookup_order" || !strings.Contains(string(reqs[0].Tools[0].InputSchema), "order_id") {
		t.Fatalf("requests = %+v", reqs)
	}
	second := reqs[1].Messages
	if n := len(second); n < 3 || second[n-2].Role != llm.RoleAssistant || second[n-2].Parts[0].Call.Arguments != `{"order_id":"42"}` {
		t.Fatalf("the second step's history = %+v", second)
	}
	// Stored: the call, its result and the answer, in order; the text is the answer's.
	m, err := h.Store.GetMessage(ctx, conv, end.ReplyID)
	if err != nil {
		t.Fatal(err)
	}
	kinds := []storage.PartKind{}
	for _, p := range m.Parts {
		kinds = append(kinds, p.Kind)
	}
	if m.Text != "Your order 42 shipped to alice." || len(kinds) != 3 || kinds[0] != storage.PartToolCall || kinds[1] != storage.PartToolResult || kinds[2] != storage.PartText {
		t.Fatalf("stored reply: text %q parts %v", m.Text, kinds)
	}
	// An open shows the reply's parts.
	opened, err := c.Open(ctx, conv)
	if err != nil {
		t.Fatal(err)
	}
	last := opened.Messages[len(opened.Messages)-1]
	if len(last.Parts) != 2 || last.Parts[0].Type != protocol.PartTool || last.Parts[0].Call.Status != protocol.ToolDone {
		t.Fatalf("opened reply parts = %+v", last.Parts)
	}
}

func TestToolCallsOfOneStepRunConcurrently(t *testing.T) {
	entered := make(chan struct{}, 2)
	both := make(chan struct{})
	slow, err := tools.New("slow", "Waits for its twin.", func(ctx context.Context, in struct {
		N int `json:"n"`
	}) (string, error) {
		entered <- struct{}{}
		select {
		case <-both:
			return "together", nil
		case <-ctx.Done():
			return "", ctx.Err()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	model := &stepModel{respond: func(step int, req llm.Request) []llm.Event {
		if step == 1 {
			return []llm.Event{
				{Kind: llm.EventToolCall, Call: llm.ToolCall{ID: "a", Name: "slow", Arguments: `{"n":1}`}},
				{Kind: llm.EventToolCall, Call: llm.ToolCall{ID: "b", Name: "slow", Arguments: `{"n":2}`}},
				{Kind: llm.EventFinish, FinishReason: llm.FinishToolCalls},
			}
		}
		return answer("done")
	}}
	h := chatboxtest.New(t, chatboxtest.Config{Provider: model, Options: []chatbox.Option{chatbox.WithTools(slow)}})
	ctx := testCtx(t)
	c := h.Dial(t, "alice")
	conv := openNew(t, c)
	if _, err := c.Send(ctx, conv, "m1", "go"); err != nil {
		t.Fatal(err)
	}
	for range 2 { // each call waits for the other: they only both enter if they overlap
		select {
		case <-entered:
		case <-ctx.Done():
			t.Fatal("the two calls did not run at the same time")
		}
	}
	close(both)
	end, seen := readUntil(ctx, t, c, protocol.TypeReplyEnd)
	if end.FinishReason != "stop" || strings.Count(frameTypes(seen), "tool.result(done)") != 2 {
		t.Fatalf("reply %q after %s", end.FinishReason, frameTypes(seen))
	}
}

// failingStep runs one reply whose model calls tool with args, and returns
// the tool result the model then saw.
func failingStep(t *testing.T, tool tools.Tool, args string, opts ...chatbox.Option) (llm.Part, protocol.ServerFrame) {
	t.Helper()
	model := &stepModel{respond: func(step int, req llm.Request) []llm.Event {
		if step == 1 {
			return callTool("c1", tool.Def().Name, args)
		}
		return answer("sorry")
	}}
	h := chatboxtest.New(t, chatboxtest.Config{Provider: model, Options: append([]chatbox.Option{chatbox.WithTools(tool)}, opts...)})
	ctx := testCtx(t)
	c := h.Dial(t, "alice")
	conv := openNew(t, c)
	if _, err := c.Send(ctx, conv, "m1", "go"); err != nil {
		t.Fatal(err)
	}
	result, _ := readUntil(ctx, t, c, protocol.TypeToolResult)
	if end, _ := readUntil(ctx, t, c, protocol.TypeReplyEnd); end.FinishReason != "stop" {
		t.Fatalf("reply ended %q", end.FinishReason)
	}
	reqs := model.requests()
	res := lastToolResults(reqs[len(reqs)-1])
	if len(res) != 1 {
		t.Fatalf("the model saw results %+v", res)
	}
	return res[0], result
}

func TestInvalidArgumentsReachTheModelAsAnErrorAndTheToolIsNotCalled(t *testing.T) {
	var calls counter
	res, ev := failingStep(t, newOrderTool(t, &calls), `{"order_id": 42}`)
	if !res.IsError || ev.Call.Status != protocol.ToolError || ev.Call.ErrorCode != "invalid_arguments" || calls.get() != 0 {
		t.Fatalf("result %+v, event %+v, tool ran %d times", res, ev.Call, calls.get())
	}
}

func TestAPanickingToolGivesTheModelAnErrorResult(t *testing.T) {
	boom, err := tools.New("boom", "Panics.", func(ctx context.Context, in struct{}) (string, error) { panic("kaboom") })
	if err != nil {
		t.Fatal(err)
	}
	res, ev := failingStep(t, boom, `{}`)
	if !res.IsError || ev.Call.ErrorCode != "panic" || strings.Contains(res.Text, "kaboom") {
		t.Fatalf("result %+v, event %+v", res, ev.Call)
	}
}

func TestAToolPastItsTimeoutGivesTheModelAnErrorResult(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	stuck, err := tools.New("stuck", "Never answers in time.", func(ctx context.Context, in struct{}) (string, error) {
		<-release // ignores its context: the timeout must still hold
		return "late", nil
	}, tools.WithTimeout(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	res, ev := failingStep(t, stuck, `{}`)
	if !res.IsError || ev.Call.ErrorCode != "timeout" {
		t.Fatalf("result %+v, event %+v", res, ev.Call)
	}
}

func TestAModelThatKeepsCallingToolsStopsAtTheStepLimit(t *testing.T) {
	var calls counter
	model := &stepModel{respond: func(step int, req llm.Request) []llm.Event {
		return callTool("c"+string(rune('0'+step)), "lookup_order", `{"order_id":"1"}`)
	}}
	h := chatboxtest.New(t, chatboxtest.Config{Provider: model, Options: []chatbox.Option{
		chatbox.WithTools(newOrderTool(t, &calls)), chatbox.WithMaxToolSteps(3),
	}})
	ctx := testCtx(t)
	c := h.Dial(t, "alice")
	conv := openNew(t, c)
	if _, err := c.Send(ctx, conv, "m1", "loop"); err != nil {
		t.Fatal(err)
	}
	end, _ := readUntil(ctx, t, c, protocol.TypeReplyEnd)
	if end.FinishReason != "max_steps" || len(model.requests()) != 3 || calls.get() != 2 {
		t.Fatalf("finish %q after %d model calls and %d tool calls; want max_steps, 3, 2", end.FinishReason, len(model.requests()), calls.get())
	}
	m, err := h.Store.GetMessage(ctx, conv, end.ReplyID)
	if err != nil || m.FinishReason != "max_steps" || !m.Parts[len(m.Parts)-1].IsError {
		t.Fatalf("stored %+v, %v", m, err)
	}
}

func TestStopDuringARunningToolCancelsItAndStoresThePartialReply(t *testing.T) {
	running := make(chan struct{})
	cancelled := make(chan struct{})
	wait, err := tools.New("wait", "Waits until cancelled.", func(ctx context.Context, in struct{}) (string, error) {
		close(running)
		<-ctx.Done()
		close(cancelled)
		return "", ctx.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	model := &stepModel{respond: func(step int, req llm.Request) []llm.Event {
		return append([]llm.Event{{Kind: llm.EventDelta, Text: "Let me check. "}}, callTool("w1", "wait", `{}`)...)
	}}
	h := chatboxtest.New(t, chatboxtest.Config{Provider: model, Options: []chatbox.Option{chatbox.WithTools(wait)}})
	ctx := testCtx(t)
	c := h.Dial(t, "alice")
	conv := openNew(t, c)
	if _, err := c.Send(ctx, conv, "m1", "go"); err != nil {
		t.Fatal(err)
	}
	<-running
	if err := c.Stop(ctx, conv); err != nil {
		t.Fatal(err)
	}
	select {
	case <-cancelled:
	case <-ctx.Done():
		t.Fatal("the tool's context was not cancelled")
	}
	end, _ := readUntil(ctx, t, c, protocol.TypeReplyEnd)
	m, err := h.Store.GetMessage(ctx, conv, end.ReplyID)
	if end.FinishReason != "abort" || err != nil || m.Text != "Let me check. " || m.FinishReason != "abort" || len(m.Parts) != 3 || m.Parts[2].ErrorCode != "cancelled" {
		t.Fatalf("end %q; stored %+v, %v", end.FinishReason, m, err)
	}
	if len(model.requests()) != 1 {
		t.Fatal("the model was asked again after the stop")
	}
}

// A provider that reuses a call id in a later step gets each call run with
// its own arguments and answered with its own result.
func TestACallIDReusedByTheModelStaysOneCallPerStep(t *testing.T) {
	var calls counter
	model := &stepModel{respond: func(step int, req llm.Request) []llm.Event {
		switch step {
		case 1:
			return callTool("call_0", "lookup_order", `{"order_id":"1"}`)
		case 2:
			return callTool("call_0", "lookup_order", `{"order_id":"2"}`)
		}
		var texts []string
		for _, m := range req.Messages {
			if m.Role == llm.RoleTool {
				texts = append(texts, m.Parts[0].Call.ID+"="+m.Parts[0].Text)
			}
		}
		return answer(strings.Join(texts, " "))
	}}
	h := chatboxtest.New(t, chatboxtest.Config{Provider: model, Options: []chatbox.Option{chatbox.WithTools(newOrderTool(t, &calls))}})
	ctx := testCtx(t)
	c := h.Dial(t, "alice")
	conv := openNew(t, c)
	if _, err := c.Send(ctx, conv, "m1", "two orders"); err != nil {
		t.Fatal(err)
	}
	end, seen := readUntil(ctx, t, c, protocol.TypeReplyEnd)
	m, err := h.Store.GetMessage(ctx, conv, end.ReplyID)
	if err != nil {
		t.Fatal(err)
	}
	want := `call_0={"status":"order 1 shipped to alice"} call_0_2={"status":"order 2 shipped to alice"}`
	if m.Text != want || calls.get() != 2 || strings.Count(frameTypes(seen), "tool.result(done)") != 2 {
		t.Fatalf("text %q, %d calls, events %s", m.Text, calls.get(), frameTypes(seen))
	}
}

// Reasoning streams apart from the text and is stored between it, in
// order, in a reply without tools.
func TestReasoningIsStoredInOrderWithTheText(t *testing.T) {
	model := &stepModel{respond: func(int, llm.Request) []llm.Event {
		return []llm.Event{
			{Kind: llm.EventReasoning, Text: "The user greets. "}, {Kind: llm.EventReasoning, Text: "Greet back.", Signature: "sig1"},
			{Kind: llm.EventDelta, Text: "Hello"}, {Kind: llm.EventDelta, Text: "! "},
			{Kind: llm.EventReasoning, Text: "Offer help."},
			{Kind: llm.EventDelta, Text: "How can I help?"},
			{Kind: llm.EventFinish, FinishReason: llm.FinishStop},
		}
	}}
	h := chatboxtest.New(t, chatboxtest.Config{Provider: model})
	ctx := testCtx(t)
	c := h.Dial(t, "alice")
	conv := openNew(t, c)
	if _, err := c.Send(ctx, conv, "m1", "hi"); err != nil {
		t.Fatal(err)
	}
	end, seen := readUntil(ctx, t, c, protocol.TypeReplyEnd)
	var reasoning, text strings.Builder
	for _, f := range seen {
		switch f.Type {
		case protocol.TypeReplyReasoning:
			reasoning.WriteString(f.Text)
		case protocol.TypeReplyDelta:
			text.WriteString(f.Text)
		}
	}
	if reasoning.String() != "The user greets. Greet back.Offer help." || text.String() != "Hello! How can I help?" {
		t.Fatalf("reasoning %q, text %q", reasoning.String(), text.String())
	}
	m, err := h.Store.GetMessage(ctx, conv, end.ReplyID)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range m.Parts {
		got = append(got, string(p.Kind)+":"+p.Text+":"+p.Signature)
	}
	want := "reasoning:The user greets. Greet back.:sig1|text:Hello! :|reasoning:Offer help.:|text:How can I help?:"
	if strings.Join(got, "|") != want || m.Text != "Hello! How can I help?" {
		t.Fatalf("stored %q, parts\n %s\nwant\n %s", m.Text, strings.Join(got, "|"), want)
	}
	// The next request does not carry the reasoning as text.
	if _, err := c.Send(ctx, conv, "m2", "thanks"); err != nil {
		t.Fatal(err)
	}
	readUntil(ctx, t, c, protocol.TypeReplyEnd)
	reqs := model.requests()
	prev := reqs[1].Messages[1]
	if llm.MessageText(prev) != "Hello! How can I help?" || prev.Parts[0].Kind != llm.PartReasoning || prev.Parts[0].Signature != "sig1" {
		t.Fatalf("history holds %+v", prev)
	}
}
