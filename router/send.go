package router

import (
	"context"

	"github.com/chatboxsdk/chatbox/protocol"
	"github.com/chatboxsdk/chatbox/storage"
)

// handleSend accepts a user message: it is stored before it is
// acknowledged, published to every socket of the conversation, and answered
// by a generation. Resending a message id never creates a second message or
// a second reply.
func (s *socket) handleSend(f *protocol.ClientFrame) *protocol.Error {
	a, ok := s.attached[f.ConversationID]
	if !ok {
		return protocol.Errorf(protocol.CodeNotOpen, "open the conversation first")
	}
	ctx, cancel := s.opCtx()
	defer cancel()
	if perr := s.allow(ctx, "msg:", s.r.cfg.MessageLimit); perr != nil {
		s.r.cfg.Metrics.LimiterDenied("message")
		return perr
	}
	st := a.conv
	uid := s.identity.UserID
	if st.owner() != uid {
		// Only operators open other users' conversations.
		return s.sendAsOperator(ctx, f, st)
	}
	if !s.r.reserveGeneration(uid) {
		// A resend of an answered message is acknowledged; anything else,
		// including a stored message still waiting for its reply, is told
		// to come back (resending the same id then answers it).
		if m, err := s.r.cfg.Store.GetMessage(ctx, f.ConversationID, f.MessageID); err == nil && m.Role == storage.RoleUser && !s.unanswered(ctx, m) {
			s.ack(f, true)
			return nil
		}
		return protocol.Errorf(protocol.CodeBusy, "too many replies are running for this user: wait for one to end")
	}
	g, createdAt, perr := st.claim(s.r.genCtx, s.r.cfg.GenerationTimeout, s.r.cfg.Now())
	if perr != nil {
		s.r.releaseGeneration(uid)
		if perr.Code == protocol.CodeBusy && s.isDuplicate(ctx, f) {
			s.ack(f, true)
			return nil
		}
		return perr
	}
	// From here every path that does not start the generation, a panic in
	// host code included, gives back both the claim and the slot.
	started := false
	defer func() {
		if !started {
			st.unclaim(g)
			s.r.releaseGeneration(uid)
		}
	}()
	// The store is the authority on who answers (another instance may have
	// changed the mode), read after the claim: a takeover writes the store
	// and then stops the claimed reply, so whichever comes second sees the
	// other, and no reply runs while an operator holds the conversation.
	conv, err := s.r.cfg.Store.GetConversation(ctx, f.ConversationID)
	switch {
	case err != nil:
		return s.storeError(err, "get conversation")
	case conv.Status == storage.StatusEnded:
		return conversationEnded()
	case conv.Mode == storage.ModeOperator:
		return s.sendWithoutReply(ctx, f, st, storage.RoleUser) // the deferred unclaim frees the claim
	}
	stored, created, err := s.r.cfg.Store.AppendMessage(ctx, storage.Message{
		ID: f.MessageID, ConversationID: f.ConversationID, Role: storage.RoleUser, Text: f.Text,
		Status: storage.MessageComplete, CreatedAt: createdAt, UpdatedAt: createdAt,
	})
	if err != nil {
		return s.storeError(err, "append message")
	}
	if !created && !s.unanswered(ctx, stored) {
		s.ack(f, true)
		return nil
	}
	if created {
		s.r.cfg.Metrics.MessageAccepted(string(storage.RoleUser)) // counted before the client can see it
	}
	s.ack(f, !created)
	if created {
		if _, err := s.r.publish(ctx, f.ConversationID, &protocol.ServerFrame{
			Type: protocol.TypeMessage, ConversationID: f.ConversationID, Message: ptr(wireMessage(stored)),
		}); err != nil {
			// Stored and acknowledged; the other sockets see it on their
			// next open. The reply still goes ahead.
			s.frameLog().Warn("publish message", "conversation", f.ConversationID, "err", err)
		}
	}
	if err := s.r.startGeneration(st, g, stored, uid); err != nil {
		// Acknowledged already: the request gets no second answer. The
		// message is stored; resending its id answers it.
		s.frameLog().Warn("reply not started", "conversation", f.ConversationID, "err", err)
		return nil
	}
	started = true
	return nil
}

// sendAsOperator stores the message of the operator holding the
// conversation; any other operator is refused.
func (s *socket) sendAsOperator(ctx context.Context, f *protocol.ClientFrame, st *conversation) *protocol.Error {
	conv, err := s.r.cfg.Store.GetConversation(ctx, f.ConversationID)
	switch {
	case err != nil:
		return s.storeError(err, "get conversation")
	case conv.Status == storage.StatusEnded:
		return conversationEnded()
	case conv.Mode != storage.ModeOperator || conv.Operator != s.identity.UserID || !s.isOperator():
		return protocol.Errorf(protocol.CodeConflict, "take the conversation over before writing to its user")
	}
	return s.sendWithoutReply(ctx, f, st, storage.RoleOperator)
}

func (s *socket) ack(f *protocol.ClientFrame, duplicate bool) {
	s.send(&protocol.ServerFrame{Type: protocol.TypeAck, ID: f.ID, ConversationID: f.ConversationID, MessageID: f.MessageID, Duplicate: duplicate})
}

// isDuplicate reports whether the message id is already stored as a user
// message of the conversation.
func (s *socket) isDuplicate(ctx context.Context, f *protocol.ClientFrame) bool {
	m, err := s.r.cfg.Store.GetMessage(ctx, f.ConversationID, f.MessageID)
	return err == nil && m.Role == storage.RoleUser
}

// unanswered reports whether a resent message is still the last of its
// conversation, i.e. it was stored but its reply never started (the server
// stopped in between). Such a message is answered now.
func (s *socket) unanswered(ctx context.Context, m storage.Message) bool {
	page, err := s.r.cfg.Store.ListMessages(ctx, storage.MessageQuery{ConversationID: m.ConversationID, Limit: 1, Order: storage.Descending})
	return err == nil && len(page.Messages) == 1 && page.Messages[0].ID == m.ID
}

func ptr[T any](v T) *T { return &v }
