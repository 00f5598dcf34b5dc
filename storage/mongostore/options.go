package mongostore

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"time"
)

// Option configures a Store. Options are validated by New, which reports
// every invalid option at once.
type Option func(*config) error

type config struct {
	database         string
	conversations    string
	messages         string
	audit            string
	usagePrefix      string
	blobs            string
	blobChunks       string
	operationTimeout time.Duration
	maxAttempts      int
	retryInterval    time.Duration
	maxRetryInterval time.Duration
	retentionTTL     time.Duration
	logger           *slog.Logger
}

func defaultConfig() config {
	return config{
		database:         "chatbox",
		conversations:    "conversations",
		messages:         "messages",
		audit:            "audit",
		usagePrefix:      "usage",
		blobs:            "blobs",
		blobChunks:       "blob_chunks",
		operationTimeout: 5 * time.Second,
		maxAttempts:      4,
		retryInterval:    50 * time.Millisecond,
		maxRetryInterval: 2 * time.Second,
		logger:           slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
}

// WithDatabase sets the database name. Default: "chatbox".
func WithDatabase(name string) Option {
	return func(c *config) error {
		if name == "" {
			return errors.New("WithDatabase: empty name")
		}
		c.database = name
		return nil
	}
}

// WithCollections sets the names of the conversations and messages
// collections. Default: "conversations" and "messages".
func WithCollections(conversations, messages string) Option {
	return func(c *config) error {
		if conversations == "" || messages == "" {
			return errors.New("WithCollections: empty collection name")
		}
		if conversations == messages {
			return fmt.Errorf("WithCollections: conversations and messages share the name %q", messages)
		}
		c.conversations, c.messages = conversations, messages
		return nil
	}
}

// WithAuditCollection sets the name of the audit log's collection, which
// must differ from the other two. Default: "audit".
func WithAuditCollection(name string) Option {
	return func(c *config) error {
		if name == "" {
			return errors.New("WithAuditCollection: empty collection name")
		}
		c.audit = name
		return nil
	}
}

// WithUsageCollections sets the prefix of the names of the usage
// collections: prefix+"_rows", prefix+"_replies" and prefix+"_users".
// None may share a name with another collection. Default: "usage".
func WithUsageCollections(prefix string) Option {
	return func(c *config) error {
		if prefix == "" {
			return errors.New("WithUsageCollections: empty prefix")
		}
		c.usagePrefix = prefix
		return nil
	}
}

// WithBlobCollections sets the names of the collections of blobs and of
// their chunks, which must differ from each other and from the other
// collections. Default: "blobs" and "blob_chunks".
func WithBlobCollections(blobs, chunks string) Option {
	return func(c *config) error {
		if blobs == "" || chunks == "" {
			return errors.New("WithBlobCollections: empty collection name")
		}
		if blobs == chunks {
			return fmt.Errorf("WithBlobCollections: blobs and chunks share the name %q", blobs)
		}
		c.blobs, c.blobChunks = blobs, chunks
		return nil
	}
}

// WithOperationTimeout bounds each attempt of each call (one database
// round trip, or the few of one method). Retries get a fresh timeout; the
// caller's context bounds them all. Default: 5s.
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

// WithRetentionTTL makes the server delete messages d after their
// CreatedAt and conversations d after their last UpdatedAt, with TTL
// indexes. Servers without TTL indexes (FerretDB 1.x) keep everything; New
// then logs a warning and Store.RetentionEnforced reports false.
// Default: 0, data is kept forever.
func WithRetentionTTL(d time.Duration) Option {
	return func(c *config) error {
		if d < time.Second {
			return fmt.Errorf("WithRetentionTTL: %v is shorter than a second", d)
		}
		c.retentionTTL = d
		return nil
	}
}

// WithLogger sets the logger for warnings and retries. Default: discard.
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
	if cfg.audit == cfg.conversations || cfg.audit == cfg.messages {
		errs = append(errs, fmt.Errorf("the audit collection shares the name %q with another collection", cfg.audit))
	}
	for _, suffix := range []string{"_rows", "_replies", "_users"} {
		if name := cfg.usagePrefix + suffix; name == cfg.conversations || name == cfg.messages || name == cfg.audit {
			errs = append(errs, fmt.Errorf("the usage collection %q shares its name with another collection", name))
		}
	}
	others := []string{cfg.conversations, cfg.messages, cfg.audit, cfg.usagePrefix + "_rows", cfg.usagePrefix + "_replies", cfg.usagePrefix + "_users"}
	for _, name := range []string{cfg.blobs, cfg.blobChunks} {
		if slices.Contains(others, name) {
			errs = append(errs, fmt.Errorf("the blob collection %q shares its name with another collection", name))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return config{}, fmt.Errorf("mongostore: %w", err)
	}
	return cfg, nil
}
