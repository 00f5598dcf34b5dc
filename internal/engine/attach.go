package engine

import (
	"context"
	"crypto/rand"
	"slices"
	"sync/atomic"
	"time"

	"github.com/chatboxsdk/chatbox/broker"
	"github.com/chatboxsdk/chatbox/protocol"
	"github.com/chatboxsdk/chatbox/storage"
)

// maxPendingEvents bounds the events buffered for a socket while its
// response to open or resume is prepared; past it the socket is closed as
// a slow consumer and resumes.
const maxPendingEvents = 4096

// attachment is one socket's hold on one conversation.
type attachment struct {
	conv    *conversation
	release func() // gives back the registry reference
}

// handleAttach serves open, watch and resume: the socket attaches to the
// conversation's feed, gets its answer (a page of history and the reply in
// progress for open, resumed for resume) and then every later event, in
// order, once.
func (s *socket) handleAttach(f *protocol.ClientFrame, resume bool) *protocol.Error {
	ctx, cancel := s.opCtx()
	defer cancel()
	if perr := s.checkOpenLimit(f.ConversationID); perr != nil {
		return perr
	}
	conv, perr := s.conversationFor(ctx, f, resume)
	if perr != nil {
		return perr
	}
	s.leave(conv.ID)
	c, release, err := s.e.convs.Acquire(conv.ID, func() *conversation { return newConversation(s.e, conv.ID) })
	if err != nil {
		return s.registryError(err)
	}
	done := false
	defer func() {
		if !done { // any failure below, a panic in host code included
			release()
		}
	}()
	if err := c.joinFeed(ctx); err != nil {
		return s.brokerError(err, "subscribe")
	}
	defer func() {
		if !done {
			c.removeMember(s)
			c.leaveFeed()
		}
	}()

	after, snap, feedSeq := c.addMember(s, f, resume)
	if resume && after > feedSeq {
		// Ahead of what this instance has seen: ask the broker, which has
		// the last word; a number it never gave cannot be resumed from.
		last, err := s.e.cfg.Broker.LastSeq(ctx, conv.ID)
		if err != nil {
			return s.brokerError(err, "last seq")
		}
		if after > last {
			return protocol.Errorf(protocol.CodeReplayUnavailable, "that event number was never sent: open the conversation again")
		}
	}
	var replay [][]byte
	if after < feedSeq {
		if replay, err = c.replay(ctx, after, feedSeq); err != nil {
			return s.brokerError(err, "replay")
		}
	}
	if resume {
		// The missed events, then resumed (as documented), then live ones.
		if perr := s.loadForResume(ctx, c, conv); perr != nil {
			return perr
		}
		for _, ev := range replay {
			s.out.pushExtra(ev)
		}
		s.send(&protocol.ServerFrame{Type: protocol.TypeResumed, ID: f.ID, ConversationID: conv.ID})
	} else {
		if perr := s.sendOpened(ctx, f, c, conv, after, snap); perr != nil {
			return perr
		}
		for _, ev := range replay {
			s.out.pushExtra(ev)
		}
	}
	c.goLive(s)
	if s.attached == nil {
		s.attached = make(map[string]*attachment) // the first attach: an idle socket has none
	}
	s.attached[conv.ID] = &attachment{conv: c, release: release}
	done = true
	return nil
}

// conversationFor finds the conversation a frame opens: a new one (open
// without an id), or an existing one the socket may see.
func (s *socket) conversationFor(ctx context.Context, f *protocol.ClientFrame, resume bool) (storage.Conversation, *protocol.Error) {
	if resume || f.ConversationID != "" {
		return s.owned(ctx, f.ConversationID)
	}
	model := f.Model
	if model == "" {
		model = s.e.cfg.DefaultModel
	}
	if !s.e.models.has(model) {
		return storage.Conversation{}, &protocol.Error{Code: protocol.CodeInvalidField, Message: "unknown model", Field: "model"}
	}
	if perr := s.allow(ctx, "conv:", s.e.cfg.ConversationRate, "conversation"); perr != nil {
		return storage.Conversation{}, perr
	}
	now := s.e.cfg.Now().UTC().Truncate(time.Millisecond)
	conv := storage.Conversation{
		ID: "c_" + rand.Text(), UserID: s.identity.UserID, Title: f.Title, Model: model,
		Status: storage.StatusActive, Metadata: f.Metadata, CreatedAt: now, UpdatedAt: now,
	}
	if err := s.e.cfg.Store.CreateConversation(ctx, conv); err != nil {
		return conv, s.storeError(err, "create conversation")
	}
	conv.Mode = storage.ModeAI
	return conv, nil
}

// addMember registers s as a member that buffers events until goLive. It
// returns the number the socket's answer covers (after), the reply in
// progress for open, and the feed's number: events in (after, feedSeq]
// must be replayed, later ones arrive through the feed.
func (c *conversation) addMember(s *socket, f *protocol.ClientFrame, resume bool) (after int64, snap *protocol.ReplySnapshot, feedSeq int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	feedSeq = c.feedSeq
	if resume {
		after = *f.AfterSeq
	} else {
		var snapSeq int64
		snap, snapSeq = c.snapshotLocked()
		after = feedSeq
		if snap != nil || snapSeq > after {
			// Streaming: events after the snapshot continue it. Just
			// finished: the page holds the complete reply, so its events
			// must not be replayed over it.
			after = snapSeq
		}
	}
	c.members[s] = &member{after: max(after, feedSeq)}
	return after, snap, feedSeq
}

// replay returns the events numbered (after, upTo] from the broker's replay
// window, or broker.ErrReplayUnavailable when some are no longer held.
func (c *conversation) replay(ctx context.Context, after, upTo int64) ([][]byte, error) {
	var out [][]byte
	var returned atomic.Bool
	sub, err := c.e.cfg.Broker.Subscribe(ctx, c.id, after, func(ev broker.Event) {
		if !returned.Load() && ev.Err == nil && ev.Seq > after && ev.Seq <= upTo {
			out = append(out, ev.Data) // replayed before Subscribe returns
		}
	})
	returned.Store(true)
	if err != nil {
		return nil, err
	}
	_ = sub.Close()
	return out, nil
}

// goLive flushes what was buffered for s and delivers the rest as it comes.
func (c *conversation) goLive(s *socket) {
	c.mu.Lock()
	defer c.mu.Unlock()
	m, ok := c.members[s]
	if !ok {
		return
	}
	for _, ev := range m.pending {
		s.out.push(ev)
	}
	m.pending, m.live = nil, true
}

func (c *conversation) removeMember(s *socket) {
	c.mu.Lock()
	delete(c.members, s)
	c.mu.Unlock()
}

// sendOpened answers open and watch: the conversation, its latest page of
// history and the reply in progress.
func (s *socket) sendOpened(ctx context.Context, f *protocol.ClientFrame, c *conversation, conv storage.Conversation, after int64, snap *protocol.ReplySnapshot) *protocol.Error {
	limit := f.Limit
	if limit == 0 {
		limit = s.e.cfg.HistoryPageSize
	}
	page, err := s.e.cfg.Store.ListMessages(ctx, storage.MessageQuery{ConversationID: conv.ID, Limit: limit, Order: storage.Descending})
	if err != nil {
		return s.storeError(err, "list messages")
	}
	var last time.Time
	if len(page.Messages) > 0 {
		last = page.Messages[0].CreatedAt
	}
	c.load(conv, last)
	s.e.noteAwaiting(c, page.Messages)
	msgs := make([]protocol.Message, 0, len(page.Messages))
	for _, m := range slices.Backward(page.Messages) {
		if snap != nil && m.ID == snap.ReplyID {
			continue // the snapshot and the events after it carry this reply
		}
		// UpdatedAt, not CreatedAt: a reply resumed after an approval is
		// older than the limit, but not its run.
		if m.Status == storage.MessageStreaming && s.e.cfg.Now().Sub(m.UpdatedAt) > s.e.cfg.GenerationTimeout {
			m = s.e.endOrphan(ctx, m)
		}
		msgs = append(msgs, wireMessage(m))
	}
	s.e.cfg.Metrics.ConversationOpened(f.ConversationID == "")
	s.send(&protocol.ServerFrame{
		Type: protocol.TypeOpened, ID: f.ID, ConversationID: conv.ID,
		Conversation: s.wireConversation(conv), Messages: msgs, Cursor: page.NextCursor,
		LastSeq: after, Reply: snap,
	})
	return nil
}

// loadForResume fills the conversation's state when a resume is the first
// use of it on this instance.
func (s *socket) loadForResume(ctx context.Context, c *conversation, conv storage.Conversation) *protocol.Error {
	if c.isLoaded() {
		return nil
	}
	page, err := s.e.cfg.Store.ListMessages(ctx, storage.MessageQuery{ConversationID: conv.ID, Limit: 1, Order: storage.Descending})
	if err != nil {
		return s.storeError(err, "list messages")
	}
	var last time.Time
	if len(page.Messages) > 0 {
		last = page.Messages[0].CreatedAt
	}
	c.load(conv, last)
	s.e.noteAwaiting(c, page.Messages)
	return nil
}

// leave detaches the socket from a conversation; it reports whether it was
// attached.
func (s *socket) leave(id string) bool {
	a, ok := s.attached[id]
	if ok {
		a.conv.removeMember(s)
		a.conv.leaveFeed()
		a.release()
		delete(s.attached, id)
		if len(s.attached) == 0 {
			s.attached = nil // a map keeps its size once grown
		}
	}
	return ok
}

// checkOpenLimit refuses to attach one more conversation to a socket that
// has maxOpenPerSocket open (re-opening one already open is fine).
func (s *socket) checkOpenLimit(conversationID string) *protocol.Error {
	if _, open := s.attached[conversationID]; !open && len(s.attached) >= maxOpenPerSocket {
		return protocol.Errorf(protocol.CodeLimitReached, "too many conversations open on this socket: leave one first")
	}
	return nil
}

// endOrphan ends a reply left streaming by a server that stopped without
// finishing it (a crash): older than the generation time limit, it cannot
// be running anywhere. It is stored and shown as interrupted.
func (e *Engine) endOrphan(ctx context.Context, m storage.Message) storage.Message {
	m.Status = storage.MessageComplete
	m.FinishReason = "interrupted"
	m.UpdatedAt = e.cfg.Now().UTC()
	if err := e.cfg.Store.UpdateMessage(ctx, m); err != nil {
		e.log.Warn("end orphaned reply", "conversation", m.ConversationID, "reply", m.ID, "err", err)
	}
	return m
}
