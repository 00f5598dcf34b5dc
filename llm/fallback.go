package llm

import (
	"context"
	"errors"
	"time"
)

// Fallback returns a Provider that streams from providers[0] and moves on
// to the next provider when the current one fails before its first delta
// with a retryable *Error (Error.Retryable): from Stream, or from Recv
// before any EventDelta. Usage events before the first delta are passed
// on. Once a delta was returned, a failure ends the stream as it is. When
// every provider failed, the last failure is returned; a failure that is
// not retryable (the caller's cancellation among them) is returned at
// once.
//
// Each provider receives the request unchanged; bind model names with
// WithModel. Wrap providers in WithRetry first to retry each before
// falling back. Fallback panics if providers is empty or holds nil.
// The returned Provider is safe for concurrent use if the providers are.
func Fallback(providers ...Provider) Provider {
	return FallbackObserved(nil, providers...)
}

// FallbackObserved is Fallback with an observer: observe, when not nil, is
// called with the provider's index and its failure for every attempt that
// failed before the first delta (the last one included), on the goroutine
// that called Stream or Recv. Failures after the first delta end the stream
// and are not observed: the caller sees them from Recv.
// Use Answered to learn which provider a stream is reading.
func FallbackObserved(observe func(index int, err error), providers ...Provider) Provider {
	if len(providers) == 0 {
		panic("llm: Fallback needs at least one provider")
	}
	for _, p := range providers {
		if p == nil {
			panic("llm: Fallback given a nil provider")
		}
	}
	return &fallback{providers: append([]Provider(nil), providers...), observe: observe}
}

type fallback struct {
	providers []Provider
	observe   func(index int, err error)
}

func (f *fallback) Stream(ctx context.Context, req Request) (Stream, error) {
	return startChain(ctx, req, f.providers[0], f.plan, f.observe)
}

func (f *fallback) plan(_ context.Context, attempts int, _ error) (Provider, time.Duration, bool) {
	if attempts >= len(f.providers) {
		return nil, 0, false
	}
	return f.providers[attempts], 0, true
}

// Answered returns the index, among the providers given to Fallback, of the
// provider whose stream s reads (after the chain moved on: the one that
// answered). It returns 0 for a stream that Fallback did not make.
func Answered(s Stream) int {
	if c, ok := s.(*chain); ok && c.observed {
		return c.index()
	}
	return 0
}

// WithModel returns a Provider that streams from p with Request.Model set
// to model, whatever the caller asked for: the binding of a model registry
// entry, or of one link of a Fallback chain. An empty model leaves the
// request's own (empty means p's default).
func WithModel(p Provider, model string) Provider {
	return modelBound{p: p, model: model}
}

type modelBound struct {
	p     Provider
	model string
}

func (m modelBound) Stream(ctx context.Context, req Request) (Stream, error) {
	if m.model != "" {
		req.Model = m.model
	}
	return m.p.Stream(ctx, req)
}

func asError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}
