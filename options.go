package chatbox

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/chatboxsdk/chatbox/auth"

	"github.com/chatboxsdk/chatbox/broker"
	"github.com/chatboxsdk/chatbox/internal/conf"
	"github.com/chatboxsdk/chatbox/protocol"
	"github.com/chatboxsdk/chatbox/ratelimit"
	"github.com/chatboxsdk/chatbox/storage"
)

// Option configures a Server. Options are applied in order by New, which
// then cross-checks the result and reports every problem at once.
type Option func(*config) error

// config is the one configuration value (internal/conf), immutable once
// New returns.
type config = conf.Config

func defaultConfig() config {
	return config{
		Logger:                slog.New(slog.DiscardHandler),
		MaxFrameBytes:         64 << 10,
		MaxMetadataEntries:    protocol.DefaultMaxMetadataKeys,
		MaxMetadataValueBytes: protocol.DefaultMaxMetadataValue,
		MaxTextBytes:          16 << 10,
		MaxQueueBytes:         1 << 20,
		MaxHistoryMessages:    100,
		HistoryPageSize:       50,
		WriteTimeout:          10 * time.Second,
		PingInterval:          30 * time.Second,
		HelloTimeout:          10 * time.Second,
		GenerationTimeout:     5 * time.Minute,
		StoreTimeout:          5 * time.Second,
		MessageRate:           ratelimit.Per(20, time.Minute, 10),
		ConversationRate:      ratelimit.Per(10, time.Minute, 5),
		SessionTTL:            30 * time.Minute,
		MaxSessions:           100_000,

		ConnectionRate:        ratelimit.Per(60, time.Minute, 30),
		MaxSocketsPerUser:     20,
		MaxSocketsPerAddress:  DefaultMaxSocketsPerAddress,
		ReadinessDetail:       true,
		MaxGenerationsPerUser: 4,

		OperatorRoles: []string{DefaultOperatorRole},
		AdminPrefix:   DefaultAdminPrefix,
		AdminRate:     ratelimit.Per(10, time.Second, 40),
		HelpRate:      ratelimit.Per(3, time.Hour, 3),
		ReadRate:      ratelimit.Per(120, time.Minute, 60),
		ReplyLeaseTTL: DefaultReplyLeaseTTL,

		MaxToolSteps:     DefaultMaxToolSteps,
		MaxParallelTools: DefaultMaxParallelTools,
		ToolTimeout:      DefaultToolTimeout,
		ApprovalTTL:      DefaultApprovalTTL,

		MaxFileBytes:       DefaultMaxFileBytes,
		MaxFilesPerMessage: DefaultMaxFilesPerMessage,
		MaxUploadBytesDay:  DefaultMaxUploadBytesDay,
		FileTypes:          DefaultFileTypes(),
		MaxImagePixels:     DefaultMaxImagePixels,
		MaxPDFPages:        DefaultMaxPDFPages,
		UnsentFileTTL:      DefaultUnsentFileTTL,
	}
}

// WithStore sets where conversations are persisted. Default: an in-memory
// store (storage/memory), which loses everything when the process exits.
func WithStore(s storage.Store) Option {
	return func(c *config) error {
		if s == nil {
			return errors.New("WithStore: store is nil")
		}
		c.Store = s
		return nil
	}
}

// WithLimiter sets the rate limiter. Default: an in-memory token bucket
// (ratelimit.NewTokenBucket) tracking at most 100,000 keys.
func WithLimiter(l ratelimit.Limiter) Option {
	return func(c *config) error {
		if l == nil {
			return errors.New("WithLimiter: limiter is nil")
		}
		c.Limiter = l
		return nil
	}
}

// WithAuthenticator sets how bearer tokens become identities. Required.
func WithAuthenticator(a auth.Authenticator) Option {
	return func(c *config) error {
		if a == nil {
			return errors.New("WithAuthenticator: authenticator is nil")
		}
		c.Authenticator = a
		return nil
	}
}

// WithBroker sets how conversation events reach sockets. Default: an
// in-memory broker (broker/memory), right for a single process.
func WithBroker(b broker.Broker) Option {
	return func(c *config) error {
		if b == nil {
			return errors.New("WithBroker: broker is nil")
		}
		c.Broker = b
		return nil
	}
}

// WithLogger sets the structured logger. Default: logs are discarded.
// Tokens and message text are never logged.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return errors.New("WithLogger: logger is nil")
		}
		c.Logger = l
		return nil
	}
}

// WithSystemPrompt sets the system prompt sent with every request, in the
// provider's system slot. Default: none. At most 32 KiB.
func WithSystemPrompt(prompt string) Option {
	return func(c *config) error {
		if len(prompt) > 32<<10 {
			return fmt.Errorf("WithSystemPrompt: %d bytes, at most 32768 allowed", len(prompt))
		}
		c.SystemPrompt = prompt
		return nil
	}
}

// WithMaxTokens caps the length of each reply. Default: 0, the provider's
// own default.
func WithMaxTokens(n int) Option {
	return func(c *config) error {
		if n < 0 {
			return fmt.Errorf("WithMaxTokens: must not be negative, got %d", n)
		}
		c.MaxTokens = n
		return nil
	}
}

func intRange(name string, n, lo, hi int, dst *int) error {
	if n < lo || n > hi {
		return fmt.Errorf("%s: must be between %d and %d, got %d", name, lo, hi, n)
	}
	*dst = n
	return nil
}

func durRange(name string, d, lo, hi time.Duration, dst *time.Duration) error {
	if d < lo || d > hi {
		return fmt.Errorf("%s: must be between %v and %v, got %v", name, lo, hi, d)
	}
	*dst = d
	return nil
}

// WithMaxFrameBytes caps one client frame. Default 64 KiB; 1 KiB to 16 MiB.
// A frame up to twice the cap is answered with a too_large error and the
// socket stays open; a larger one closes the socket with 1009.
func WithMaxFrameBytes(n int) Option {
	return func(c *config) error { return intRange("WithMaxFrameBytes", n, 1<<10, 16<<20, &c.MaxFrameBytes) }
}

// WithMaxTextBytes caps the text of one user message. Default 16 KiB; 1 byte
// up to the frame cap.
func WithMaxTextBytes(n int) Option {
	return func(c *config) error { return intRange("WithMaxTextBytes", n, 1, 16<<20, &c.MaxTextBytes) }
}

// WithMaxQueueBytes caps each socket's outbound queue. A client that falls
// this far behind is closed with code 4008 and resumes. Default 1 MiB; 16 KiB
// to 256 MiB.
func WithMaxQueueBytes(n int) Option {
	return func(c *config) error { return intRange("WithMaxQueueBytes", n, 16<<10, 256<<20, &c.MaxQueueBytes) }
}

// WithMaxHistoryMessages caps how many of the latest messages are sent to
// the model with each request. Default 100; 1 to 500.
func WithMaxHistoryMessages(n int) Option {
	return func(c *config) error {
		return intRange("WithMaxHistoryMessages", n, 1, storage.MaxPageSize, &c.MaxHistoryMessages)
	}
}

// WithHistoryPageSize sets how many of the latest messages an opened frame
// carries when the client does not say. Default 50; 1 to 200.
func WithHistoryPageSize(n int) Option {
	return func(c *config) error { return intRange("WithHistoryPageSize", n, 1, 200, &c.HistoryPageSize) }
}

// WithWriteTimeout bounds one write to a socket. Default 10s; 1s to 5m.
func WithWriteTimeout(d time.Duration) Option {
	return func(c *config) error {
		return durRange("WithWriteTimeout", d, time.Second, 5*time.Minute, &c.WriteTimeout)
	}
}

// WithPingInterval sets how often sockets are pinged to detect dead peers.
// Default 30s; 1s to 10m.
func WithPingInterval(d time.Duration) Option {
	return func(c *config) error {
		return durRange("WithPingInterval", d, time.Second, 10*time.Minute, &c.PingInterval)
	}
}

// WithHelloTimeout bounds the wait for a socket's hello frame. Default 10s;
// 100ms to 2m.
func WithHelloTimeout(d time.Duration) Option {
	return func(c *config) error {
		return durRange("WithHelloTimeout", d, 100*time.Millisecond, 2*time.Minute, &c.HelloTimeout)
	}
}

// WithGenerationTimeout bounds one reply, whether or not anyone is still
// connected; a reply cut by it ends with finish reason timeout. Default 5m;
// 1s to 1h.
func WithGenerationTimeout(d time.Duration) Option {
	return func(c *config) error {
		return durRange("WithGenerationTimeout", d, time.Second, time.Hour, &c.GenerationTimeout)
	}
}

// WithDeltaCoalesceInterval sets how long a reply's text may gather before
// it is sent as one delta. Whatever the setting, text that arrives while the
// previous delta is being published is sent together, so a fast model costs
// fewer events. Default 0: no added wait; 0 to 1s. The text is the same
// either way; clients must not assume one token per delta.
func WithDeltaCoalesceInterval(d time.Duration) Option {
	return func(c *config) error {
		return durRange("WithDeltaCoalesceInterval", d, 0, time.Second, &c.CoalesceInterval)
	}
}

// WithStoreTimeout bounds each call to the Store, Broker and Authenticator.
// Default 5s; 10ms to 1m.
func WithStoreTimeout(d time.Duration) Option {
	return func(c *config) error {
		return durRange("WithStoreTimeout", d, 10*time.Millisecond, time.Minute, &c.StoreTimeout)
	}
}

func checkRate(name string, l ratelimit.Limit, dst *ratelimit.Limit) error {
	if l.Rate <= 0 || l.Burst < 1 {
		return fmt.Errorf("%s: rate must be positive and burst at least 1, got %+v", name, l)
	}
	*dst = l
	return nil
}

// WithMessageRate limits the messages one user may send. Default 20 per
// minute with a burst of 10.
func WithMessageRate(l ratelimit.Limit) Option {
	return func(c *config) error { return checkRate("WithMessageRate", l, &c.MessageRate) }
}

// WithReadRate limits the frames that read the store (list, history, open,
// resume, watch): each user has this budget, and so has each socket. A page
// of the widget sends two on load (list and open), one per open
// conversation when it reconnects and one per page of history it scrolls
// to. Default 120 per minute with a burst of 60; a spent budget is answered
// with rate_limited and retry_after_ms.
func WithReadRate(l ratelimit.Limit) Option {
	return func(c *config) error { return checkRate("WithReadRate", l, &c.ReadRate) }
}

// WithConversationRate limits the conversations one user may start.
// Default 10 per minute with a burst of 5.
func WithConversationRate(l ratelimit.Limit) Option {
	return func(c *config) error { return checkRate("WithConversationRate", l, &c.ConversationRate) }
}

// WithSessionTTL sets how long a conversation's live state stays in memory
// once no socket or reply uses it. Evicting it loses nothing stored.
// Default 30m; 1s to 24h.
func WithSessionTTL(d time.Duration) Option {
	return func(c *config) error { return durRange("WithSessionTTL", d, time.Second, 24*time.Hour, &c.SessionTTL) }
}

// WithMaxSessions caps the conversations with live state in memory. When
// every one is in use, opening another is refused with unavailable.
// Default 100,000; 1 to 10,000,000.
func WithMaxSessions(n int) Option {
	return func(c *config) error { return intRange("WithMaxSessions", n, 1, 10_000_000, &c.MaxSessions) }
}

// validate cross-checks options against each other.
func validate(c *config) []error {
	var errs []error
	errs = append(errs, validateModels(c)...)
	errs = append(errs, checkTools(c)...)
	errs = append(errs, checkUsage(c)...)
	switch {
	case c.Authenticator == nil && c.JWT == nil && c.RequestAuthenticator == nil:
		errs = append(errs, errors.New("WithAuthenticator: an authenticator is required (WithAuthenticator, WithJWT or WithRequestAuthenticator)"))
	case c.Authenticator != nil && c.JWT != nil:
		errs = append(errs, errors.New("WithJWT: use either WithJWT or WithAuthenticator, not both"))
	}
	if c.MaxTextBytes >= c.MaxFrameBytes {
		errs = append(errs, fmt.Errorf("WithMaxTextBytes: %d must be below WithMaxFrameBytes (%d)", c.MaxTextBytes, c.MaxFrameBytes))
	}
	if c.MaxQueueBytes < 2*c.MaxFrameBytes {
		errs = append(errs, fmt.Errorf("WithMaxQueueBytes: %d must be at least twice WithMaxFrameBytes (%d)", c.MaxQueueBytes, c.MaxFrameBytes))
	}
	return errs
}
