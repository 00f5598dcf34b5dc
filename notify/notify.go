// Package notify tells people that a user asked for one.
//
// A Notifier receives a HelpRequest when a user of a conversation asks for a
// person. Webhook is a Notifier that POSTs a signed JSON payload to an HTTPS
// endpoint with bounded retries; receivers check it with VerifySignature.
// Async wraps any Notifier behind a bounded queue and one worker goroutine so
// that the caller never waits for delivery. Email, SMS or chat integrations
// are the host's choice behind the same interface.
package notify

import (
	"context"
	"errors"
	"time"
)

// HelpRequest is what a Notifier is told when a user asks for a person.
type HelpRequest struct {
	ConversationID string
	UserID         string
	UserName       string
	// Reason is the user's own words, if any. Treat it as untrusted text.
	Reason string
	// At is when the user asked.
	At time.Time
	// ConsoleURL optionally links to the conversation in an operator console.
	ConsoleURL string
}

// Notifier is told about help requests. Implementations must be safe for
// concurrent use and should return when ctx is done.
type Notifier interface {
	Notify(ctx context.Context, r HelpRequest) error
}

// Sentinel errors of this package. Returned errors wrap them; test with
// errors.Is.
var (
	// ErrQueueFull is returned by Async.Notify when its queue has no room.
	ErrQueueFull = errors.New("notify: queue full")
	// ErrClosed is returned by Async.Notify after Close was called.
	ErrClosed = errors.New("notify: closed")
	// ErrBudgetExhausted is wrapped by a Webhook's error when its total time
	// budget ran out (or would run out before the next attempt).
	ErrBudgetExhausted = errors.New("notify: delivery budget exhausted")
	// ErrInvalidSignature is wrapped by VerifySignature's error when the
	// header is malformed or no signature matches.
	ErrInvalidSignature = errors.New("notify: invalid signature")
	// ErrStaleSignature is wrapped by VerifySignature's error when the
	// signed timestamp is outside the tolerance (a possible replay).
	ErrStaleSignature = errors.New("notify: signature timestamp outside tolerance")
)

// NotifierFunc adapts a function to the Notifier interface.
type NotifierFunc func(ctx context.Context, r HelpRequest) error

// Notify calls f(ctx, r).
func (f NotifierFunc) Notify(ctx context.Context, r HelpRequest) error { return f(ctx, r) }
