package router

import (
	"context"
	"sync"
	"time"

	"github.com/chatboxsdk/chatbox/broker"
	"github.com/chatboxsdk/chatbox/protocol"
	"github.com/chatboxsdk/chatbox/session"
	"github.com/chatboxsdk/chatbox/storage"
)

// conversation is the live, in-memory state of one conversation. It is kept
// in the session registry while a socket or a generation references it and
// for an idle TTL afterwards; evicting it loses nothing, since everything
// that matters is in the store.
type conversation struct {
	id string

	mu     sync.Mutex
	loaded bool
	userID string
	model  string
	ended  bool
	// lastAt is the message clock: every message gets a CreatedAt strictly
	// after the previous one (by at least a millisecond, the precision some
	// stores keep), so (CreatedAt, ID) orders a conversation exactly.
	lastAt time.Time
	gen    *generation // the running (or starting) reply; nil when idle
	// lastReplySeq is the last delta's number of the latest finished reply.
	lastReplySeq int64
	stats        session.Stats
}

// load fills the state from the store the first time it is needed.
func (c *conversation) load(conv storage.Conversation, last time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.loaded {
		return
	}
	c.loaded = true
	c.userID = conv.UserID
	c.model = conv.Model
	c.ended = conv.Status == storage.StatusEnded
	if last.After(c.lastAt) {
		c.lastAt = last
	}
}

// nextTime returns the CreatedAt for a new message. Call with c.mu held.
func (c *conversation) nextTime(now time.Time) time.Time {
	t := now.UTC().Truncate(time.Millisecond)
	if !t.After(c.lastAt) {
		t = c.lastAt.Add(time.Millisecond)
	}
	c.lastAt = t
	return t
}

// attachment is one socket's subscription to one conversation.
type attachment struct {
	conv    *conversation
	release func()
	sub     broker.Subscription

	typingActive bool
	typingAt     time.Time
}

func (a *attachment) detach() {
	if a.sub != nil {
		_ = a.sub.Close()
	}
	a.release()
}

// claim reserves the conversation for one new reply: at most one reply is
// generated at a time. It returns the claimed generation and the CreatedAt
// for the user message that starts it.
func (c *conversation) claim(parent context.Context, timeout time.Duration, now time.Time) (*generation, time.Time, *protocol.Error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ended {
		return nil, time.Time{}, conversationEnded()
	}
	if c.gen != nil {
		return nil, time.Time{}, protocol.Errorf(protocol.CodeBusy, "a reply is being generated: wait for it or stop it")
	}
	g := newGeneration(parent, timeout)
	c.gen = g
	return g, c.nextTime(now), nil
}

// unclaim releases a claim whose generation never started.
func (c *conversation) unclaim(g *generation) {
	c.mu.Lock()
	if c.gen == g {
		c.gen = nil
	}
	c.mu.Unlock()
	g.cancel(nil)
}

func (c *conversation) cancelGeneration(cause error) {
	c.mu.Lock()
	g := c.gen
	c.mu.Unlock()
	if g != nil {
		g.cancel(cause)
	}
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

// handoff stops the reply being generated, if any, because an operator
// took the conversation over; it ends with finish reason handoff. The mode
// itself is never cached here: the store is the authority, read at every
// send (see handleSend), so no copy can go stale.
func (c *conversation) handoff() {
	c.cancelGeneration(errHandoff)
}

func (c *conversation) owner() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.userID
}

func (c *conversation) isLoaded() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.loaded
}

// snapshot returns the reply being streamed, with its text up to the
// returned sequence number, or nil when no reply is streaming; then the
// number is that of the last delta of the latest finished reply (0 if none),
// below which nothing of it may be replayed.
func (c *conversation) snapshot() (*protocol.ReplySnapshot, int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	g := c.gen
	if g == nil || g.lastSeq == 0 {
		return nil, c.lastReplySeq
	}
	return &protocol.ReplySnapshot{ReplyID: g.replyID, ReplyTo: g.replyTo, Model: g.model, Text: g.text.String()}, g.lastSeq
}
