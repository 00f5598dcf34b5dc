// Package client is a Go client for chatbox's WebSocket protocol (v1). Tests,
// the load generator and Go programs use it to talk to a chatbox Server.
//
// A Client reads the socket in a goroutine of its own (so pings are always
// answered) and hands frames to the caller through Next, in the order the
// server sent them. Request-style methods (Open, Send...) send a frame and
// wait for its response; frames that arrive meanwhile stay queued for Next.
// The methods of one Client are meant for one goroutine at a time, except
// Close, which may be called from anywhere.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"

	"github.com/coder/websocket"

	"github.com/chatboxsdk/chatbox/protocol"
)

// ErrClosed is returned once the connection is closed.
var ErrClosed = errors.New("client: connection closed")

// ServerError is an error frame answering a request.
type ServerError struct {
	Body protocol.ErrorBody
}

func (e *ServerError) Error() string {
	return fmt.Sprintf("chatbox: %s: %s", e.Body.Code, e.Body.Message)
}

// Code returns the error code of a *ServerError in err's chain, or "".
func Code(err error) protocol.Code {
	var se *ServerError
	if errors.As(err, &se) {
		return se.Body.Code
	}
	return ""
}

// CloseCode returns the WebSocket close code carried by err, or -1.
func CloseCode(err error) int { return int(websocket.CloseStatus(err)) }

// Options configure Dial.
type Options struct {
	// Token authenticates the client. By default it is sent in the hello
	// frame; with HeaderAuth it is sent as "Authorization: Bearer".
	Token      string
	HeaderAuth bool
	// Header adds HTTP headers to the upgrade request (Origin, say).
	Header http.Header
	// HTTPClient performs the upgrade; default http.DefaultClient.
	HTTPClient *http.Client
	// ReadLimit caps one message from the server; default 16 MiB.
	ReadLimit int64
	// Buffer is how many server messages may wait unread before the client
	// stops reading the socket (and the server sees a slow consumer).
	// Default 1024.
	Buffer int
}

// Client is a connection to a chatbox Server.
type Client struct {
	conn  *websocket.Conn
	msgs  chan []byte
	done  chan struct{}
	stop  chan struct{} // closed by Close: the reader discards from then on
	rdErr error         // set before done is closed

	queue  []protocol.ServerFrame
	nextID int
	// LastSeq is the last sequence number seen per conversation; Resume
	// after a reconnect starts from it.
	lastSeq map[string]int64

	// Ready is the server's ready frame.
	Ready protocol.ServerFrame

	closeOnce sync.Once
	wg        sync.WaitGroup
}

// Dial connects to a chatbox WebSocket endpoint (ws:// or wss:// URL of the
// Server's /ws), says hello and waits for ready.
func Dial(ctx context.Context, url string, opts Options) (*Client, error) {
	header := opts.Header.Clone()
	if header == nil {
		header = http.Header{}
	}
	if opts.HeaderAuth && opts.Token != "" {
		header.Set("Authorization", "Bearer "+opts.Token)
	}
	conn, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{
		HTTPClient:   opts.HTTPClient,
		HTTPHeader:   header,
		Subprotocols: []string{protocol.Subprotocol},
	})
	if err != nil {
		if resp != nil {
			return nil, &HTTPError{Status: resp.StatusCode, err: err}
		}
		return nil, fmt.Errorf("client: dial: %w", err)
	}
	if opts.ReadLimit == 0 {
		opts.ReadLimit = 16 << 20
	}
	if opts.Buffer <= 0 {
		opts.Buffer = 1024
	}
	conn.SetReadLimit(opts.ReadLimit)
	c := &Client{conn: conn, msgs: make(chan []byte, opts.Buffer), done: make(chan struct{}), stop: make(chan struct{}), lastSeq: map[string]int64{}}
	c.wg.Add(1)
	go c.readLoop()

	hello := protocol.ClientFrame{Type: protocol.TypeHello}
	if !opts.HeaderAuth {
		hello.Token = opts.Token
	}
	ready, err := c.Request(ctx, hello)
	if err != nil {
		c.Close()
		return nil, err
	}
	c.Ready = ready
	return c, nil
}

// HTTPError is a refused upgrade.
type HTTPError struct {
	Status int
	err    error
}

func (e *HTTPError) Error() string {
	return fmt.Sprintf("client: upgrade refused with HTTP %d: %v", e.Status, e.err)
}
func (e *HTTPError) Unwrap() error { return e.err }

func (c *Client) readLoop() {
	defer c.wg.Done()
	defer close(c.done)
	for {
		_, data, err := c.conn.Read(context.Background())
		if err != nil {
			c.rdErr = err
			return
		}
		select {
		case c.msgs <- data:
		case <-c.stop:
		}
	}
}

// Close closes the connection normally and waits for the reader.
func (c *Client) Close() error {
	c.closeOnce.Do(func() {
		close(c.stop)
		_ = c.conn.Close(websocket.StatusNormalClosure, "")
		c.wg.Wait()
	})
	return nil
}

// CloseNow drops the connection without the close handshake, as a crashed
// client or a lost network would.
func (c *Client) CloseNow() {
	c.closeOnce.Do(func() {
		close(c.stop)
		_ = c.conn.CloseNow()
		c.wg.Wait()
	})
}

// Write sends one raw client frame (used by tests to send malformed input).
func (c *Client) Write(ctx context.Context, data []byte) error {
	return c.conn.Write(ctx, websocket.MessageText, data)
}

// WriteBinary sends one binary message.
func (c *Client) WriteBinary(ctx context.Context, data []byte) error {
	return c.conn.Write(ctx, websocket.MessageBinary, data)
}

// SendFrame writes a client frame without waiting for a response.
func (c *Client) SendFrame(ctx context.Context, f protocol.ClientFrame) error {
	b, err := json.Marshal(f)
	if err != nil {
		return err
	}
	return c.Write(ctx, b)
}

// Next returns the next frame from the server, waiting until one arrives,
// ctx is done or the connection closes (the error then carries the close
// code; see CloseCode).
func (c *Client) Next(ctx context.Context) (protocol.ServerFrame, error) {
	for len(c.queue) == 0 {
		if err := c.fill(ctx); err != nil {
			return protocol.ServerFrame{}, err
		}
	}
	f := c.queue[0]
	c.queue[0] = protocol.ServerFrame{}
	c.queue = c.queue[1:]
	return f, nil
}

// fill reads one WebSocket message and queues its frames.
func (c *Client) fill(ctx context.Context) error {
	var data []byte
	select {
	case data = <-c.msgs:
	case <-ctx.Done():
		return ctx.Err()
	case <-c.done:
		select {
		case data = <-c.msgs:
		default:
			return fmt.Errorf("%w: %w", ErrClosed, c.rdErr)
		}
	}
	for line := range bytes.SplitSeq(data, []byte{'\n'}) {
		if len(line) == 0 {
			continue
		}
		var f protocol.ServerFrame
		if err := json.Unmarshal(line, &f); err != nil {
			return fmt.Errorf("client: bad frame from server: %w", err)
		}
		if f.Seq > 0 && f.ConversationID != "" && f.Seq > c.lastSeq[f.ConversationID] {
			c.lastSeq[f.ConversationID] = f.Seq
		}
		if f.Type == protocol.TypeOpened && f.LastSeq > c.lastSeq[f.ConversationID] {
			c.lastSeq[f.ConversationID] = f.LastSeq
		}
		c.queue = append(c.queue, f)
	}
	return nil
}

// LastSeq returns the last sequence number this client saw in a
// conversation.
func (c *Client) LastSeq(conversationID string) int64 { return c.lastSeq[conversationID] }

// Request sends f with a fresh request id and waits for the frame answering
// it. An error frame answering it is returned as a *ServerError. Frames that
// arrive meanwhile stay queued for Next.
func (c *Client) Request(ctx context.Context, f protocol.ClientFrame) (protocol.ServerFrame, error) {
	c.nextID++
	f.ID = "q" + strconv.Itoa(c.nextID)
	if err := c.SendFrame(ctx, f); err != nil {
		return protocol.ServerFrame{}, err
	}
	return c.await(ctx, f.ID)
}

func (c *Client) await(ctx context.Context, id string) (protocol.ServerFrame, error) {
	scanned := 0
	for {
		for i := scanned; i < len(c.queue); i++ {
			if c.queue[i].ID != id {
				continue
			}
			f := c.queue[i]
			c.queue = append(c.queue[:i], c.queue[i+1:]...)
			if f.Type == protocol.TypeError && f.Error != nil {
				return f, &ServerError{Body: *f.Error}
			}
			return f, nil
		}
		scanned = len(c.queue)
		if err := c.fill(ctx); err != nil {
			return protocol.ServerFrame{}, err
		}
	}
}
