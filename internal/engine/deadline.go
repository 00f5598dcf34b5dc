package engine

import (
	"context"
	"sync"
	"time"
)

// withDeadline is context.WithTimeout for one store call, with the timer
// made only when something waits on Done. A store that checks Err and
// returns (the memory store, a cache hit) costs no timer, no goroutine hook
// and no registration with the parent; a store that waits on Done (network
// drivers) gets a context.WithDeadline with the same deadline at that
// moment, so nothing changes for it. Several store calls per message made
// these contexts a visible part of a reply's CPU.
//
// Err reports the parent's error, then context.Canceled after cancel, then
// context.DeadlineExceeded once the deadline has passed. context.Cause
// gives the parent's cause until Done was called.
func withDeadline(parent context.Context, timeout time.Duration) (context.Context, context.CancelFunc) {
	c := &lazyDeadline{parent: parent, deadline: time.Now().Add(timeout)}
	return c, c.cancel
}

type lazyDeadline struct {
	parent   context.Context
	deadline time.Time

	mu         sync.Mutex
	real       context.Context // made by the first Done
	cancelReal context.CancelFunc
	cancelled  bool
}

func (c *lazyDeadline) Deadline() (time.Time, bool) {
	if d, ok := c.parent.Deadline(); ok && d.Before(c.deadline) {
		return d, true
	}
	return c.deadline, true
}

func (c *lazyDeadline) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.real == nil {
		c.real, c.cancelReal = context.WithDeadline(c.parent, c.deadline)
		if c.cancelled {
			c.cancelReal()
		}
	}
	return c.real.Done()
}

func (c *lazyDeadline) Err() error {
	c.mu.Lock()
	real, cancelled := c.real, c.cancelled
	c.mu.Unlock()
	if real != nil {
		return real.Err()
	}
	if err := c.parent.Err(); err != nil {
		return err
	}
	if cancelled {
		return context.Canceled
	}
	if !time.Now().Before(c.deadline) {
		return context.DeadlineExceeded
	}
	return nil
}

func (c *lazyDeadline) Value(key any) any {
	c.mu.Lock()
	real := c.real
	c.mu.Unlock()
	if real != nil {
		return real.Value(key)
	}
	return c.parent.Value(key)
}

func (c *lazyDeadline) cancel() {
	c.mu.Lock()
	c.cancelled = true
	cancelReal := c.cancelReal
	c.mu.Unlock()
	if cancelReal != nil {
		cancelReal()
	}
}
