package engine

import (
	"context"
	"strconv"

	"github.com/chatboxsdk/chatbox/internal/access"
)

// A user's caps (sockets open at once, replies running at once) count
// places. With a broker that offers leases a place is a lease, renewed by
// the engine while what it counts lives, so a cap of N is N across every
// instance and a dead instance's places lapse by themselves (the sweeper
// takes them). Without leases a place is a count in this process.

// place is one taken place of a per-user cap; release gives it back and may
// be called more than once.
type place struct {
	release func()
}

// takePlace takes one of limit places of kind for user (0: unlimited). It
// reports false when every place is taken. A broker that cannot decide does
// not take the chat down: the place is then counted in this process only.
func (e *Engine) takePlace(ctx context.Context, kind string, counts map[string]int, user string, limit int) (place, bool) {
	if limit <= 0 {
		return place{release: func() {}}, true
	}
	if l := e.leases(); l != nil {
		holder := access.NewRef()
		prefix := "place:" + kind + ":" + user + "#"
		for i := range limit {
			key := prefix + strconv.Itoa(i)
			ok, err := l.AcquireLease(ctx, key, holder, e.leaseLength())
			if err != nil {
				e.log.Warn("per-user cap not shared: the broker cannot take a place", "kind", kind, "err", err)
				break // fall back to this process's count
			}
			if ok {
				untrack := e.trackLease(leaseRef{key: key, holder: holder}, nil)
				return place{release: e.onceRelease(key, holder, untrack)}, true
			}
			if i == limit-1 {
				return place{}, false
			}
		}
	}
	if !e.acquireCount(counts, user, limit) {
		return place{}, false
	}
	released := false
	return place{release: func() {
		if !released {
			released = true
			e.releaseCount(counts, user)
		}
	}}, true
}

// onceRelease stops renewing a place's lease and releases it, once.
func (e *Engine) onceRelease(key, holder string, untrack func()) func() {
	done := false
	return func() {
		if done {
			return
		}
		done = true
		untrack()
		ctx, cancel := e.persistCtx(e.base)
		defer cancel()
		if err := e.leases().ReleaseLease(ctx, key, holder); err != nil {
			e.log.Warn("release a per-user place", "key", key, "err", err)
		}
	}
}
