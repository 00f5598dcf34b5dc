// Package anthropic is an llm.Provider for Anthropic's Messages API, built
// on the official SDK (github.com/anthropics/anthropic-sdk-go/v2).
//
// Replies are streamed; the system prompt is sent as the system parameter,
// never as a user turn; operator turns are sent as assistant turns, and
// consecutive turns of one role are merged into one message of several
// blocks. Usage comes from message_start and message_delta (cache reads
// as cached input tokens, thinking tokens as reasoning tokens when the
// API counts them); an error event after HTTP 200 (such as
// overloaded_error) ends the stream with the matching *llm.Error.
//
// Request.Tools are sent as tool definitions, each schema's fields as
// written. In the history, an assistant turn's tool calls become tool_use
// blocks, a tool turn becomes a user turn of tool_result blocks (with
// is_error for error results, and before any text of a merged user turn),
// and reasoning that carries a Signature becomes a thinking block placed
// first in its assistant turn, as the API requires when thinking and tools
// meet; reasoning without a signature cannot be sent back and is dropped.
// Streamed, a tool_use block becomes an llm.EventToolCallStart, each
// input_json_delta an llm.EventToolCallDelta, and its end one
// llm.EventToolCall with the whole input ("{}" when none came); the
// tool_use stop reason is llm.FinishToolCalls (a reply cut by max_tokens
// keeps llm.FinishLength). With WithThinking, thinking blocks stream as
// llm.EventReasoning: their text, then their signature in an event of its
// own. Redacted thinking blocks are not reported.
//
// File parts of user turns are sent in the API's own blocks (the Provider
// implements llm.FileSupport): an image (PNG, JPEG, GIF, WebP) as an image
// block with a base64 source and its media type, a PDF as a document
// block with a base64 PDF source and the file's name as its title, and a
// text file (text/*) as a document block with a plain-text source, titled
// with its name. A text file goes in a document rather than inlined in the
// turn's text because the document block is the API's slot for it: the
// name travels as the title and the model tells the file from the user's
// words without framing of ours. Its content is cut at
// llm.MaxFileTextBytes, as the other providers cut it, and the document's
// context then says how much is shown. A request holding another type
// fails with the error of llm.CheckFiles, nothing sent.
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
	"github.com/chatboxsdk/chatbox/llm/internal/files"
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
	thinkingBudget             int
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

// MinThinkingBudget is the smallest thinking budget the API accepts.
const MinThinkingBudget = 1024

// WithThinking turns extended thinking on, with budgetTokens (at least
// MinThinkingBudget) as the most tokens the model may spend thinking per
// reply. Its thinking streams as llm.EventReasoning, its signature with
// it, and a reasoning part with its signature is sent back in the history,
// as the API requires within a reply that calls tools. Since max_tokens
// counts the thinking, a reply cap that does not exceed the budget is
// sent as the budget plus the cap. The API accepts no temperature with
// thinking: WithTemperature is refused with it, and a Request's
// Temperature is not sent. Default: off.
func WithThinking(budgetTokens int) Option {
	return func(c *config) error {
		if budgetTokens < MinThinkingBudget {
			return fmt.Errorf("anthropic: thinking budget %d is below %d", budgetTokens, MinThinkingBudget)
		}
		c.thinkingBudget = budgetTokens
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

var (
	_ llm.Provider    = (*Provider)(nil)
	_ llm.FileSupport = (*Provider)(nil)
)

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
	if cfg.thinkingBudget > 0 && cfg.temperature != nil {
		errs = append(errs, errors.New("anthropic: WithThinking and WithTemperature exclude each other (the API accepts no temperature with thinking)"))
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

// AcceptsFile reports whether the Provider sends files of the media type:
// images (image/png, image/jpeg, image/gif, image/webp), application/pdf
// and text files (text/*). It implements llm.FileSupport.
func (p *Provider) AcceptsFile(mediaType string) bool {
	return files.Sendable(files.Base(mediaType))
}

// Stream starts a streamed message for req. It returns once the response
// headers arrived; a failed response is returned as an *llm.Error (with
// RetryAfter when the API gave one). A tool whose InputSchema is not an
// object schema, or a file the Provider does not accept (llm.CheckFiles),
// fails the call with an *llm.Error of kind llm.KindInvalidRequest before
// anything is sent. See the package doc for timeouts and cancellation.
func (p *Provider) Stream(ctx context.Context, req llm.Request) (llm.Stream, error) {
	if err := ctx.Err(); err != nil {
		return nil, httpstream.Explain(Name, ctx, ctx, err, nil)
	}
	if err := llm.CheckFiles(p, req); err != nil {
		return nil, err
	}
	params, opts, err := p.params(req)
	if err != nil {
		return nil, err
	}
	sctx, wd := httpstream.Start(ctx, Name, p.cfg.headerTimeout, p.cfg.idleTimeout)
	s := p.client.Messages.NewStreaming(sctx, params, opts...)
	if err := s.Err(); err != nil {
		s.Close()
		wd.Stop()
		return nil, httpstream.Explain(Name, ctx, sctx, err, p.classify)
	}
	return httpstream.NewStream(Name, ctx, sctx, wd, &source{s: s}, p.classify), nil
}
