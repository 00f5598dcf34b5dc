package tools_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/chatboxsdk/chatbox/llm"
	"github.com/chatboxsdk/chatbox/llm/tools"
)

// rawTool implements Tool by hand, without Validator, so Invoke resolves
// its schema itself.
type rawTool struct {
	name    string
	schema  string
	timeout time.Duration
	call    func(ctx context.Context, args json.RawMessage) (string, error)
	calls   atomic.Int32
}

func (r *rawTool) Def() llm.ToolDef {
	return llm.ToolDef{Name: r.name, Description: "a test tool", InputSchema: json.RawMessage(r.schema)}
}
func (r *rawTool) NeedsApproval() bool    { return false }
func (r *rawTool) Timeout() time.Duration { return r.timeout }
func (r *rawTool) Call(ctx context.Context, args json.RawMessage) (string, error) {
	r.calls.Add(1)
	if r.call == nil {
		return string(args), nil
	}
	return r.call(ctx, args)
}

const citySchema = `{"type":"object","properties":{"city":{"type":"string"},"days":{"type":"integer","minimum":1}},"required":["city"],"additionalProperties":false}`

func closed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

func TestInvokeRejectsInvalidArguments(t *testing.T) {
	var typedCalls atomic.Int32
	typed, err := tools.New("forecast", "Weather forecast.", func(_ context.Context, in struct {
		City string `json:"city"`
		Days int    `json:"days,omitempty"`
	}) (string, error) {
		typedCalls.Add(1)
		return in.City, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	raw := &rawTool{name: "forecast", schema: citySchema}

	cases := []struct{ args, want string }{
		{`{"city":3}`, `/properties/city`},
		{`{"days":2}`, `missing properties: ["city"]`},
		{`{"city":"Rome","days":1.5}`, `/properties/days`},
		{`{"city":"Rome","extra":true}`, `additional properties`},
		{``, `missing properties`},
		{`{"city":`, `arguments are not valid JSON`},
		{`{"city":"a"} {}`, `arguments are not valid JSON`},
		{`["Rome"]`, `arguments must be a JSON object`},
		{`null`, `arguments must be a JSON object`},
		{`"Rome"`, `arguments must be a JSON object`},
	}
	for _, tool := range []tools.Tool{typed, raw} {
		for _, c := range cases {
			r := tools.Invoke(context.Background(), tool, c.args, 0)
			if !r.IsError || r.Code != tools.CodeInvalidArguments {
				t.Errorf("%T %q: result %+v, want %s", tool, c.args, r, tools.CodeInvalidArguments)
				continue
			}
			if !strings.Contains(r.Content, c.want) {
				t.Errorf("%T %q: content %q lacks %q", tool, c.args, r.Content, c.want)
			}
			if r.Err == nil || !closed(r.Done) {
				t.Errorf("%T %q: Err %v, Done closed %v", tool, c.args, r.Err, closed(r.Done))
			}
		}
	}
	if n := typedCalls.Load(); n != 0 {
		t.Errorf("typed tool called %d times with invalid arguments", n)
	}
	if n := raw.calls.Load(); n != 0 {
		t.Errorf("raw tool called %d times with invalid arguments", n)
	}

	for _, tool := range []tools.Tool{typed, raw} {
		r := tools.Invoke(context.Background(), tool, ` {"city":"Rome","days":2} `, 0)
		if r.IsError || !strings.Contains(r.Content, "Rome") {
			t.Errorf("%T valid arguments: %+v", tool, r)
		}
	}
}

func TestInvokeCapsValidationMessage(t *testing.T) {
	raw := &rawTool{name: "long", schema: `{"type":"object","properties":{"s":{"type":"string","maxLength":3}}}`}
	r := tools.Invoke(context.Background(), raw, fmt.Sprintf(`{"s":%q}`, strings.Repeat("é", 2000)), 0)
	if r.Code != tools.CodeInvalidArguments {
		t.Fatalf("result %+v", r)
	}
	if len(r.Content) > len("invalid arguments: ")+tools.MaxValidationBytes || !utf8.ValidString(r.Content) {
		t.Errorf("content is %d bytes (valid UTF-8: %v)", len(r.Content), utf8.ValidString(r.Content))
	}
}

func TestInvokeBadSchema(t *testing.T) {
	for _, schema := range []string{``, `{"type":"string"}`, `{"type":"object","properties":{"a":{"pattern":"("}}}`, `nope`} {
		raw := &rawTool{name: "broken", schema: schema}
		r := tools.Invoke(context.Background(), raw, `{}`, 0)
		if r.Code != tools.CodeToolError || r.Err == nil {
			t.Errorf("schema %q: %+v", schema, r)
		}
		if raw.calls.Load() != 0 {
			t.Errorf("schema %q: tool called", schema)
		}
	}
}

func TestInvokePanic(t *testing.T) {
	tool, err := tools.New("boom", "Panics.", func(context.Context, struct{}) (string, error) {
		panic("secret internal state")
	})
	if err != nil {
		t.Fatal(err)
	}
	r := tools.Invoke(context.Background(), tool, `{}`, 0)
	if !r.IsError || r.Code != tools.CodePanic {
		t.Fatalf("result %+v", r)
	}
	if strings.Contains(r.Content, "secret") {
		t.Errorf("panic value reached the model: %q", r.Content)
	}
	if r.Err == nil || !strings.Contains(r.Err.Error(), "secret internal state") || !strings.Contains(r.Err.Error(), "goroutine") {
		t.Errorf("Err lacks the panic value and stack: %v", r.Err)
	}
	if !closed(r.Done) {
		t.Error("Done open after a panic")
	}
}

// panicDef panics before any call: Invoke recovers it too.
type panicDef struct{ *rawTool }

func (panicDef) Def() llm.ToolDef { panic("def") }

func TestInvokePanicOutsideCall(t *testing.T) {
	r := tools.Invoke(context.Background(), panicDef{&rawTool{}}, `{}`, 0)
	if r.Code != tools.CodePanic || !closed(r.Done) {
		t.Errorf("result %+v", r)
	}
	r = tools.Invoke(context.Background(), nil, `{}`, 0)
	if r.Code != tools.CodeToolError || !closed(r.Done) {
		t.Errorf("nil tool: %+v", r)
	}
}

func TestInvokeToolError(t *testing.T) {
	sentinel := errors.New("sentinel")
	raw := &rawTool{name: "fails", schema: `{"type":"object"}`, call: func(context.Context, json.RawMessage) (string, error) {
		return "ignored", fmt.Errorf("city not found: %w", sentinel)
	}}
	r := tools.Invoke(context.Background(), raw, `{}`, 0)
	if !r.IsError || r.Code != tools.CodeToolError || r.Content != "city not found: sentinel" {
		t.Errorf("result %+v", r)
	}
	if !errors.Is(r.Err, sentinel) {
		t.Errorf("Err %v does not wrap the tool's error", r.Err)
	}

	raw.call = func(context.Context, json.RawMessage) (string, error) {
		return "", &tools.Error{Message: "the backend is down", Err: fmt.Errorf("dial 10.0.0.7:5432: %w", sentinel)}
	}
	r = tools.Invoke(context.Background(), raw, `{}`, 0)
	if r.Code != tools.CodeToolError || r.Content != "the backend is down" {
		t.Errorf("tools.Error: %+v", r)
	}
	if !errors.Is(r.Err, sentinel) || !strings.Contains(r.Err.Error(), "10.0.0.7") {
		t.Errorf("tools.Error: Err %v lost the cause", r.Err)
	}

	long := strings.Repeat("ü", 3000)
	raw.call = func(context.Context, json.RawMessage) (string, error) { return "", errors.New(long) }
	r = tools.Invoke(context.Background(), raw, `{}`, 0)
	if len(r.Content) > tools.MaxErrorBytes || !utf8.ValidString(r.Content) || !strings.HasSuffix(r.Content, "…") {
		t.Errorf("capped content: %d bytes, valid %v", len(r.Content), utf8.ValidString(r.Content))
	}
	if !strings.Contains(r.Err.Error(), long) {
		t.Error("Err lost the full text")
	}
}

// A tool that ignores its context: Invoke returns at the timeout while
// the tool still runs, and Done tells when it has returned.
func TestInvokeTimeoutToolIgnoresContext(t *testing.T) {
	started, release, returned := make(chan struct{}), make(chan struct{}), make(chan struct{})
	const timeout = 50 * time.Millisecond
	raw := &rawTool{name: "stuck", schema: `{"type":"object"}`, timeout: timeout, call: func(context.Context, json.RawMessage) (string, error) {
		close(started)
		<-release
		close(returned)
		return "late", nil
	}}
	begin := time.Now()
	r := tools.Invoke(context.Background(), raw, `{}`, time.Hour)
	elapsed := time.Since(begin)

	if r.Code != tools.CodeTimeout || !r.IsError || r.Content != "the tool did not finish within 50ms" {
		t.Errorf("result %+v", r)
	}
	if !errors.Is(r.Err, context.DeadlineExceeded) {
		t.Errorf("Err %v does not wrap DeadlineExceeded", r.Err)
	}
	if elapsed < timeout || elapsed > timeout+2*time.Second {
		t.Errorf("Invoke returned after %v, want about %v", elapsed, timeout)
	}
	if !closed(started) {
		t.Error("tool was not started")
	}
	if closed(returned) || closed(r.Done) {
		t.Fatal("Invoke waited for the tool")
	}
	close(release)
	<-r.Done
	if !closed(returned) {
		t.Error("Done closed before the tool returned")
	}
}

func TestInvokeTimeoutSources(t *testing.T) {
	wait := func(ctx context.Context, _ json.RawMessage) (string, error) {
		<-ctx.Done()
		return "", ctx.Err()
	}
	// The default given to Invoke applies when the tool has none.
	r := tools.Invoke(context.Background(), &rawTool{name: "w", schema: `{"type":"object"}`, call: wait}, `{}`, 20*time.Millisecond)
	if r.Code != tools.CodeTimeout || r.Content != "the tool did not finish within 20ms" {
		t.Errorf("default timeout: %+v", r)
	}
	<-r.Done

	// The caller's deadline.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	r = tools.Invoke(ctx, &rawTool{name: "w", schema: `{"type":"object"}`, call: wait}, `{}`, time.Hour)
	if r.Code != tools.CodeTimeout || r.Content != "the tool did not finish in time" {
		t.Errorf("caller's deadline: %+v", r)
	}
	<-r.Done
}

func TestInvokeCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan struct{})
	raw := &rawTool{name: "w", schema: `{"type":"object"}`, call: func(ctx context.Context, _ json.RawMessage) (string, error) {
		close(started)
		<-ctx.Done()
		return "", fmt.Errorf("stopped: %w", ctx.Err())
	}}
	go func() {
		<-started
		cancel()
	}()
	r := tools.Invoke(ctx, raw, `{}`, time.Hour)
	if r.Code != tools.CodeCancelled || r.Content != "the tool call was cancelled" || !errors.Is(r.Err, context.Canceled) {
		t.Errorf("result %+v", r)
	}
	<-r.Done

	// Already cancelled: the tool is not called.
	raw = &rawTool{name: "w", schema: `{"type":"object"}`}
	r = tools.Invoke(ctx, raw, `{}`, 0)
	if r.Code != tools.CodeCancelled || raw.calls.Load() != 0 || !closed(r.Done) {
		t.Errorf("cancelled before: %+v, calls %d", r, raw.calls.Load())
	}
}

func TestInvokeConcurrent(t *testing.T) {
	tool, err := tools.New("double", "Doubles n.", func(_ context.Context, in struct {
		N int `json:"n"`
	}) (int, error) {
		if in.N%7 == 0 {
			return 0, errors.New("multiple of seven")
		}
		return 2 * in.N, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	raw := &rawTool{name: "echo", schema: `{"type":"object","properties":{"n":{"type":"integer"}},"required":["n"]}`}
	var wg sync.WaitGroup
	for i := range 64 {
		wg.Go(func() {
			args := fmt.Sprintf(`{"n":%d}`, i)
			r := tools.Invoke(context.Background(), tool, args, 0)
			switch {
			case i%7 == 0 && r.Code != tools.CodeToolError:
				t.Errorf("n=%d: %+v", i, r)
			case i%7 != 0 && r.Content != fmt.Sprint(2*i):
				t.Errorf("n=%d: %+v", i, r)
			}
			if r := tools.Invoke(context.Background(), raw, args, 0); r.Content != args {
				t.Errorf("raw n=%d: %+v", i, r)
			}
			if r := tools.Invoke(context.Background(), tool, `{"n":"x"}`, 0); r.Code != tools.CodeInvalidArguments {
				t.Errorf("invalid: %+v", r)
			}
		})
	}
	wg.Wait()
}
