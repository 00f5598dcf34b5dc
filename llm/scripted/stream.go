package scripted

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

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
	sent      int
	usageSent bool

	mu      sync.Mutex
	err     error // terminal result once set: io.EOF, reply.Err, a context error or ErrClosed
	release sync.Once
}

func newStream(parent context.Context, reply Reply, onCancel func()) *stream {
	ctx, cancel := context.WithCancel(parent)
	s := &stream{parent: parent, ctx: ctx, cancel: cancel, reply: reply, watched: make(chan struct{})}
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
	if r.Err != nil {
		return llm.Event{}, r.Err
	}
	if !s.usageSent && r.Usage != (llm.Usage{}) {
		s.usageSent = true
		return llm.Event{Kind: llm.EventUsage, Usage: r.Usage, At: time.Now()}, nil
	}
	finish := r.Finish
	if finish == "" {
		finish = llm.FinishStop
	}
	return llm.Event{Kind: llm.EventFinish, FinishReason: finish, At: time.Now()}, nil
}

// pause waits d unless the stream ends first.
func (s *stream) pause(d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-s.ctx.Done():
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
