package chatbox

import "time"

// DefaultReplyLeaseTTL is the default of WithReplyLeaseTTL.
const DefaultReplyLeaseTTL = 15 * time.Second

// WithReplyLeaseTTL bounds how long the reply of an instance that died (a
// crash, a lost network) stays streaming: within it, another instance
// stores that reply as interrupted, with the text its deltas carried, and
// announces its end to every socket. A running reply holds a lease on its
// conversation (the "one reply per conversation" claim across every
// instance sharing the broker) that lasts two thirds of this and is renewed
// every third; every instance looks for lapsed leases every sixth. The
// per-user caps across instances use the same leases. It applies when the
// broker implements broker.Leases (the memory and Redis brokers do) and
// is shared (a broker New creates is this Server's alone and needs none).
// Default 15s; 30ms to 10 minutes.
func WithReplyLeaseTTL(d time.Duration) Option {
	return func(c *config) error {
		return durRange("WithReplyLeaseTTL", d, 30*time.Millisecond, 10*time.Minute, &c.ReplyLeaseTTL)
	}
}
