// Package dify is an llm.Provider for a Dify chat app (the chat-messages
// API in streaming mode), over plain net/http.
//
// Dify keeps the history of a conversation itself, under a Dify
// conversation id. A Provider sends the last user turn of each Request as
// the query, the Request's User as Dify's user, and the Dify conversation
// id it learned for the Request's (User, ConversationID), so that Dify
// answers with the whole history. It remembers at most
// WithMaxConversations of these ids, evicting the least recently used;
// a conversation whose id was evicted, or that Dify no longer knows (HTTP
// 404: the Provider then forgets the id and asks again once), starts a new
// Dify conversation. To hand Dify the earlier turns in that case, and the
// system prompt always, name app input variables for them with
// WithHistoryInput and WithSystemInput; otherwise the system prompt is the
// one configured in the Dify app.
//
// Events message and agent_message are deltas, message_end carries usage
// and ends the reply, error ends it with the matching *llm.Error,
// message_replace (output moderation) makes the finish reason
// content_filter; ping and workflow events are ignored. Once agent_message
// deltas came, a message event is ignored: Dify's newer agent apps close
// their turn with one carrying the whole answer again.
//
// Tools are the Dify app's business: an agent app calls the tools
// configured in Dify and streams only its answer. A Request's Tools are
// therefore ignored, not refused, and no llm.EventToolCall ever comes.
// Reasoning is not reported either: agent_thought events are snapshots of
// an agent's steps (its thought, the tool it ran and the tool's output),
// rewritten as the step goes on rather than streamed, and their thought
// can repeat the answer's text; they are ignored. Earlier turns sent
// through WithHistoryInput hold the text of each turn; tool turns are left
// out.
//
// Files: Dify takes images and documents only by an upload to its own API
// first, which this Provider does not do. It accepts text files (text/*)
// alone (llm.FileSupport), and inlines them into the query as
// llm.InlineFile writes them (cut at llm.MaxFileTextBytes, with a note);
// earlier turns sent through WithHistoryInput carry theirs the same way.
// An image or a PDF is refused before the call: llm.CheckFiles refuses it
// for the server, and Stream fails with the same error, nothing sent.
//
// Timeouts,
// cancellation and error classification work as for the other HTTP
// providers: a header timeout and an idle timeout (pings count as
// activity), cancellation closes the request at once, error bodies are
// read with a size cap, and the API key never appears in errors.
package dify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/chatboxsdk/chatbox/llm"
	"github.com/chatboxsdk/chatbox/llm/internal/files"
	"github.com/chatboxsdk/chatbox/llm/internal/httpstream"
)

// Name is the provider name in *llm.Error.Provider.
const Name = "dify"

// Defaults.
const (
	DefaultBaseURL          = "https://api.dify.ai/v1"
	DefaultHeaderTimeout    = 30 * time.Second
	DefaultIdleTimeout      = 60 * time.Second
	DefaultMaxConversations = 10_000
	// DefaultUser is sent as Dify's user for Requests without a User.
	DefaultUser = "chatbox"
)

// Option configures a Provider.
type Option func(*config) error

type config struct {
	apiKey, baseURL            string
	headerTimeout, idleTimeout time.Duration
	httpClient                 *http.Client
	maxConversations           int
	systemInput, historyInput  string
	inputs                     map[string]string
}

// WithAPIKey sets the app's API key, sent as a bearer token. Required.
func WithAPIKey(key string) Option {
	return func(c *config) error { c.apiKey = key; return nil }
}

// WithBaseURL sets the API's base URL, e.g. "http://localhost/v1" for a
// self-hosted Dify. Default DefaultBaseURL. It must be an absolute http or
// https URL.
func WithBaseURL(base string) Option {
	return func(c *config) error {
		u, err := url.Parse(base)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("dify: base URL %q is not an absolute http(s) URL", base)
		}
		c.baseURL = strings.TrimRight(base, "/")
		return nil
	}
}

// WithHeaderTimeout bounds the wait for the response headers. Default
// DefaultHeaderTimeout; 0 or less disables the limit.
func WithHeaderTimeout(d time.Duration) Option {
	return func(c *config) error { c.headerTimeout = d; return nil }
}

// WithIdleTimeout bounds the silence between two pieces of a streamed
// response (Dify pings every 10 seconds); when it passes, the stream ends
// with an *llm.Error of kind llm.KindTimeout, the deltas already returned
// kept. Default DefaultIdleTimeout; 0 or less disables the limit.
func WithIdleTimeout(d time.Duration) Option {
	return func(c *config) error { c.idleTimeout = d; return nil }
}

// WithHTTPClient sets the HTTP client whose transport, redirect policy and
// jar are used. Its Timeout, if set, bounds whole replies. Default: a
// client of the Provider's own.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *config) error {
		if hc == nil {
			return errors.New("dify: nil HTTP client")
		}
		c.httpClient = hc
		return nil
	}
}

// WithMaxConversations bounds how many Dify conversation ids the Provider
// remembers (about 200 bytes each); the least recently used is evicted.
// Default DefaultMaxConversations. It must be positive.
func WithMaxConversations(n int) Option {
	return func(c *config) error {
		if n <= 0 {
			return fmt.Errorf("dify: max conversations %d is not positive", n)
		}
		c.maxConversations = n
		return nil
	}
}

// WithSystemInput names the app input variable that receives the
// Request's system prompt. Default: none, the app's own prompt applies.
func WithSystemInput(name string) Option {
	return func(c *config) error { c.systemInput = name; return nil }
}

// WithHistoryInput names the app input variable that receives the earlier
// turns of the conversation, as "User: ..." and "Assistant: ..." lines,
// when a new Dify conversation starts for a conversation that has them.
// Default: none.
func WithHistoryInput(name string) Option {
	return func(c *config) error { c.historyInput = name; return nil }
}

// WithInputs sets fixed app input variables sent with every request.
// Default: none.
func WithInputs(inputs map[string]string) Option {
	return func(c *config) error {
		c.inputs = make(map[string]string, len(inputs))
		for k, v := range inputs {
			c.inputs[k] = v
		}
		return nil
	}
}

// Provider streams Dify chat messages. It is safe for concurrent use.
type Provider struct {
	cfg   config
	http  *http.Client
	convs *conversations
}

var (
	_ llm.Provider    = (*Provider)(nil)
	_ llm.FileSupport = (*Provider)(nil)
)

// New returns a Provider configured by opts, or every configuration error
// joined.
func New(opts ...Option) (*Provider, error) {
	cfg := config{baseURL: DefaultBaseURL, headerTimeout: DefaultHeaderTimeout, idleTimeout: DefaultIdleTimeout, maxConversations: DefaultMaxConversations}
	var errs []error
	for _, o := range opts {
		if o == nil {
			errs = append(errs, errors.New("dify: nil option"))
			continue
		}
		if err := o(&cfg); err != nil {
			errs = append(errs, err)
		}
	}
	if cfg.apiKey == "" {
		errs = append(errs, errors.New("dify: WithAPIKey is required"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return &Provider{cfg: cfg, http: httpstream.NewClient(cfg.httpClient), convs: newConversations(cfg.maxConversations)}, nil
}

// Conversations returns how many Dify conversation ids the Provider
// remembers.
func (p *Provider) Conversations() int { return p.convs.len() }

// AcceptsFile reports whether the media type is a text type (text/*), the
// only files the Provider sends (inlined into the query). It implements
// llm.FileSupport.
func (p *Provider) AcceptsFile(mediaType string) bool { return files.IsText(files.Base(mediaType)) }

// Stream sends the last user turn of req to the Dify app and streams the
// answer. It returns once the response headers arrived; a failed response
// is returned as an *llm.Error (with RetryAfter when Dify gave one). A
// file other than a text file fails the call with the error of
// llm.CheckFiles before anything is sent.
func (p *Provider) Stream(ctx context.Context, req llm.Request) (llm.Stream, error) {
	if err := ctx.Err(); err != nil {
		return nil, httpstream.Explain(Name, ctx, ctx, err, nil)
	}
	if err := llm.CheckFiles(p, req); err != nil {
		return nil, err
	}
	n := len(req.Messages)
	if n == 0 || req.Messages[n-1].Role != llm.RoleUser {
		return nil, &llm.Error{Kind: llm.KindInvalidRequest, Provider: Name, Err: errors.New("the request does not end with a user turn")}
	}
	user := req.User
	if user == "" {
		user = DefaultUser
	}
	key := convKey{user: user, conversation: req.ConversationID}
	difyID, _ := p.convs.get(key)
	resp, sctx, wd, err := p.post(ctx, req, user, difyID)
	if err == nil && resp.StatusCode == http.StatusNotFound && difyID != "" {
		// Dify no longer knows the conversation: start a new one.
		resp.Body.Close()
		wd.Stop()
		p.convs.forget(key)
		resp, sctx, wd, err = p.post(ctx, req, user, "")
	}
	if err != nil {
		wd.Stop()
		return nil, httpstream.Explain(Name, ctx, sctx, err, nil)
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		defer wd.Stop()
		return nil, llm.HTTPError(Name, resp, errorCode, p.cfg.apiKey)
	}
	src := &source{body: resp.Body, sse: httpstream.NewSSEReader(resp.Body), learn: func(id string) { p.convs.put(key, id) }}
	return httpstream.NewStream(Name, ctx, sctx, wd, src, nil), nil
}

// post sends one chat-messages request under a new watchdog.
func (p *Provider) post(ctx context.Context, req llm.Request, user, difyID string) (*http.Response, context.Context, *httpstream.Watchdog, error) {
	sctx, wd := httpstream.Start(ctx, Name, p.cfg.headerTimeout, p.cfg.idleTimeout)
	body, err := json.Marshal(p.body(req, user, difyID))
	if err != nil {
		return nil, sctx, wd, err
	}
	hreq, err := http.NewRequestWithContext(sctx, http.MethodPost, p.cfg.baseURL+"/chat-messages", bytes.NewReader(body))
	if err != nil {
		return nil, sctx, wd, err
	}
	hreq.Header.Set("Authorization", "Bearer "+p.cfg.apiKey)
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set("Accept", "text/event-stream")
	resp, err := p.http.Do(hreq)
	return resp, sctx, wd, err
}

// chatRequest is the body of POST /chat-messages.
type chatRequest struct {
	Inputs           map[string]string `json:"inputs"`
	Query            string            `json:"query"`
	ResponseMode     string            `json:"response_mode"`
	User             string            `json:"user"`
	ConversationID   string            `json:"conversation_id,omitempty"`
	AutoGenerateName bool              `json:"auto_generate_name"`
}

func (p *Provider) body(req llm.Request, user, difyID string) chatRequest {
	inputs := make(map[string]string, len(p.cfg.inputs)+2)
	for k, v := range p.cfg.inputs {
		inputs[k] = v
	}
	if p.cfg.systemInput != "" {
		inputs[p.cfg.systemInput] = req.System
	}
	earlier := req.Messages[:len(req.Messages)-1]
	if p.cfg.historyInput != "" && difyID == "" && len(earlier) > 0 {
		var b strings.Builder
		for _, m := range earlier {
			who := "Assistant"
			switch m.Role {
			case llm.RoleUser:
				who = "User"
			case llm.RoleTool:
				continue
			}
			text := files.Text(m)
			if text == "" {
				continue // a turn that only called tools
			}
			fmt.Fprintf(&b, "%s: %s\n", who, text)
		}
		inputs[p.cfg.historyInput] = b.String()
	}
	return chatRequest{
		Inputs: inputs, Query: files.Text(req.Messages[len(req.Messages)-1]), ResponseMode: "streaming",
		User: user, ConversationID: difyID,
	}
}

// errorCode extracts the code of a Dify error body {"code", "message", "status"}.
func errorCode(body []byte) string {
	var e struct {
		Code string `json:"code"`
	}
	_ = json.Unmarshal(body, &e)
	return e.Code
}
