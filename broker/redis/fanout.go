package redis

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/rueidis"

	"github.com/chatboxsdk/chatbox/broker"
)

// channel is this instance's state of one conversation channel. Guarded by
// Broker.mu. subs is replaced, never modified, so a copy of the slice header
// may be used without the lock.
type channel struct {
	id         string // conversation
	name       string
	subs       []*subscription
	subscribed bool          // SUBSCRIBE sent on the current connection, UNSUBSCRIBE not
	pending    int           // commands sent on the current connection, not yet confirmed
	ready      chan struct{} // closed once subscribed and confirmed
	isReady    bool
}

// unready makes subscribers wait for the next confirmation. Broker.mu is
// held.
func (ch *channel) unready() {
	if ch.isReady {
		ch.isReady = false
		ch.ready = make(chan struct{})
	}
}

// runConnection owns the pub/sub connection: it opens it, keeps its
// subscriptions equal to the channels with subscribers, and restores it when
// it drops.
func (b *Broker) runConnection() {
	defer b.wg.Done()
	for b.ctx.Err() == nil {
		b.serveConnection()
		select {
		case <-b.ctx.Done():
		case <-time.After(b.cfg.ReconnectInterval):
		}
	}
}

// serveConnection runs one pub/sub connection until it drops or the broker
// closes.
func (b *Broker) serveConnection() {
	dc, release := b.client.Dedicate()
	lost := dc.SetPubSubHooks(rueidis.PubSubHooks{OnMessage: b.onMessage, OnSubscription: b.onSubscription})
	defer func() {
		dc.Close()
		for range lost { // the hooks are not called after it is closed
		}
		release()
		b.connectionLost()
	}()
	ctx, cancel := context.WithTimeout(b.ctx, b.cfg.SubscribeTimeout)
	err := dc.Do(ctx, dc.B().ClientSetname().ConnectionName(b.cfg.ConnectionName).Build()).Error()
	cancel()
	if err != nil {
		return
	}
	b.mu.Lock()
	for name := range b.chans { // a new connection subscribes everything
		b.dirty[name] = struct{}{}
	}
	b.mu.Unlock()
	signal(b.kick)
	for {
		select {
		case <-b.ctx.Done():
			return
		case <-lost:
			return
		case <-b.kick:
			if !b.reconcile(dc) {
				return
			}
		}
	}
}

// reconcile subscribes the channels marked dirty that have subscribers and
// unsubscribes those that have none. It reports false if the connection
// failed.
func (b *Broker) reconcile(dc rueidis.DedicatedClient) bool {
	var sub, unsub []string
	b.mu.Lock()
	for name := range b.dirty {
		delete(b.dirty, name)
		ch := b.chans[name]
		if ch == nil {
			continue
		}
		switch {
		case len(ch.subs) > 0 && !ch.subscribed:
			ch.subscribed = true
			ch.pending++
			sub = append(sub, name)
		case len(ch.subs) == 0 && ch.subscribed:
			ch.subscribed = false
			ch.pending++
			ch.unready()
			unsub = append(unsub, name)
		case len(ch.subs) == 0 && ch.pending == 0:
			delete(b.chans, name)
		}
	}
	b.mu.Unlock()
	ctx, cancel := context.WithTimeout(b.ctx, b.cfg.SubscribeTimeout)
	defer cancel()
	if len(sub) > 0 {
		if err := dc.Do(ctx, dc.B().Subscribe().Channel(sub...).Build()).Error(); err != nil {
			return false
		}
	}
	if len(unsub) > 0 {
		if err := dc.Do(ctx, dc.B().Unsubscribe().Channel(unsub...).Build()).Error(); err != nil {
			return false
		}
	}
	return true
}

// onSubscription counts confirmations; a channel whose commands are all
// confirmed and that is subscribed is ready: its subscriptions waiting to
// catch up may now read the window.
func (b *Broker) onSubscription(s rueidis.PubSubSubscription) {
	if s.Kind != "subscribe" && s.Kind != "unsubscribe" {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	ch := b.chans[s.Channel]
	if ch == nil || ch.pending == 0 {
		return
	}
	ch.pending--
	if ch.pending > 0 {
		return
	}
	switch {
	case ch.subscribed:
		if !ch.isReady {
			ch.isReady = true
			close(ch.ready)
		}
		b.catchUp = append(b.catchUp, ch.subs...)
		signal(b.wake)
	case len(ch.subs) == 0:
		delete(b.chans, s.Channel)
	default:
		b.markLocked(s.Channel)
	}
}

// markLocked queues a channel for the connection owner to reconcile.
// b.mu is held.
func (b *Broker) markLocked(name string) {
	b.dirty[name] = struct{}{}
	signal(b.kick)
}

// onMessage delivers a published event to this instance's subscriptions of
// its conversation. The client calls it on one goroutine, in the order
// Redis sent the messages.
func (b *Broker) onMessage(m rueidis.PubSubMessage) {
	b.mu.Lock()
	ch := b.chans[m.Channel]
	var subs []*subscription
	var id string
	if ch != nil {
		subs, id = ch.subs, ch.id
	}
	b.mu.Unlock()
	if len(subs) == 0 {
		return
	}
	seqText, data, ok := strings.Cut(m.Message, ":")
	seq, err := strconv.ParseInt(seqText, 10, 64)
	if !ok || err != nil {
		return // not ours
	}
	ev := broker.Event{ConversationID: id, Seq: seq, Data: []byte(data)}
	for _, s := range subs {
		s.offer(ev)
	}
}

// connectionLost forgets the connection's subscriptions: every channel must
// be subscribed again and every subscription must catch up once it is.
func (b *Broker) connectionLost() {
	var subs []*subscription
	b.mu.Lock()
	for name, ch := range b.chans {
		ch.subscribed, ch.pending = false, 0
		ch.unready()
		if len(ch.subs) == 0 {
			delete(b.chans, name)
		}
		subs = append(subs, ch.subs...)
	}
	b.catchUp = nil
	b.mu.Unlock()
	for _, s := range subs {
		s.interrupt()
	}
}

// runCatchUp brings subscriptions up to date from the replay window, one at
// a time, once their channel is ready.
func (b *Broker) runCatchUp() {
	defer b.wg.Done()
	for {
		select {
		case <-b.ctx.Done():
			return
		case <-b.wake:
		}
		for {
			group := b.nextCatchUpGroup()
			if group == nil {
				break
			}
			b.bringUpToDate(group)
		}
	}
}

// nextCatchUpGroup takes the queued subscriptions of the first queued
// channel, if it is ready, so that one read of the window serves them all.
// It returns nil when the queue is empty.
func (b *Broker) nextCatchUpGroup() []*subscription {
	for {
		b.mu.Lock()
		if len(b.catchUp) == 0 {
			b.catchUp = nil
			b.mu.Unlock()
			return nil
		}
		name := b.catchUp[0].channel
		var group []*subscription
		rest := b.catchUp[:0]
		for _, s := range b.catchUp {
			if s.channel == name {
				group = append(group, s)
			} else {
				rest = append(rest, s)
			}
		}
		clear(b.catchUp[len(rest):])
		b.catchUp = rest
		ch := b.chans[name]
		ready := ch != nil && ch.isReady
		b.mu.Unlock()
		if !ready {
			continue // the channel's confirmation queues them again
		}
		group = slices.DeleteFunc(group, func(s *subscription) bool { return !s.needsCatchUp() })
		if len(group) > 0 {
			return group
		}
	}
}

// requestCatchUp queues s for the worker if its channel is ready; otherwise
// the channel's confirmation queues it.
func (b *Broker) requestCatchUp(s *subscription) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if ch := b.chans[s.channel]; ch != nil && ch.isReady {
		b.catchUp = append(b.catchUp, s)
		signal(b.wake)
	}
}
