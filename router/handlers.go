package router

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync/atomic"
	"time"

	"github.com/chatboxsdk/chatbox/broker"
	"github.com/chatboxsdk/chatbox/llm"
	"github.com/chatboxsdk/chatbox/protocol"
	"github.com/chatboxsdk/chatbox/ratelimit"
	"github.com/chatboxsdk/chatbox/session"
	"github.com/chatboxsdk/chatbox/storage"
)

// frameLog returns the logger of the frame being handled, or the socket's.
func (s *socket) frameLog() *slog.Logger {
	if s.opLog != nil {
		return s.opLog
	}
	return s.log
}

func (s *socket) dispatch(f *protocol.ClientFrame) {
	attrs := []any{"op", f.Type}
	if f.ID != "" {
		attrs = append(attrs, "request", f.ID)
	}
	if f.ConversationID != "" {
		attrs = append(attrs, "conversation", f.ConversationID)
	}
	s.opLog = s.log.With(attrs...)
	defer func() { s.opLog = nil }()
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
		perr = s.handleOpen(f)
	case protocol.TypeResume:
		perr = s.handleResume(f)
	case protocol.TypeHistory:
		perr = s.handleHistory(f)
	case protocol.TypeList:
		perr = s.handleList(f)
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
	case protocol.TypeWatch:
		perr = s.handleWatch(f)
	case protocol.TypeTakeover:
		perr = s.handleTakeover(f)
	case protocol.TypeRelease:
		perr = s.handleRelease(f)
	}
	if perr != nil {
		s.sendError(f.ID, f.ConversationID, perr)
	}
}

// ok answers a request that has no other response, when it carried an id.
func (s *socket) ok(f *protocol.ClientFrame) {
	if f.ID != "" {
		s.send(&protocol.ServerFrame{Type: protocol.TypeOK, ID: f.ID, ConversationID: f.ConversationID})
	}
}

func (s *socket) opCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(s.ctx, s.r.cfg.StoreTimeout)
}

func (s *socket) allow(ctx context.Context, key string, l ratelimit.Limit) *protocol.Error {
	d, err := s.r.cfg.Limiter.Allow(ctx, key+s.identity.UserID, l)
	if err != nil {
		// A limiter that cannot decide does not take the service down.
		s.frameLog().Warn("rate limiter failed; allowing", "err", err)
		return nil
	}
	if !d.Allowed {
		return &protocol.Error{Code: protocol.CodeRateLimited, Message: "too many requests", RetryAfter: d.RetryAfter}
	}
	return nil
}

// owned loads a conversation and checks that it belongs to the socket's
// user or that the user is an operator. Another user's conversation is
// reported exactly like a missing one.
func (s *socket) owned(ctx context.Context, id string) (storage.Conversation, *protocol.Error) {
	conv, err := s.r.cfg.Store.GetConversation(ctx, id)
	if err != nil {
		return conv, s.storeError(err, "get conversation")
	}
	if conv.UserID != s.identity.UserID && !s.isOperator() {
		return storage.Conversation{}, protocol.Errorf(protocol.CodeNotFound, "no such conversation")
	}
	return conv, nil
}

func (s *socket) handleOpen(f *protocol.ClientFrame) *protocol.Error {
	ctx, cancel := s.opCtx()
	defer cancel()
	if perr := s.checkOpenLimit(f.ConversationID); perr != nil {
		return perr
	}
	var conv storage.Conversation
	if f.ConversationID == "" {
		model := f.Model
		if model == "" {
			model = s.r.cfg.DefaultModel
		}
		if !s.r.models.has(model) {
			return &protocol.Error{Code: protocol.CodeInvalidField, Message: "unknown model", Field: "model"}
		}
		if perr := s.allow(ctx, "conv:", s.r.cfg.ConversationLimit); perr != nil {
			s.r.cfg.Metrics.LimiterDenied("conversation")
			return perr
		}
		now := s.r.cfg.Now().UTC().Truncate(time.Millisecond)
		conv = storage.Conversation{
			ID: "c_" + rand.Text(), UserID: s.identity.UserID, Title: f.Title, Model: model,
			Status: storage.StatusActive, Metadata: f.Metadata, CreatedAt: now, UpdatedAt: now,
		}
		if err := s.r.cfg.Store.CreateConversation(ctx, conv); err != nil {
			return s.storeError(err, "create conversation")
		}
		conv.Mode = storage.ModeAI
	} else {
		var perr *protocol.Error
		if conv, perr = s.owned(ctx, f.ConversationID); perr != nil {
			return perr
		}
	}
	s.leave(conv.ID)

	st, release, err := s.r.sessions.Acquire(conv.ID, func() *conversation { return &conversation{id: conv.ID} })
	if err != nil {
		return s.sessionError(err)
	}
	attached := false
	defer func() {
		if !attached { // any failure below, a panic in host code included
			release()
		}
	}()
	// Order matters: the sequence number and the in-progress reply are read
	// before the history, so the history holds at least everything up to
	// that number; events after it are delivered by the subscription.
	after, err := s.r.cfg.Broker.LastSeq(ctx, conv.ID)
	if err != nil {
		return s.brokerError(err, "last seq")
	}
	snap, snapSeq := st.snapshot()
	if snap != nil || snapSeq > after {
		// Streaming: events after the snapshot continue it. Just finished
		// (between LastSeq and the snapshot): the page read below holds the
		// complete reply, so its deltas must not be replayed over it.
		after = snapSeq
	}
	limit := f.Limit
	if limit == 0 {
		limit = s.r.cfg.HistoryPageSize
	}
	page, err := s.r.cfg.Store.ListMessages(ctx, storage.MessageQuery{ConversationID: conv.ID, Limit: limit, Order: storage.Descending})
	if err != nil {
		return s.storeError(err, "list messages")
	}
	var last time.Time
	if len(page.Messages) > 0 {
		last = page.Messages[0].CreatedAt
	}
	st.load(conv, last)

	msgs := make([]protocol.Message, 0, len(page.Messages))
	for _, m := range slices.Backward(page.Messages) {
		if snap != nil && m.ID == snap.ReplyID {
			continue // the snapshot and the events after it carry this reply
		}
		if m.Status == storage.MessageStreaming && s.r.cfg.Now().Sub(m.CreatedAt) > s.r.cfg.GenerationTimeout {
			m = s.r.endOrphan(ctx, m)
		}
		msgs = append(msgs, wireMessage(m))
	}
	s.r.cfg.Metrics.ConversationOpened(f.ConversationID == "")
	s.send(&protocol.ServerFrame{
		Type: protocol.TypeOpened, ID: f.ID, ConversationID: conv.ID,
		Conversation: s.wireConversation(conv), Messages: msgs, Cursor: page.NextCursor,
		LastSeq: after, Reply: snap,
	})
	sub, err := s.subscribe(ctx, conv.ID, after)
	if err != nil {
		return s.brokerError(err, "subscribe")
	}
	s.attached[conv.ID] = &attachment{conv: st, release: release, sub: sub}
	attached = true
	return nil
}

func (s *socket) handleResume(f *protocol.ClientFrame) *protocol.Error {
	ctx, cancel := s.opCtx()
	defer cancel()
	if perr := s.checkOpenLimit(f.ConversationID); perr != nil {
		return perr
	}
	conv, perr := s.owned(ctx, f.ConversationID)
	if perr != nil {
		return perr
	}
	s.leave(conv.ID)
	st, release, err := s.r.sessions.Acquire(conv.ID, func() *conversation { return &conversation{id: conv.ID} })
	if err != nil {
		return s.sessionError(err)
	}
	attached := false
	defer func() {
		if !attached { // any failure below, a panic in host code included
			release()
		}
	}()
	if !st.isLoaded() {
		page, err := s.r.cfg.Store.ListMessages(ctx, storage.MessageQuery{ConversationID: conv.ID, Limit: 1, Order: storage.Descending})
		if err != nil {
			return s.storeError(err, "list messages")
		}
		var last time.Time
		if len(page.Messages) > 0 {
			last = page.Messages[0].CreatedAt
		}
		st.load(conv, last)
	}
	sub, err := s.subscribe(ctx, conv.ID, *f.AfterSeq)
	if err != nil {
		return s.brokerError(err, "subscribe")
	}
	s.attached[conv.ID] = &attachment{conv: st, release: release, sub: sub}
	attached = true
	s.send(&protocol.ServerFrame{Type: protocol.TypeResumed, ID: f.ID, ConversationID: conv.ID})
	return nil
}

func (s *socket) handleHistory(f *protocol.ClientFrame) *protocol.Error {
	ctx, cancel := s.opCtx()
	defer cancel()
	if _, perr := s.owned(ctx, f.ConversationID); perr != nil {
		return perr
	}
	page, err := s.r.cfg.Store.ListMessages(ctx, storage.MessageQuery{
		ConversationID: f.ConversationID, Limit: f.Limit, Order: storage.Descending, Cursor: f.Cursor,
	})
	if err != nil {
		if errors.Is(err, storage.ErrInvalid) {
			return &protocol.Error{Code: protocol.CodeInvalidField, Message: "invalid cursor", Field: "cursor"}
		}
		return s.storeError(err, "list messages")
	}
	msgs := make([]protocol.Message, 0, len(page.Messages))
	for _, m := range slices.Backward(page.Messages) {
		msgs = append(msgs, wireMessage(m))
	}
	s.send(&protocol.ServerFrame{Type: protocol.TypeHistoryPage, ID: f.ID, ConversationID: f.ConversationID, Messages: msgs, Cursor: page.NextCursor})
	return nil
}

func (s *socket) handleList(f *protocol.ClientFrame) *protocol.Error {
	ctx, cancel := s.opCtx()
	defer cancel()
	page, err := s.r.cfg.Store.ListConversations(ctx, storage.ConversationQuery{UserID: s.identity.UserID, Limit: f.Limit, Cursor: f.Cursor})
	if err != nil {
		if errors.Is(err, storage.ErrInvalid) {
			return &protocol.Error{Code: protocol.CodeInvalidField, Message: "invalid cursor", Field: "cursor"}
		}
		return s.storeError(err, "list conversations")
	}
	convs := make([]protocol.Conversation, 0, len(page.Conversations))
	for _, c := range page.Conversations {
		convs = append(convs, *s.wireConversation(c))
	}
	s.send(&protocol.ServerFrame{Type: protocol.TypeConversations, ID: f.ID, Conversations: convs, Cursor: page.NextCursor})
	return nil
}

func (s *socket) handleStop(f *protocol.ClientFrame) *protocol.Error {
	a, ok := s.attached[f.ConversationID]
	if !ok {
		return protocol.Errorf(protocol.CodeNotOpen, "open the conversation first")
	}
	a.conv.cancelGeneration(errStopped)
	s.ok(f)
	return nil
}

func (s *socket) handleEnd(f *protocol.ClientFrame) *protocol.Error {
	a, ok := s.attached[f.ConversationID]
	if !ok {
		return protocol.Errorf(protocol.CodeNotOpen, "open the conversation first")
	}
	ctx, cancel := s.opCtx()
	defer cancel()
	if a.conv.owner() != s.identity.UserID {
		if _, perr := s.operatorFrame(ctx, f); perr != nil {
			return perr
		}
	}
	if err := s.r.cfg.Store.EndConversation(ctx, f.ConversationID, s.r.cfg.Now()); err != nil {
		return s.storeError(err, "end conversation")
	}
	if !a.conv.markEnded() {
		s.ok(f) // already ended
		return nil
	}
	if a.conv.owner() != s.identity.UserID {
		s.audit(ctx, storage.AuditEnd, f.ConversationID, "") // an operator ended it
	}
	a.conv.cancelGeneration(errEnded)
	if _, err := s.r.publish(ctx, f.ConversationID, &protocol.ServerFrame{Type: protocol.TypeEnded, ConversationID: f.ConversationID}); err != nil {
		return s.brokerError(err, "publish ended")
	}
	s.ok(f)
	return nil
}

// typingInterval throttles repeated typing signals of one socket.
const typingInterval = time.Second

func (s *socket) handleTyping(f *protocol.ClientFrame) *protocol.Error {
	a, ok := s.attached[f.ConversationID]
	if !ok {
		return protocol.Errorf(protocol.CodeNotOpen, "open the conversation first")
	}
	now := s.r.cfg.Now()
	if a.typingActive == *f.Active && now.Sub(a.typingAt) < typingInterval {
		s.ok(f)
		return nil // a repeat of the same state: nothing new to tell
	}
	a.typingActive, a.typingAt = *f.Active, now
	role := storage.RoleUser
	if a.conv.owner() != s.identity.UserID {
		role = storage.RoleOperator // only operators open others' conversations
	}
	data, err := protocol.Encode(&protocol.ServerFrame{Type: protocol.TypeTyping, ConversationID: f.ConversationID, Role: string(role), Active: f.Active})
	if err != nil {
		return s.internal(err, "encode typing")
	}
	ctx, cancel := s.opCtx()
	defer cancel()
	if err := s.r.cfg.Broker.Signal(ctx, f.ConversationID, data); err != nil {
		return s.brokerError(err, "signal typing")
	}
	s.ok(f)
	return nil
}

func (s *socket) handleLeave(f *protocol.ClientFrame) *protocol.Error {
	if !s.leave(f.ConversationID) {
		return protocol.Errorf(protocol.CodeNotOpen, "the conversation is not open")
	}
	s.ok(f)
	return nil
}

// leave detaches the socket from a conversation; it reports whether it was
// attached.
func (s *socket) leave(id string) bool {
	a, ok := s.attached[id]
	if ok {
		a.detach()
		delete(s.attached, id)
	}
	return ok
}

// subscribe attaches the socket to a conversation's events after seq after.
// Replayed events are queued without the outbox budget (see pushReplay);
// live ones count against it.
func (s *socket) subscribe(ctx context.Context, conversationID string, after int64) (broker.Subscription, error) {
	var replaying atomic.Bool
	replaying.Store(true)
	sub, err := s.r.cfg.Broker.Subscribe(ctx, conversationID, after, func(ev broker.Event) {
		if replaying.Load() {
			s.out.pushExtra(ev.Data)
		} else {
			s.out.push(ev.Data)
		}
	})
	replaying.Store(false)
	return sub, err
}

func (s *socket) sessionError(err error) *protocol.Error {
	if errors.Is(err, session.ErrFull) {
		return protocol.Errorf(protocol.CodeUnavailable, "the server is at capacity, try again later")
	}
	return s.internal(err, "session acquire")
}

// wireConversation is a conversation as this socket may see it: operators
// also see whose it is.
func (s *socket) wireConversation(c storage.Conversation) *protocol.Conversation {
	w := &protocol.Conversation{
		ID: c.ID, Title: c.Title, Model: c.Model, Status: string(c.Status), Metadata: c.Metadata,
		CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt, Mode: string(c.Mode.Normalize()),
	}
	if c.UserID != s.identity.UserID {
		w.UserID = c.UserID
	}
	if c.Mode == storage.ModeOperator {
		name := c.OperatorName
		if name == "" {
			name = "Operator"
		}
		w.Operator = &protocol.Operator{Name: name}
	}
	return w
}

func wireMessage(m storage.Message) protocol.Message {
	w := protocol.Message{
		ID: m.ID, Role: string(m.Role), Text: m.Text, FinishReason: m.FinishReason, Error: m.Error,
		ReplyTo: m.ReplyTo, Model: m.Model, CreatedAt: m.CreatedAt,
	}
	if m.Status == storage.MessageStreaming {
		w.Status = string(m.Status)
	}
	if m.Usage != (storage.Usage{}) {
		w.Usage = &protocol.Usage{InputTokens: m.Usage.InputTokens, OutputTokens: m.Usage.OutputTokens}
	}
	return w
}

// endOrphan ends a reply left streaming by a server that stopped without
// finishing it (a crash): older than the generation time limit, it cannot
// be running anywhere. It is stored and shown as interrupted.
func (r *Router) endOrphan(ctx context.Context, m storage.Message) storage.Message {
	m.Status = storage.MessageComplete
	m.FinishReason = string(llm.FinishInterrupted)
	m.UpdatedAt = r.cfg.Now().UTC()
	if err := r.cfg.Store.UpdateMessage(ctx, m); err != nil {
		r.log.Warn("end orphaned reply", "conversation", m.ConversationID, "reply", m.ID, "err", err)
	}
	return m
}

// checkOpenLimit refuses to attach one more conversation to a socket that
// has maxOpenPerSocket open (re-opening one already open is fine).
func (s *socket) checkOpenLimit(conversationID string) *protocol.Error {
	if _, open := s.attached[conversationID]; !open && len(s.attached) >= maxOpenPerSocket {
		return protocol.Errorf(protocol.CodeLimitReached, "too many conversations open on this socket: leave one first")
	}
	return nil
}
