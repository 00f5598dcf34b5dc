// Package memory is the single-process [broker.Broker]: conversations, their
// sequence numbers and replay windows live in this process's memory.
//
// # Sequence numbers
//
// When a conversation is first seen, or seen again after it was forgotten,
// its numbering starts from a base: the current time in microseconds since
// the Unix epoch, raised if needed above every number any conversation
// forgotten by this broker had reached. The first event gets base+1 and the
// following ones are contiguous while the conversation is remembered.
//
// Within one Broker a number is therefore never reused, whatever the clock
// does. Nothing survives the process, so across restarts the guarantee rests
// on the wall clock: it holds as long as, when the process starts again, the
// clock has passed every number issued before, which it has when the clock
// moves forward and conversations were given, on average, fewer than one
// number per microsecond.
//
// # Ending notices
//
// A subscription of this broker never misses an event (every event is
// delivered under the conversation's lock to every subscriber), so it never
// delivers an Event with Err set: it ends only when it is closed or the
// broker is.
//
// # Memory
//
// Memory is bounded by [Config], never by traffic history: each remembered
// conversation holds at most MaxReplayEvents events and MaxReplayBytes of
// event data, and at most MaxConversations conversations without
// subscribers are remembered. A conversation without subscribers keeps its
// window only for ReplayRetention after its last use, then only its number
// (a few hundred bytes) until IdleTTL. The worst case is therefore about
// MaxConversations × (MaxReplayBytes + 24 bytes × MaxReplayEvents), plus the
// conversations with subscribers, but what is retained in practice is the
// windows of the streams live within ReplayRetention. Windows are released
// and idle conversations forgotten as a side effect of calls (a few are
// examined per call); the broker starts no goroutine.
//
// # Concurrency
//
// A Broker is safe for concurrent use. Each conversation has its own lock;
// the lock over the set of conversations is held only to look a conversation
// up, insert it or forget others, never while calling user code. Encode and
// deliver functions are called with the conversation's lock held, which is
// what makes every subscriber see the same total order; this is why the
// [broker.EncodeFunc] and [broker.DeliverFunc] contracts forbid blocking and
// calling back into the broker.
package memory

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/chatboxsdk/chatbox/broker"
)

// Defaults applied to zero fields of Config.
const (
	DefaultMaxReplayEvents  = 2048
	DefaultMaxReplayBytes   = 1 << 20
	DefaultIdleTTL          = 10 * time.Minute
	DefaultReplayRetention  = time.Minute
	DefaultMaxConversations = 100_000
)

// Config configures a Broker. A zero field means its default; a negative one
// is an error.
type Config struct {
	// MaxReplayEvents is the most events a conversation's replay window
	// holds. Default DefaultMaxReplayEvents (2048).
	MaxReplayEvents int
	// MaxReplayBytes is the most event data a conversation's replay window
	// holds; an event larger than this is delivered but not held. Default
	// DefaultMaxReplayBytes (1 MiB).
	MaxReplayBytes int
	// IdleTTL: a conversation without subscribers that was not published
	// to, asked for its LastSeq or left by its last subscriber for this long
	// is forgotten. Default DefaultIdleTTL (10 minutes).
	IdleTTL time.Duration
	// ReplayRetention: the replay window of a conversation without
	// subscribers that was not published to, asked for its LastSeq or left
	// by its last subscriber for this long is released, while its
	// numbering is remembered until IdleTTL: a client resuming after that
	// from its last number gets what follows, one resuming from an earlier
	// number gets broker.ErrReplayUnavailable and reloads from the store
	// (which holds every finished reply). Retained event data therefore
	// follows the streams that are live or were live within the retention,
	// not every conversation touched within IdleTTL. Default
	// DefaultReplayRetention (1 minute).
	ReplayRetention time.Duration
	// MaxConversations caps the remembered conversations: beyond it the
	// least recently used conversation without subscribers is forgotten.
	// Conversations with subscribers are never forgotten, so only they can
	// take the count above the cap. Default DefaultMaxConversations
	// (100,000).
	MaxConversations int
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// withDefaults validates cfg and fills in its defaults. Every problem is
// reported.
func (cfg Config) withDefaults() (Config, error) {
	var errs []error
	check := func(name string, v int64) {
		if v < 0 {
			errs = append(errs, fmt.Errorf("broker/memory: %s must not be negative, got %d", name, v))
		}
	}
	check("MaxReplayEvents", int64(cfg.MaxReplayEvents))
	check("MaxReplayBytes", int64(cfg.MaxReplayBytes))
	check("IdleTTL", int64(cfg.IdleTTL))
	check("ReplayRetention", int64(cfg.ReplayRetention))
	check("MaxConversations", int64(cfg.MaxConversations))
	if len(errs) > 0 {
		return cfg, errors.Join(errs...)
	}
	if cfg.MaxReplayEvents == 0 {
		cfg.MaxReplayEvents = DefaultMaxReplayEvents
	}
	if cfg.MaxReplayBytes == 0 {
		cfg.MaxReplayBytes = DefaultMaxReplayBytes
	}
	if cfg.IdleTTL == 0 {
		cfg.IdleTTL = DefaultIdleTTL
	}
	if cfg.ReplayRetention == 0 {
		cfg.ReplayRetention = DefaultReplayRetention
	}
	if cfg.MaxConversations == 0 {
		cfg.MaxConversations = DefaultMaxConversations
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return cfg, nil
}

// Broker is the single-process broker.Broker. Create it with New.
type Broker struct {
	cfg Config // immutable after New

	mu      sync.Mutex
	closed  bool
	convs   map[string]*conv
	idle    lru   // conversations without holders, most recently used first
	windows lru   // the same, while their replay window is not yet released
	high    int64 // every base issued and every last number forgotten is <= high

	leaseTable leaseTable // leases.go

	// afterAcquire, set only by tests, runs between looking a conversation
	// up and taking its lock, where it may be forgotten or closed.
	afterAcquire func()
}

var _ broker.Broker = (*Broker)(nil)

// New returns a Broker configured by cfg, or the joined list of cfg's
// problems.
func New(cfg Config) (*Broker, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	return &Broker{
		cfg:     cfg,
		convs:   make(map[string]*conv),
		idle:    lru{at: idleLinks},
		windows: lru{at: windowLinks},
	}, nil
}

// Close forgets every conversation and closes every subscription: once it
// returns no deliver function is called again. Later calls to Publish,
// Signal, LastSeq and Subscribe return broker.ErrClosed; Close itself is
// idempotent and returns nil.
func (b *Broker) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	convs := b.convs
	b.convs = nil
	b.idle = lru{at: idleLinks}
	b.windows = lru{at: windowLinks}
	b.mu.Unlock()
	// Waits for operations in progress; the ones that follow see the
	// conversation dead, look it up again and find the broker closed.
	for _, c := range convs {
		c.mu.Lock()
		c.killLocked()
		c.mu.Unlock()
	}
	return nil
}

// Len returns the number of conversations remembered, with or without
// subscribers; 0 once the broker is closed.
func (b *Broker) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.convs)
}

// Publish implements broker.Broker. The bytes encode returns are kept in the
// replay window and handed to every subscriber, so nobody may modify them
// afterwards. Publish returns the error of ctx if ctx is done,
// broker.ErrClosed once the broker is closed, and encode's error, wrapped,
// if encode fails; then no sequence number is consumed. A nil encode is an
// error.
func (b *Broker) Publish(ctx context.Context, conversationID string, encode broker.EncodeFunc) (int64, error) {
	if encode == nil {
		return 0, errors.New("broker/memory: Publish: nil encode function")
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	for {
		c, err := b.acquire(conversationID, useTouch, b.cfg.Now())
		if err != nil {
			return 0, err
		}
		if b.afterAcquire != nil {
			b.afterAcquire()
		}
		seq, dead, err := c.publish(encode, b.cfg.MaxReplayEvents, b.cfg.MaxReplayBytes)
		if !dead {
			return seq, err
		}
	}
}

// Signal implements broker.Broker. A conversation that is not remembered has
// no subscribers, so signalling it does nothing (and does not remember it).
func (b *Broker) Signal(ctx context.Context, conversationID string, data []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c, err := b.acquire(conversationID, usePeek, b.cfg.Now())
	if c == nil || err != nil {
		return err
	}
	// If c was forgotten meanwhile it had no subscribers and never gets
	// any: signalling it delivers nothing, which is right.
	c.signal(data)
	return nil
}

// LastSeq implements broker.Broker. For a conversation not remembered it
// starts a new numbering and remembers the conversation, so that the next
// Publish assigns LastSeq+1.
func (b *Broker) LastSeq(ctx context.Context, conversationID string) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	for {
		c, err := b.acquire(conversationID, useTouch, b.cfg.Now())
		if err != nil {
			return 0, err
		}
		if b.afterAcquire != nil {
			b.afterAcquire()
		}
		last, dead := c.lastSeq()
		if !dead {
			return last, nil
		}
	}
}

// Subscribe implements broker.Broker. It returns broker.ErrReplayUnavailable
// (wrapped) when an event numbered above after is no longer held, which is
// the case for every number from before the conversation was last
// forgotten, and when after is above the last number assigned: such a number
// was not issued by this numbering, so resuming from it could silently skip
// events. A nil deliver is an error.
func (b *Broker) Subscribe(ctx context.Context, conversationID string, after int64, deliver broker.DeliverFunc) (broker.Subscription, error) {
	if deliver == nil {
		return nil, errors.New("broker/memory: Subscribe: nil deliver function")
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for {
		now := b.cfg.Now()
		c, err := b.acquire(conversationID, usePin, now)
		if err != nil {
			return nil, err
		}
		if b.afterAcquire != nil {
			b.afterAcquire()
		}
		s, dead, err := b.subscribeTo(c, after, deliver, now)
		switch {
		case err != nil:
			return nil, err // not a typed nil in the interface
		case !dead:
			return s, nil
		}
	}
}

// subscribeTo registers a subscriber on c, which the caller pinned. The pin
// is kept by the subscription, or released if none is made (even if deliver
// panics during the replay).
func (b *Broker) subscribeTo(c *conv, after int64, deliver broker.DeliverFunc, now time.Time) (_ *subscription, dead bool, _ error) {
	s := &subscription{b: b, c: c, deliver: deliver}
	registered := false
	defer func() {
		if !registered {
			b.unpin(c, now)
		}
	}()
	dead, err := c.subscribe(s, after)
	if dead || err != nil {
		return nil, dead, err
	}
	registered = true
	return s, false, nil
}

// use says what acquire does with the conversation it finds.
type use int

const (
	usePeek  use = iota // look up only: nil if not remembered
	useTouch            // look up or create, and record a use
	usePin              // look up or create, and add a holder
)

// acquire finds (or creates) the conversation and lets the evictor run.
func (b *Broker) acquire(id string, u use, now time.Time) (*conv, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, broker.ErrClosed
	}
	c := b.convs[id]
	if c == nil && u != usePeek {
		base := max(now.UnixMicro(), b.high+1)
		b.high = base
		c = &conv{id: id, last: base}
		b.convs[id] = c
		b.releaseLocked(c, now)
	}
	keep := c
	switch {
	case c == nil:
	case u == useTouch:
		b.touchLocked(c, now)
	case u == usePin:
		c.holders++
		b.holdLocked(c)
	default:
		keep = nil // a peek does not protect: a forgotten c has no subscribers
	}
	b.evictLocked(now, keep)
	return c, nil
}

// unpin releases a holder of c; without holders, c is idle from now on.
func (b *Broker) unpin(c *conv, now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	c.holders--
	if c.holders == 0 {
		b.releaseLocked(c, now)
	}
}
