package notify

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Defaults applied by NewWebhook to zero fields of WebhookConfig.
const (
	DefaultAttemptTimeout        = 5 * time.Second
	DefaultTotalTimeout          = 30 * time.Second
	DefaultMaxAttempts           = 5
	DefaultBackoffInterval       = 250 * time.Millisecond
	DefaultMaxBackoffInterval    = 5 * time.Second
	DefaultMaxRetryAfterInterval = 10 * time.Second
)

// MinSecretBytes is the shortest webhook secret NewWebhook accepts.
const MinSecretBytes = 32

// WebhookConfig configures a Webhook. Zero durations and counts select the
// defaults above; negative values are errors.
type WebhookConfig struct {
	// URL receives the POST. It must be https; http is accepted only for a
	// loopback host (localhost, 127.0.0.0/8, ::1), for tests. It must not
	// carry credentials. Required.
	URL string
	// Secret keys the HMAC-SHA256 signature. At least MinSecretBytes (32)
	// bytes of random data; placeholders such as "changeme..." or a repeated
	// pattern are refused. Required. NewWebhook keeps its own copy.
	Secret []byte
	// Client sends the requests. Default: a client of its own, closed by
	// Webhook.Close. A given client is copied with redirects disabled (a
	// redirect must not carry a signed payload elsewhere); its Timeout, if
	// any, applies on top of AttemptTimeout.
	Client *http.Client
	// AttemptTimeout bounds one attempt, from dialling to reading the
	// response. Default DefaultAttemptTimeout (5s); at most TotalTimeout.
	AttemptTimeout time.Duration
	// TotalTimeout is the budget for one Notify call, every attempt and wait
	// included. Default DefaultTotalTimeout (30s).
	TotalTimeout time.Duration
	// MaxAttempts caps attempts per Notify call, the first included. Default
	// DefaultMaxAttempts (5); 1 disables retries.
	MaxAttempts int
	// BackoffInterval is the wait before the first retry; each further retry
	// doubles it, up to MaxBackoffInterval, with random jitter (the wait is
	// between half and all of the computed value). Default
	// DefaultBackoffInterval (250ms).
	BackoffInterval time.Duration
	// MaxBackoffInterval caps the computed backoff. Default
	// DefaultMaxBackoffInterval (5s).
	MaxBackoffInterval time.Duration
	// MaxRetryAfterInterval caps how long a Retry-After header from the
	// receiver (on 429 or 5xx) is honoured. Default
	// DefaultMaxRetryAfterInterval (10s).
	MaxRetryAfterInterval time.Duration
}

// validate applies defaults to a copy of cfg and reports every problem at
// once, each naming its field.
func (cfg WebhookConfig) validate() (WebhookConfig, error) {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("notify: WebhookConfig.%s %s", field, fmt.Sprintf(format, args...)))
	}

	if cfg.URL == "" {
		bad("URL", "is required")
	} else if reason := urlProblem(cfg.URL); reason != "" {
		bad("URL", "%s", reason)
	}
	if len(cfg.Secret) == 0 {
		bad("Secret", "is required")
	} else if reason := weakSecret(cfg.Secret); reason != "" {
		bad("Secret", "%s", reason)
	}

	durations := []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{
		{"AttemptTimeout", &cfg.AttemptTimeout, DefaultAttemptTimeout},
		{"TotalTimeout", &cfg.TotalTimeout, DefaultTotalTimeout},
		{"BackoffInterval", &cfg.BackoffInterval, DefaultBackoffInterval},
		{"MaxBackoffInterval", &cfg.MaxBackoffInterval, DefaultMaxBackoffInterval},
		{"MaxRetryAfterInterval", &cfg.MaxRetryAfterInterval, DefaultMaxRetryAfterInterval},
	}
	for _, d := range durations {
		switch {
		case *d.v < 0:
			bad(d.name, "is negative (%s)", *d.v)
		case *d.v == 0:
			*d.v = d.def
		}
	}
	switch {
	case cfg.MaxAttempts < 0:
		bad("MaxAttempts", "is negative (%d)", cfg.MaxAttempts)
	case cfg.MaxAttempts == 0:
		cfg.MaxAttempts = DefaultMaxAttempts
	}
	if cfg.AttemptTimeout > 0 && cfg.TotalTimeout > 0 && cfg.AttemptTimeout > cfg.TotalTimeout {
		bad("AttemptTimeout", "(%s) exceeds TotalTimeout (%s)", cfg.AttemptTimeout, cfg.TotalTimeout)
	}
	if cfg.BackoffInterval > 0 && cfg.MaxBackoffInterval > 0 && cfg.BackoffInterval > cfg.MaxBackoffInterval {
		bad("BackoffInterval", "(%s) exceeds MaxBackoffInterval (%s)", cfg.BackoffInterval, cfg.MaxBackoffInterval)
	}
	return cfg, errors.Join(errs...)
}

// urlProblem returns why raw is unfit as a webhook URL, or "".
func urlProblem(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "is not a valid URL"
	}
	if u.User != nil {
		return "must not carry credentials"
	}
	if u.Host == "" || u.Hostname() == "" {
		return "has no host"
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
		return ""
	case "http":
		if isLoopback(u.Hostname()) {
			return ""
		}
		return "must use https (http is accepted only for loopback hosts)"
	default:
		return fmt.Sprintf("has scheme %q; must be https", u.Scheme)
	}
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// weakSecret returns why secret is unfit as an HMAC key, or "". The reason
// never quotes the secret.
func weakSecret(secret []byte) string {
	if len(secret) < MinSecretBytes {
		return fmt.Sprintf("is %d bytes; at least %d random bytes are required", len(secret), MinSecretBytes)
	}
	lower := strings.ToLower(string(secret))
	for _, w := range []string{
		"changeme", "change-me", "change_me", "replaceme", "replace-me", "replace_me",
		"placeholder", "example", "secret", "password", "your-", "your_", "xxxxxxxx",
	} {
		if strings.Contains(lower, w) {
			return "looks like a placeholder; use 32 random bytes"
		}
	}
	for _, p := range []string{"test", "demo", "dummy", "sample", "default", "todo"} {
		if strings.HasPrefix(lower, p) {
			return "looks like a test or demo value; use 32 random bytes"
		}
	}
	for period := 1; period <= len(secret)/2; period++ {
		repeats := true
		for i := period; i < len(secret); i++ {
			if secret[i] != secret[i-period] {
				repeats = false
				break
			}
		}
		if repeats {
			return "is a short pattern repeated; use 32 random bytes"
		}
	}
	var seen [256]bool
	distinct := 0
	for _, b := range secret {
		if !seen[b] {
			seen[b] = true
			distinct++
		}
	}
	if distinct < 10 {
		return fmt.Sprintf("uses only %d distinct byte values; use 32 random bytes", distinct)
	}
	return ""
}
