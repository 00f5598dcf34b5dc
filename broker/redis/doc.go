// Package redis is a [broker.Broker] shared by every Server instance that
// uses the same Redis 7: sequence numbers, replay windows and fan-out live in
// Redis, so a conversation can be served by any instance and a client can
// resume through any of them.
//
// # Keys
//
// A conversation has three names, all under Config.KeyPrefix and sharing one
// hash tag (so they live in one cluster slot): a hash holding its numbering
// (base, last number, bytes held), a list holding its replay window (the
// encoded events, oldest first) and a pub/sub channel. The hash expires
// NumberingTTL after its last use, the list ReplayTTL after the last
// publish; the list is bounded by MaxReplayEvents and MaxReplayBytes.
//
// # Publishing: one script per event
//
// The encode function needs the number before the event can be encoded, and
// every instance must see the same bytes, so the number is chosen before the
// script runs and the script commits it only if it is still the next one:
// Publish encodes the event with last+1 (last as this instance knows it),
// then one script (EVALSHA) checks that the conversation's last number is
// still last, appends the bytes to the window, trims it, records the new
// last number and PUBLISHes the event, atomically. If another instance
// published meanwhile, nothing is written, the script returns the current
// last number and Publish encodes again with the next one (this is the only
// case in which encode is called more than once, see [broker.EncodeFunc]).
// Nothing is ever reserved, so a number either carries an event held in the
// window or was never issued: there is no number that could become a silent
// gap. Publishes of one conversation from one instance are serialised, in
// order, so they never conflict with each other; the last number is cached
// per conversation (at most MaxCachedConversations) and a steady stream costs
// one round trip per event.
//
// # Epochs
//
// When the numbering hash is missing (first use, expiry, a restart without
// persistence, eviction, a failover that lost it) the script starts a new
// epoch: the base is Redis's clock in microseconds since the Unix epoch,
// raised to the last number the publishing instance had seen if that is
// higher, and the first event gets base+1. A resume after a number of an
// earlier epoch is below the base, hence out of the window: Subscribe
// returns broker.ErrReplayUnavailable, never a silent gap. A number is never
// reused as long as the clock of every server that may hold the data (after
// a restart or a failover) has passed every number issued before: clocks
// move forward and agree within the microseconds a conversation's numbers
// run ahead of its base (one per event). If a backend comes back behind a
// number an instance has already seen, that instance's next Publish starts
// a new epoch above it too.
//
// # Fan-out
//
// Each Broker keeps one dedicated pub/sub connection, subscribed to the
// channels of the conversations that have subscribers on this instance
// (SUBSCRIBE on the first, UNSUBSCRIBE after the last), and delivers what it
// receives to them, in order, on one goroutine. A subscription checks that
// numbers follow each other: an event after a gap, and every subscription
// after the connection dropped and was restored, is brought up to date from
// the replay window by number, while live events are held (at most
// MaxReplayEvents per subscription). If the window no longer holds what was
// missed, the subscription ends with an event whose Err wraps
// broker.ErrReplayUnavailable: the subscriber reloads from the store.
//
// Signals are PUBLISHed without a number and are not kept; one sent while a
// subscriber's connection is down is lost, as ephemeral events may be.
//
// # Leases
//
// The Broker implements [broker.Leases] with two structures under
// Config.KeyPrefix that share one hash tag: a sorted set of lease keys
// scored by expiry, and a hash of their holders. Each operation is one
// script, so it is atomic across every instance; expiries are Redis's clock
// (TIME, in microseconds), never an instance's. TakeLapsedLeases reads the
// lapsed keys oldest first (ZRANGEBYSCORE with LIMIT) and removes them with
// their holders in the same script, so each goes to one caller. A released
// or taken lease is removed: the structures hold the leases in use plus the
// lapsed ones no instance has taken yet (acquiring a lapsed key replaces it).
// Lease keys and holders are stored as members and fields, never as Redis
// key names. All leases live in one cluster slot.
//
// # Goroutines
//
// New starts two goroutines (the pub/sub connection's owner and the
// catch-up worker); Close stops them and waits for them. The client library
// runs the connection's reader.
package redis
