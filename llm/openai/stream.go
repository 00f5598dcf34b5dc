package openai

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	oai "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/packages/ssestream"

	"github.com/chatboxsdk/chatbox/llm"
)

// source turns the SDK's chunk stream into llm events. A chunk can carry
// text, a finish reason and usage at once, so events are queued.
type source struct {
	s       *ssestream.Stream[oai.ChatCompletionChunk]
	pending []llm.Event
	finish  llm.FinishReason // the finish_reason seen, reported at the end
	done    bool
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
			return llm.Event{Kind: llm.EventFinish, FinishReason: src.finish, At: time.Now()}, nil
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
		if c.Delta.Content != "" {
			src.pending = append(src.pending, llm.Event{Kind: llm.EventDelta, Text: c.Delta.Content, At: now})
		}
		if c.FinishReason != "" {
			src.finish = finishReason(c.FinishReason)
		}
	}
	if chunk.JSON.Usage.Valid() {
		u := chunk.Usage
		if u.PromptTokens > 0 || u.CompletionTokens > 0 {
			src.pending = append(src.pending, llm.Event{Kind: llm.EventUsage, At: now,
				Usage: llm.Usage{InputTokens: max(u.PromptTokens, 0), OutputTokens: max(u.CompletionTokens, 0)}})
		}
	}
}

func (src *source) Close() error { return src.s.Close() }

// finishReason maps OpenAI's finish_reason; tool and function calls,
// which chatbox does not request, count as a stop.
func finishReason(r string) llm.FinishReason {
	switch r {
	case "length":
		return llm.FinishLength
	case "content_filter":
		return llm.FinishContentFilter
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
