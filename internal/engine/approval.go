package engine

import (
	"context"
	"errors"
	"time"

	"github.com/chatboxsdk/chatbox/auth"
	"github.com/chatboxsdk/chatbox/protocol"
	"github.com/chatboxsdk/chatbox/storage"
)

// A call that needs approval pauses its reply: the reply is stored with
// status awaiting_approval, its claim and lease are given back, and no
// goroutine waits for the answer. The answer (an approve frame on any
// instance, or the request expiring) claims the conversation again and
// resumes the stored reply as a new generation with the same id, so a
// pending approval survives reconnects, other tabs and restarts.

// handleApprove answers an approval request: the conversation's owner, or
// the operator holding it, approves or denies one call.
func (s *socket) handleApprove(f *protocol.ClientFrame) *protocol.Error {
	a, ok := s.attached[f.ConversationID]
	if !ok {
		return notOpen()
	}
	ctx, cancel := s.opCtx()
	defer cancel()
	if perr := s.allow(ctx, "msg:", s.e.cfg.MessageRate, "message"); perr != nil {
		return perr
	}
	decision := storage.ApprovalDenied
	if *f.Approved {
		decision = storage.ApprovalApproved
	}
	who := s.identity
	answered := false
	answer := approvalAnswer{replyID: f.ReplyID, callID: f.CallID, decision: decision, by: &who, operator: s.isOperator(),
		accepted: func() { answered = true; s.ok(f) }}
	_, perr := s.e.answerApproval(ctx, a.conv, answer)
	switch {
	case perr != nil && !answered:
		return perr
	case !answered:
		s.ok(f) // recorded; other requests of the reply still wait
	}
	return nil
}

// approvalAnswer is an answer to one call; or, with callID empty, the
// expiry of every request past its time (by nil), or a stop that denies
// every request and ends the reply (stop).
type approvalAnswer struct {
	replyID, callID string
	decision        storage.Approval
	by              *auth.Identity
	operator        bool
	stop            bool
	// accepted, when set, is called once the answer is taken, before the
	// reply resumes (the socket answers ok then).
	accepted func()
}

func errAnswered() *protocol.Error {
	return protocol.Errorf(protocol.CodeConflict, "this call was already answered")
}

func errExpired() *protocol.Error {
	return protocol.Errorf(protocol.CodeConflict, "this approval request has expired")
}

// answerApproval records an answer and, once every request of the reply is
// answered or expired, resumes the reply and returns its generation. It
// claims the conversation as a reply would, so two answers, or an answer
// and a send, never race.
func (e *Engine) answerApproval(ctx context.Context, c *conversation, a approvalAnswer) (*generation, *protocol.Error) {
	// A stop or an expiry only ends or continues the reply: it may claim
	// an ended conversation, whose paused reply must still end.
	g, perr := e.claimPaused(ctx, c, a.replyID, a.stop || a.by == nil)
	if perr != nil {
		return nil, perr
	}
	started := false
	defer func() {
		if !started {
			c.unclaim(g)
			e.releaseLease(g)
		}
	}()
	conv, err := e.cfg.Store.GetConversation(ctx, c.id)
	switch {
	case err != nil:
		return nil, storeError(e.log, err, "get conversation")
	case conv.Status == storage.StatusEnded && a.by != nil && !a.stop:
		return nil, conversationEnded()
	case conv.Status == storage.StatusEnded:
		a.stop = true // an expiry in an ended conversation ends its reply
		if a.by == nil {
			a.by = &auth.Identity{}
		}
	case a.by != nil && a.by.UserID != conv.UserID && !(a.operator && conv.Mode == storage.ModeOperator && conv.Operator == a.by.UserID):
		return nil, protocol.Errorf(protocol.CodeForbidden, "only the user, or the operator holding the conversation, may answer")
	}
	m, err := e.cfg.Store.GetMessage(ctx, c.id, a.replyID)
	if err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return nil, protocol.Errorf(protocol.CodeNotFound, "no such approval request")
		}
		return nil, storeError(e.log, err, "get reply")
	}
	expired, perr := applyAnswer(&m, a, e.cfg.Now())
	if perr != nil {
		if m.Status != storage.MessageAwaitingApproval {
			c.clearAwaiting(a.replyID)
		}
		return nil, perr
	}
	m.UpdatedAt = e.cfg.Now().UTC()
	if next := earliestExpiry(m.Parts); !next.IsZero() {
		// Other requests of the reply still wait.
		if err := e.cfg.Store.UpdateMessage(ctx, m); err != nil {
			return nil, storeError(e.log, err, "store approval")
		}
		e.expireLater(c.id, a.replyID, next)
		if expired {
			return nil, errExpired()
		}
		return nil, nil
	}
	slot, ok := e.takePlace(ctx, "replies", e.userGens, conv.UserID, e.cfg.MaxGenerationsPerUser)
	if !ok {
		return nil, protocol.Errorf(protocol.CodeBusy, "too many replies are running for this user: answer again when one ends")
	}
	m.Status = storage.MessageStreaming
	if err := e.cfg.Store.UpdateMessage(ctx, m); err != nil {
		slot.release()
		return nil, storeError(e.log, err, "store approval")
	}
	g.resumed, g.handoff = &m, conv.Mode == storage.ModeOperator
	if a.stop {
		g.cancel(errStopped) // the denials are stored, then the reply ends (abort)
	}
	e.cancelExpiry(c.id, a.replyID)
	// The answer's ok goes out before the reply's events: the reply waits
	// at its gate until then.
	gate := make(chan struct{})
	g.gate = gate
	defer close(gate)
	if err := e.startReply(c, g, storage.Message{ID: m.ReplyTo}, conv.UserID, slot); err != nil {
		// Not resumed: the reply waits again, as it was.
		e.log.Warn("answered reply not resumed", "conversation", c.id, "reply", a.replyID, "err", err)
		m.Status = storage.MessageAwaitingApproval
		for j := range m.Parts {
			if m.Parts[j].Approval != "" && !hasResult(m.Parts, m.Parts[j].CallID) {
				m.Parts[j].Approval, m.Parts[j].ApprovedBy = storage.ApprovalPending, ""
			}
		}
		pctx, cancel := e.persistCtx(ctx)
		defer cancel()
		if err := e.cfg.Store.UpdateMessage(pctx, m); err != nil {
			e.log.Error("restore a reply waiting for approval", "conversation", c.id, "reply", a.replyID, "err", err)
		}
		return nil, protocol.Errorf(protocol.CodeShuttingDown, "the server is stopping: answer again in a moment")
	}
	if a.accepted != nil {
		a.accepted()
	}
	c.clearAwaiting(a.replyID)
	started = true
	if expired {
		return g, errExpired()
	}
	return g, nil
}

// applyAnswer writes an answer into the stored reply m: requests past
// their time expire first. expired reports that the answered call had.
func applyAnswer(m *storage.Message, a approvalAnswer, now time.Time) (expired bool, perr *protocol.Error) {
	if m.Role != storage.RoleAssistant {
		return false, protocol.Errorf(protocol.CodeNotFound, "no such approval request")
	}
	i := -1
	if a.callID != "" {
		i = findCall(m.Parts, a.callID)
		if i < 0 || m.Parts[i].Approval == "" {
			return false, protocol.Errorf(protocol.CodeNotFound, "no such approval request")
		}
	}
	if m.Status != storage.MessageAwaitingApproval {
		return false, errAnswered()
	}
	changed := false
	for j := range m.Parts {
		p := &m.Parts[j]
		switch {
		case p.Approval != storage.ApprovalPending:
		case a.stop:
			p.Approval, p.ApprovedBy = storage.ApprovalDenied, a.by.UserID
			changed = true
		case !now.Before(p.ApprovalExpiresAt):
			p.Approval = storage.ApprovalExpired
			changed = true
			expired = expired || j == i
		}
	}
	switch {
	case i < 0 && !changed:
		return false, errAnswered() // an expiry with nothing due
	case i < 0 || expired:
		return expired, nil
	case m.Parts[i].Approval != storage.ApprovalPending:
		return false, errAnswered()
	}
	m.Parts[i].Approval = a.decision
	m.Parts[i].ApprovedBy = a.by.UserID
	return false, nil
}

// claimPaused claims the conversation for resuming the paused reply
// replyID. The reply may still be finishing its pause here: the claim then
// waits for it.
func (e *Engine) claimPaused(ctx context.Context, c *conversation, replyID string, ended bool) (*generation, *protocol.Error) {
	for range 2 {
		g, _, perr := c.claimReply(e.genCtx, e.cfg.GenerationTimeout, e.cfg.Now(), replyID, ended)
		if perr == nil {
			if perr := e.leaseReply(ctx, c, g); perr != nil {
				c.unclaim(g)
				return nil, perr
			}
			return g, nil
		}
		c.mu.Lock()
		running := c.gen
		c.mu.Unlock()
		if perr.Code != protocol.CodeBusy || running == nil || running.replyID != replyID {
			return nil, perr
		}
		select {
		case <-running.done:
		case <-ctx.Done():
			return nil, perr
		}
	}
	return nil, errAnswered()
}

func (c *conversation) clearAwaiting(replyID string) {
	c.mu.Lock()
	if c.awaiting == replyID {
		c.awaiting = ""
	}
	c.mu.Unlock()
	c.tellAwaiting(controlAnswered, replyID)
}

// tellAwaiting tells the conversation's other instances that a reply waits
// for approvals, or no longer does, so a send there is refused or allowed
// as here.
func (c *conversation) tellAwaiting(kind controlKind, replyID string) {
	ctx, cancel := context.WithTimeout(c.e.base, c.e.cfg.StoreTimeout)
	defer cancel()
	if err := c.signal(ctx, control{kind: kind, payload: []byte(replyID)}); err != nil {
		c.e.log.Warn("control event not published", "conversation", c.id, "kind", kind, "err", err)
	}
}

// awaitingReply returns the reply known to wait for approvals, after
// checking with the store that it still does (another instance may have
// resumed it).
func (c *conversation) awaitingReply(ctx context.Context) string {
	c.mu.Lock()
	id := c.awaiting
	c.mu.Unlock()
	if id == "" {
		return ""
	}
	m, err := c.e.cfg.Store.GetMessage(ctx, c.id, id)
	if err == nil && m.Status != storage.MessageAwaitingApproval {
		c.clearAwaiting(id)
		return ""
	}
	return id
}

// stopPaused ends a reply that waits for approvals, as a stop ends a
// running one: its requests are denied and it ends with finish reason
// abort. It returns the generation that ends it, or nil.
func (s *socket) stopPaused(ctx context.Context, c *conversation) *generation {
	id := c.awaitingReply(ctx)
	if id == "" {
		return nil
	}
	who := s.identity
	g, perr := s.e.answerApproval(ctx, c, approvalAnswer{replyID: id, by: &who, operator: s.isOperator(), stop: true})
	if perr != nil && perr.Code != protocol.CodeConflict {
		s.frameLog().Warn("stop a reply waiting for approval", "conversation", c.id, "reply", id, "err", perr)
	}
	return g
}

// stopPausedLate ends a reply that a stop or an end reached while it was
// pausing, as stopPaused would have.
func (e *Engine) stopPausedLate(c *conversation, g *generation) {
	ctx, cancel := context.WithTimeout(e.base, 2*e.cfg.StoreTimeout)
	defer cancel()
	_, perr := e.answerApproval(ctx, c, approvalAnswer{replyID: g.replyID, by: &auth.Identity{UserID: g.userID}, stop: true})
	if perr != nil && perr.Code != protocol.CodeConflict {
		e.log.Warn("stop a reply waiting for approval", "conversation", c.id, "reply", g.replyID, "err", perr)
	}
}
