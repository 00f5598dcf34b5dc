package main

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/chatboxsdk/chatbox/llm"
	"github.com/chatboxsdk/chatbox/llm/scripted"
)

// A delta's text is a stamp: the provider's emit time as 20 decimal digits of
// Unix nanoseconds followed by " tok", 24 bytes in all. The client computes a
// delta's latency as its receive time minus the stamp. Server and client
// share the machine's wall clock (same process, or child process on the
// same host), so no clock offset enters the figure. A server that coalesces
// consecutive deltas sends several stamps in one text; each counts as one
// delta with its own latency.
const (
	stampDigits = 20
	stampBytes  = 24
	stampSuffix = " tok"
)

func stampText(t time.Time) string {
	var b [stampBytes]byte
	s := strconv.AppendInt(b[:0], t.UnixNano(), 10)
	pad := stampDigits - len(s)
	out := make([]byte, 0, stampBytes)
	for range pad {
		out = append(out, '0')
	}
	out = append(out, s...)
	out = append(out, stampSuffix...)
	return string(out)
}

// eachStamp calls fn with every stamp in text and returns how many deltas
// text carries: the number of stamps, or 1 when text is not stamped (a
// remote server with another provider).
func eachStamp(text string, fn func(time.Time)) int {
	if len(text) < stampBytes || len(text)%stampBytes != 0 {
		return 1
	}
	n := 0
	for i := 0; i+stampBytes <= len(text); i += stampBytes {
		chunk := text[i : i+stampBytes]
		if !strings.HasSuffix(chunk, stampSuffix) {
			return max(n, 1)
		}
		ns, err := strconv.ParseInt(chunk[:stampDigits], 10, 64)
		if err != nil {
			return max(n, 1)
		}
		fn(time.Unix(0, ns))
		n++
	}
	return n
}

// replyShape is what every reply of a run looks like.
type replyShape struct {
	Deltas   int           // deltas per reply
	Interval time.Duration // wait before each delta (0: as fast as possible)
	// Redis, when set, is the address of the Redis the chatbox target uses
	// as its broker (broker/redis) instead of the in-memory one.
	Redis string
}

// stampingProvider is the scripted provider whose delta texts are replaced
// by stamps of the time the scripted provider emitted them (llm.Event.At).
type stampingProvider struct{ inner *scripted.Provider }

func newStampingProvider(shape replyShape) *stampingProvider {
	deltas := make([]string, shape.Deltas)
	for i := range deltas {
		deltas[i] = strings.Repeat("x", stampBytes) // replaced when emitted
	}
	p := scripted.New(
		scripted.WithMaxRecordedRequests(0),
		scripted.WithResponder(func(req llm.Request) scripted.Reply {
			return scripted.Reply{Deltas: deltas, Delay: shape.Interval, Usage: llm.Usage{InputTokens: int64(len(req.Messages)), OutputTokens: int64(len(deltas))}}
		}),
	)
	return &stampingProvider{inner: p}
}

func (p *stampingProvider) Stream(ctx context.Context, req llm.Request) (llm.Stream, error) {
	st, err := p.inner.Stream(ctx, req)
	if err != nil {
		return nil, err
	}
	return stampingStream{st}, nil
}

type stampingStream struct{ llm.Stream }

func (s stampingStream) Recv() (llm.Event, error) {
	ev, err := s.Stream.Recv()
	if err == nil && ev.Kind == llm.EventDelta {
		ev.Text = stampText(ev.At)
	}
	return ev, err
}
