package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/chatboxsdk/chatbox/internal/access"
	"github.com/chatboxsdk/chatbox/internal/registry"
	"github.com/chatboxsdk/chatbox/protocol"
	"github.com/chatboxsdk/chatbox/ratelimit"
	"github.com/chatboxsdk/chatbox/storage"
)

// work is the inbox's worker: it runs the socket's frames one at a time,
// in the order they were read.
func (s *socket) work() {
	for {
		f, ok := s.in.next()
		if !ok {
			return
		}
		s.dispatch(f)
	}
}

func (s *socket) dispatch(f *protocol.ClientFrame) {
	s.cur = f
	defer func() { s.cur = nil }()
	var perr *protocol.Error
	defer func() {
		// A panic in host code (Store, Limiter, Broker) fails this request,
		// not the socket or the process.
		if p := recover(); p != nil {
			s.sendError(f.ID, f.ConversationID, s.internal(fmt.Errorf("panic: %v", p), "handle "+f.Type))
		}
	}()
	switch f.Type {
	case protocol.TypeHello:
		perr = s.reauthenticate(f)
	case protocol.TypeOpen:
		perr = s.budgeted(f, func() *protocol.Error { return s.handleAttach(f, false) })
	case protocol.TypeResume:
		perr = s.budgeted(f, func() *protocol.Error { return s.handleAttach(f, true) })
	case protocol.TypeWatch:
		perr = s.budgeted(f, func() *protocol.Error { return s.handleWatch(f) })
	case protocol.TypeHistory:
		perr = s.budgeted(f, func() *protocol.Error { return s.handleHistory(f) })
	case protocol.TypeList:
		perr = s.budgeted(f, func() *protocol.Error { return s.handleList(f) })
	case protocol.TypeSend:
		perr = s.handleSend(f)
	case protocol.TypeStop:
		perr = s.handleStop(f)
	case protocol.TypeEnd:
		perr = s.handleEnd(f)
	case protocol.TypeTyping:
		perr = s.handleTyping(f)
	case protocol.TypeLeave:
		perr = s.handleLeave(f)
	case protocol.TypeHelp:
		perr = s.handleHelp(f)
	case protocol.TypeTakeover:
		perr = s.handleTakeover(f)
	case protocol.TypeRelease:
		perr = s.handleRelease(f)
	case protocol.TypeApprove:
		perr = s.handleApprove(f)
	}
	if perr != nil {
		s.sendError(f.ID, f.ConversationID, perr)
	}
}

// budgeted spends the read budget (per user, and per socket) before a
// frame that reads the store: list, history, open, resume, watch.
func (s *socket) budgeted(f *protocol.ClientFrame, handle func() *protocol.Error) *protocol.Error {
	ctx, cancel := s.opCtx()
	perr := s.allow(ctx, "read:", s.e.cfg.ReadRate, "read")
	if perr == nil {
		perr = s.allowKey(ctx, "read-socket:"+s.ref, s.e.cfg.ReadRate, "read")
	}
	cancel()
	if perr != nil {
		return perr
	}
	return handle()
}

// frameLog returns a logger whose lines carry the socket, user, frame type,
// request and conversation. It is built only when something is logged.
func (s *socket) frameLog() *slog.Logger {
	f := s.cur
	if f == nil {
		return s.log
	}
	attrs := []any{"op", f.Type}
	if f.ID != "" {
		attrs = append(attrs, "request", f.ID)
	}
	if f.ConversationID != "" {
		attrs = append(attrs, "conversation", f.ConversationID)
	}
	return s.log.With(attrs...)
}

func (s *socket) opCtx() (context.Context, context.CancelFunc) {
	return withDeadline(s.in.context(s.e.base), s.e.cfg.StoreTimeout)
}

// allow spends one event of the user's budget named by prefix.
func (s *socket) allow(ctx context.Context, prefix string, l ratelimit.Limit, metric string) *protocol.Error {
	return s.allowKey(ctx, prefix+s.identity.UserID, l, metric)
}

func (s *socket) allowKey(ctx context.Context, key string, l ratelimit.Limit, metric string) *protocol.Error {
	perr := access.Allow(ctx, s.e.cfg.Limiter, key, l, s.frameLog)
	if perr != nil {
		s.e.cfg.Metrics.LimiterDenied(metric)
	}
	return perr
}

// owned loads a conversation and checks that it belongs to the socket's
// user or that the user is an operator, whose reading of another user's
// conversation spends the operator budget. Another user's conversation is
// reported exactly like a missing one.
func (s *socket) owned(ctx context.Context, id string) (storage.Conversation, *protocol.Error) {
	conv, err := s.e.cfg.Store.GetConversation(ctx, id)
	if err != nil {
		return conv, s.storeError(err, "get conversation")
	}
	if conv.UserID == s.identity.UserID {
		return conv, nil
	}
	if !s.isOperator() {
		return storage.Conversation{}, protocol.Errorf(protocol.CodeNotFound, "no such conversation")
	}
	if perr := s.spendOperatorBudget(ctx); perr != nil {
		return storage.Conversation{}, perr
	}
	return conv, nil
}

// reauthenticate handles a hello after the first: a fresh token for the
// same user extends the socket's life past the old token's expiry.
func (s *socket) reauthenticate(f *protocol.ClientFrame) *protocol.Error {
	if f.Token == "" {
		return &protocol.Error{Code: protocol.CodeInvalidField, Message: "a token is required to re-authenticate", Field: "token"}
	}
	id, perr := s.e.verifier.Verify(s.in.context(s.e.base), f.Token)
	if perr != nil {
		return perr
	}
	if id.UserID != s.identity.UserID {
		return protocol.Errorf(protocol.CodeUnauthorized, "the token is for another user")
	}
	s.identity = id
	s.setExpiry(id.ExpiresAt)
	if !s.isOperator() {
		// Roles come with the token: without the operator role the socket
		// keeps only the user's own conversations.
		for convID, a := range s.attached {
			if a.conv.owner() != id.UserID {
				s.leave(convID)
			}
		}
	}
	s.ok(f)
	return nil
}

func (s *socket) registryError(err error) *protocol.Error {
	if errors.Is(err, registry.ErrFull) {
		return protocol.Errorf(protocol.CodeUnavailable, "the server is at capacity, try again later")
	}
	return s.internal(err, "acquire conversation")
}

// The socket's error helpers log with the logger of the frame being handled.
func (s *socket) internal(err error, op string) *protocol.Error {
	return internalError(s.frameLog(), err, op)
}

func (s *socket) storeError(err error, op string) *protocol.Error {
	return storeError(s.frameLog(), err, op)
}

func (s *socket) brokerError(err error, op string) *protocol.Error {
	return brokerError(s.frameLog(), err, op)
}
