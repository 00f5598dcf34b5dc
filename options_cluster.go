package chatbox

import "time"

// DefaultReplyLeaseTTL is the default of WithReplyLeaseTTL.
const DefaultReplyLeaseTTL = 15 * time.Second

// WithReplyLeaseTTL sets how long a running reply's lease lasts unless its
// instance renews it; the instance renews it every third of that. The lease
// is the "one reply per conversation" claim across every instance sharing
// the broker, and the bound on how long the reply of an instance that died
// (a crash, a lost network) stays streaming: once it lapses, another
// instance stores that reply as interrupted, with the text its deltas
// carried, and announces its end to every socket. It applies when the
// broker implements broker.Leases (the memory and Redis brokers do).
// Default 15s; 30ms to 10 minutes.
func WithReplyLeaseTTL(d time.Duration) Option {
	return func(c *config) error {
		return durRange("WithReplyLeaseTTL", d, 30*time.Millisecond, 10*time.Minute, &c.ReplyLeaseTTL)
	}
}
