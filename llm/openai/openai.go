// Package openai is an llm.Provider for the OpenAI Chat Completions API
// and the servers that speak it (Ollama, vLLM, the llama.cpp server...),
// built on the official SDK (github.com/openai/openai-go/v3).
//
// Replies are streamed with stream_options.include_usage, so the usage
// chunk OpenAI sends before [DONE] becomes an llm.EventUsage (with cached
// prompt tokens and reasoning tokens when the server counts them);
// servers that omit it, or omit other fields, are tolerated. The system
// prompt is sent as a "system" message, the native system slot of this
// API; operator turns are sent as assistant turns.
//
// Request.Tools are sent as function tools, each schema as written. In
// the history, an assistant turn's tool calls become its tool_calls (its
// text the content beside them), and a tool turn becomes one "tool"
// message per result, answering its call by tool_call_id; the API has no
// error flag, so an error result is sent as "Error: " and its text.
// Reasoning parts are not sent back: the API has no place for them.
//
// File parts of user turns are sent as the API takes them (the Provider
// implements llm.FileSupport): an image (PNG, JPEG, GIF, WebP) as an
// image_url content part holding a base64 data URL, a PDF as a file
// content part (file_data, a base64 data URL, with its filename), and a
// text file (text/*) inlined as a text part that names it (llm.InlineFile,
// cut at llm.MaxFileTextBytes with a note), since Chat Completions takes
// no other file type. A user turn without images or PDFs keeps a plain
// string as its content, its text files inlined into it. OpenAI-compatible
// servers take less than OpenAI: Ollama and vLLM accept images only for
// vision models, and no PDFs; narrow what the Provider accepts for them
// with WithFileTypes, so that the server refuses other attachments before
// calling it. A request holding a file the Provider does not accept fails
// with the error of llm.CheckFiles, nothing sent.
//
// Streamed tool calls become an llm.EventToolCallStart once a call's name
// is known, an llm.EventToolCallDelta per argument fragment, and one
// llm.EventToolCall per call with its whole arguments when the finish
// reason arrives; the reply then finishes with llm.FinishToolCalls, also
// from servers that say "stop" after calls (a reply cut by the length
// limit keeps llm.FinishLength). Servers that omit a call's index are
// matched by the call's id, and a fragment with neither continues the
// last call; a call without an id gets one made up. Reasoning that
// OpenAI-compatible servers stream in a delta's reasoning_content field
// (DeepSeek, llama.cpp, vLLM) or reasoning field (newer vLLM, Ollama,
// OpenRouter) becomes llm.EventReasoning, never text; OpenAI's own API
// does not stream reasoning in Chat Completions. Reasoning a server
// leaves inside the text (between <think> tags) stays text.
//
// Every stream is bounded by a header timeout and an idle timeout (see
// WithHeaderTimeout, WithIdleTimeout); cancelling the context given to
// Stream, or Close, closes the upstream request at once. The SDK's own
// retries are disabled: wrap the Provider in llm.WithRetry to retry
// failures before the first delta. Failures are *llm.Error values
// classified from the HTTP status and the error's type and code; the API
// key never appears in them. The SDK's environment variables
// (OPENAI_API_KEY...) are not read: configuration comes from options only.
package openai

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	oai "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/chatboxsdk/chatbox/llm"
	"github.com/chatboxsdk/chatbox/llm/internal/files"
	"github.com/chatboxsdk/chatbox/llm/internal/httpstream"
)

// Name is the provider name in *llm.Error.Provider.
const Name = "openai"

// Defaults.
const (
	DefaultBaseURL       = "https://api.openai.com/v1"
	DefaultHeaderTimeout = 30 * time.Second
	DefaultIdleTimeout   = 60 * time.Second
)

// Option configures a Provider.
type Option func(*config) error

type config struct {
	apiKey, baseURL, organization, model string
	maxTokens                            int
	temperature                          *float64
	headerTimeout, idleTimeout           time.Duration
	httpClient                           *http.Client
	usage                                bool
	legacyMaxTokens                      *bool
	fileTypes                            *files.Set // nil: every type the Provider can send
}

// WithAPIKey sets the API key, sent as a bearer token. Default: none,
// which OpenAI refuses but local servers such as Ollama accept.
func WithAPIKey(key string) Option {
	return func(c *config) error { c.apiKey = key; return nil }
}

// WithBaseURL sets the API's base URL, e.g. "http://localhost:11434/v1"
// for Ollama. Default DefaultBaseURL. It must be an absolute http or
// https URL.
func WithBaseURL(base string) Option {
	return func(c *config) error {
		u, err := url.Parse(base)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("openai: base URL %q is not an absolute http(s) URL", base)
		}
		c.baseURL = base
		return nil
	}
}

// WithOrganization sets the OpenAI-Organization header. Default: none.
func WithOrganization(org string) Option {
	return func(c *config) error { c.organization = org; return nil }
}

// WithModel sets the model used when a Request names none. Required.
func WithModel(model string) Option {
	return func(c *config) error { c.model = model; return nil }
}

// WithMaxTokens sets the reply cap used when a Request has MaxTokens 0.
// Default 0: none sent, the server's own limit applies.
func WithMaxTokens(n int) Option {
	return func(c *config) error {
		if n < 0 {
			return fmt.Errorf("openai: max tokens %d is negative", n)
		}
		c.maxTokens = n
		return nil
	}
}

// WithTemperature sets the temperature used when a Request has none.
// Default: none sent. It must be within [0, 2].
func WithTemperature(t float64) Option {
	return func(c *config) error {
		if t < 0 || t > 2 {
			return fmt.Errorf("openai: temperature %v is outside [0, 2]", t)
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
// response; when it passes, the stream ends with an *llm.Error of kind
// llm.KindTimeout, the deltas already returned kept. Default
// DefaultIdleTimeout; 0 or less disables the limit.
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
			return errors.New("openai: nil HTTP client")
		}
		c.httpClient = hc
		return nil
	}
}

// WithoutStreamUsage stops asking for the usage chunk
// (stream_options.include_usage), for servers that refuse the field.
// Default: asked.
func WithoutStreamUsage() Option {
	return func(c *config) error { c.usage = false; return nil }
}

// WithLegacyMaxTokens chooses the field that carries the reply cap:
// "max_tokens" when legacy is true, "max_completion_tokens" (which
// OpenAI's newer models require) when false. Default: max_completion_tokens
// with the default base URL, max_tokens with any other, since
// OpenAI-compatible servers know the older field best.
func WithLegacyMaxTokens(legacy bool) Option {
	return func(c *config) error { c.legacyMaxTokens = &legacy; return nil }
}

// WithFileTypes narrows the attachments the Provider accepts
// (llm.FileSupport) to the given media types ("image/png") and patterns
// ("image/*"), among those it can send; a request holding another file is
// refused before anything is sent. Default: every type it can send:
// images (image/png, image/jpeg, image/gif, image/webp), application/pdf
// and text files (text/*).
//
// OpenAI-compatible servers accept less than OpenAI: Ollama and vLLM take
// images only with a vision model, and no PDFs. For them say
// WithFileTypes("image/*", "text/*") with a vision model and
// WithFileTypes("text/*") without one. Without any type, no file is
// accepted, text files included.
func WithFileTypes(types ...string) Option {
	return func(c *config) error {
		if err := files.Validate("openai", types, files.Sendable, append(slices.Clone(files.Images), files.PDF, "text/plain")); err != nil {
			return err
		}
		set := files.NewSet(types)
		c.fileTypes = &set
		return nil
	}
}

// Provider streams chat completions. It is safe for concurrent use.
type Provider struct {
	cfg     config
	svc     oai.ChatCompletionService
	legacy  bool
	secrets []string
}

var (
	_ llm.Provider    = (*Provider)(nil)
	_ llm.FileSupport = (*Provider)(nil)
)

// New returns a Provider configured by opts, or every configuration error
// joined.
func New(opts ...Option) (*Provider, error) {
	cfg := config{
		baseURL: DefaultBaseURL, headerTimeout: DefaultHeaderTimeout, idleTimeout: DefaultIdleTimeout, usage: true,
	}
	var errs []error
	for _, o := range opts {
		if o == nil {
			errs = append(errs, errors.New("openai: nil option"))
			continue
		}
		if err := o(&cfg); err != nil {
			errs = append(errs, err)
		}
	}
	if strings.TrimSpace(cfg.model) == "" {
		errs = append(errs, errors.New("openai: WithModel is required"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	legacy := strings.TrimRight(cfg.baseURL, "/") != DefaultBaseURL
	if cfg.legacyMaxTokens != nil {
		legacy = *cfg.legacyMaxTokens
	}
	ropts := []option.RequestOption{
		option.WithHTTPClient(httpstream.NewClient(cfg.httpClient)),
		option.WithBaseURL(cfg.baseURL),
		option.WithMaxRetries(0),
	}
	if cfg.apiKey != "" {
		ropts = append(ropts, option.WithAPIKey(cfg.apiKey))
	}
	if cfg.organization != "" {
		ropts = append(ropts, option.WithOrganization(cfg.organization))
	}
	p := &Provider{cfg: cfg, svc: oai.NewChatCompletionService(ropts...), legacy: legacy}
	if cfg.apiKey != "" {
		p.secrets = []string{cfg.apiKey}
	}
	return p, nil
}

// AcceptsFile reports whether the Provider sends files of the media type
// (see WithFileTypes); it implements llm.FileSupport.
func (p *Provider) AcceptsFile(mediaType string) bool {
	mt := files.Base(mediaType)
	return files.Sendable(mt) && (p.cfg.fileTypes == nil || p.cfg.fileTypes.Has(mt))
}

// Stream starts a streamed chat completion for req. It returns once the
// response headers arrived; a failed response is returned as an
// *llm.Error (with RetryAfter when the server gave one). A tool whose
// InputSchema is not a JSON object, or a file the Provider does not accept
// (llm.CheckFiles), fails the call with an *llm.Error of kind
// llm.KindInvalidRequest before anything is sent. See the package doc for
// timeouts and cancellation.
func (p *Provider) Stream(ctx context.Context, req llm.Request) (llm.Stream, error) {
	if err := ctx.Err(); err != nil {
		return nil, httpstream.Explain(Name, ctx, ctx, err, nil)
	}
	if err := llm.CheckFiles(p, req); err != nil {
		return nil, err
	}
	params, err := p.params(req)
	if err != nil {
		return nil, err
	}
	sctx, wd := httpstream.Start(ctx, Name, p.cfg.headerTimeout, p.cfg.idleTimeout)
	s := p.svc.NewStreaming(sctx, params)
	if err := s.Err(); err != nil {
		s.Close()
		wd.Stop()
		return nil, httpstream.Explain(Name, ctx, sctx, err, p.classify)
	}
	return httpstream.NewStream(Name, ctx, sctx, wd, &source{s: s}, p.classify), nil
}
