package chatbox

// DefaultMaxSocketsPerAddress is WithMaxSocketsPerAddress's default.
const DefaultMaxSocketsPerAddress = 1000

// WithMaxSocketsPerAddress caps the sockets open at once from one client
// address on this Server, whoever they authenticate as: a socket over the
// cap is refused before the upgrade with HTTP 429 and the code
// limit_reached, and a socket gives its place back when it closes. The
// address is found as for WithConnectionRate: the peer's, or the one a
// proxy listed in WithTrustedProxies forwards. Default 1000, enough for
// many users behind one NAT; 0 lifts the cap (a load test from one
// machine, say); 0 to 1,000,000.
func WithMaxSocketsPerAddress(n int) Option {
	return func(c *config) error {
		return intRange("WithMaxSocketsPerAddress", n, 0, 1_000_000, &c.MaxSocketsPerAddress)
	}
}

// WithReadinessDetail chooses whether GET /health/ready (and GET /health)
// answers with its checks (store latency, model count) and the live and
// active conversation counts, or with its status alone. The endpoint is
// unauthenticated; hide the detail when it is reachable from outside.
// The HTTP status (200 or 503) is the same either way. Default true.
func WithReadinessDetail(detail bool) Option {
	return func(c *config) error {
		c.ReadinessDetail = detail
		return nil
	}
}
