package chatbox

import (
	"errors"
	"fmt"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/chatboxsdk/chatbox/notify"
	"github.com/chatboxsdk/chatbox/ratelimit"
)

// Defaults of the operator options.
const (
	// DefaultOperatorRole is the identity role that makes an operator
	// unless WithOperatorRoles says otherwise.
	DefaultOperatorRole = "operator"
	// DefaultAdminPrefix is where the operator HTTP API is served.
	DefaultAdminPrefix = "/admin/"
)

// WithOperatorRoles names the identity roles (auth.Identity.Roles) that make
// an operator: operators may watch any conversation, take it over, write to
// its user and hand it back, and call the admin API. Default
// DefaultOperatorRole ("operator").
func WithOperatorRoles(roles ...string) Option {
	return func(c *config) error {
		if len(roles) == 0 {
			return errors.New("WithOperatorRoles: at least one role is required")
		}
		for _, r := range roles {
			if strings.TrimSpace(r) == "" || len(r) > 64 {
				return fmt.Errorf("WithOperatorRoles: role %q must be 1 to 64 bytes and not blank", r)
			}
		}
		c.OperatorRoles = append([]string(nil), roles...)
		return nil
	}
}

// WithAdminPrefix sets the path, under the Server's own mount point, of the
// operator HTTP API (package admin). It must start and end with "/" and
// may not clash with /ws or /health. Default DefaultAdminPrefix ("/admin/").
func WithAdminPrefix(prefix string) Option {
	return func(c *config) error {
		if len(prefix) < 2 || !strings.HasPrefix(prefix, "/") || !strings.HasSuffix(prefix, "/") ||
			strings.ContainsAny(prefix, " {}?#") || strings.Contains(prefix, "//") {
			return fmt.Errorf("WithAdminPrefix: %q must look like /admin/", prefix)
		}
		if prefix == "/ws/" || strings.HasPrefix(prefix, "/health/") {
			return fmt.Errorf("WithAdminPrefix: %q clashes with the socket or health endpoints", prefix)
		}
		c.AdminPrefix = prefix
		return nil
	}
}

// WithAdminRate limits the admin API requests of each operator (beyond it
// they get 429 with Retry-After), and, as a separate budget of the same
// size, their operator frames on sockets (watch, takeover, release and
// ending a user's conversation; beyond it rate_limited). Default 10 per
// second with a burst of 40.
func WithAdminRate(l ratelimit.Limit) Option {
	return func(c *config) error { return checkRate("WithAdminRate", l, &c.AdminRate) }
}

// WithHelpRate limits how often one user may ask for a person, across all
// of their conversations. Default 3 per hour with a burst of 3.
func WithHelpRate(l ratelimit.Limit) Option {
	return func(c *config) error { return checkRate("WithHelpRate", l, &c.HelpRate) }
}

// WithNotifier sets who is told when a user asks for a person, such as
// notify.NewWebhook. The Server calls it from a queue of its own
// (notify.Async, 64 requests), so a slow notifier never holds up a socket;
// Shutdown lets queued requests go out while its context allows. Default:
// nobody is notified (operators still see the request in the admin API).
func WithNotifier(n notify.Notifier) Option {
	return func(c *config) error {
		if n == nil {
			return errors.New("WithNotifier: notifier is nil")
		}
		c.Notifier = n
		return nil
	}
}

// WithMetrics registers the Server's Prometheus collectors (package metrics)
// on reg, which the host owns and exposes; the global registry is never
// used. Label values are bounded: no user or conversation ids. Default: no
// metrics. Registering two Servers on one registry fails in New (use
// prometheus.WrapRegistererWith to tell them apart).
func WithMetrics(reg prometheus.Registerer) Option {
	return func(c *config) error {
		if reg == nil {
			return errors.New("WithMetrics: registerer is nil")
		}
		c.MetricsRegisterer = reg
		return nil
	}
}
