package mcp

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	mcpsdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/chatboxsdk/chatbox/llm/tools"
)

// DefaultMaxResultBytes is the default cap on the text of one call's
// result.
const DefaultMaxResultBytes = 100_000

// listTimeout bounds one refresh of the tool list after a
// tools/list_changed notification.
const listTimeout = 30 * time.Second

// Option configures a Client.
type Option func(*config) error

type config struct {
	prefix         string
	approveNames   map[string]bool
	approveFunc    func(*mcpsdk.Tool) bool
	filter         func(*mcpsdk.Tool) bool
	callTimeout    time.Duration
	maxResultBytes int
	httpClient     *http.Client
	logger         *slog.Logger
}

func defaultConfig() config {
	return config{
		approveNames:   map[string]bool{},
		maxResultBytes: DefaultMaxResultBytes,
		logger:         slog.New(slog.DiscardHandler),
	}
}

// WithNamePrefix puts prefix before the name of every tool of the server,
// so that tools of several servers cannot clash. The prefixed names must
// still satisfy tools.ValidateName. Default: no prefix.
func WithNamePrefix(prefix string) Option {
	return func(c *config) error {
		if prefix != "" {
			if err := tools.ValidateName(prefix); err != nil {
				return fmt.Errorf("mcp: WithNamePrefix: %w", err)
			}
		}
		c.prefix = prefix
		return nil
	}
}

// WithApproval makes every call of the named tools (the server's names,
// without the prefix) wait for a person's approval. It adds to earlier
// WithApproval and WithApprovalFunc options. Default: no tool needs
// approval.
func WithApproval(names ...string) Option {
	return func(c *config) error {
		for _, n := range names {
			c.approveNames[n] = true
		}
		return nil
	}
}

// WithApprovalFunc makes a tool need approval when fn returns true for it.
// fn sees the server's declaration (name, annotations); annotations are
// hints from the server and only as trustworthy as the server. It is
// called when the tool list is read, possibly by two reads at once.
// Default: no tool needs approval.
func WithApprovalFunc(fn func(*mcpsdk.Tool) bool) Option {
	return func(c *config) error {
		if fn == nil {
			return errors.New("mcp: WithApprovalFunc: nil function")
		}
		c.approveFunc = fn
		return nil
	}
}

// WithFilter offers only the tools for which keep returns true. It is
// called when the tool list is read, possibly by two reads at once.
// Default: every tool of the server is offered.
func WithFilter(keep func(*mcpsdk.Tool) bool) Option {
	return func(c *config) error {
		if keep == nil {
			return errors.New("mcp: WithFilter: nil function")
		}
		c.filter = keep
		return nil
	}
}

// WithCallTimeout bounds one call of any tool of the server (the tool's
// Timeout); d must be positive. Default: zero, the caller's default (see
// tools.Invoke).
func WithCallTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("mcp: WithCallTimeout(%s): must be positive", d)
		}
		c.callTimeout = d
		return nil
	}
}

// WithMaxResultBytes caps the text of one call's result; longer text is
// cut and ends with "…[truncated]". n must be positive. Default:
// DefaultMaxResultBytes.
func WithMaxResultBytes(n int) Option {
	return func(c *config) error {
		if n <= 0 {
			return fmt.Errorf("mcp: WithMaxResultBytes(%d): must be positive", n)
		}
		c.maxResultBytes = n
		return nil
	}
}

// WithHTTPClient sets the HTTP client of ConnectHTTP; other constructors
// refuse it. Default: http.DefaultClient.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *config) error {
		if hc == nil {
			return errors.New("mcp: WithHTTPClient: nil client")
		}
		c.httpClient = hc
		return nil
	}
}

// WithLogger sets the logger for what happens outside a call: a refresh of
// the tool list that fails, a tool skipped for its name. Default: logs are
// discarded.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return errors.New("mcp: WithLogger: nil logger")
		}
		c.logger = l
		return nil
	}
}

func newConfig(opts []Option) (config, error) {
	cfg := defaultConfig()
	var errs []error
	for _, o := range opts {
		if o == nil {
			errs = append(errs, errors.New("mcp: nil option"))
			continue
		}
		if err := o(&cfg); err != nil {
			errs = append(errs, err)
		}
	}
	return cfg, errors.Join(errs...)
}
