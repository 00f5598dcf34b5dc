package scripted

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/chatboxsdk/chatbox/llm"
)

// stream plays one Reply. All waiting happens inside Recv; a watch on the
// caller's context (context.AfterFunc) only counts cancellations and is
// stopped, or awaited, when the stream ends.
type stream struct {
	parent context.Context    // the context given to Stream
	ctx    context.Context    // parent plus Close
	cancel context.CancelFunc // cancels ctx

	stopWatch func() bool   // stops the cancellation watch
	watched   chan struct{} // closed when the watch's function has run

	// Reading state, used only by the goroutine calling Recv.
	reply     Reply
	reasoned  int       // reasoning pieces sent, the signature counting as one
	sent      int       // deltas sent
	calls     []planned // the tool call events, in order
	called    int       // tool call events sent
	usageSent bool
	pauser    *time.Timer // reused by every pause of the stream

	mu      sync.Mutex
	err     error // terminal result once set: io.EOF, reply.Err, a context error or ErrClosed
	release sync.Once
}

// planned is one tool call event and whether a pause comes before it.
type planned struct {
	ev    llm.Event
	pause bool
}

// plan lists the events that stream calls: per call a start, the
// arguments in pieces and the whole call, or the whole call alone.
func plan(calls []llm.ToolCall, whole bool) []planned {
	var out []planned
	for _, c := range calls {
		if c.Arguments == "" {
			c.Arguments = "{}"
		}
		if !whole {
			out = append(out, planned{ev: llm.Event{Kind: llm.EventToolCallStart, Call: llm.ToolCall{ID: c.ID, Name: c.Name}}})
			for _, piece := range pieces(c.Arguments, ArgumentPieceBytes) {
				out = append(out, planned{pause: true,
					ev: llm.Event{Kind: llm.EventToolCallDelta, Text: piece, Call: llm.ToolCall{ID: c.ID, Name: c.Name}}})
			}
		}
		out = append(out, planned{ev: llm.Event{Kind: llm.EventToolCall, Call: c}})
	}
	return out
}

// pieces splits s into pieces of at most n bytes that never split a UTF-8
// encoded character (a character longer than n is a piece of its own).
func pieces(s string, n int) []string {
	var out []string
	for len(s) > 0 {
		end := min(n, len(s))
		for end < len(s) && end > 0 && !utf8.RuneStart(s[end]) {
			end--
		}
		if end == 0 {
			_, end = utf8.DecodeRuneInString(s)
		}
		out = append(out, s[:end])
		s = s[end:]
	}
	return out
}

func newStream(parent context.Context, reply Reply, onCancel func()) *stream {
	ctx, cancel := context.WithCancel(parent)
	s := &stream{parent: parent, ctx: ctx, cancel: cancel, reply: reply, watched: make(chan struct{}),
		calls: plan(reply.ToolCalls, reply.WholeToolCalls)}
	s.stopWatch = context.AfterFunc(parent, func() {
		defer close(s.watched)
		onCancel()
	})
	return s
}

// Recv returns the next event of the reply. See Reply for the sequence.
// After the finish event it returns io.EOF; after an error it returns the
// same error again. Cancelling the stream's context makes it return an
// error wrapping the context's error (and its cause) at once, also while
// it waits; after Close it returns an error wrapping ErrClosed.
func (s *stream) Recv() (llm.Event, error) {
	if err := s.result(); err != nil {
		return llm.Event{}, err
	}
	ev, err := s.step()
	if err != nil {
		return llm.Event{}, s.end(err)
	}
	if ev.Kind == llm.EventFinish {
		if err := s.end(io.EOF); err != io.EOF {
			return llm.Event{}, err // closed meanwhile
		}
	}
	return ev, nil
}

// Close ends the stream; a Recv that is waiting returns at once. It is
// safe to call more than once, after the stream ended, and from another
// goroutine than the reader. It always returns nil.
func (s *stream) Close() error {
	s.end(fmt.Errorf("scripted: %w", ErrClosed))
	return nil
}

func (s *stream) result() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// end records err as the terminal result unless one is already set,
// releases the stream, and returns the terminal result.
func (s *stream) end(err error) error {
	s.mu.Lock()
	if s.err == nil {
		s.err = err
	}
	err = s.err
	s.mu.Unlock()
	s.release.Do(func() {
		if !s.stopWatch() {
			<-s.watched // the context was cancelled first: let the count land
		}
		s.cancel()
	})
	return err
}

// step produces the next event or the error that ends the stream.
func (s *stream) step() (llm.Event, error) {
	if s.parent.Err() != nil || s.ctx.Err() != nil {
		return llm.Event{}, s.ctxErr()
	}
	r := &s.reply
	if s.reasoned < len(r.Reasoning) {
		if err := s.pause(r.Delay); err != nil {
			return llm.Event{}, err
		}
		text := r.Reasoning[s.reasoned]
		s.reasoned++
		return llm.Event{Kind: llm.EventReasoning, Text: text, At: time.Now()}, nil
	}
	if s.reasoned == len(r.Reasoning) && r.ReasoningSignature != "" {
		s.reasoned++
		return llm.Event{Kind: llm.EventReasoning, Signature: r.ReasoningSignature, At: time.Now()}, nil
	}
	if s.sent < len(r.Deltas) && (r.StallAfter <= 0 || s.sent < r.StallAfter) {
		if err := s.pause(r.Delay); err != nil {
			return llm.Event{}, err
		}
		text := r.Deltas[s.sent]
		s.sent++
		return llm.Event{Kind: llm.EventDelta, Text: text, At: time.Now()}, nil
	}
	if r.StallAfter > 0 {
		<-s.ctx.Done()
		return llm.Event{}, s.ctxErr()
	}
	if s.called < len(s.calls) {
		c := s.calls[s.called]
		if c.pause {
			if err := s.pause(r.Delay); err != nil {
				return llm.Event{}, err
			}
		}
		s.called++
		ev := c.ev
		ev.At = time.Now()
		return ev, nil
	}
	if r.Err != nil {
		return llm.Event{}, r.Err
	}
	if !s.usageSent && r.Usage != (llm.Usage{}) {
		s.usageSent = true
		return llm.Event{Kind: llm.EventUsage, Usage: r.Usage, At: time.Now()}, nil
	}
	finish := r.Finish
	switch {
	case finish != "":
	case len(r.ToolCalls) > 0:
		finish = llm.FinishToolCalls
	default:
		finish = llm.FinishStop
	}
	return llm.Event{Kind: llm.EventFinish, FinishReason: finish, At: time.Now()}, nil
}

// pause waits d unless the stream ends first.
func (s *stream) pause(d time.Duration) error {
	if d <= 0 {
		return nil
	}
	if s.pauser == nil {
		s.pauser = time.NewTimer(d)
	} else {
		s.pauser.Reset(d) // since Go 1.23 no stale tick can be left in C
	}
	select {
	case <-s.pauser.C:
		return nil
	case <-s.ctx.Done():
		s.pauser.Stop()
		return s.ctxErr()
	}
}

// ctxErr explains why ctx is done: the caller's context, or Close.
func (s *stream) ctxErr() error {
	if s.parent.Err() != nil {
		return ctxError(s.parent)
	}
	return fmt.Errorf("scripted: %w", ErrClosed)
}
