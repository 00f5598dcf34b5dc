package engine

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/chatboxsdk/chatbox/broker"
	"github.com/chatboxsdk/chatbox/protocol"
	"github.com/chatboxsdk/chatbox/storage"
)

// conversation is the one owner of a conversation's live state on this
// instance: its broker subscription (the feed), the sockets attached to
// it, the claim that lets one reply run at a time, and that reply. It is
// kept in the Engine's registry while a socket or a reply uses it and for
// an idle TTL afterwards; evicting it loses nothing, since everything that
// matters is in the store.
//
// Its verbs (send, stop, takeOver, release, askForHelp, end, attach,
// detach) live in the conv_*.go files.
type conversation struct {
	id string
	e  *Engine

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
	// lastReplySeq is the last event's number of the latest finished reply.
	lastReplySeq int64
	// awaiting is the id of a reply seen waiting for approvals (a cache:
	// the store has the truth); "" when none is known.
	awaiting string
	// contextTokens is the last reply's input and output tokens: what
	// the next reply will read, for a budget's estimate.
	contextTokens int64

	// The feed: one broker subscription per conversation and instance,
	// open while anything uses it (users counts attached sockets and the
	// running reply). feedID tells the current subscription's deliveries
	// from a closed one's late ones.
	feed      broker.Subscription
	staleFeed broker.Subscription // ended by the broker, still to be closed
	feedID    uint64
	feedWait  chan struct{} // closed when a subscription being set up is ready
	feedUsers int
	feedSeq   int64 // the last sequence number the feed delivered
	members   map[*socket]*member
}

// member is one socket attached to the conversation.
type member struct {
	// after: events numbered up to it are not delivered (the socket has
	// them, from its page or a replay).
	after int64
	// pending buffers events while the socket's response is prepared, so
	// they follow it; nil once the socket is live.
	pending [][]byte
	live    bool

	typingActive bool
	typingAt     time.Time
}

func newConversation(e *Engine, id string) *conversation {
	return &conversation{id: id, e: e, members: make(map[*socket]*member)}
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

func (c *conversation) isLoaded() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.loaded
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

func (c *conversation) owner() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.userID
}

// joinFeed makes sure the conversation's feed is subscribed and counts one
// more user of it. The subscription is set up without holding c.mu (the
// broker delivers into c while subscribing); concurrent callers wait for
// the one setting it up.
func (c *conversation) joinFeed(ctx context.Context) error {
	c.closeStaleFeed()
	for {
		c.mu.Lock()
		if c.feed != nil {
			c.feedUsers++
			c.mu.Unlock()
			return nil
		}
		if w := c.feedWait; w != nil {
			c.mu.Unlock()
			select {
			case <-w:
				continue
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		w := make(chan struct{})
		c.feedWait = w
		c.feedID++
		id := c.feedID
		c.mu.Unlock()

		_, live, err := c.setUpFeed(ctx, id, w)
		switch {
		case err != nil:
			return err
		case !live:
			continue // the broker ended it at once: subscribe again
		}
		return nil
	}
}

// setUpFeed subscribes the feed numbered id and publishes it (releasing
// those waiting on w) whatever happens, a panic in the broker included.
// live is false when the broker ended the subscription before it could be
// installed.
func (c *conversation) setUpFeed(ctx context.Context, id uint64, w chan struct{}) (sub broker.Subscription, live bool, err error) {
	installed := false
	defer func() {
		c.mu.Lock()
		c.feedWait = nil
		close(w)
		if err == nil && c.feedID == id {
			c.feed = sub
			c.feedUsers++
			installed = true
		}
		c.mu.Unlock()
		if sub != nil && !installed {
			_ = sub.Close()
		}
		live = installed
	}()
	sub, err = c.subscribeFeed(ctx, id)
	return sub, false, err
}

// subscribeFeed subscribes from the broker's current number: what happened
// before is in the store (and in replays a socket asks for).
func (c *conversation) subscribeFeed(ctx context.Context, id uint64) (broker.Subscription, error) {
	last, err := c.e.cfg.Broker.LastSeq(ctx, c.id)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.feedSeq = max(c.feedSeq, last)
	c.mu.Unlock()
	return c.e.cfg.Broker.Subscribe(ctx, c.id, last, func(ev broker.Event) { c.deliver(id, ev) })
}

// closeStaleFeed closes a subscription the broker ended (see deliver).
func (c *conversation) closeStaleFeed() {
	c.mu.Lock()
	sub := c.staleFeed
	c.staleFeed = nil
	c.mu.Unlock()
	if sub != nil {
		_ = sub.Close()
	}
}

// leaveFeed counts one user less; the last one closes the subscription.
func (c *conversation) leaveFeed() {
	defer c.closeStaleFeed()
	c.mu.Lock()
	c.feedUsers--
	var sub broker.Subscription
	if c.feedUsers == 0 && c.feed != nil {
		sub, c.feed = c.feed, nil
		c.feedID++ // late deliveries of sub are ignored
	}
	c.mu.Unlock()
	if sub != nil {
		_ = sub.Close()
	}
}

// deliver is the feed's DeliverFunc: control events act on the reply,
// everything else goes to every attached socket (pushed, never waited on).
func (c *conversation) deliver(feedID uint64, ev broker.Event) {
	if ev.Err != nil {
		c.feedEnded(feedID, ev.Err)
		return
	}
	if ctl, ok := decodeControl(ev.Data); ok {
		c.control(feedID, ctl)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if feedID != c.feedID {
		return
	}
	if ev.Seq > c.feedSeq {
		c.feedSeq = ev.Seq
	}
	for s, m := range c.members {
		if ev.Seq != 0 && ev.Seq <= m.after {
			continue
		}
		if !m.live {
			if len(m.pending) >= maxPendingEvents {
				s.out.close(protocol.CloseSlowConsumer, "client too slow: reconnect and resume")
				continue
			}
			m.pending = append(m.pending, ev.Data)
			continue
		}
		if ev.Seq == 0 {
			s.out.pushExtra(ev.Data) // ephemeral: a slow socket just misses it
		} else {
			s.out.push(ev.Data)
		}
	}
}

// feedEnded handles the broker ending the feed (it lost events it cannot
// recover, e.g. the shared backend restarted): every attached socket is
// closed with "reconnect and resume", so its client resumes and gets either
// the missed events or replay_unavailable, never a silent gap. The next
// user of the conversation subscribes afresh.
func (c *conversation) feedEnded(feedID uint64, err error) {
	c.mu.Lock()
	if feedID != c.feedID {
		c.mu.Unlock()
		return
	}
	c.staleFeed, c.feed = c.feed, nil
	c.feedID++
	for s := range c.members {
		s.out.close(protocol.CloseSlowConsumer, "events may have been missed: reconnect and resume")
	}
	c.mu.Unlock()
	c.e.log.Warn("conversation feed ended by the broker; its sockets resume", "conversation", c.id, "err", err) // not under c.mu: host code
}

// control applies a control event from any instance.
func (c *conversation) control(feedID uint64, ctl control) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if feedID != c.feedID {
		return
	}
	switch ctl.kind {
	case controlTyping:
		c.relayTyping(ctl)
	case controlAwaiting:
		c.awaiting = string(ctl.payload)
	case controlAnswered:
		if c.awaiting == string(ctl.payload) {
			c.awaiting = ""
		}
	case controlStop, controlHandoff, controlEnd:
		if ctl.kind == controlEnd {
			c.ended = true
		}
		if c.gen != nil {
			c.gen.cancel(ctl.cause())
		}
	}
}

// relayTyping passes a typing signal to every attached socket but the one
// that sent it. Call with c.mu held.
func (c *conversation) relayTyping(ctl control) {
	for s, m := range c.members {
		switch {
		case s.ref == ctl.origin:
		case m.live:
			s.out.pushExtra(ctl.payload)
		case len(m.pending) < maxPendingEvents:
			// Attaching: its answer may be out already (a client can act
			// on it at once), so the signal follows it rather than being
			// lost.
			m.pending = append(m.pending, ctl.payload)
		}
	}
}

// signal sends a control event to this conversation's feed on every
// instance (this one included).
func (c *conversation) signal(ctx context.Context, ctl control) error {
	return c.e.cfg.Broker.Signal(ctx, c.id, ctl.encode())
}

// publish sends a conversation event through the broker, encoding it once
// with its sequence number.
func (c *conversation) publish(ctx context.Context, f *protocol.ServerFrame) (int64, error) {
	seq, err := c.e.cfg.Broker.Publish(ctx, c.id, func(seq int64) ([]byte, error) {
		f.Seq = seq
		return protocol.Encode(f)
	})
	c.afterPublish(err)
	return seq, err
}

// afterPublish makes a failed publish visible: an event the broker did not
// take reaches no socket, so the sockets attached here are closed with
// "reconnect and resume"; their clients resume and get either the events
// or replay_unavailable, never a silent gap (nor a wait with no end).
func (c *conversation) afterPublish(err error) {
	if err == nil || errors.Is(err, broker.ErrClosed) || errors.Is(err, context.Canceled) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for s := range c.members {
		s.out.close(protocol.CloseSlowConsumer, "events could not be delivered: reconnect and resume")
	}
}

// snapshot returns the reply being streamed, with its text up to the
// returned sequence number, or nil when no reply is streaming; then the
// number is that of the last event of the latest finished reply (0 if none),
// below which nothing of it may be replayed. A reply pausing for approvals
// counts as finished: the store holds it whole. Call with c.mu held.
func (c *conversation) snapshotLocked() (*protocol.ReplySnapshot, int64) {
	g := c.gen
	if g != nil && g.pausing {
		return nil, g.lastSeq // the stored reply is complete up to here
	}
	if g == nil || g.lastSeq == 0 {
		return nil, c.lastReplySeq
	}
	snap := &protocol.ReplySnapshot{ReplyID: g.replyID, ReplyTo: g.replyTo, Model: g.model, Text: g.text.String()}
	if g.shown != nil {
		snap.Parts = g.shown.snapshot()
	}
	return snap, g.lastSeq
}
