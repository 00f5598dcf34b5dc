package anthropic

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	sdk "github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/anthropics/anthropic-sdk-go/v2/packages/ssestream"

	"github.com/chatboxsdk/chatbox/llm"
)

// source turns the SDK's event stream into llm events.
type source struct {
	s      *ssestream.Stream[sdk.MessageStreamEventUnion]
	usage  llm.Usage
	finish llm.FinishReason
	blocks map[int64]*block // the content blocks open, by index
	calls  int              // tool calls reported
	done   bool
}

// block is an open content block.
type block struct {
	typ      string // "text", "thinking", "tool_use"...
	id, name string // tool_use
	input    strings.Builder
}

func (src *source) Next() (llm.Event, error) {
	for {
		if src.done {
			return llm.Event{}, errors.New("anthropic: internal error: read after the end")
		}
		if !src.s.Next() {
			if err := src.s.Err(); err != nil {
				return llm.Event{}, err
			}
			src.done = true
			return llm.Event{}, &llm.Error{Kind: llm.KindUnavailable, Provider: Name, Err: errors.New("stream ended without message_stop")}
		}
		if ev, ok := src.event(src.s.Current(), time.Now()); ok {
			return ev, nil
		}
	}
}

// event maps one upstream event; ok is false for those that bring no
// llm event.
func (src *source) event(ev sdk.MessageStreamEventUnion, now time.Time) (llm.Event, bool) {
	switch ev.Type {
	case "message_start":
		u := ev.Message.Usage
		src.usage = llm.Usage{
			InputTokens:       max(u.InputTokens+u.CacheCreationInputTokens+u.CacheReadInputTokens, 0),
			OutputTokens:      max(u.OutputTokens, 0),
			CachedInputTokens: max(u.CacheReadInputTokens, 0),
			ReasoningTokens:   max(u.OutputTokensDetails.ThinkingTokens, 0),
		}
		if src.usage != (llm.Usage{}) {
			return llm.Event{Kind: llm.EventUsage, Usage: src.usage, At: now}, true
		}
	case "content_block_start":
		cb := ev.ContentBlock
		b := &block{typ: cb.Type, id: cb.ID, name: cb.Name}
		if src.blocks == nil {
			src.blocks = map[int64]*block{}
		}
		src.blocks[ev.Index] = b
		switch cb.Type {
		case "tool_use":
			return llm.Event{Kind: llm.EventToolCallStart, Call: llm.ToolCall{ID: cb.ID, Name: cb.Name}, At: now}, true
		case "thinking":
			if cb.Thinking != "" || cb.Signature != "" {
				return llm.Event{Kind: llm.EventReasoning, Text: cb.Thinking, Signature: cb.Signature, At: now}, true
			}
		case "text":
			if cb.Text != "" {
				return llm.Event{Kind: llm.EventDelta, Text: cb.Text, At: now}, true
			}
		}
	case "content_block_delta":
		d := ev.Delta
		switch d.Type {
		case "text_delta":
			if d.Text != "" {
				return llm.Event{Kind: llm.EventDelta, Text: d.Text, At: now}, true
			}
		case "thinking_delta":
			if d.Thinking != "" {
				return llm.Event{Kind: llm.EventReasoning, Text: d.Thinking, At: now}, true
			}
		case "signature_delta":
			if d.Signature != "" {
				return llm.Event{Kind: llm.EventReasoning, Signature: d.Signature, At: now}, true
			}
		case "input_json_delta":
			if b := src.blocks[ev.Index]; b != nil && b.typ == "tool_use" && d.PartialJSON != "" {
				b.input.WriteString(d.PartialJSON)
				return llm.Event{Kind: llm.EventToolCallDelta, Text: d.PartialJSON, Call: llm.ToolCall{ID: b.id, Name: b.name}, At: now}, true
			}
		}
	case "content_block_stop":
		b := src.blocks[ev.Index]
		delete(src.blocks, ev.Index)
		if b != nil && b.typ == "tool_use" {
			src.calls++
			args := b.input.String()
			if args == "" {
				args = "{}" // a call without input
			}
			return llm.Event{Kind: llm.EventToolCall, Call: llm.ToolCall{ID: b.id, Name: b.name, Arguments: args}, At: now}, true
		}
	case "message_delta":
		if ev.Delta.StopReason != "" {
			src.finish = finishReason(ev.Delta.StopReason)
		}
		// The counts are cumulative; input counts are sent by newer
		// API versions only.
		u := ev.Usage
		if in := u.InputTokens + u.CacheCreationInputTokens + u.CacheReadInputTokens; in > 0 {
			src.usage.InputTokens = in
		}
		if u.CacheReadInputTokens > 0 {
			src.usage.CachedInputTokens = u.CacheReadInputTokens
		}
		if t := u.OutputTokensDetails.ThinkingTokens; t > 0 {
			src.usage.ReasoningTokens = t
		}
		if u.OutputTokens > 0 {
			src.usage.OutputTokens = u.OutputTokens
			return llm.Event{Kind: llm.EventUsage, Usage: src.usage, At: now}, true
		}
	case "message_stop":
		src.done = true
		return llm.Event{Kind: llm.EventFinish, FinishReason: src.finishReason(), At: now}, true
	}
	return llm.Event{}, false
}

// finishReason is the reply's finish reason: llm.FinishToolCalls when it
// made calls, unless it was cut by the token limit or refused; a tool_use
// stop without calls is a stop.
func (src *source) finishReason() llm.FinishReason {
	f := cmpOr(src.finish, llm.FinishStop)
	switch {
	case src.calls > 0 && (f == llm.FinishStop || f == llm.FinishToolCalls):
		return llm.FinishToolCalls
	case src.calls == 0 && f == llm.FinishToolCalls:
		return llm.FinishStop
	}
	return f
}

func (src *source) Close() error { return src.s.Close() }

func cmpOr(a, b llm.FinishReason) llm.FinishReason {
	if a != "" {
		return a
	}
	return b
}

// finishReason maps Anthropic's stop_reason.
func finishReason(r sdk.StopReason) llm.FinishReason {
	switch r {
	case sdk.StopReasonToolUse:
		return llm.FinishToolCalls
	case sdk.StopReasonMaxTokens, sdk.StopReasonModelContextWindowExceeded:
		return llm.FinishLength
	case sdk.StopReasonRefusal:
		return llm.FinishContentFilter
	}
	return llm.FinishStop
}

// classify turns an SDK failure into an *llm.Error: an error response or
// an error event after HTTP 200 by its error type, else by its status;
// anything else is left to llm.TransportError. The SDK error itself is
// not kept, since it holds the request and its x-api-key header.
func (p *Provider) classify(err error) error {
	var api *sdk.Error
	if !errors.As(err, &api) {
		return err // llm.TransportError classifies it (an undecodable error event is unavailable)
	}
	typ := string(api.Type())
	kind, ok := llm.KindForErrorType(typ)
	if !ok {
		kind = llm.KindForStatus(api.StatusCode)
		if api.StatusCode == http.StatusOK { // an error event of an unknown type
			kind = llm.KindUnavailable
		}
	}
	var retry time.Duration
	if api.Response != nil && api.StatusCode != http.StatusOK {
		retry = llm.RetryAfter(api.Response.Header, time.Now())
	}
	where := fmt.Sprintf("HTTP %d", api.StatusCode)
	if api.StatusCode == http.StatusOK {
		where = "error event"
	}
	text := ""
	if api.StatusCode != http.StatusUnauthorized && api.StatusCode != http.StatusForbidden {
		text = ": " + llm.Excerpt(api.Message, p.secrets...)
	}
	return &llm.Error{Kind: kind, Provider: Name, RetryAfter: retry,
		Err: fmt.Errorf("%s type=%q request-id=%q%s", where, llm.Excerpt(typ), llm.Excerpt(api.RequestID), text)}
}
