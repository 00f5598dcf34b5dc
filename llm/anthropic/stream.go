package anthropic

import (
	"errors"
	"fmt"
	"net/http"
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
	done   bool
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
		ev := src.s.Current()
		now := time.Now()
		switch ev.Type {
		case "message_start":
			u := ev.Message.Usage
			src.usage = llm.Usage{
				InputTokens:  max(u.InputTokens+u.CacheCreationInputTokens+u.CacheReadInputTokens, 0),
				OutputTokens: max(u.OutputTokens, 0),
			}
			if src.usage != (llm.Usage{}) {
				return llm.Event{Kind: llm.EventUsage, Usage: src.usage, At: now}, nil
			}
		case "content_block_delta":
			if ev.Delta.Type == "text_delta" && ev.Delta.Text != "" {
				return llm.Event{Kind: llm.EventDelta, Text: ev.Delta.Text, At: now}, nil
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
			if u.OutputTokens > 0 {
				src.usage.OutputTokens = u.OutputTokens
				return llm.Event{Kind: llm.EventUsage, Usage: src.usage, At: now}, nil
			}
		case "message_stop":
			src.done = true
			return llm.Event{Kind: llm.EventFinish, FinishReason: cmpOr(src.finish, llm.FinishStop), At: now}, nil
		}
	}
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
