package llm

import (
	"errors"
	"fmt"
	"time"
)

// ErrorKind classifies provider failures. Providers classify from status
// codes and error types, never from message text.
type ErrorKind string

// Error kinds.
const (
	KindRateLimited    ErrorKind = "rate_limited"
	KindOverloaded     ErrorKind = "overloaded"
	KindAuthentication ErrorKind = "authentication"
	KindInvalidRequest ErrorKind = "invalid_request"
	KindContextLength  ErrorKind = "context_too_long"
	KindTimeout        ErrorKind = "timeout"
	KindUnavailable    ErrorKind = "unavailable"
	KindUnknown        ErrorKind = "unknown"
)

// Error is a classified provider failure.
type Error struct {
	Kind ErrorKind
	// RetryAfter is the provider's requested wait, when it gave one.
	RetryAfter time.Duration
	// Provider names the provider ("openai", "scripted"...).
	Provider string
	// Err is the underlying cause; it may hold provider text, so it is for
	// logs, never for end users.
	Err error
}

func (e *Error) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("llm: %s: %s", e.Provider, e.Kind)
	}
	return fmt.Sprintf("llm: %s: %s: %v", e.Provider, e.Kind, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// Retryable reports whether the same request may succeed if tried again.
func (e *Error) Retryable() bool {
	switch e.Kind {
	case KindRateLimited, KindOverloaded, KindTimeout, KindUnavailable:
		return true
	}
	return false
}

// KindOf returns the kind of a *Error in err's chain, or KindUnknown.
func KindOf(err error) ErrorKind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindUnknown
}
