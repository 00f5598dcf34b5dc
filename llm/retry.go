package llm

import (
	"context"
	"math/rand/v2"
	"time"
)

// RetryPolicy says how WithRetry retries. The zero value uses every
// default.
type RetryPolicy struct {
	// MaxAttempts is how many attempts are made in all, the first one
	// included. Default 3; 1 disables retries.
	MaxAttempts int
	// InitialBackoff is the wait before the second attempt; it doubles
	// for each later one, with jitter (each wait is between half and all
	// of its nominal value). Default 500ms.
	InitialBackoff time.Duration
	// MaxBackoff caps the computed backoff. Default 8s.
	MaxBackoff time.Duration
	// MaxRetryAfter is the longest wait a provider may ask for (with
	// Error.RetryAfter) that is still honoured; a provider asking for more
	// ends the retries with its error, as does a wait that would end
	// after the context's deadline. Default 30s.
	MaxRetryAfter time.Duration
}

// Retry policy defaults.
const (
	DefaultMaxAttempts    = 3
	DefaultInitialBackoff = 500 * time.Millisecond
	DefaultMaxBackoff     = 8 * time.Second
	DefaultMaxRetryAfter  = 30 * time.Second
)

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = DefaultMaxAttempts
	}
	if p.InitialBackoff <= 0 {
		p.InitialBackoff = DefaultInitialBackoff
	}
	if p.MaxBackoff <= 0 {
		p.MaxBackoff = DefaultMaxBackoff
	}
	if p.MaxRetryAfter <= 0 {
		p.MaxRetryAfter = DefaultMaxRetryAfter
	}
	return p
}

// backoff returns the jittered wait after the given number of attempts.
func (p RetryPolicy) backoff(attempts int) time.Duration {
	d := p.InitialBackoff
	for i := 1; i < attempts && d < p.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, p.MaxBackoff)
	return d/2 + rand.N(d/2+1)
}

// WithRetry returns a Provider that retries p's failures with backoff, but
// only as long as no delta has reached the caller: a failure of Stream, or
// of Recv before the first EventDelta, that holds a retryable *Error
// (Error.Retryable) starts the same request again, up to
// policy.MaxAttempts attempts in all. Usage events before the first delta
// are passed on (a later one supersedes them). Once a delta was returned,
// a failure ends the stream as it is, so text is never repeated.
//
// The wait before a retry is the provider's Error.RetryAfter when it gave
// one and it is longer than the backoff, else the backoff; see
// RetryPolicy for the bounds. Cancelling the context or closing the
// stream ends a wait at once. Errors that are not retryable, the caller's
// context errors among them, are returned as they are; when the retries
// are used up, the last failure is returned.
//
// The returned Provider is safe for concurrent use if p is.
func WithRetry(p Provider, policy RetryPolicy) Provider {
	return &retrying{p: p, policy: policy.withDefaults()}
}

type retrying struct {
	p      Provider
	policy RetryPolicy
}

func (r *retrying) Stream(ctx context.Context, req Request) (Stream, error) {
	return startChain(ctx, req, r.p, r.plan)
}

func (r *retrying) plan(ctx context.Context, attempts int, err error) (Provider, time.Duration, bool) {
	if attempts >= r.policy.MaxAttempts {
		return nil, 0, false
	}
	wait := r.policy.backoff(attempts)
	if e := asError(err); e != nil && e.RetryAfter > 0 {
		if e.RetryAfter > r.policy.MaxRetryAfter {
			return nil, 0, false
		}
		wait = max(wait, e.RetryAfter)
	}
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
		return nil, 0, false
	}
	return r.p, wait, true
}
