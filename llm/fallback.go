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
	if len(providers) == 0 {
		panic("llm: Fallback needs at least one provider")
	}
	for _, p := range providers {
		if p == nil {
			panic("llm: Fallback given a nil provider")
		}
	}
	return &fallback{providers: append([]Provider(nil), providers...)}
}

type fallback struct{ providers []Provider }

func (f *fallback) Stream(ctx context.Context, req Request) (Stream, error) {
	return startChain(ctx, req, f.providers[0], f.plan)
}

func (f *fallback) plan(_ context.Context, attempts int, _ error) (Provider, time.Duration, bool) {
	if attempts >= len(f.providers) {
		return nil, 0, false
	}
	return f.providers[attempts], 0, true
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
