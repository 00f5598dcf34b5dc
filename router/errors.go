package router

import (
	"context"
	"crypto/rand"
	"errors"

	"github.com/chatboxsdk/chatbox/broker"
	"github.com/chatboxsdk/chatbox/protocol"
	"github.com/chatboxsdk/chatbox/storage"
)

// internal logs err with a reference id and returns the client-facing error,
// which carries the reference but none of err's text.
func (r *Router) internal(err error, op string) *protocol.Error {
	ref := newRef()
	r.log.Error("internal error", "op", op, "ref", ref, "err", err)
	return &protocol.Error{Code: protocol.CodeInternal, Message: "internal error", Ref: ref}
}

// storeError maps a Store failure to a client error.
func (r *Router) storeError(err error, op string) *protocol.Error {
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return protocol.Errorf(protocol.CodeNotFound, "no such conversation")
	case errors.Is(err, storage.ErrConflict):
		return &protocol.Error{Code: protocol.CodeInvalidField, Message: "id already used for something else", Field: "message_id"}
	case errors.Is(err, storage.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		ref := newRef()
		r.log.Warn("store unavailable", "op", op, "ref", ref, "err", err)
		return &protocol.Error{Code: protocol.CodeUnavailable, Message: "storage is temporarily unavailable", Ref: ref}
	case errors.Is(err, context.Canceled):
		return protocol.Errorf(protocol.CodeShuttingDown, "the server is shutting down")
	default:
		return r.internal(err, op)
	}
}

// brokerError maps a Broker failure to a client error.
func (r *Router) brokerError(err error, op string) *protocol.Error {
	if errors.Is(err, broker.ErrReplayUnavailable) {
		return protocol.Errorf(protocol.CodeReplayUnavailable, "those events are no longer held: open the conversation again")
	}
	if errors.Is(err, broker.ErrClosed) || errors.Is(err, context.Canceled) {
		return protocol.Errorf(protocol.CodeShuttingDown, "the server is shutting down")
	}
	return r.internal(err, op)
}

// newRef returns a reference that ties a client-facing error to its log line.
func newRef() string { return rand.Text()[:12] }
