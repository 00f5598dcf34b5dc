package router

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"slices"
	"unicode/utf8"

	"github.com/chatboxsdk/chatbox/broker"
	"github.com/chatboxsdk/chatbox/notify"
	"github.com/chatboxsdk/chatbox/protocol"
	"github.com/chatboxsdk/chatbox/storage"
)

// Operators watch any conversation, take it over from the model, write to
// the user and hand it back. The mode lives in the store and changes only
// through Store.ChangeMode, a compare-and-set, so of many operators (on
// any number of instances) taking one conversation over, exactly one wins.

var errHandoff = errors.New("an operator took the conversation over")

// maxOperatorNameBytes caps the display name sent in mode events and
// stored with the holder.
const maxOperatorNameBytes = storage.MaxOperatorNameBytes

// isOperator reports whether the socket's identity has an operator role.
func (s *socket) isOperator() bool {
	return slices.ContainsFunc(s.identity.Roles, func(role string) bool {
		return slices.Contains(s.r.cfg.OperatorRoles, role)
	})
}

func (s *socket) requireOperator() *protocol.Error {
	if !s.isOperator() {
		return protocol.Errorf(protocol.CodeForbidden, "only operators may do this")
	}
	return nil
}

// operatorName is the display name users see in mode events.
func (s *socket) operatorName() string {
	name := s.identity.Name
	if name == "" {
		return "Operator"
	}
	for len(name) > maxOperatorNameBytes {
		_, size := utf8.DecodeLastRuneInString(name)
		name = name[:len(name)-size]
	}
	return name
}

func (s *socket) handleWatch(f *protocol.ClientFrame) *protocol.Error {
	if perr := s.requireOperator(); perr != nil {
		return perr
	}
	ctx, cancel := s.opCtx()
	perr := s.allow(ctx, "op:", s.r.cfg.OperatorLimit)
	cancel()
	if perr != nil {
		s.r.cfg.Metrics.LimiterDenied("operator")
		return perr
	}
	return s.handleOpen(f)
}

// operatorFrame checks what every operator frame needs: the role, the
// conversation watched on this socket, and the operator's rate limit.
func (s *socket) operatorFrame(ctx context.Context, f *protocol.ClientFrame) (*attachment, *protocol.Error) {
	if perr := s.requireOperator(); perr != nil {
		return nil, perr
	}
	a, ok := s.attached[f.ConversationID]
	if !ok {
		return nil, protocol.Errorf(protocol.CodeNotOpen, "watch the conversation first")
	}
	if perr := s.allow(ctx, "op:", s.r.cfg.OperatorLimit); perr != nil {
		s.r.cfg.Metrics.LimiterDenied("operator")
		return nil, perr
	}
	return a, nil
}

func (s *socket) handleTakeover(f *protocol.ClientFrame) *protocol.Error {
	ctx, cancel := s.opCtx()
	defer cancel()
	a, perr := s.operatorFrame(ctx, f)
	if perr != nil {
		return perr
	}
	uid := s.identity.UserID
	take := storage.ModeChange{
		ConversationID: f.ConversationID, From: []storage.Mode{storage.ModeAI, storage.ModeWaiting},
		To: storage.ModeOperator, Operator: uid, OperatorName: s.operatorName(), At: s.r.cfg.Now().UTC(),
	}
	conv, changed, err := s.r.cfg.Store.ChangeMode(ctx, take)
	var detail string
	if errors.Is(err, storage.ErrConflict) && f.Force && conv.Mode == storage.ModeOperator && conv.Status != storage.StatusEnded {
		// An operator who left without handing back must not strand the
		// user: the conversation goes back to the queue on its holder's
		// behalf (a compare-and-set on that holder), then is taken.
		holder := conv.Operator
		_, _, err = s.r.cfg.Store.ChangeMode(ctx, storage.ModeChange{
			ConversationID: conv.ID, From: []storage.Mode{storage.ModeOperator},
			To: storage.ModeWaiting, Operator: holder, At: take.At,
		})
		if err != nil && !errors.Is(err, storage.ErrConflict) {
			return s.storeError(err, "take over from another operator")
		}
		detail = "taken from " + holder
		conv, changed, err = s.r.cfg.Store.ChangeMode(ctx, take)
	}
	switch {
	case errors.Is(err, storage.ErrConflict) && conv.Status == storage.StatusEnded:
		return conversationEnded()
	case errors.Is(err, storage.ErrConflict):
		return protocol.Errorf(protocol.CodeConflict, "another operator holds the conversation (take it over with force if they left)")
	case err != nil:
		return s.storeError(err, "take over")
	case !changed:
		s.ok(f) // already held by this operator: nothing to announce again
		return nil
	}
	// The store says operator before the running reply is stopped: a send
	// that claims the conversation afterwards reads the store and stores
	// its message without a reply (see handleSend).
	a.conv.handoff()
	s.r.cfg.Metrics.Takeover(string(storage.AuditTakeover))
	return s.announceMode(ctx, f, conv, storage.AuditTakeover, detail, s.operatorName())
}

func (s *socket) handleRelease(f *protocol.ClientFrame) *protocol.Error {
	ctx, cancel := s.opCtx()
	defer cancel()
	if _, perr := s.operatorFrame(ctx, f); perr != nil {
		return perr
	}
	conv, changed, err := s.r.cfg.Store.ChangeMode(ctx, storage.ModeChange{
		ConversationID: f.ConversationID, From: []storage.Mode{storage.ModeOperator},
		To: storage.ModeAI, Operator: s.identity.UserID, At: s.r.cfg.Now().UTC(),
	})
	switch {
	case errors.Is(err, storage.ErrConflict) && conv.Status == storage.StatusEnded:
		return conversationEnded()
	case errors.Is(err, storage.ErrConflict):
		return protocol.Errorf(protocol.CodeConflict, "you do not hold this conversation")
	case err != nil:
		return s.storeError(err, "release")
	case !changed:
		s.ok(f) // already back with the model
		return nil
	}
	s.r.cfg.Metrics.Takeover(string(storage.AuditRelease))
	return s.announceMode(ctx, f, conv, storage.AuditRelease, "", s.operatorName())
}

// handleHelp records that the user asks for a person and tells the
// notifier. Asking again while waiting or while an operator is there
// changes nothing and notifies nobody.
func (s *socket) handleHelp(f *protocol.ClientFrame) *protocol.Error {
	a, ok := s.attached[f.ConversationID]
	if !ok || a.conv.owner() != s.identity.UserID {
		return protocol.Errorf(protocol.CodeNotOpen, "open the conversation first")
	}
	ctx, cancel := s.opCtx()
	defer cancel()
	if perr := s.allow(ctx, "help:", s.r.cfg.HelpLimit); perr != nil {
		s.r.cfg.Metrics.LimiterDenied("help")
		return perr
	}
	now := s.r.cfg.Now().UTC()
	conv, changed, err := s.r.cfg.Store.ChangeMode(ctx, storage.ModeChange{
		ConversationID: f.ConversationID, From: []storage.Mode{storage.ModeAI}, To: storage.ModeWaiting, At: now,
	})
	switch {
	case errors.Is(err, storage.ErrConflict) && conv.Status == storage.StatusEnded:
		return conversationEnded()
	case errors.Is(err, storage.ErrConflict), err == nil && !changed:
		s.ok(f) // a person is already there, or was already asked for
		return nil
	case err != nil:
		return s.storeError(err, "request help")
	}
	s.r.cfg.Metrics.HelpRequested()
	if n := s.r.cfg.Notifier; n != nil {
		req := notify.HelpRequest{ConversationID: conv.ID, UserID: conv.UserID, UserName: s.identity.Name, At: now}
		if err := n.Notify(ctx, req); err != nil {
			// The request is recorded (operators see it in the queue);
			// only the push notification is lost.
			s.frameLog().Warn("help request not queued for notification", "err", err)
		}
	}
	return s.announceMode(ctx, f, conv, storage.AuditHelpRequest, "", "")
}

// announceMode records an applied mode change in the audit log, tells
// every socket of the conversation, and answers the request.
func (s *socket) announceMode(ctx context.Context, f *protocol.ClientFrame, conv storage.Conversation, action storage.AuditAction, detail, operatorName string) *protocol.Error {
	s.audit(ctx, action, conv.ID, detail)
	if perr := s.publishMode(ctx, conv, operatorName); perr != nil {
		return perr
	}
	s.ok(f)
	return nil
}

func conversationEnded() *protocol.Error {
	return protocol.Errorf(protocol.CodeConversationEnded, "the conversation has ended")
}

// publishMode tells every socket of the conversation its new mode.
func (s *socket) publishMode(ctx context.Context, conv storage.Conversation, operatorName string) *protocol.Error {
	ev := &protocol.ServerFrame{Type: protocol.TypeModeChanged, ConversationID: conv.ID, Mode: string(conv.Mode.Normalize())}
	if operatorName != "" {
		ev.Operator = &protocol.Operator{Name: operatorName}
	}
	if _, err := s.r.publish(ctx, conv.ID, ev); err != nil {
		return s.brokerError(err, "publish mode")
	}
	return nil
}

// audit records an action in the audit log. The action has happened by
// then; a failed write is logged, not undone.
func (s *socket) audit(ctx context.Context, action storage.AuditAction, conversationID, detail string) {
	pctx, cancel := s.r.persistCtx(ctx)
	defer cancel()
	err := s.r.cfg.Store.AppendAudit(pctx, storage.AuditEntry{
		ID: "a_" + rand.Text(), At: s.r.cfg.Now().UTC(), Actor: s.identity.UserID,
		Action: action, ConversationID: conversationID, Detail: detail,
	})
	if err != nil {
		s.frameLog().Error("audit entry not stored", "action", action, "conversation", conversationID, "err", err)
	}
}

// sendWithoutReply stores a message that no reply answers: an operator's,
// or the user's while an operator holds the conversation.
func (s *socket) sendWithoutReply(ctx context.Context, f *protocol.ClientFrame, st *conversation, role storage.Role) *protocol.Error {
	st.mu.Lock()
	createdAt := st.nextTime(s.r.cfg.Now())
	st.mu.Unlock()
	stored, created, err := s.r.cfg.Store.AppendMessage(ctx, storage.Message{
		ID: f.MessageID, ConversationID: f.ConversationID, Role: role, Text: f.Text,
		Status: storage.MessageComplete, CreatedAt: createdAt, UpdatedAt: createdAt,
	})
	if err != nil {
		return s.storeError(err, "append message")
	}
	if created {
		s.r.cfg.Metrics.MessageAccepted(string(role)) // counted before the client can see it
	}
	s.ack(f, !created)
	if !created {
		return nil
	}
	if _, err := s.r.publish(ctx, f.ConversationID, &protocol.ServerFrame{
		Type: protocol.TypeMessage, ConversationID: f.ConversationID, Message: ptr(wireMessage(stored)),
	}); err != nil {
		s.frameLog().Warn("publish message", "conversation", f.ConversationID, "err", err)
	}
	return nil
}

// modeEventPrefix and modeOperatorField recognise an encoded mode event
// announcing a takeover (protocol.Encode writes "type" first).
var (
	modeEventPrefix   = []byte(`{"type":"` + protocol.TypeModeChanged + `"`)
	modeOperatorField = []byte(`"mode":"` + protocol.ModeOperator + `"`)
)

// followHandoff stops g when an operator takes the conversation over
// through any instance: the takeover's mode event reaches every instance
// through the broker. The store is read once after subscribing, which
// covers a takeover whose event was published before the subscription (it
// wrote the store first). The caller closes the returned subscription.
func (r *Router) followHandoff(g *generation, conversationID string, log *slog.Logger) broker.Subscription {
	ctx := g.pubCtx
	after, err := r.cfg.Broker.LastSeq(ctx, conversationID)
	if err != nil {
		log.Warn("cannot follow takeovers of this reply", "err", err)
		return nil
	}
	sub, err := r.cfg.Broker.Subscribe(ctx, conversationID, after, func(ev broker.Event) {
		if bytes.HasPrefix(ev.Data, modeEventPrefix) && bytes.Contains(ev.Data, modeOperatorField) {
			g.cancel(errHandoff)
		}
	})
	if err != nil {
		log.Warn("cannot follow takeovers of this reply", "err", err)
		return nil
	}
	sctx, cancel := context.WithTimeout(g.ctx, r.cfg.StoreTimeout)
	defer cancel()
	if conv, err := r.cfg.Store.GetConversation(sctx, conversationID); err == nil && conv.Mode == storage.ModeOperator {
		g.cancel(errHandoff)
	}
	return sub
}
