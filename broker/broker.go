// Package broker defines how conversation events travel from where they
// happen (a generation, a user's message) to every socket attached to the
// conversation, possibly on other Server instances.
//
// The broker owns the per-conversation sequence numbers: Publish assigns the
// next number and the event's bytes are encoded once with it, so every
// subscriber, on every instance, sees the same numbers and the same bytes. A
// shared broker (Redis, say) assigns numbers in the shared backend, which is
// what lets several instances serve one conversation.
//
// Sequence numbers of a conversation strictly increase. They are contiguous
// while the broker remembers the conversation; when it forgets it (idle
// eviction, restart) numbering resumes from a higher base, so a number is
// never reused and an old number can always be recognised as out of the
// replay window.
//
// A subscription never skips an event silently: when a broker cannot
// deliver every event after the last one it delivered (a shared broker's
// connection dropped and the missed events left the replay window, or the
// backend lost the conversation), it ends the subscription with an Event
// whose Err wraps ErrReplayUnavailable.
package broker

import (
	"context"
	"errors"
)

// ErrReplayUnavailable: the events after the requested sequence number are
// no longer all held in the replay window. The subscriber must reload the
// conversation from the store instead of resuming.
var ErrReplayUnavailable = errors.New("broker: replay unavailable")

// ErrClosed: the broker was closed.
var ErrClosed = errors.New("broker: closed")

// Event is one published conversation event, or the notice that ends a
// subscription (Err set).
type Event struct {
	ConversationID string
	Seq            int64 // 0 for ephemeral events and for the ending notice
	// Data is the encoded frame. It is shared by every subscriber and must
	// not be modified. Nil in the ending notice.
	Data []byte
	// Err, when not nil, ends the subscription: it is the last event the
	// subscription delivers. It wraps ErrReplayUnavailable when events
	// after the last one delivered may have been missed and cannot be
	// recovered (a shared broker lost its connection to the backend for
	// longer than the replay window covers, or the backend lost the
	// conversation). The subscriber reloads the conversation from the store
	// and subscribes again from LastSeq. Closing the ended subscription is
	// still allowed (and still required to release it).
	Err error
}

// EncodeFunc encodes an event once its sequence number is known. It must be
// fast, must not call back into the broker and must have no effect besides
// returning the bytes: a single-process broker calls it exactly once per
// Publish, but a shared broker calls it again, with a higher number, when
// another instance published to the same conversation between the number's
// choice and its commit; only the bytes of the last call are published.
type EncodeFunc func(seq int64) ([]byte, error)

// DeliverFunc receives events of a subscription, in sequence order, one call
// at a time. It must not block (enqueue and return) and must not call back
// into the broker. An event with Err set is the last one (see Event.Err).
type DeliverFunc func(Event)

// Broker publishes conversation events and delivers them to subscribers.
// Implementations must be safe for concurrent use.
type Broker interface {
	// Publish assigns the conversation's next sequence number, encodes the
	// event with it, keeps it in the conversation's replay window and
	// delivers it to every subscriber. It returns the assigned number.
	Publish(ctx context.Context, conversationID string, encode EncodeFunc) (int64, error)

	// Signal delivers an ephemeral event (typing, presence) to the current
	// subscribers: no sequence number, not kept for replay.
	Signal(ctx context.Context, conversationID string, data []byte) error

	// LastSeq returns the last sequence number assigned in the
	// conversation; if none was assigned yet it returns the number the next
	// event will follow (so "everything after LastSeq" is "from now on").
	LastSeq(ctx context.Context, conversationID string) (int64, error)

	// Subscribe delivers, through deliver, every event of the conversation
	// with a sequence number greater than after that is still held, then
	// every later event, in order, until the subscription is closed. If
	// some event after `after` is no longer held it returns
	// ErrReplayUnavailable and delivers nothing. The replayed events are
	// delivered before Subscribe returns.
	Subscribe(ctx context.Context, conversationID string, after int64, deliver DeliverFunc) (Subscription, error)
}

// Subscription is one registered subscriber.
type Subscription interface {
	// Close stops delivery. After it returns, deliver is not called again.
	// It is safe to call more than once.
	Close() error
}
