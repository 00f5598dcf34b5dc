package chatbox_test

import (
	"context"
	"errors"
	"io"
	"sync"
	"testing"

	"github.com/chatboxsdk/chatbox/llm"
)

// gatedProvider streams exactly what the test releases: each reply waits
// for the test to hand it deltas and a finish, so a test can act at a known
// point of a reply (mid-stream, between two deltas) without sleeping. It
// observes its calls and their cancellations.
type gatedProvider struct {
	mu        sync.Mutex
	changed   chan struct{} // closed and replaced whenever a count changes
	streams   []*gatedStream
	cancelled int
}

func newGatedProvider() *gatedProvider { return &gatedProvider{changed: make(chan struct{})} }

// gatedStream is one reply; its events come from feed.
type gatedStream struct {
	p    *gatedProvider
	ctx  context.Context
	feed chan llm.Event
	once sync.Once // counts the cancellation once
	done bool
}

func (p *gatedProvider) Stream(ctx context.Context, req llm.Request) (llm.Stream, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s := &gatedStream{p: p, ctx: ctx, feed: make(chan llm.Event, 64)}
	p.mu.Lock()
	p.streams = append(p.streams, s)
	p.notifyLocked()
	p.mu.Unlock()
	return s, nil
}

func (p *gatedProvider) notifyLocked() {
	close(p.changed)
	p.changed = make(chan struct{})
}

// calls returns how many replies were started.
func (p *gatedProvider) calls() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.streams)
}

// waitFor waits until cond (called with p.mu held) holds or ctx is done.
func (p *gatedProvider) waitFor(t *testing.T, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	for {
		p.mu.Lock()
		ok, ch := cond(), p.changed
		p.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-ch:
		case <-ctx.Done():
			t.Fatalf("the provider: waiting for %s: %v", what, ctx.Err())
		}
	}
}

// started waits for the n-th reply (1-based) to start and returns it.
func (p *gatedProvider) started(t *testing.T, ctx context.Context, n int) *gatedStream {
	t.Helper()
	p.waitFor(t, ctx, "a reply to start", func() bool { return len(p.streams) >= n })
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.streams[n-1]
}

// waitCancelled waits until n replies saw their context cancelled.
func (p *gatedProvider) waitCancelled(t *testing.T, ctx context.Context, n int) {
	t.Helper()
	p.waitFor(t, ctx, "the provider call to be cancelled", func() bool { return p.cancelled >= n })
}

// send releases deltas of the reply.
func (s *gatedStream) send(deltas ...string) {
	for _, d := range deltas {
		s.feed <- llm.Event{Kind: llm.EventDelta, Text: d}
	}
}

// finish releases the end of the reply.
func (s *gatedStream) finish() {
	s.feed <- llm.Event{Kind: llm.EventFinish, FinishReason: llm.FinishStop}
}

func (s *gatedStream) Recv() (llm.Event, error) {
	if s.done {
		return llm.Event{}, io.EOF
	}
	select {
	case ev := <-s.feed:
		s.done = ev.Kind == llm.EventFinish
		return ev, nil
	case <-s.ctx.Done():
		s.once.Do(func() {
			s.p.mu.Lock()
			s.p.cancelled++
			s.p.notifyLocked()
			s.p.mu.Unlock()
		})
		return llm.Event{}, errors.Join(errGateCancelled, s.ctx.Err())
	}
}

var errGateCancelled = errors.New("gated provider: cancelled")

func (s *gatedStream) Close() error { return nil }
