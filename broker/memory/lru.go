package memory

import "time"

// lru is an intrusive doubly linked list of the conversations that have no
// holders, most recently used first. It is guarded by Broker.mu.
type lru struct {
	head, tail *conv
	n          int
}

func (l *lru) pushFront(c *conv) {
	c.prev, c.next = nil, l.head
	if l.head != nil {
		l.head.prev = c
	} else {
		l.tail = c
	}
	l.head = c
	c.listed = true
	l.n++
}

func (l *lru) remove(c *conv) {
	if c.prev != nil {
		c.prev.next = c.next
	} else {
		l.head = c.next
	}
	if c.next != nil {
		c.next.prev = c.prev
	} else {
		l.tail = c.prev
	}
	c.prev, c.next = nil, nil
	c.listed = false
	l.n--
}

// touchLocked records a use of c at now and moves it to the front of the
// list if it is listed.
func (b *Broker) touchLocked(c *conv, now time.Time) {
	c.lastUsed = now
	if c.listed && b.idle.head != c {
		b.idle.remove(c)
		b.idle.pushFront(c)
	}
}

// ttlChecksPerCall bounds the idle conversations examined for expiry on each
// call. Every call creates at most one conversation and may forget up to
// this many, so expired conversations are forgotten faster than they are
// created, at O(1) cost per call.
const ttlChecksPerCall = 4

// evictLocked forgets conversations beyond MaxConversations (least recently
// used first) and up to ttlChecksPerCall idle ones past IdleTTL. keep, the
// conversation the current call is about to use, is never forgotten. Only
// conversations without holders are candidates. The caller holds b.mu.
func (b *Broker) evictLocked(now time.Time, keep *conv) {
	// A conversation whose lock is busy is in use right now: it is moved to
	// the front instead, so each one is examined at most once per call.
	for tries := b.idle.n; len(b.convs) > b.cfg.MaxConversations && tries > 0; tries-- {
		t := b.idle.tail
		if t == nil || t == keep {
			break
		}
		if !b.forgetLocked(t) {
			b.touchLocked(t, now)
		}
	}
	for range ttlChecksPerCall {
		t := b.idle.tail
		if t == nil || t == keep || now.Sub(t.lastUsed) < b.cfg.IdleTTL {
			break
		}
		if !b.forgetLocked(t) {
			b.touchLocked(t, now)
		}
	}
}

// forgetLocked removes c, which has no holders, unless an operation holds
// its lock at this instant. The caller holds b.mu.
func (b *Broker) forgetLocked(c *conv) bool {
	if !c.mu.TryLock() {
		return false
	}
	// Every number c assigned is at most c.last, and no more will be
	// assigned (it is dead): raising the high-water mark to it makes the
	// next base for this conversation strictly greater.
	b.high = max(b.high, c.last)
	c.killLocked()
	c.mu.Unlock()
	b.idle.remove(c)
	delete(b.convs, c.id)
	return true
}
