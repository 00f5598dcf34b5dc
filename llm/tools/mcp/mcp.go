// Package mcp offers the tools of an MCP (Model Context Protocol) server as
// chatbox tools, with the official MCP Go SDK
// (github.com/modelcontextprotocol/go-sdk).
//
// Connect (or ConnectHTTP, ConnectCommand) connects to a server and lists
// its tools; the returned *Client is a tools.Source whose list follows the
// server's tools/list_changed notifications. Close ends the connection.
//
//	c, err := mcp.ConnectHTTP(ctx, "https://tools.example.com/mcp",
//		mcp.WithNamePrefix("docs_"), mcp.WithApproval("delete_page"))
//	if err != nil { ... }
//	defer c.Close()
//
// and give c to the Server as a tools.Source. The Client does not own the
// Server's lifetime: close it after the Server has shut down.
package mcp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	mcpsdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/chatboxsdk/chatbox/llm"
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

// Client is a connection to one MCP server and a tools.Source of its tools.
// It is safe for concurrent use.
type Client struct {
	cfg  config
	conn *mcpsdk.ClientSession

	// changed is signalled (without blocking) by the SDK's
	// tools/list_changed handler; the refresher goroutine reads it.
	changed chan struct{}
	cancel  context.CancelFunc
	wg      sync.WaitGroup

	mu      sync.Mutex // guards the fields below
	tools   []tools.Tool
	started uint64 // refreshes started
	stored  uint64 // the refresh whose list tools is

	closeOnce sync.Once
	closeErr  error
}

// Connect connects to the MCP server at the other end of
// transport, lists its tools and returns a Client offering them. ctx bounds
// the connection and the first listing only. Every invalid option is
// reported at once; WithHTTPClient is refused here.
//
// The Client starts one goroutine, which reads the tool list again after
// each tools/list_changed notification; Close stops and awaits it.
func Connect(ctx context.Context, transport mcpsdk.Transport, opts ...Option) (*Client, error) {
	cfg, err := newConfig(opts)
	if cfg.httpClient != nil {
		err = errors.Join(err, errors.New("mcp: WithHTTPClient is only for ConnectHTTP"))
	}
	if transport == nil {
		err = errors.Join(err, errors.New("mcp: nil transport"))
	}
	if err != nil {
		return nil, err
	}
	return connect(ctx, transport, cfg)
}

// ConnectHTTP is Connect over the streamable HTTP transport to the MCP
// endpoint url, with the client of WithHTTPClient if given.
func ConnectHTTP(ctx context.Context, url string, opts ...Option) (*Client, error) {
	cfg, err := newConfig(opts)
	if url == "" {
		err = errors.Join(err, errors.New("mcp: empty URL"))
	}
	if err != nil {
		return nil, err
	}
	return connect(ctx, &mcpsdk.StreamableClientTransport{Endpoint: url, HTTPClient: cfg.httpClient}, cfg)
}

// ConnectCommand is Connect over the standard input and output of cmd,
// which it starts (cmd must not have been started). Close ends the
// connection, closes the command's input and waits for it to exit, sending
// it SIGTERM (then SIGKILL) if it lingers: the SDK waits 5 s each time.
func ConnectCommand(ctx context.Context, cmd *exec.Cmd, opts ...Option) (*Client, error) {
	cfg, err := newConfig(opts)
	if cfg.httpClient != nil {
		err = errors.Join(err, errors.New("mcp: WithHTTPClient is only for ConnectHTTP"))
	}
	if cmd == nil {
		err = errors.Join(err, errors.New("mcp: nil command"))
	}
	if err != nil {
		return nil, err
	}
	return connect(ctx, &mcpsdk.CommandTransport{Command: cmd}, cfg)
}

func connect(ctx context.Context, transport mcpsdk.Transport, cfg config) (*Client, error) {
	c := &Client{cfg: cfg, changed: make(chan struct{}, 1)}
	sdkClient := mcpsdk.NewClient(&mcpsdk.Implementation{Name: "chatbox", Version: "1"}, &mcpsdk.ClientOptions{
		Logger: cfg.logger,
		ToolListChangedHandler: func(context.Context, *mcpsdk.ToolListChangedRequest) {
			select {
			case c.changed <- struct{}{}:
			default: // a refresh is already due
			}
		},
	})
	conn, err := sdkClient.Connect(ctx, transport, nil)
	if err != nil {
		return nil, fmt.Errorf("mcp: connect: %w", err)
	}
	c.conn = conn
	if err := c.Refresh(ctx); err != nil {
		_ = conn.Close()
		return nil, err
	}
	bg, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	c.wg.Go(func() { c.refresher(bg) })
	return c, nil
}

// refresher reads the tool list again after each change notification
// until ctx ends.
func (c *Client) refresher(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.changed:
		}
		lctx, cancel := context.WithTimeout(ctx, listTimeout)
		err := c.Refresh(lctx)
		cancel()
		if err != nil && ctx.Err() == nil {
			c.cfg.logger.Warn("mcp: tool list refresh failed; keeping the previous list", "error", err)
		}
	}
}

// Tools returns the server's tools as last listed, in the server's order.
// It does no I/O. The slice is the caller's.
func (c *Client) Tools() []tools.Tool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.tools)
}

// Refresh reads the server's tool list now and replaces the Client's. The
// Client also does so by itself when the server says the list changed. On
// error the previous list stays; of two refreshes at once, the list of the
// later one to start wins.
func (c *Client) Refresh(ctx context.Context) error {
	c.mu.Lock()
	c.started++
	gen := c.started
	c.mu.Unlock()
	var list []tools.Tool
	seen := map[string]bool{}
	for st, err := range c.conn.Tools(ctx, nil) {
		if err != nil {
			return fmt.Errorf("mcp: list tools: %w", err)
		}
		if c.cfg.filter != nil && !c.cfg.filter(st) {
			continue
		}
		t, err := c.newTool(st)
		if err != nil {
			c.cfg.logger.Warn("mcp: tool skipped", "tool", st.Name, "error", err)
			continue
		}
		if seen[t.def.Name] {
			c.cfg.logger.Warn("mcp: tool skipped", "tool", st.Name, "error", fmt.Errorf("%w %q", tools.ErrDuplicateName, t.def.Name))
			continue
		}
		seen[t.def.Name] = true
		list = append(list, t)
	}
	c.mu.Lock()
	if gen > c.stored {
		c.tools, c.stored = list, gen
	}
	c.mu.Unlock()
	return nil
}

// Close ends the connection to the server and waits for the Client's
// goroutine. Calls still running fail. Close is idempotent; it returns the
// error of closing the connection.
func (c *Client) Close() error {
	c.closeOnce.Do(func() {
		c.cancel()
		c.closeErr = c.conn.Close()
		c.wg.Wait()
		if c.closeErr != nil {
			c.closeErr = fmt.Errorf("mcp: close: %w", c.closeErr)
		}
	})
	return c.closeErr
}

// toolName maps a server's tool name to the name offered to the model:
// the prefix, then the name with each byte a provider refuses (MCP allows
// '.') replaced by '_'.
func (c *Client) toolName(remote string) (string, error) {
	b := []byte(c.cfg.prefix + remote)
	for i, ch := range b {
		if !('a' <= ch && ch <= 'z' || 'A' <= ch && ch <= 'Z' || '0' <= ch && ch <= '9' || ch == '_' || ch == '-') {
			b[i] = '_'
		}
	}
	name := string(b)
	if err := tools.ValidateName(name); err != nil {
		return "", err
	}
	return name, nil
}

func (c *Client) newTool(st *mcpsdk.Tool) (*tool, error) {
	name, err := c.toolName(st.Name)
	if err != nil {
		return nil, err
	}
	schema, err := json.Marshal(st.InputSchema)
	if err != nil {
		return nil, fmt.Errorf("input schema: %w", err)
	}
	var s jsonschema.Schema
	if err := json.Unmarshal(schema, &s); err != nil {
		return nil, fmt.Errorf("input schema: %w", err)
	}
	if s.Type != "object" {
		return nil, fmt.Errorf("input schema has type %q, want \"object\"", s.Type)
	}
	resolved, err := s.Resolve(nil)
	if err != nil {
		// The server validates its arguments anyway: offer the tool and
		// leave validation to it.
		c.cfg.logger.Warn("mcp: input schema does not resolve; arguments are left to the server to check", "tool", st.Name, "error", err)
		resolved = nil
	}
	desc := st.Description
	if desc == "" {
		desc = st.Title
	}
	approval := c.cfg.approveNames[st.Name] || (c.cfg.approveFunc != nil && c.cfg.approveFunc(st))
	return &tool{
		client:   c,
		remote:   st.Name,
		def:      llm.ToolDef{Name: name, Description: desc, InputSchema: schema},
		approval: approval,
		resolved: resolved,
	}, nil
}

// tool is one tool of the server. It is immutable.
type tool struct {
	client   *Client
	remote   string // the server's name
	def      llm.ToolDef
	approval bool
	resolved *jsonschema.Resolved // nil: the server checks the arguments
}

func (t *tool) Def() llm.ToolDef {
	d := t.def
	d.InputSchema = slices.Clone(t.def.InputSchema)
	return d
}

func (t *tool) NeedsApproval() bool    { return t.approval }
func (t *tool) Timeout() time.Duration { return t.client.cfg.callTimeout }

func (t *tool) ValidateArguments(args map[string]any) error {
	if t.resolved == nil {
		return nil
	}
	return t.resolved.Validate(args)
}

// Call calls the tool on the server. A result the server marks as an error
// returns an error with the server's text; a protocol error from the
// server returns a *tools.Error with the server's message; a failure to
// reach the server returns a *tools.Error whose message for the model says
// only that (the cause, which may name hosts, stays in the log).
func (t *tool) Call(ctx context.Context, arguments json.RawMessage) (string, error) {
	if len(arguments) == 0 {
		arguments = json.RawMessage("{}")
	}
	res, err := t.client.conn.CallTool(ctx, &mcpsdk.CallToolParams{Name: t.remote, Arguments: arguments})
	if err != nil {
		if ctx.Err() != nil {
			return "", fmt.Errorf("mcp: call %q: %w", t.remote, errors.Join(err, ctx.Err()))
		}
		var refused *jsonrpc.Error
		if errors.As(err, &refused) {
			// The server answered with a protocol error (an unknown tool,
			// arguments it refuses): its message is meant for the caller.
			return "", &tools.Error{
				Message: "the tool's server refused the call: " + refused.Message,
				Err:     fmt.Errorf("mcp: call %q: %w", t.remote, err),
			}
		}
		return "", &tools.Error{
			Message: "the tool's server failed to answer",
			Err:     fmt.Errorf("mcp: call %q: %w", t.remote, err),
		}
	}
	if res.NeedsInput() {
		return "", &tools.Error{
			Message: "the tool's server asked for input this client cannot give",
			Err:     fmt.Errorf("mcp: call %q: the server asked for input", t.remote),
		}
	}
	text := capText(resultText(res), t.client.cfg.maxResultBytes)
	if res.IsError {
		if text == "" {
			text = "the tool failed"
		}
		return "", errors.New(text)
	}
	return text, nil
}

// resultText joins the text contents of res, describing other contents
// briefly; with no content it falls back to the structured content.
func resultText(res *mcpsdk.CallToolResult) string {
	var parts []string
	for _, ct := range res.Content {
		switch v := ct.(type) {
		case *mcpsdk.TextContent:
			parts = append(parts, v.Text)
		case *mcpsdk.ImageContent:
			parts = append(parts, describe("image", v.MIMEType, ""))
		case *mcpsdk.AudioContent:
			parts = append(parts, describe("audio", v.MIMEType, ""))
		case *mcpsdk.ResourceLink:
			parts = append(parts, describe("resource link", v.MIMEType, v.URI))
		case *mcpsdk.EmbeddedResource:
			switch {
			case v.Resource == nil:
				parts = append(parts, "[resource]")
			case v.Resource.Text != "":
				parts = append(parts, v.Resource.Text)
			default:
				parts = append(parts, describe("resource", v.Resource.MIMEType, v.Resource.URI))
			}
		default:
			parts = append(parts, fmt.Sprintf("[%T]", ct))
		}
	}
	if len(parts) == 0 && res.StructuredContent != nil {
		if b, err := json.Marshal(res.StructuredContent); err == nil {
			return string(b)
		}
	}
	return strings.Join(parts, "\n")
}

func describe(kind, mime, uri string) string {
	s := "[" + kind
	if mime != "" {
		s += " " + mime
	}
	if uri != "" {
		s += " " + uri
	}
	return s + "]"
}

// capText cuts s to at most n bytes on a rune boundary, marking the cut.
func capText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const mark = "…[truncated]"
	cut := max(n-len(mark), 0)
	for cut > 0 && s[cut]&0xC0 == 0x80 {
		cut--
	}
	return s[:cut] + mark
}
