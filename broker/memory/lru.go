package memory

import "time"

// links are a conversation's place in one lru list.
type links struct {
	prev, next *conv
	listed     bool
}

// lru is an intrusive doubly linked list of conversations without holders,
// most recently used first. A conversation is in two: idle (every one
// without holders) and windows (those of them whose replay window may still
// hold events). Both are guarded by Broker.mu.
type lru struct {
	head, tail *conv
	n          int
	at         func(*conv) *links // the list's links in a conversation
}

func idleLinks(c *conv) *links   { return &c.idle }
func windowLinks(c *conv) *links { return &c.window }

func (l *lru) pushFront(c *conv) {
	cl := l.at(c)
	cl.prev, cl.next = nil, l.head
	if l.head != nil {
		l.at(l.head).prev = c
	} else {
		l.tail = c
	}
	l.head = c
	cl.listed = true
	l.n++
}

func (l *lru) remove(c *conv) {
	cl := l.at(c)
	if cl.prev != nil {
		l.at(cl.prev).next = cl.next
	} else {
		l.head = cl.next
	}
	if cl.next != nil {
		l.at(cl.next).prev = cl.prev
	} else {
		l.tail = cl.prev
	}
	*cl = links{}
	l.n--
}

// moveToFront puts c first, listing it if it was not.
func (l *lru) moveToFront(c *conv) {
	if l.head == c {
		return
	}
	if l.at(c).listed {
		l.remove(c)
	}
	l.pushFront(c)
}

// touchLocked records a use of c at now and moves it to the front of the
// lists if it has no holders.
func (b *Broker) touchLocked(c *conv, now time.Time) {
	c.lastUsed = now
	if c.idle.listed {
		b.idle.moveToFront(c)
		b.windows.moveToFront(c)
	}
}

// releaseLocked lists c, which has just lost its last holder, as idle from
// now on. The caller holds b.mu.
func (b *Broker) releaseLocked(c *conv, now time.Time) {
	c.lastUsed = now
	b.idle.pushFront(c)
	b.windows.moveToFront(c)
}

// holdLocked unlists c, which has just gained a holder.
func (b *Broker) holdLocked(c *conv) {
	if c.idle.listed {
		b.idle.remove(c)
	}
	if c.window.listed {
		b.windows.remove(c)
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
	for range ttlChecksPerCall {
		t := b.windows.tail
		if t == nil || t == keep || now.Sub(t.lastUsed) < b.cfg.ReplayRetention {
			break
		}
		if !t.mu.TryLock() {
			b.touchLocked(t, now)
			continue
		}
		t.win.reset() // the numbering stays: t.last is kept
		t.mu.Unlock()
		b.windows.remove(t)
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
	if c.window.listed {
		b.windows.remove(c)
	}
	delete(b.convs, c.id)
	return true
}
