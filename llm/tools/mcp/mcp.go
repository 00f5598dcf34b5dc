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
	"errors"
	"fmt"
	"os/exec"
	"slices"
	"sync"

	mcpsdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/chatboxsdk/chatbox/llm/tools"
)

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
