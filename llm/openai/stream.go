package openai

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	oai "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/packages/respjson"
	"github.com/openai/openai-go/v3/packages/ssestream"

	"github.com/chatboxsdk/chatbox/llm"
)

// source turns the SDK's chunk stream into llm events. A chunk can carry
// reasoning, text, tool calls, a finish reason and usage at once, so
// events are queued.
type source struct {
	s       *ssestream.Stream[oai.ChatCompletionChunk]
	pending []llm.Event
	finish  string      // the finish_reason seen, reported at the end
	calls   []*toolCall // the tool calls, in the order they appeared
	done    bool
}

// toolCall is a tool call being streamed.
type toolCall struct {
	index     int64
	indexed   bool // the server gave an index
	id, name  string
	args      strings.Builder
	started   bool // EventToolCallStart was sent
	completed bool // EventToolCall was sent
}

func (src *source) Next() (llm.Event, error) {
	for len(src.pending) == 0 {
		if src.done {
			return llm.Event{}, errors.New("openai: internal error: read after the end")
		}
		if !src.s.Next() {
			if err := src.s.Err(); err != nil {
				return llm.Event{}, err
			}
			src.done = true
			if src.finish == "" {
				// A clean end without a finish_reason: the stream was cut.
				return llm.Event{}, &llm.Error{Kind: llm.KindUnavailable, Provider: Name, Err: errors.New("stream ended without a finish reason")}
			}
			now := time.Now()
			src.complete(now) // calls that came after the finish_reason
			src.pending = append(src.pending, llm.Event{Kind: llm.EventFinish, FinishReason: src.finishReason(), At: now})
			break
		}
		src.add(src.s.Current())
	}
	ev := src.pending[0]
	src.pending = src.pending[1:]
	return ev, nil
}

func (src *source) add(chunk oai.ChatCompletionChunk) {
	now := time.Now()
	for _, c := range chunk.Choices {
		if c.Index != 0 {
			continue // only one choice is asked for
		}
		if r := reasoning(c.Delta); r != "" {
			src.pending = append(src.pending, llm.Event{Kind: llm.EventReasoning, Text: r, At: now})
		}
		if c.Delta.Content != "" {
			src.pending = append(src.pending, llm.Event{Kind: llm.EventDelta, Text: c.Delta.Content, At: now})
		}
		for _, tc := range c.Delta.ToolCalls {
			src.toolCallDelta(tc, now)
		}
		if c.FinishReason != "" {
			src.finish = c.FinishReason
			src.complete(now)
		}
	}
	if chunk.JSON.Usage.Valid() {
		u := chunk.Usage
		if u.PromptTokens > 0 || u.CompletionTokens > 0 {
			cached := u.PromptTokensDetails.CachedTokens
			if cached == 0 { // DeepSeek's name for it
				cached = intField(u.JSON.ExtraFields["prompt_cache_hit_tokens"])
			}
			src.pending = append(src.pending, llm.Event{Kind: llm.EventUsage, At: now, Usage: llm.Usage{
				InputTokens:       max(u.PromptTokens, 0),
				OutputTokens:      max(u.CompletionTokens, 0),
				CachedInputTokens: max(cached, 0),
				ReasoningTokens:   max(u.CompletionTokensDetails.ReasoningTokens, 0),
			}})
		}
	}
}

// reasoning returns the reasoning a delta carries in the fields that
// OpenAI-compatible servers add: reasoning_content (DeepSeek, llama.cpp,
// older vLLM) or reasoning (newer vLLM, Ollama, OpenRouter). When both
// are present they hold the same text, which is taken once.
func reasoning(d oai.ChatCompletionChunkChoiceDelta) string {
	for _, name := range []string{"reasoning_content", "reasoning"} {
		f, ok := d.JSON.ExtraFields[name]
		if !ok {
			continue
		}
		var text string
		if json.Unmarshal([]byte(f.Raw()), &text) == nil && text != "" {
			return text
		}
	}
	return ""
}

// intField decodes an extra field holding a number; 0 when it holds none.
func intField(f respjson.Field) int64 {
	var n int64
	if json.Unmarshal([]byte(f.Raw()), &n) != nil {
		return 0
	}
	return n
}

// toolCallDelta applies one tool_calls entry of a delta. The call it
// continues is found by its index; servers that omit the index are
// matched by the call's id, and an entry with neither continues the last
// call. The start is sent once the call's name is known (with an id made
// up when the server gives none), and each argument fragment after it.
func (src *source) toolCallDelta(tc oai.ChatCompletionChunkChoiceDeltaToolCall, now time.Time) {
	var c *toolCall
	switch indexed := tc.JSON.Index.Valid(); {
	case indexed:
		c = src.find(func(c *toolCall) bool { return c.indexed && c.index == tc.Index })
		if c != nil && tc.ID != "" && c.id != "" && c.id != tc.ID {
			c = nil // a server that numbers every call 0
		}
	case tc.ID != "":
		c = src.find(func(c *toolCall) bool { return c.id == tc.ID })
	case len(src.calls) > 0:
		c = src.calls[len(src.calls)-1]
	}
	if c == nil || c.completed {
		c = &toolCall{index: tc.Index, indexed: tc.JSON.Index.Valid()}
		src.calls = append(src.calls, c)
	}
	if c.id == "" {
		c.id = tc.ID
	}
	if c.name == "" {
		c.name = tc.Function.Name
	}
	frag := tc.Function.Arguments
	if !c.started {
		c.args.WriteString(frag)
		if c.name == "" {
			return // the start waits for the name
		}
		if c.id == "" {
			c.id = newCallID()
		}
		c.started = true
		src.pending = append(src.pending, llm.Event{Kind: llm.EventToolCallStart, Call: llm.ToolCall{ID: c.id, Name: c.name}, At: now})
		frag = c.args.String()
	} else {
		c.args.WriteString(frag)
	}
	if frag != "" {
		src.pending = append(src.pending, llm.Event{Kind: llm.EventToolCallDelta, Text: frag, Call: llm.ToolCall{ID: c.id, Name: c.name}, At: now})
	}
}

// find returns the last call match accepts, or nil.
func (src *source) find(match func(*toolCall) bool) *toolCall {
	for i := len(src.calls) - 1; i >= 0; i-- {
		if match(src.calls[i]) {
			return src.calls[i]
		}
	}
	return nil
}

// complete reports every call not yet reported by an EventToolCall, with
// its whole arguments ("{}" when none came).
func (src *source) complete(now time.Time) {
	for _, c := range src.calls {
		if c.completed {
			continue
		}
		c.completed = true
		if c.id == "" {
			c.id = newCallID()
		}
		args := c.args.String()
		if args == "" {
			args = "{}"
		}
		src.pending = append(src.pending, llm.Event{Kind: llm.EventToolCall, Call: llm.ToolCall{ID: c.id, Name: c.name, Arguments: args}, At: now})
	}
}

// newCallID makes up an id for a call whose server gave none.
func newCallID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return "call_" + hex.EncodeToString(b[:])
}

func (src *source) Close() error { return src.s.Close() }

// finishReason maps OpenAI's finish_reason. A reply with tool calls
// finishes with llm.FinishToolCalls whatever the server said, unless it
// was cut by the length limit or a filter (some servers say "stop" after
// calls); "tool_calls" without any call is a stop.
func (src *source) finishReason() llm.FinishReason {
	switch src.finish {
	case "length":
		return llm.FinishLength
	case "content_filter":
		return llm.FinishContentFilter
	}
	if len(src.calls) > 0 {
		return llm.FinishToolCalls
	}
	return llm.FinishStop
}

// classify turns an SDK failure into an *llm.Error: an HTTP error
// response by its status, type and code; an error event in the stream by
// its type and code; anything else is left to llm.TransportError. The SDK
// error itself is not kept, since it holds the request and its
// Authorization header.
func (p *Provider) classify(err error) error {
	var api *oai.Error
	if errors.As(err, &api) {
		kind := llm.KindForStatus(api.StatusCode)
		for _, id := range []string{api.Code, api.Type} {
			if k, ok := llm.KindForErrorType(id); ok {
				kind = k
				break
			}
		}
		var retry time.Duration
		if api.Response != nil {
			retry = llm.RetryAfter(api.Response.Header, time.Now())
		}
		text := ""
		if api.StatusCode != http.StatusUnauthorized && api.StatusCode != http.StatusForbidden {
			text = ": " + llm.Excerpt(api.Message, p.secrets...)
		}
		return &llm.Error{Kind: kind, Provider: Name, RetryAfter: retry,
			Err: fmt.Errorf("HTTP %d type=%q code=%q%s", api.StatusCode, llm.Excerpt(api.Type), llm.Excerpt(api.Code), text)}
	}
	var se *ssestream.StreamError
	if errors.As(err, &se) {
		return streamError(se.Event.Data, p.secrets)
	}
	return err
}

// streamError classifies the payload of an error event sent after HTTP
// 200: {"error": {"message", "type", "code"}}, where code is a string
// (OpenAI) or an HTTP status number (some compatible servers).
func streamError(data []byte, secrets []string) *llm.Error {
	var body struct {
		Error struct {
			Message string          `json:"message"`
			Type    string          `json:"type"`
			Code    json.RawMessage `json:"code"`
		} `json:"error"`
	}
	kind := llm.KindUnavailable
	if json.Unmarshal(data, &body) != nil {
		return &llm.Error{Kind: kind, Provider: Name, Err: errors.New("malformed error event in the stream")}
	}
	e := body.Error
	var code string
	if json.Unmarshal(e.Code, &code) != nil {
		if n, err := strconv.Atoi(string(e.Code)); err == nil {
			kind = llm.KindForStatus(n)
			code = string(e.Code)
		}
	}
	for _, id := range []string{code, e.Type} {
		if k, ok := llm.KindForErrorType(id); ok {
			kind = k
			break
		}
	}
	return &llm.Error{Kind: kind, Provider: Name,
		Err: fmt.Errorf("error event: type=%q code=%q: %s", llm.Excerpt(e.Type), llm.Excerpt(code), llm.Excerpt(e.Message, secrets...))}
}
