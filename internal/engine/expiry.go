package engine

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/chatboxsdk/chatbox/protocol"
	"github.com/chatboxsdk/chatbox/storage"
)

// An approval request expires on time: a timer per reply waiting here,
// armed again by an open after a restart.

// noteAwaiting records replies of a page that wait for approvals, and has
// their requests expire on time (after a restart, no timer exists yet).
func (e *Engine) noteAwaiting(c *conversation, msgs []storage.Message) {
	for _, m := range slices.Backward(msgs) {
		if m.Status != storage.MessageAwaitingApproval {
			continue
		}
		c.mu.Lock()
		c.awaiting = m.ID
		c.mu.Unlock()
		if at := earliestExpiry(m.Parts); !at.IsZero() {
			e.expireLater(c.id, m.ID, at)
		}
		return
	}
}

// expireLater arranges for the reply's requests to expire at at. One
// timer per reply; it is stopped by Shutdown.
func (e *Engine) expireLater(convID, replyID string, at time.Time) {
	if at.IsZero() {
		return
	}
	key := convID + "\x00" + replyID
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.shuttingDown {
		return
	}
	if t, ok := e.expiries[key]; ok {
		t.Stop()
	}
	e.expiries[key] = time.AfterFunc(max(at.Sub(e.cfg.Now()), 0), func() {
		e.mu.Lock()
		if e.shuttingDown {
			e.mu.Unlock()
			return
		}
		delete(e.expiries, key)
		e.janitorWG.Add(1)
		e.mu.Unlock()
		defer e.janitorWG.Done()
		e.expireNow(convID, replyID)
	})
}

// expireNow expires the reply's requests that are due and, when none is
// left, resumes the reply.
func (e *Engine) expireNow(convID, replyID string) {
	ctx, cancel := context.WithTimeout(e.base, 2*e.cfg.StoreTimeout)
	defer cancel()
	c, release, err := e.convs.Acquire(convID, func() *conversation { return newConversation(e, convID) })
	if err != nil {
		e.log.Warn("approval expiry postponed", "conversation", convID, "err", err)
		return
	}
	defer release()
	if !c.isLoaded() {
		conv, err := e.cfg.Store.GetConversation(ctx, convID)
		if err != nil {
			return
		}
		page, err := e.cfg.Store.ListMessages(ctx, storage.MessageQuery{ConversationID: convID, Limit: 1, Order: storage.Descending})
		if err != nil {
			return
		}
		var last time.Time
		if len(page.Messages) > 0 {
			last = page.Messages[0].CreatedAt
		}
		c.load(conv, last)
	}
	// The store says whether anything is due: an answer may have come
	// first, on any instance, or the clock may be early.
	m, err := e.cfg.Store.GetMessage(ctx, convID, replyID)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return
	case err != nil:
		e.expireLater(convID, replyID, e.cfg.Now().Add(e.cfg.StoreTimeout)) // try again
		return
	case m.Status != storage.MessageAwaitingApproval:
		return
	}
	if at := earliestExpiry(m.Parts); at.After(e.cfg.Now()) {
		e.expireLater(convID, replyID, at)
		return
	}
	_, perr := e.answerApproval(ctx, c, approvalAnswer{replyID: replyID})
	switch {
	case perr == nil, perr.Code == protocol.CodeConflict, perr.Code == protocol.CodeNotFound:
	case perr.Code == protocol.CodeBusy: // another reply runs, or the user's are all taken
		e.expireLater(convID, replyID, e.cfg.Now().Add(time.Second))
	default:
		e.log.Warn("approval expiry failed", "conversation", convID, "reply", replyID, "err", perr)
	}
}

// cancelExpiry stops the reply's expiry timer: it was answered.
func (e *Engine) cancelExpiry(convID, replyID string) {
	key := convID + "\x00" + replyID
	e.mu.Lock()
	defer e.mu.Unlock()
	if t, ok := e.expiries[key]; ok {
		t.Stop()
		delete(e.expiries, key)
	}
}

// stopExpiries stops the timers of pending approvals (Shutdown); after a
// restart an open arranges them again.
func (e *Engine) stopExpiries() {
	e.mu.Lock()
	defer e.mu.Unlock()
	for k, t := range e.expiries {
		t.Stop()
		delete(e.expiries, k)
	}
}
