package memory

import (
	"fmt"
	"sync"
	"time"

	"github.com/chatboxsdk/chatbox/broker"
)

// conv is the state of one remembered conversation.
//
// Locking: Broker.mu guards the LRU links, lastUsed and holders; conv.mu
// guards last, win and subs. dead is written under conv.mu, and also under
// Broker.mu except by Broker.Close (which first marks the broker closed, so
// nobody reads dead under Broker.mu afterwards). A goroutine holding conv.mu
// never acquires Broker.mu, and the evictor, which holds Broker.mu, only
// tries conv.mu (TryLock): the two locks cannot deadlock.
type conv struct {
	id string

	// Guarded by Broker.mu.
	idle     links     // in Broker.idle
	window   links     // in Broker.windows
	lastUsed time.Time // last publish, LastSeq or subscriber departure
	holders  int       // subscriptions, and Subscribe calls in progress

	mu sync.Mutex
	// dead: the conversation was forgotten or the broker closed; the state
	// must not be used any more (callers look the conversation up again).
	dead bool
	last int64 // last sequence number assigned, or the base if none
	win  window
	subs []*subscription
}

// publish assigns the next sequence number, encodes, keeps and delivers the
// event. dead reports that the conversation was forgotten before the lock
// was taken; nothing was done then.
func (c *conv) publish(encode broker.EncodeFunc, maxEvents, maxBytes int) (seq int64, dead bool, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dead {
		return 0, true, nil
	}
	seq = c.last + 1
	data, err := encode(seq)
	if err != nil {
		return 0, false, fmt.Errorf("broker/memory: encode event %d of conversation %q: %w", seq, c.id, err)
	}
	c.last = seq
	c.win.push(data, maxEvents, maxBytes)
	ev := broker.Event{ConversationID: c.id, Seq: seq, Data: data}
	for _, s := range c.subs {
		s.deliver(ev)
	}
	return seq, false, nil
}

// signal delivers an ephemeral event to the current subscribers.
func (c *conv) signal(data []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ev := broker.Event{ConversationID: c.id, Data: data}
	for _, s := range c.subs {
		s.deliver(ev)
	}
}

// lastSeq returns the last number assigned (the base if none).
func (c *conv) lastSeq() (last int64, dead bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.last, c.dead
}

// subscribe replays the held events after `after` to s and registers it.
func (c *conv) subscribe(s *subscription, after int64) (dead bool, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dead {
		return true, nil
	}
	floor := c.last - int64(c.win.n) // events floor+1..last are held
	if after < floor || after > c.last {
		return false, fmt.Errorf("%w: conversation %q holds events after %d up to %d, asked for events after %d",
			broker.ErrReplayUnavailable, c.id, floor, c.last, after)
	}
	for i := int(after - floor); i < c.win.n; i++ {
		s.deliver(broker.Event{ConversationID: c.id, Seq: floor + 1 + int64(i), Data: c.win.at(i)})
	}
	s.idx = len(c.subs)
	c.subs = append(c.subs, s)
	return false, nil
}

// unsubscribe removes s. It reports whether s was still registered.
func (c *conv) unsubscribe(s *subscription) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s.closed {
		return false
	}
	s.closed = true
	last := len(c.subs) - 1
	moved := c.subs[last]
	c.subs[s.idx] = moved
	moved.idx = s.idx
	c.subs[last] = nil
	c.subs = c.subs[:last]
	return true
}

// kill marks the conversation dead, closes its subscriptions and releases
// its window. The caller holds c.mu.
func (c *conv) killLocked() {
	c.dead = true
	for _, s := range c.subs {
		s.closed = true
	}
	c.subs = nil
	c.win.reset()
}

// subscription is one registered subscriber of a conversation.
type subscription struct {
	b       *Broker
	c       *conv
	deliver broker.DeliverFunc
	idx     int  // position in c.subs; guarded by c.mu
	closed  bool // guarded by c.mu
}

// Close stops delivery: once it returns, deliver is not called again. It is
// safe to call more than once and after the broker was closed; it always
// returns nil.
func (s *subscription) Close() error {
	if s.c.unsubscribe(s) {
		s.b.unpin(s.c, s.b.cfg.Now())
	}
	return nil
}
