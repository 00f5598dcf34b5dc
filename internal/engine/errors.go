package engine

import (
	"context"
	"errors"
	"log/slog"

	"github.com/chatboxsdk/chatbox/broker"
	"github.com/chatboxsdk/chatbox/internal/access"
	"github.com/chatboxsdk/chatbox/protocol"
	"github.com/chatboxsdk/chatbox/storage"
)

// Causes a reply's context is cancelled with; failure maps them to finish
// reasons.
var (
	errStopped  = errors.New("stopped by the user")
	errShutdown = errors.New("server shutting down")
	errEnded    = errors.New("conversation ended")
	errHandoff  = errors.New("an operator took the conversation over")
	errPublish  = errors.New("events could not be published")
)

// internalError logs err with a reference id and returns the client-facing
// error, which carries the reference but none of err's text.
func internalError(log *slog.Logger, err error, op string) *protocol.Error {
	ref := access.NewRef()
	log.Error("internal error", "op", op, "ref", ref, "err", err)
	return &protocol.Error{Code: protocol.CodeInternal, Message: "internal error", Ref: ref}
}

// storeError maps a Store failure to a client error.
func storeError(log *slog.Logger, err error, op string) *protocol.Error {
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return protocol.Errorf(protocol.CodeNotFound, "no such conversation")
	case errors.Is(err, storage.ErrConflict):
		return &protocol.Error{Code: protocol.CodeInvalidField, Message: "id already used for something else", Field: "message_id"}
	case errors.Is(err, storage.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		ref := access.NewRef()
		log.Warn("store unavailable", "op", op, "ref", ref, "err", err)
		return &protocol.Error{Code: protocol.CodeUnavailable, Message: "storage is temporarily unavailable", Ref: ref}
	case errors.Is(err, context.Canceled):
		return protocol.Errorf(protocol.CodeShuttingDown, "the server is shutting down")
	default:
		return internalError(log, err, op)
	}
}

// brokerError maps a Broker failure to a client error.
func brokerError(log *slog.Logger, err error, op string) *protocol.Error {
	if errors.Is(err, broker.ErrReplayUnavailable) {
		return protocol.Errorf(protocol.CodeReplayUnavailable, "those events are no longer held: open the conversation again")
	}
	if errors.Is(err, broker.ErrClosed) || errors.Is(err, context.Canceled) {
		return protocol.Errorf(protocol.CodeShuttingDown, "the server is shutting down")
	}
	// A broker that fails is, as far as a client can tell, an outage of a
	// shared backend (a Redis down or restarting): worth a retry.
	ref := access.NewRef()
	log.Warn("broker unavailable", "op", op, "ref", ref, "err", err)
	return &protocol.Error{Code: protocol.CodeUnavailable, Message: "the service is temporarily unavailable", Ref: ref}
}

func conversationEnded() *protocol.Error {
	return protocol.Errorf(protocol.CodeConversationEnded, "the conversation has ended")
}

func notOpen() *protocol.Error {
	return protocol.Errorf(protocol.CodeNotOpen, "open the conversation first")
}
