package dify

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/chatboxsdk/chatbox/llm"
	"github.com/chatboxsdk/chatbox/llm/internal/httpstream"
)

// event is one streamed chunk; its fields depend on Event.
type event struct {
	Event          string `json:"event"`
	Answer         string `json:"answer"`
	ConversationID string `json:"conversation_id"`
	Metadata       struct {
		Usage struct {
			PromptTokens     int64 `json:"prompt_tokens"`
			CompletionTokens int64 `json:"completion_tokens"`
		} `json:"usage"`
	} `json:"metadata"`
	// error events
	Status  int    `json:"status"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// source decodes Dify's stream: every event is a data line holding JSON
// whose "event" field names it.
type source struct {
	body    io.Closer
	sse     *httpstream.SSEReader
	learn   func(conversationID string)
	learned bool
	finish  llm.FinishReason
	agent   bool // agent_message deltas came
	pending *llm.Event
	done    bool
}

func (src *source) Next() (llm.Event, error) {
	if src.pending != nil {
		ev := *src.pending
		src.pending = nil
		return ev, nil
	}
	for {
		if src.done {
			return llm.Event{}, errors.New("dify: internal error: read after the end")
		}
		_, data, err := src.sse.Next()
		if err == io.EOF {
			src.done = true
			return llm.Event{}, &llm.Error{Kind: llm.KindUnavailable, Provider: Name, Err: errors.New("stream ended without message_end")}
		}
		if err != nil {
			return llm.Event{}, err
		}
		if len(data) == 0 {
			continue // "event: ping" and other events without data
		}
		var ev event
		if err := json.Unmarshal(data, &ev); err != nil {
			return llm.Event{}, &llm.Error{Kind: llm.KindUnavailable, Provider: Name, Err: fmt.Errorf("undecodable event: %w", err)}
		}
		if ev.ConversationID != "" && !src.learned {
			src.learned = true
			src.learn(ev.ConversationID)
		}
		now := time.Now()
		switch ev.Event {
		case "agent_message":
			src.agent = true
			if ev.Answer != "" {
				return llm.Event{Kind: llm.EventDelta, Text: ev.Answer, At: now}, nil
			}
		case "message":
			if ev.Answer != "" && !src.agent { // after agent deltas: the whole answer again
				return llm.Event{Kind: llm.EventDelta, Text: ev.Answer, At: now}, nil
			}
		case "message_replace":
			src.finish = llm.FinishContentFilter
		case "message_end":
			src.done = true
			finish := llm.Event{Kind: llm.EventFinish, FinishReason: llm.FinishStop, At: now}
			if src.finish != "" {
				finish.FinishReason = src.finish
			}
			u := ev.Metadata.Usage
			if u.PromptTokens > 0 || u.CompletionTokens > 0 {
				src.pending = &finish
				return llm.Event{Kind: llm.EventUsage, At: now,
					Usage: llm.Usage{InputTokens: max(u.PromptTokens, 0), OutputTokens: max(u.CompletionTokens, 0)}}, nil
			}
			return finish, nil
		case "error":
			src.done = true
			return llm.Event{}, streamError(ev)
		}
	}
}

func (src *source) Close() error { return src.body.Close() }

// streamError classifies an error event by its code, else its status.
func streamError(ev event) *llm.Error {
	kind, ok := llm.KindForErrorType(ev.Code)
	if !ok {
		kind = llm.KindForStatus(ev.Status)
		if kind == llm.KindUnknown {
			kind = llm.KindUnavailable
		}
	}
	return &llm.Error{Kind: kind, Provider: Name,
		Err: fmt.Errorf("error event: status=%d code=%q: %s", ev.Status, llm.Excerpt(ev.Code), llm.Excerpt(ev.Message))}
}
