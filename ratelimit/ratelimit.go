// Package ratelimit defines the Limiter contract chatbox checks before
// accepting work, and a token-bucket Limiter with bounded memory.
//
// A denial is a result (Decision.Allowed == false with a RetryAfter), not an
// error; errors are for limiters that could not decide (a remote backend
// down).
package ratelimit

import (
	"context"
	"time"
)

// Limit is a token-bucket rate: Rate tokens are added per second up to
// Burst. A zero Rate with a positive Burst allows Burst events once per key
// lifetime; Burst must be at least 1.
type Limit struct {
	Rate  float64 // events per second
	Burst int
}

// Per returns the Limit that allows n events per interval with a burst of
// burst.
func Per(n int, interval time.Duration, burst int) Limit {
	return Limit{Rate: float64(n) / interval.Seconds(), Burst: burst}
}

// Decision is the outcome of one Allow call.
type Decision struct {
	Allowed bool
	// RetryAfter is how long to wait before the next event would be allowed;
	// zero when Allowed.
	RetryAfter time.Duration
}

// Limiter decides whether one event for key is allowed under limit l.
// Different purposes use different key prefixes, so one Limiter serves every
// limit of a Server. Implementations must be safe for concurrent use.
type Limiter interface {
	Allow(ctx context.Context, key string, l Limit) (Decision, error)
}
