package httpstream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/chatboxsdk/chatbox/llm"
)

// ErrClosed is returned (wrapped) by Recv after Close abandoned a stream
// before its end.
var ErrClosed = errors.New("stream closed")

// Source is a provider's decoded upstream stream. Next is called by one
// goroutine at a time and never concurrently with Close. It returns the
// next event (never an empty delta), EventFinish last, or an error; a
// clean end of the upstream without a finish must be reported by Next as
// an error, never as io.EOF.
type Source interface {
	Next() (llm.Event, error)
	Close() error
}

// Stream implements llm.Stream over a Source: sticky ends (io.EOF after
// the finish, the same error after a failure), Close at any time from any
// goroutine, and errors explained by Explain.
type Stream struct {
	provider string
	parent   context.Context // the caller's
	ctx      context.Context // the watchdog's
	wd       *Watchdog
	src      Source
	classify func(error) error

	mu       sync.Mutex
	err      error // terminal result
	reading  bool  // a Recv is inside src.Next
	released bool
}

// NewStream returns a Stream reading src. parent is the context the caller
// gave Provider.Stream, ctx and wd what Start returned for it; classify
// turns a provider failure into an *llm.Error (see Explain).
func NewStream(provider string, parent, ctx context.Context, wd *Watchdog, src Source, classify func(error) error) *Stream {
	return &Stream{provider: provider, parent: parent, ctx: ctx, wd: wd, src: src, classify: classify}
}

// Recv returns the next event; see llm.Stream.
func (s *Stream) Recv() (llm.Event, error) {
	s.mu.Lock()
	if s.err != nil {
		err := s.err
		s.mu.Unlock()
		return llm.Event{}, err
	}
	s.reading = true
	s.mu.Unlock()

	ev, err := s.src.Next()
	if err == nil && ev.Kind == llm.EventDelta && ev.Text == "" {
		err = errors.New("internal error: empty delta")
	}
	if err == nil && s.parent.Err() != nil {
		err = s.parent.Err() // the caller gave up: nothing more is delivered
	}

	s.mu.Lock()
	s.reading = false
	switch {
	case s.err != nil: // closed meanwhile
	case err != nil:
		s.err = Explain(s.provider, s.parent, s.ctx, err, s.classify)
	case ev.Kind == llm.EventFinish:
		s.err = io.EOF
	default:
		s.mu.Unlock()
		return ev, nil
	}
	final := s.err
	release := !s.released
	s.released = true
	s.mu.Unlock()
	if release {
		s.release()
	}
	if err == nil && ev.Kind == llm.EventFinish && final == io.EOF {
		return ev, nil
	}
	return llm.Event{}, final
}

// Close ends the stream and closes the upstream request; a Recv that is
// waiting returns promptly. It is safe to call more than once and from
// any goroutine, and returns nil.
func (s *Stream) Close() error {
	s.mu.Lock()
	if s.err == nil {
		s.err = fmt.Errorf("llm: %s: %w", s.provider, ErrClosed)
	}
	release := !s.reading && !s.released
	if release {
		s.released = true
	}
	s.mu.Unlock()
	s.wd.stop(errClosed) // a Recv in progress returns, and releases
	if release {
		s.release()
	}
	return nil
}

func (s *Stream) release() {
	s.wd.Stop()
	s.src.Close()
}

// Explain turns err, which ended a stream or a request whose context is
// ctx (from Start, under parent), into the error the caller gets, in this
// order: an error wrapping parent's error (and its cause) when the caller
// cancelled or its deadline passed; ErrClosed after Close; the watchdog's
// timeout *llm.Error; otherwise classify(err), or llm.TransportError when
// classify is nil or returns an error without an *llm.Error.
func Explain(provider string, parent, ctx context.Context, err error, classify func(error) error) error {
	if parent.Err() != nil {
		if cause := context.Cause(parent); cause != nil && cause != parent.Err() {
			return fmt.Errorf("llm: %s: stream ended: %w: %w", provider, parent.Err(), cause)
		}
		return fmt.Errorf("llm: %s: stream ended: %w", provider, parent.Err())
	}
	cause := context.Cause(ctx)
	if errors.Is(cause, errClosed) {
		return fmt.Errorf("llm: %s: %w", provider, ErrClosed)
	}
	var timeout *llm.Error
	if errors.As(cause, &timeout) {
		return timeout
	}
	if classify != nil {
		err = classify(err)
	}
	return llm.TransportError(provider, err)
}
