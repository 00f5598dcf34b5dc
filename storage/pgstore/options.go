package pgstore

import (
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"time"
)

// Option configures a Store. Options are validated by New, which reports
// every invalid option at once.
type Option func(*config) error

type config struct {
	schema           string
	autoMigrate      bool
	operationTimeout time.Duration
	maxAttempts      int
	retryInterval    time.Duration
	maxRetryInterval time.Duration
	logger           *slog.Logger
}

func defaultConfig() config {
	return config{
		schema:           "chatbox",
		operationTimeout: 5 * time.Second,
		maxAttempts:      4,
		retryInterval:    50 * time.Millisecond,
		maxRetryInterval: 2 * time.Second,
		logger:           slog.New(slog.DiscardHandler),
	}
}

// schemaName is what WithSchema accepts: a plain lower-case identifier.
var schemaName = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// WithSchema sets the PostgreSQL schema holding the store's tables and its
// schema_migrations table; Migrate creates it. Several stores (or tests)
// may share a database with a schema each. The name is a lower-case
// identifier of at most 63 bytes. Default: "chatbox".
func WithSchema(name string) Option {
	return func(c *config) error {
		if !schemaName.MatchString(name) {
			return fmt.Errorf("WithSchema: %q is not a lower-case identifier of at most 63 bytes", name)
		}
		c.schema = name
		return nil
	}
}

// WithAutoMigrate makes New apply the pending schema migrations (see
// Migrate) before returning. Without it New only checks the schema
// is current and fails, naming Migrate, when it is not. Default: false.
func WithAutoMigrate(on bool) Option {
	return func(c *config) error {
		c.autoMigrate = on
		return nil
	}
}

// WithOperationTimeout bounds each attempt of each call (one statement,
// or the few of one method). Retries get a fresh timeout; the caller's
// context bounds them all. Default: 5s.
func WithOperationTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("WithOperationTimeout: %v is not positive", d)
		}
		c.operationTimeout = d
		return nil
	}
}

// WithMaxAttempts sets how many times a call is attempted when it fails
// transiently; 1 disables retries. Default: 4.
func WithMaxAttempts(n int) Option {
	return func(c *config) error {
		if n < 1 || n > 100 {
			return fmt.Errorf("WithMaxAttempts: %d is outside [1, 100]", n)
		}
		c.maxAttempts = n
		return nil
	}
}

// WithRetryInterval sets the backoff between attempts: the n-th retry
// waits a random duration in [0, min(base*2^(n-1), max)] (full jitter).
// Default: base 50ms, max 2s.
func WithRetryInterval(base, max time.Duration) Option {
	return func(c *config) error {
		if base <= 0 || max < base {
			return fmt.Errorf("WithRetryInterval: want 0 < base <= max, got %v and %v", base, max)
		}
		c.retryInterval, c.maxRetryInterval = base, max
		return nil
	}
}

// WithLogger sets the logger for retries and migrations. Default: discard.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return errors.New("WithLogger: nil logger")
		}
		c.logger = l
		return nil
	}
}

func buildConfig(opts []Option) (config, error) {
	cfg := defaultConfig()
	var errs []error
	for i, opt := range opts {
		if opt == nil {
			errs = append(errs, fmt.Errorf("option %d is nil", i))
			continue
		}
		if err := opt(&cfg); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return config{}, err
	}
	return cfg, nil
}
