package engine

import (
	"context"
	"time"

	"github.com/chatboxsdk/chatbox/protocol"
	"github.com/chatboxsdk/chatbox/storage"
)

// handleSend accepts a message on an attached conversation: the user's
// (answered by a reply) or, from the operator holding the conversation, the
// operator's (answered by nobody). A message is stored before it is
// acknowledged; resending its id never stores it twice nor answers it
// twice.
func (s *socket) handleSend(f *protocol.ClientFrame) *protocol.Error {
	a, ok := s.attached[f.ConversationID]
	if !ok {
		return notOpen()
	}
	ctx, cancel := s.opCtx()
	defer cancel()
	if perr := s.allow(ctx, "msg:", s.e.cfg.MessageRate, "message"); perr != nil {
		return perr
	}
	c := a.conv
	if c.owner() != s.identity.UserID {
		return s.sendAsOperator(ctx, f, c) // only operators open others' conversations
	}
	return s.sendAsUser(ctx, f, c)
}

func (s *socket) sendAsUser(ctx context.Context, f *protocol.ClientFrame, c *conversation) *protocol.Error {
	uid := s.identity.UserID
	slot, ok := s.e.takePlace(ctx, "replies", s.e.userGens, uid, s.e.cfg.MaxGenerationsPerUser)
	if !ok {
		// An answered resend is acknowledged; anything else, a stored
		// message still waiting for its reply included, is told to come
		// back (resending the same id then answers it).
		if st := c.resendState(ctx, f.MessageID, nil); st == resendAnswered {
			s.ack(f, true)
			return nil
		}
		return protocol.Errorf(protocol.CodeBusy, "too many replies are running for this user: wait for one to end")
	}
	// From here every path that does not start the reply, a panic in host
	// code included, gives back the place and, once taken, the claim.
	var g *generation
	started := false
	defer func() {
		if !started {
			if g != nil {
				c.unclaim(g)
				s.e.releaseLease(g)
				s.e.releaseBudget(g)
			}
			slot.release()
		}
	}()
	g, createdAt, perr := s.claimReply(ctx, c)
	if perr != nil {
		if perr.Code == protocol.CodeBusy && c.resendState(ctx, f.MessageID, nil) != resendNew {
			s.ack(f, true) // the running reply answers it
			return nil
		}
		return perr
	}
	// The store is the authority on who answers (another instance may have
	// changed the mode), read once, after the claim: a takeover writes the
	// store and then stops the claimed reply (through the feed), so
	// whichever comes second sees the other.
	conv, err := s.e.cfg.Store.GetConversation(ctx, f.ConversationID)
	switch {
	case err != nil:
		return s.storeError(err, "get conversation")
	case conv.Status == storage.StatusEnded:
		return conversationEnded()
	case conv.Mode == storage.ModeOperator:
		return s.sendWithoutReply(ctx, f, c, storage.RoleUser, createdAt) // the deferred unclaim frees the claim
	case c.awaitingReply(ctx) != "":
		if c.resendState(ctx, f.MessageID, nil) != resendNew {
			s.ack(f, true) // the waiting reply answers it
			return nil
		}
		return protocol.Errorf(protocol.CodeBusy, "a tool call waits for approval: approve or deny it first")
	}
	if perr := s.reserveBudget(ctx, c, g, f.Text); perr != nil {
		return perr
	}
	files, perr := s.attachmentParts(ctx, c, f)
	if perr != nil {
		return perr
	}
	stored, created, perr := s.storeWith(ctx, f, c, storage.RoleUser, createdAt, files)
	if perr != nil {
		return perr
	}
	if !created && c.resendState(ctx, f.MessageID, &stored) == resendAnswered {
		s.ack(f, true)
		return nil
	}
	s.ack(f, !created)
	if created {
		s.markSent(ctx, c, files)
		s.announce(ctx, c, stored)
	}
	if err := s.e.startReply(c, g, stored, uid, slot); err != nil {
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
func (s *socket) sendAsOperator(ctx context.Context, f *protocol.ClientFrame, c *conversation) *protocol.Error {
	conv, err := s.e.cfg.Store.GetConversation(ctx, f.ConversationID)
	switch {
	case err != nil:
		return s.storeError(err, "get conversation")
	case conv.Status == storage.StatusEnded:
		return conversationEnded()
	case conv.Mode != storage.ModeOperator || conv.Operator != s.identity.UserID || !s.isOperator():
		return protocol.Errorf(protocol.CodeConflict, "take the conversation over before writing to its user")
	}
	c.mu.Lock()
	createdAt := c.nextTime(s.e.cfg.Now())
	c.mu.Unlock()
	return s.sendWithoutReply(ctx, f, c, storage.RoleOperator, createdAt)
}

// sendWithoutReply stores a message that no reply answers: an operator's,
// or the user's while an operator holds the conversation.
func (s *socket) sendWithoutReply(ctx context.Context, f *protocol.ClientFrame, c *conversation, role storage.Role, createdAt time.Time) *protocol.Error {
	var files []storage.Part
	if role == storage.RoleUser { // a person reads them: any accepted type will do
		var perr *protocol.Error
		if files, perr = s.attachmentPartsFor(ctx, c, f, nil); perr != nil {
			return perr
		}
	} else if len(f.Attachments) > 0 {
		return &protocol.Error{Code: protocol.CodeInvalidField, Message: "operators do not attach files", Field: "attachments"}
	}
	stored, created, perr := s.storeWith(ctx, f, c, role, createdAt, files)
	if perr != nil {
		return perr
	}
	s.ack(f, !created)
	if created {
		s.markSent(ctx, c, files)
		s.announce(ctx, c, stored)
	}
	return nil
}

// store appends the frame's message (idempotent by its id) and counts it
// when it is new, before any client can see it.
func (s *socket) store(ctx context.Context, f *protocol.ClientFrame, c *conversation, role storage.Role, createdAt time.Time) (storage.Message, bool, *protocol.Error) {
	return s.storeWith(ctx, f, c, role, createdAt, nil)
}

// storeWith stores the frame's message with parts (its files).
func (s *socket) storeWith(ctx context.Context, f *protocol.ClientFrame, c *conversation, role storage.Role, createdAt time.Time, parts []storage.Part) (storage.Message, bool, *protocol.Error) {
	stored, created, err := s.e.cfg.Store.AppendMessage(ctx, storage.Message{
		ID: f.MessageID, ConversationID: c.id, Role: role, Text: f.Text, Parts: parts,
		Status: storage.MessageComplete, CreatedAt: createdAt, UpdatedAt: createdAt,
	})
	if err != nil {
		return stored, false, s.storeError(err, "append message")
	}
	if created {
		s.e.cfg.Metrics.MessageAccepted(string(role))
	}
	return stored, created, nil
}

// announce publishes a stored message to every socket of the conversation.
// It is stored and acknowledged already: on failure the other sockets see
// it on their next open.
func (s *socket) announce(ctx context.Context, c *conversation, m storage.Message) {
	w := wireMessage(m)
	if _, err := c.publish(ctx, &protocol.ServerFrame{Type: protocol.TypeMessage, ConversationID: c.id, Message: &w}); err != nil {
		s.frameLog().Warn("publish message", "conversation", c.id, "err", err)
	}
}

func (s *socket) ack(f *protocol.ClientFrame, duplicate bool) {
	s.send(&protocol.ServerFrame{Type: protocol.TypeAck, ID: f.ID, ConversationID: f.ConversationID, MessageID: f.MessageID, Duplicate: duplicate})
}

// resend is what the store knows of a message id being sent.
type resend int

const (
	resendNew        resend = iota // not stored as a user message
	resendUnanswered               // stored, and still the conversation's last message: its reply never started
	resendAnswered                 // stored, and followed by its reply (or more)
)

// resendState decides whether a send is a resend, in one place. known is
// the stored message when the caller has it already.
func (c *conversation) resendState(ctx context.Context, messageID string, known *storage.Message) resend {
	store := c.e.cfg.Store
	if known == nil {
		m, err := store.GetMessage(ctx, c.id, messageID)
		if err != nil || m.Role != storage.RoleUser {
			return resendNew
		}
		known = &m
	}
	page, err := store.ListMessages(ctx, storage.MessageQuery{ConversationID: c.id, Limit: 1, Order: storage.Descending})
	if err == nil && len(page.Messages) == 1 && page.Messages[0].ID == known.ID {
		return resendUnanswered
	}
	return resendAnswered
}

// claimReply claims the conversation here, then across instances (its
// reply lease).
func (s *socket) claimReply(ctx context.Context, c *conversation) (*generation, time.Time, *protocol.Error) {
	g, createdAt, perr := c.claim(s.e.genCtx, s.e.cfg.GenerationTimeout, s.e.cfg.Now())
	if perr != nil {
		return nil, createdAt, perr
	}
	leased := false
	defer func() {
		if !leased { // refused, or the broker panicked
			c.unclaim(g)
		}
	}()
	if perr := s.e.leaseReply(ctx, c, g); perr != nil {
		return nil, createdAt, perr
	}
	leased = true
	return g, createdAt, nil
}

// claim reserves the conversation for one new reply: at most one reply runs
// at a time. It returns the claimed reply and the CreatedAt for the user
// message that starts it.
func (c *conversation) claim(parent context.Context, timeout time.Duration, now time.Time) (*generation, time.Time, *protocol.Error) {
	return c.claimReply(parent, timeout, now, "", false)
}

// claimReply claims for the reply replyID ("" for a new one); ended allows
// it in an ended conversation (to end a paused reply).
func (c *conversation) claimReply(parent context.Context, timeout time.Duration, now time.Time, replyID string, ended bool) (*generation, time.Time, *protocol.Error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ended && !ended {
		return nil, time.Time{}, conversationEnded()
	}
	if c.gen != nil {
		return nil, time.Time{}, protocol.Errorf(protocol.CodeBusy, "a reply is being generated: wait for it or stop it")
	}
	g := newGeneration(parent, c.id, timeout)
	if replyID != "" {
		g.replyID = replyID
	}
	c.gen = g
	return g, c.nextTime(now), nil
}

// unclaim releases a claim whose reply never started.
func (c *conversation) unclaim(g *generation) {
	c.mu.Lock()
	if c.gen == g {
		c.gen = nil
	}
	c.mu.Unlock()
	g.cancel(nil)
	g.markDone()
}
