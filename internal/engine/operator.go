package engine

import (
	"context"
	"crypto/rand"
	"errors"
	"slices"
	"unicode/utf8"

	"github.com/chatboxsdk/chatbox/notify"
	"github.com/chatboxsdk/chatbox/protocol"
	"github.com/chatboxsdk/chatbox/storage"
)

// Operators watch any conversation, take it over from the model, write to
// the user and hand it back. The mode lives in the store and changes only
// through Store.ChangeMode, a compare-and-set, so of many operators (on
// any number of instances) taking one conversation over, exactly one wins.

// isOperator reports whether the socket's identity has an operator role.
func (s *socket) isOperator() bool {
	return slices.ContainsFunc(s.identity.Roles, func(role string) bool {
		return slices.Contains(s.e.cfg.OperatorRoles, role)
	})
}

// operatorName is the display name users see in mode events.
func (s *socket) operatorName() string {
	name := s.identity.Name
	if name == "" {
		return "Operator"
	}
	for len(name) > storage.MaxOperatorNameBytes {
		_, size := utf8.DecodeLastRuneInString(name)
		name = name[:len(name)-size]
	}
	return name
}

// spendOperatorBudget charges one operator frame to the operator's budget.
func (s *socket) spendOperatorBudget(ctx context.Context) *protocol.Error {
	return s.allow(ctx, "op:", s.e.cfg.AdminRate, "operator")
}

func (s *socket) handleWatch(f *protocol.ClientFrame) *protocol.Error {
	if !s.isOperator() {
		return protocol.Errorf(protocol.CodeForbidden, "only operators may do this")
	}
	// The budget is spent when the conversation turns out to be another
	// user's (see owned), as for open.
	return s.handleAttach(f, false)
}

// operatorFrame checks what every operator frame needs: the role, the
// conversation watched on this socket, and the operator's rate limit.
func (s *socket) operatorFrame(ctx context.Context, f *protocol.ClientFrame) (*attachment, *protocol.Error) {
	if !s.isOperator() {
		return nil, protocol.Errorf(protocol.CodeForbidden, "only operators may do this")
	}
	a, ok := s.attached[f.ConversationID]
	if !ok {
		return nil, protocol.Errorf(protocol.CodeNotOpen, "watch the conversation first")
	}
	if perr := s.spendOperatorBudget(ctx); perr != nil {
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
	conv, detail, perr := s.takeOver(ctx, f)
	if perr != nil || conv.ID == "" {
		return perr
	}
	// The store says operator before the running reply is stopped: a send
	// that claims the conversation afterwards reads the store and stores
	// its message without a reply (see sendAsUser).
	a.conv.stopReply(ctx, controlHandoff)
	s.e.cfg.Metrics.Takeover(string(storage.AuditTakeover))
	return s.announceMode(ctx, f, conv, storage.AuditTakeover, detail, s.operatorName())
}

// takeOver makes the socket's operator the holder. It returns the zero
// conversation (and answers ok) when the operator held it already.
func (s *socket) takeOver(ctx context.Context, f *protocol.ClientFrame) (storage.Conversation, string, *protocol.Error) {
	st := s.e.cfg.Store
	take := storage.ModeChange{
		ConversationID: f.ConversationID, From: []storage.Mode{storage.ModeAI, storage.ModeWaiting},
		To: storage.ModeOperator, Operator: s.identity.UserID, OperatorName: s.operatorName(), At: s.e.cfg.Now().UTC(),
	}
	conv, changed, err := st.ChangeMode(ctx, take)
	var detail string
	if errors.Is(err, storage.ErrConflict) && f.Force && conv.Mode == storage.ModeOperator && conv.Status != storage.StatusEnded {
		// An operator who left without handing back must not strand the
		// user: the conversation goes back to the queue on its holder's
		// behalf (a compare-and-set on that holder), then is taken.
		holder := conv.Operator
		_, _, err = st.ChangeMode(ctx, storage.ModeChange{
			ConversationID: conv.ID, From: []storage.Mode{storage.ModeOperator},
			To: storage.ModeWaiting, Operator: holder, At: take.At,
		})
		if err != nil && !errors.Is(err, storage.ErrConflict) {
			return conv, "", s.storeError(err, "take over from another operator")
		}
		detail = "taken from " + holder
		conv, changed, err = st.ChangeMode(ctx, take)
	}
	switch {
	case errors.Is(err, storage.ErrConflict) && conv.Status == storage.StatusEnded:
		return conv, "", conversationEnded()
	case errors.Is(err, storage.ErrConflict):
		return conv, "", protocol.Errorf(protocol.CodeConflict, "another operator holds the conversation (take it over with force if they left)")
	case err != nil:
		return conv, "", s.storeError(err, "take over")
	case !changed:
		s.ok(f) // already held by this operator: nothing to announce again
		return storage.Conversation{}, "", nil
	}
	return conv, detail, nil
}

func (s *socket) handleRelease(f *protocol.ClientFrame) *protocol.Error {
	ctx, cancel := s.opCtx()
	defer cancel()
	if _, perr := s.operatorFrame(ctx, f); perr != nil {
		return perr
	}
	conv, changed, err := s.e.cfg.Store.ChangeMode(ctx, storage.ModeChange{
		ConversationID: f.ConversationID, From: []storage.Mode{storage.ModeOperator},
		To: storage.ModeAI, Operator: s.identity.UserID, At: s.e.cfg.Now().UTC(),
	})
	switch {
	case errors.Is(err, storage.ErrConflict) && conv.Status == storage.StatusEnded:
		return conversationEnded()
	case err != nil && !errors.Is(err, storage.ErrConflict):
		return s.storeError(err, "release")
	case err != nil || !changed:
		// Held by another operator, or by nobody: this operator holds
		// nothing to hand back.
		return protocol.Errorf(protocol.CodeConflict, "you do not hold this conversation")
	}
	s.e.cfg.Metrics.Takeover(string(storage.AuditRelease))
	return s.announceMode(ctx, f, conv, storage.AuditRelease, "", s.operatorName())
}

// handleHelp records that the user asks for a person and tells the
// notifier. Asking again while waiting or while an operator is there
// changes nothing and notifies nobody.
func (s *socket) handleHelp(f *protocol.ClientFrame) *protocol.Error {
	a, ok := s.attached[f.ConversationID]
	if !ok || a.conv.owner() != s.identity.UserID {
		return notOpen()
	}
	ctx, cancel := s.opCtx()
	defer cancel()
	if perr := s.allow(ctx, "help:", s.e.cfg.HelpRate, "help"); perr != nil {
		return perr
	}
	now := s.e.cfg.Now().UTC()
	conv, changed, err := s.e.cfg.Store.ChangeMode(ctx, storage.ModeChange{
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
	s.e.cfg.Metrics.HelpRequested()
	if n := s.e.cfg.Notifier; n != nil {
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
	ev := &protocol.ServerFrame{Type: protocol.TypeModeChanged, ConversationID: conv.ID, Mode: string(conv.Mode.Normalize())}
	if operatorName != "" {
		ev.Operator = &protocol.Operator{Name: operatorName}
	}
	if _, err := s.attachedOrNew(conv.ID).publish(ctx, ev); err != nil {
		return s.brokerError(err, "publish mode")
	}
	s.ok(f)
	return nil
}

// attachedOrNew returns the socket's live conversation for id.
func (s *socket) attachedOrNew(id string) *conversation {
	if a, ok := s.attached[id]; ok {
		return a.conv
	}
	return newConversation(s.e, id)
}

// audit records an action in the audit log. The action has happened by
// then; a failed write is logged, not undone.
func (s *socket) audit(ctx context.Context, action storage.AuditAction, conversationID, detail string) {
	pctx, cancel := s.e.persistCtx(ctx)
	defer cancel()
	err := s.e.cfg.Store.AppendAudit(pctx, storage.AuditEntry{
		ID: "a_" + rand.Text(), At: s.e.cfg.Now().UTC(), Actor: s.identity.UserID,
		Action: action, ConversationID: conversationID, Detail: detail,
	})
	if err != nil {
		s.frameLog().Error("audit entry not stored", "action", action, "conversation", conversationID, "err", err)
	}
}
