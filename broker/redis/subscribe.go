package redis

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/chatboxsdk/chatbox/broker"
)

// subscription is one subscriber on this instance. Its fields are guarded by
// mu, which is held while deliver is called: that is what delivers its
// events one at a time, in order.
type subscription struct {
	b       *Broker
	id      string // conversation
	channel string
	deliver broker.DeliverFunc

	mu    sync.Mutex
	ended bool
	last  int64 // last number delivered (or the number subscribed after)
	// behind: live events are held in held, not delivered, until the
	// subscription has caught up from the window (after subscribing, after
	// a gap, after the connection was restored).
	behind   bool
	held     []broker.Event
	overflow bool // held was full and emptied: another catch-up is needed
	lost     int  // times the connection dropped; a catch-up begun before is incomplete
	// starting: Subscribe is replaying; the worker leaves the subscription
	// alone until it is done.
	starting bool
}

// Subscribe implements broker.Broker. It waits (within ctx and
// Config.SubscribeTimeout) until this instance's pub/sub connection has
// subscribed the conversation's channel, then replays the window after
// `after`. It returns broker.ErrReplayUnavailable (wrapped) when an event
// numbered above after is no longer held, including every number from an
// earlier epoch and any number above the last one issued. A nil deliver is
// an error.
func (b *Broker) Subscribe(ctx context.Context, conversationID string, after int64, deliver broker.DeliverFunc) (broker.Subscription, error) {
	if deliver == nil {
		return nil, errors.New("broker/redis: Subscribe: nil deliver function")
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	_, _, name := b.keys(conversationID)
	s := &subscription{b: b, id: conversationID, channel: name, deliver: deliver, last: after, behind: true, starting: true}
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil, broker.ErrClosed
	}
	ch := b.chans[name]
	if ch == nil {
		ch = &channel{id: conversationID, name: name, ready: make(chan struct{})}
		b.chans[name] = ch
	}
	ch.subs = append(ch.subs[:len(ch.subs):len(ch.subs)], s)
	ready := ch.ready
	if !ch.subscribed {
		b.markLocked(name)
	}
	b.mu.Unlock()

	ok := false
	defer func() {
		if !ok {
			_ = s.Close()
		}
	}()
	timer := time.NewTimer(b.cfg.SubscribeTimeout)
	defer timer.Stop()
	select {
	case <-ready:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-b.ctx.Done():
		return nil, broker.ErrClosed
	case <-timer.C:
		return nil, fmt.Errorf("broker/redis: subscribe to conversation %q: not confirmed within %v", conversationID, b.cfg.SubscribeTimeout)
	}
	s.mu.Lock()
	lost := s.lost
	s.mu.Unlock()
	events, err := b.replay(ctx, conversationID, after)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.caughtUp(events, lost)
	s.mu.Unlock()
	ok = true
	return s, nil
}

// replay reads the window's events after `after`.
func (b *Broker) replay(ctx context.Context, conversationID string, after int64) ([]broker.Event, error) {
	meta, list, _ := b.keys(conversationID)
	res, err := replayScript.Exec(ctx, b.client, []string{meta, list}, []string{
		strconv.FormatInt(after, 10), strconv.FormatInt(b.cfg.NumberingTTL.Milliseconds(), 10),
	}).ToArray()
	if err != nil || len(res) < 2 {
		return nil, fmt.Errorf("broker/redis: replay conversation %q after %d: %w", conversationID, after, errOr(err))
	}
	status, err1 := res[0].AsInt64()
	last, err2 := res[1].AsInt64()
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("broker/redis: replay conversation %q after %d: %w", conversationID, after, err)
	}
	if status != 1 {
		return nil, fmt.Errorf("%w: conversation %q holds events up to %d, not all of those after %d",
			broker.ErrReplayUnavailable, conversationID, last, after)
	}
	events := make([]broker.Event, 0, len(res)-2)
	for i, m := range res[2:] {
		data, err := m.AsBytes()
		if err != nil {
			return nil, fmt.Errorf("broker/redis: replay conversation %q: %w", conversationID, err)
		}
		events = append(events, broker.Event{ConversationID: conversationID, Seq: after + 1 + int64(i), Data: data})
	}
	return events, nil
}

// bringUpToDate is the catch-up worker's job for the subscriptions of one
// conversation: one read of the window from the earliest of their numbers
// serves them all. If that read finds the window too short, each one is
// tried on its own, so only those that did miss what is gone are ended.
func (b *Broker) bringUpToDate(group []*subscription) {
	after := make([]int64, len(group))
	lost := make([]int, len(group))
	from := int64(math.MaxInt64)
	for i, s := range group {
		s.mu.Lock()
		after[i], lost[i] = s.last, s.lost
		s.mu.Unlock()
		from = min(from, after[i])
	}
	ctx, cancel := context.WithTimeout(b.ctx, b.cfg.SubscribeTimeout)
	events, err := b.replay(ctx, group[0].id, from)
	cancel()
	if errors.Is(err, broker.ErrReplayUnavailable) && len(group) > 1 {
		for _, s := range group {
			b.bringUpToDate([]*subscription{s})
		}
		return
	}
	for i, s := range group {
		s.mu.Lock()
		switch {
		case s.ended || b.ctx.Err() != nil:
		case err != nil:
			if !errors.Is(err, broker.ErrReplayUnavailable) {
				err = fmt.Errorf("%w: %w", broker.ErrReplayUnavailable, err)
			}
			s.endLocked(err)
		case s.last != after[i]:
			// Cannot happen while behind; a later catch-up settles it.
			s.b.requestCatchUp(s)
		case after[i]-from > int64(len(events)):
			// Above every number the backend holds: it came back behind.
			s.endLocked(fmt.Errorf("%w: conversation %q is behind event %d", broker.ErrReplayUnavailable, s.id, after[i]))
		default:
			s.caughtUp(events[after[i]-from:], lost[i])
		}
		s.mu.Unlock()
	}
}

// caughtUp delivers the replayed events, then the live ones held meanwhile,
// and goes live, unless the connection dropped since the replay began
// (lost changed) or held overflowed: then another catch-up follows. s.mu is
// held.
func (s *subscription) caughtUp(events []broker.Event, lost int) {
	s.starting = false
	if s.ended {
		return
	}
	for _, ev := range events {
		if ev.Seq == s.last+1 {
			s.deliver(ev)
			s.last = ev.Seq
		}
	}
	if s.lost != lost || s.overflow {
		s.overflow = false
		s.held = nil
		s.b.requestCatchUp(s)
		return
	}
	held := s.held
	s.held, s.behind = nil, false
	for _, ev := range held {
		s.acceptLocked(ev)
	}
}

// offer hands a live event to the subscription.
func (s *subscription) offer(ev broker.Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended {
		return
	}
	s.acceptLocked(ev)
}

// acceptLocked delivers ev if it is the next one (or a signal), skips it if
// already delivered, and starts a catch-up if events are missing before it.
// s.mu is held.
func (s *subscription) acceptLocked(ev broker.Event) {
	switch {
	case s.behind && ev.Seq != 0:
		if len(s.held) < s.b.cfg.MaxReplayEvents {
			s.held = append(s.held, ev)
		} else {
			s.held, s.overflow = nil, true
		}
	case ev.Seq == 0:
		s.deliver(ev)
	case ev.Seq <= s.last:
	case ev.Seq == s.last+1:
		s.deliver(ev)
		s.last = ev.Seq
	default: // a gap: the events between are read from the window
		s.behind = true
		s.held = append(s.held[:0], ev)
		s.b.requestCatchUp(s)
	}
}

// interrupt marks the subscription behind after the connection dropped.
func (s *subscription) interrupt() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lost++
	s.behind = true
	s.held = nil
}

func (s *subscription) needsCatchUp() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.ended && s.behind && !s.starting
}

// endLocked delivers the ending notice. s.mu is held.
func (s *subscription) endLocked(err error) {
	s.ended = true
	s.held = nil
	s.deliver(broker.Event{ConversationID: s.id, Err: err})
}

// Close stops delivery: once it returns, deliver is not called again. It is
// safe to call more than once and after the broker was closed; it always
// returns nil.
func (s *subscription) Close() error {
	s.mu.Lock()
	s.ended = true
	s.held = nil
	s.mu.Unlock()
	b := s.b
	b.mu.Lock()
	defer b.mu.Unlock()
	ch := b.chans[s.channel]
	if ch == nil {
		return nil
	}
	for i, x := range ch.subs {
		if x == s {
			subs := make([]*subscription, 0, len(ch.subs)-1)
			ch.subs = append(append(subs, ch.subs[:i]...), ch.subs[i+1:]...)
			if len(ch.subs) == 0 {
				b.markLocked(s.channel)
			}
			break
		}
	}
	return nil
}
