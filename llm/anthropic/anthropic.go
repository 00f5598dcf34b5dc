// Package anthropic is an llm.Provider for Anthropic's Messages API, built
// on the official SDK (github.com/anthropics/anthropic-sdk-go/v2).
//
// Replies are streamed; the system prompt is sent as the system parameter,
// never as a user turn; operator turns are sent as assistant turns, and
// consecutive turns of one role are merged into one message of several
// text blocks. Usage comes from message_start and message_delta; an
// error event after HTTP 200 (such as overloaded_error) ends the stream
// with the matching *llm.Error.
//
// Every stream is bounded by a header timeout and an idle timeout (see
// WithHeaderTimeout, WithIdleTimeout; Anthropic's ping events count as
// activity); cancelling the context given to Stream, or Close, closes the
// upstream request at once. The SDK's own retries are disabled: wrap the
// Provider in llm.WithRetry to retry failures before the first delta.
// Failures are *llm.Error values classified from the HTTP status and the
// error type; the API key never appears in them. The SDK's environment
// variables and profiles (ANTHROPIC_API_KEY...) are not read.
package anthropic

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	sdk "github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/anthropics/anthropic-sdk-go/v2/option"

	"github.com/chatboxsdk/chatbox/llm"
	"github.com/chatboxsdk/chatbox/llm/internal/httpstream"
)

// Name is the provider name in *llm.Error.Provider.
const Name = "anthropic"

// Defaults.
const (
	DefaultBaseURL       = "https://api.anthropic.com"
	DefaultMaxTokens     = 1024
	DefaultHeaderTimeout = 30 * time.Second
	DefaultIdleTimeout   = 60 * time.Second
)

// Option configures a Provider.
type Option func(*config) error

type config struct {
	apiKey, baseURL, model     string
	maxTokens                  int
	temperature                *float64
	headerTimeout, idleTimeout time.Duration
	httpClient                 *http.Client
}

// WithAPIKey sets the API key, sent in the x-api-key header. Required.
func WithAPIKey(key string) Option {
	return func(c *config) error { c.apiKey = key; return nil }
}

// WithBaseURL sets the API's base URL. Default DefaultBaseURL. It must be
// an absolute http or https URL.
func WithBaseURL(base string) Option {
	return func(c *config) error {
		u, err := url.Parse(base)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("anthropic: base URL %q is not an absolute http(s) URL", base)
		}
		c.baseURL = base
		return nil
	}
}

// WithModel sets the model used when a Request names none, e.g.
// "claude-sonnet-4-5". Required.
func WithModel(model string) Option {
	return func(c *config) error { c.model = model; return nil }
}

// WithMaxTokens sets max_tokens, which the API requires, for Requests with
// MaxTokens 0. Default DefaultMaxTokens. It must be positive.
func WithMaxTokens(n int) Option {
	return func(c *config) error {
		if n <= 0 {
			return fmt.Errorf("anthropic: max tokens %d is not positive", n)
		}
		c.maxTokens = n
		return nil
	}
}

// WithTemperature sets the temperature used when a Request has none.
// Default: none sent. It must be within [0, 1].
func WithTemperature(t float64) Option {
	return func(c *config) error {
		if t < 0 || t > 1 {
			return fmt.Errorf("anthropic: temperature %v is outside [0, 1]", t)
		}
		c.temperature = &t
		return nil
	}
}

// WithHeaderTimeout bounds the wait for the response headers of a stream
// request. Default DefaultHeaderTimeout; 0 or less disables the limit.
func WithHeaderTimeout(d time.Duration) Option {
	return func(c *config) error { c.headerTimeout = d; return nil }
}

// WithIdleTimeout bounds the silence between two pieces of a streamed
// response (pings included); when it passes, the stream ends with an
// *llm.Error of kind llm.KindTimeout, the deltas already returned kept.
// Default DefaultIdleTimeout; 0 or less disables the limit.
func WithIdleTimeout(d time.Duration) Option {
	return func(c *config) error { c.idleTimeout = d; return nil }
}

// WithHTTPClient sets the HTTP client whose transport, redirect policy and
// jar are used. Its Timeout, if set, bounds whole replies: leave it 0 and
// rely on the header and idle timeouts. Default: a client of the
// Provider's own.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *config) error {
		if hc == nil {
			return errors.New("anthropic: nil HTTP client")
		}
		c.httpClient = hc
		return nil
	}
}

// Provider streams messages. It is safe for concurrent use.
type Provider struct {
	cfg     config
	client  sdk.Client
	secrets []string
}

var _ llm.Provider = (*Provider)(nil)

// New returns a Provider configured by opts, or every configuration error
// joined.
func New(opts ...Option) (*Provider, error) {
	cfg := config{baseURL: DefaultBaseURL, maxTokens: DefaultMaxTokens, headerTimeout: DefaultHeaderTimeout, idleTimeout: DefaultIdleTimeout}
	var errs []error
	for _, o := range opts {
		if o == nil {
			errs = append(errs, errors.New("anthropic: nil option"))
			continue
		}
		if err := o(&cfg); err != nil {
			errs = append(errs, err)
		}
	}
	if strings.TrimSpace(cfg.model) == "" {
		errs = append(errs, errors.New("anthropic: WithModel is required"))
	}
	if cfg.apiKey == "" {
		errs = append(errs, errors.New("anthropic: WithAPIKey is required"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	client := sdk.NewClient(
		option.WithoutEnvironmentDefaults(),
		option.WithAPIKey(cfg.apiKey),
		option.WithBaseURL(cfg.baseURL),
		option.WithHTTPClient(httpstream.NewClient(cfg.httpClient)),
		option.WithMaxRetries(0),
		option.WithoutOpenTelemetry(),
	)
	return &Provider{cfg: cfg, client: client, secrets: []string{cfg.apiKey}}, nil
}

// Stream starts a streamed message for req. It returns once the response
// headers arrived; a failed response is returned as an *llm.Error (with
// RetryAfter when the API gave one). See the package doc for timeouts and
// cancellation.
func (p *Provider) Stream(ctx context.Context, req llm.Request) (llm.Stream, error) {
	if err := ctx.Err(); err != nil {
		return nil, httpstream.Explain(Name, ctx, ctx, err, nil)
	}
	params, opts := p.params(req)
	sctx, wd := httpstream.Start(ctx, Name, p.cfg.headerTimeout, p.cfg.idleTimeout)
	s := p.client.Messages.NewStreaming(sctx, params, opts...)
	if err := s.Err(); err != nil {
		s.Close()
		wd.Stop()
		return nil, httpstream.Explain(Name, ctx, sctx, err, p.classify)
	}
	return httpstream.NewStream(Name, ctx, sctx, wd, &source{s: s}, p.classify), nil
}

// params builds the request body and the per-request options.
func (p *Provider) params(req llm.Request) (sdk.MessageNewParams, []option.RequestOption) {
	var (
		msgs  []sdk.MessageParam
		roles []bool // whether msgs[i] is a user turn
	)
	for _, m := range req.Messages {
		user := m.Role == llm.RoleUser
		block := sdk.NewTextBlock(m.Text)
		if n := len(msgs); n > 0 && roles[n-1] == user {
			if user {
				msgs[n-1].OfUser.Content = append(msgs[n-1].OfUser.Content, block)
			} else {
				msgs[n-1].OfAssistant.Content = append(msgs[n-1].OfAssistant.Content, block)
			}
			continue
		}
		if user {
			msgs = append(msgs, sdk.NewUserMessage(block))
		} else {
			msgs = append(msgs, sdk.NewAssistantMessage(block))
		}
		roles = append(roles, user)
	}
	params := sdk.MessageNewParams{Model: sdk.Model(p.cfg.model), Messages: msgs, MaxTokens: int64(p.cfg.maxTokens)}
	if req.Model != "" {
		params.Model = sdk.Model(req.Model)
	}
	if req.MaxTokens > 0 {
		params.MaxTokens = int64(req.MaxTokens)
	}
	if req.System != "" {
		params.System = []sdk.TextBlockParam{{Text: req.System}}
	}
	if req.User != "" {
		params.Metadata = sdk.MetadataParam{UserID: sdk.String(req.User)}
	}
	var opts []option.RequestOption
	if t := cmp.Or(req.Temperature, p.cfg.temperature); t != nil {
		opts = append(opts, option.WithJSONSet("temperature", *t))
	}
	return params, opts
}
