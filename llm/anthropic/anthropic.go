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
	"bytes"
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"

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
	mt := files.Base(mediaType)
	return files.IsImage(mt) || mt == files.PDF || files.IsText(mt)
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

// turn is one message of the request body being built: blocks that must
// come first (thinking in an assistant turn, tool results in a user turn)
// and the others, in order.
type turn struct {
	user        bool
	first, rest []sdk.ContentBlockParamUnion
}

// params builds the request body and the per-request options. It fails
// only on a tool definition whose schema is not an object schema.
func (p *Provider) params(req llm.Request) (sdk.MessageNewParams, []option.RequestOption, error) {
	var turns []turn
	for _, m := range req.Messages {
		t := blocks(m)
		if len(t.first)+len(t.rest) == 0 {
			continue
		}
		if n := len(turns); n > 0 && turns[n-1].user == t.user { // one message per role in a row
			turns[n-1].first = append(turns[n-1].first, t.first...)
			turns[n-1].rest = append(turns[n-1].rest, t.rest...)
			continue
		}
		turns = append(turns, t)
	}
	msgs := make([]sdk.MessageParam, 0, len(turns))
	for _, t := range turns {
		content := slices.Concat(t.first, t.rest)
		if t.user {
			msgs = append(msgs, sdk.NewUserMessage(content...))
		} else {
			msgs = append(msgs, sdk.NewAssistantMessage(content...))
		}
	}
	params := sdk.MessageNewParams{Model: sdk.Model(p.cfg.model), Messages: msgs, MaxTokens: int64(p.cfg.maxTokens)}
	for _, def := range req.Tools {
		tool, err := toolParam(def)
		if err != nil {
			return params, nil, &llm.Error{Kind: llm.KindInvalidRequest, Provider: Name, Err: err}
		}
		params.Tools = append(params.Tools, sdk.ToolUnionParam{OfTool: &tool})
	}
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
	if budget := int64(p.cfg.thinkingBudget); budget > 0 {
		params.Thinking = sdk.ThinkingConfigParamOfEnabled(budget)
		if params.MaxTokens <= budget { // max_tokens counts the thinking too
			params.MaxTokens += budget
		}
	} else if t := cmp.Or(req.Temperature, p.cfg.temperature); t != nil {
		opts = append(opts, option.WithJSONSet("temperature", *t))
	}
	return params, opts, nil
}

// blocks maps one message to the content blocks of a turn. A message
// without parts is one text block. In a message with parts, empty text
// parts are dropped (the API refuses empty text blocks), tool calls become
// tool_use blocks, tool results tool_result blocks, files of a user turn
// image or document blocks (see fileBlock), and reasoning with a
// signature a thinking block placed before the others; reasoning without
// one cannot be sent back and is dropped.
func blocks(m llm.Message) turn {
	t := turn{user: m.Role == llm.RoleUser || m.Role == llm.RoleTool}
	if len(m.Parts) == 0 {
		t.rest = append(t.rest, sdk.NewTextBlock(m.Text))
		return t
	}
	for _, part := range m.Parts {
		switch part.Kind {
		case llm.PartText:
			if part.Text != "" {
				t.rest = append(t.rest, sdk.NewTextBlock(part.Text))
			}
		case llm.PartReasoning:
			if part.Signature != "" && !t.user {
				t.first = append(t.first, sdk.NewThinkingBlock(part.Signature, part.Text))
			}
		case llm.PartToolCall:
			if !t.user {
				t.rest = append(t.rest, sdk.NewToolUseBlock(part.Call.ID, toolInput(part.Call.Arguments), part.Call.Name))
			}
		case llm.PartToolResult:
			if t.user {
				t.first = append(t.first, toolResult(part))
			}
		case llm.PartFile:
			if m.Role == llm.RoleUser && part.File != nil {
				if b, ok := fileBlock(part.File); ok {
					t.rest = append(t.rest, b)
				}
			}
		}
	}
	return t
}

// fileBlock maps a file: an image to an image block with a base64 source,
// a PDF to a document block with a base64 PDF source, a text file to a
// document block with a plain-text source, cut at llm.MaxFileTextBytes
// (its context says so when it was). The documents carry the file's name
// as their title. It reports false for any other type.
func fileBlock(f *llm.File) (sdk.ContentBlockParamUnion, bool) {
	var b sdk.ContentBlockParamUnion
	switch mt := files.Base(f.MediaType); {
	case files.IsImage(mt):
		return sdk.NewImageBlockBase64(mt, base64.StdEncoding.EncodeToString(f.Data)), true
	case mt == files.PDF:
		b = sdk.NewDocumentBlock(sdk.Base64PDFSourceParam{Data: base64.StdEncoding.EncodeToString(f.Data)})
	case files.IsText(mt):
		text, cut := llm.FileText(f)
		b = sdk.NewDocumentBlock(sdk.PlainTextSourceParam{Data: text})
		if cut {
			b.OfDocument.Context = sdk.String(fmt.Sprintf("The file has %d bytes; only its first %d KiB are shown.", len(f.Data), llm.MaxFileTextBytes>>10))
		}
	default:
		return b, false
	}
	if title := docTitle(f.Name); title != "" {
		b.OfDocument.Title = sdk.String(title)
	}
	return b, true
}

// maxTitleRunes bounds a document's title: a file's name is the user's, and
// the API bounds the field.
const maxTitleRunes = 200

// docTitle returns a file's name as a document title: control characters
// as spaces, at most maxTitleRunes characters.
func docTitle(name string) string {
	r := []rune(strings.TrimSpace(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, name)))
	return string(r[:min(len(r), maxTitleRunes)])
}

// toolInput returns a call's arguments as the JSON object the API wants:
// as written when they are one, else an empty object (a model that wrote
// broken arguments got an error result for them).
func toolInput(args string) json.RawMessage {
	var obj map[string]json.RawMessage
	if json.Unmarshal([]byte(args), &obj) != nil || obj == nil {
		return json.RawMessage("{}")
	}
	return json.RawMessage(args)
}

// toolResult maps a tool result; an empty result has no content block,
// since the API refuses empty text blocks.
func toolResult(part llm.Part) sdk.ContentBlockParamUnion {
	r := sdk.ToolResultBlockParam{ToolUseID: part.Call.ID}
	if part.IsError {
		r.IsError = sdk.Bool(true)
	}
	if part.Text != "" {
		r.Content = []sdk.ToolResultBlockParamContentUnion{{OfText: &sdk.TextBlockParam{Text: part.Text}}}
	}
	return sdk.ContentBlockParamUnion{OfToolResult: &r}
}

// toolParam maps a tool definition. Its schema must be a JSON object of
// type "object" (or without a type); its fields are sent as written. An
// empty schema declares no parameters.
func toolParam(def llm.ToolDef) (sdk.ToolParam, error) {
	tool := sdk.ToolParam{Name: def.Name}
	if def.Description != "" {
		tool.Description = sdk.String(def.Description)
	}
	if len(bytes.TrimSpace(def.InputSchema)) == 0 {
		// The API requires a schema: one of no parameters.
		tool.InputSchema.Properties = map[string]any{}
		return tool, nil
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(def.InputSchema, &fields); err != nil || fields == nil {
		return tool, fmt.Errorf("tool %q: the input schema is not a JSON object", def.Name)
	}
	for k, v := range fields {
		switch k {
		case "type":
			var typ string
			if json.Unmarshal(v, &typ) != nil || typ != "object" {
				return tool, fmt.Errorf("tool %q: the input schema's type is %s, not \"object\"", def.Name, llm.Excerpt(string(v)))
			}
		case "properties":
			tool.InputSchema.Properties = v
		case "required":
			if json.Unmarshal(v, &tool.InputSchema.Required) == nil {
				break
			}
			fallthrough
		default:
			if tool.InputSchema.ExtraFields == nil {
				tool.InputSchema.ExtraFields = map[string]any{}
			}
			tool.InputSchema.ExtraFields[k] = v
		}
	}
	return tool, nil
}
