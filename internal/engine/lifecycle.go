package engine

import (
	"context"
	"time"

	"github.com/chatboxsdk/chatbox/protocol"
	"github.com/chatboxsdk/chatbox/storage"
)

// handleStop stops the conversation's running reply, on whatever instance
// it runs; its partial text is stored with finish reason abort.
func (s *socket) handleStop(f *protocol.ClientFrame) *protocol.Error {
	a, ok := s.attached[f.ConversationID]
	if !ok {
		return notOpen()
	}
	ctx, cancel := s.opCtx()
	defer cancel()
	a.conv.stopReply(ctx, controlStop)
	s.stopPaused(ctx, a.conv) // a reply waiting for approval ends too
	s.ok(f)
	return nil
}

// stopReply cancels the running reply here at once and tells every other
// instance through the feed (a reply runs on the instance that accepted its
// message).
func (c *conversation) stopReply(ctx context.Context, kind controlKind) *generation {
	ctl := control{kind: kind}
	c.mu.Lock()
	g := c.gen
	if kind == controlEnd {
		c.ended = true
	}
	c.mu.Unlock()
	if g != nil {
		g.cancel(ctl.cause())
	}
	if err := c.signal(ctx, ctl); err != nil {
		c.e.log.Warn("control event not published", "conversation", c.id, "kind", kind, "err", err)
	}
	return g
}

func (s *socket) handleEnd(f *protocol.ClientFrame) *protocol.Error {
	a, ok := s.attached[f.ConversationID]
	if !ok {
		return notOpen()
	}
	ctx, cancel := s.opCtx()
	defer cancel()
	c := a.conv
	byOperator := c.owner() != s.identity.UserID
	if byOperator {
		if _, perr := s.operatorFrame(ctx, f); perr != nil {
			return perr
		}
	}
	if err := s.e.cfg.Store.EndConversation(ctx, f.ConversationID, s.e.cfg.Now()); err != nil {
		return s.storeError(err, "end conversation")
	}
	if g := s.stopPaused(ctx, c); g != nil { // its reply.end comes before conversation.ended
		select {
		case <-g.done:
		case <-ctx.Done():
		}
	}
	if !c.markEnded() {
		s.ok(f) // already ended
		return nil
	}
	if byOperator {
		s.audit(ctx, storage.AuditEnd, f.ConversationID, "")
	}
	// conversation.ended is the conversation's last event: a reply running
	// here ends (and publishes reply.end) first.
	if g := c.stopReply(ctx, controlEnd); g != nil {
		select {
		case <-g.done:
		case <-ctx.Done():
		}
	}
	pctx, cancel := s.e.persistCtx(ctx) // the wait may have used ctx up; the end must still be told
	defer cancel()
	if _, err := c.publish(pctx, &protocol.ServerFrame{Type: protocol.TypeEnded, ConversationID: f.ConversationID}); err != nil {
		return s.brokerError(err, "publish ended")
	}
	s.e.deleteFiles(pctx, f.ConversationID) // an ended conversation keeps no files
	s.ok(f)
	return nil
}

// markEnded records that the conversation ended; it reports false if it
// already had.
func (c *conversation) markEnded() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ended {
		return false
	}
	c.ended = true
	return true
}

// typingInterval throttles repeated typing signals of one socket.
const typingInterval = time.Second

// handleTyping tells the conversation's other sockets (not this one) that
// its user or operator is typing.
func (s *socket) handleTyping(f *protocol.ClientFrame) *protocol.Error {
	a, ok := s.attached[f.ConversationID]
	if !ok {
		return notOpen()
	}
	c := a.conv
	now := s.e.cfg.Now()
	c.mu.Lock()
	m := c.members[s]
	repeat := m == nil || m.typingActive == *f.Active && now.Sub(m.typingAt) < typingInterval
	if m != nil && !repeat {
		m.typingActive, m.typingAt = *f.Active, now
	}
	owner := c.userID
	c.mu.Unlock()
	if repeat {
		s.ok(f)
		return nil // a repeat of the same state: nothing new to tell
	}
	role := storage.RoleUser
	if owner != s.identity.UserID {
		role = storage.RoleOperator // only operators open others' conversations
	}
	data, err := protocol.Encode(&protocol.ServerFrame{Type: protocol.TypeTyping, ConversationID: f.ConversationID, Role: string(role), Active: f.Active})
	if err != nil {
		return s.internal(err, "encode typing")
	}
	ctx, cancel := s.opCtx()
	defer cancel()
	if err := c.signal(ctx, control{kind: controlTyping, origin: s.ref, payload: data}); err != nil {
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
