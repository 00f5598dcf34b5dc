package protocol

import (
	"fmt"
	"time"
)

// Code is a stable, documented error code sent to clients.
type Code string

// Error codes. The list is part of the protocol; PROTOCOL.md documents each.
const (
	CodeBadFrame            Code = "bad_frame"            // not a JSON object, or a field of the wrong type
	CodeUnknownType         Code = "unknown_type"         // "type" names no client frame
	CodeInvalidField        Code = "invalid_field"        // a required field is missing or a value is invalid
	CodeTooLarge            Code = "too_large"            // a frame or a text exceeds its limit
	CodeHelloRequired       Code = "hello_required"       // the first frame must be hello
	CodeUnauthorized        Code = "unauthorized"         // missing, invalid or expired token
	CodeNotFound            Code = "not_found"            // no such conversation for this user
	CodeNotOpen             Code = "not_open"             // the conversation is not open on this socket
	CodeConversationEnded   Code = "conversation_ended"   // the conversation no longer accepts messages
	CodeBusy                Code = "busy"                 // a reply is still being generated
	CodeLimitReached        Code = "limit_reached"        // a count limit (open conversations per socket...) is reached
	CodeRateLimited         Code = "rate_limited"         // too many requests; see retry_after_ms
	CodeReplayUnavailable   Code = "replay_unavailable"   // resume point too old; open the conversation again
	CodeUnavailable         Code = "unavailable"          // a dependency failed; try again
	CodeProviderError       Code = "provider_error"       // the model failed (in reply.end)
	CodeTimeout             Code = "timeout"              // a time limit ended the operation
	CodeInternal            Code = "internal"             // a bug; the ref identifies it in the server log
	CodeShuttingDown        Code = "shutting_down"        // the server is stopping; reconnect later
	CodeUnsupportedProtocol Code = "unsupported_protocol" // the client did not offer the subprotocol
	CodeForbiddenOrigin     Code = "forbidden_origin"     // the page's origin may not open sockets
	CodeForbidden           Code = "forbidden"            // the identity lacks the role the request needs
	CodeConflict            Code = "conflict"             // the conversation's mode does not allow it (another operator holds it...)
	CodeBudgetExceeded      Code = "budget_exceeded"      // the user's usage budget is spent; see retry_after_ms for when it resets
	CodeFileRefused         Code = "file_refused"         // an uploaded file is not accepted (its type, its pixels, its pages, the host's check); field says why
)

// Retryable reports whether a request refused with this code may succeed
// unchanged later.
func (c Code) Retryable() bool {
	switch c {
	case CodeBusy, CodeRateLimited, CodeUnavailable, CodeTimeout, CodeShuttingDown, CodeProviderError, CodeBudgetExceeded:
		return true
	}
	return false
}

// Error is a protocol-level failure with a stable code and a message safe to
// show to the client.
type Error struct {
	Code       Code
	Message    string
	RetryAfter time.Duration
	// Field names the offending field for invalid_field and too_large.
	Field string
	// Ref identifies an internal failure in the server log.
	Ref string
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %s (%s)", e.Code, e.Message, e.Field)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Errorf builds an *Error.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// WebSocket close codes used by the server. 1000-1011 are RFC 6455 codes;
// 4000-4999 are chatbox's.
const (
	CloseNormal             = 1000 // the client asked to close, or the session ended normally
	CloseGoingAway          = 1001 // the server is shutting down; reconnect later and resume
	CloseWireViolation      = 1002 // the client broke the WebSocket protocol itself (RFC 6455), such as an unmasked frame
	CloseMessageTooBig      = 1009 // a frame exceeded the hard frame limit
	CloseInternalError      = 1011 // unexpected server failure
	CloseTryAgainLater      = 1013 // a dependency (a key server, the store) could not answer; reconnect later
	CloseProtocolError      = 4000 // no hello in time, or the first frame was not hello
	CloseUnauthorized       = 4001 // token missing, invalid or expired; reconnect with a new token
	CloseSlowConsumer       = 4008 // the client read too slowly; reconnect and resume
	CloseTooManyConnections = 4029 // the user has too many sockets open
)
