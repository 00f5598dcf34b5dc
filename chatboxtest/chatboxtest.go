// Package chatboxtest starts a real chatbox Server on an httptest server and
// dials it with the real client, for tests of the library and of host
// applications. Everything in it behaves for real: the store, the scripted
// provider and static tokens.
//
// The store is the memory store unless Config.Store names another, or the
// environment chooses one for every Harness of a test run: with
// CHATBOX_TEST_STORE=postgres each Harness gets a fresh schema of the
// PostgreSQL database at CHATBOX_TEST_POSTGRES_URL (dropped when the test
// ends), so a whole suite of tests runs once per store without copies.
package chatboxtest

import (
	"context"
	"net"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chatboxsdk/chatbox"
	"github.com/chatboxsdk/chatbox/auth"
	"github.com/chatboxsdk/chatbox/client"
	"github.com/chatboxsdk/chatbox/llm"
	"github.com/chatboxsdk/chatbox/llm/scripted"
	"github.com/chatboxsdk/chatbox/storage"
)

// Users known to every Harness; each one's token is "token-" + name.
var Users = []string{"alice", "bob", "carol"}

// Operators known to every Harness, with the role "operator"; each one's
// token is "token-" + name, too.
var Operators = []string{"olivia", "oscar"}

// Token returns the static token of a harness user.
func Token(user string) string { return "token-" + user }

// Config adjusts a Harness.
type Config struct {
	// Provider answers; default: a scripted provider that echoes the last
	// user message word by word ("echo: <text>").
	Provider llm.Provider
	// Options are passed to chatbox.New after the harness's own (store,
	// provider, authenticator), so they can override them.
	Options []chatbox.Option
	// Store is where the Server persists; default: see the package doc.
	Store storage.Store
	// SocketBufferBytes, when positive, shrinks the kernel send and receive
	// buffers of every accepted connection, so a client that stops reading
	// fills the server's queue after a few KiB instead of megabytes.
	SocketBufferBytes int
}

// Harness is a running Server with its parts exposed.
type Harness struct {
	Server *chatbox.Server
	HTTP   *httptest.Server
	// URL is the ws:// address of the Server's WebSocket endpoint.
	URL string
	// AdminURL is the http:// address of the operator API (with the
	// default WithAdminPrefix), ending in "/".
	AdminURL string
	Store    storage.Store
	// Provider is the configured provider (the default echo provider when
	// Config.Provider was nil).
	Provider llm.Provider
}

// Echo returns the harness's default responder: "echo: " followed by the
// last user message, one word per delta.
func Echo() func(llm.Request) scripted.Reply {
	return func(req llm.Request) scripted.Reply {
		last := ""
		if n := len(req.Messages); n > 0 {
			last = req.Messages[n-1].Text
		}
		return scripted.Reply{Deltas: scripted.Words("echo: " + last), Usage: llm.Usage{InputTokens: int64(len(req.Messages)), OutputTokens: 3}}
	}
}

// New starts a Harness; it is shut down when the test ends.
func New(t testing.TB, cfg Config) *Harness {
	t.Helper()
	h := &Harness{Store: cfg.Store, Provider: cfg.Provider}
	if h.Store == nil {
		h.Store = newStore(t)
	}
	if h.Provider == nil {
		h.Provider = scripted.New(scripted.WithResponder(Echo()))
	}
	tokens := map[string]auth.Identity{}
	for _, u := range Users {
		tokens[Token(u)] = auth.Identity{UserID: u, Name: strings.ToUpper(u[:1]) + u[1:]}
	}
	for _, u := range Operators {
		tokens[Token(u)] = auth.Identity{UserID: u, Name: strings.ToUpper(u[:1]) + u[1:], Roles: []string{chatbox.DefaultOperatorRole}}
	}
	authn, err := auth.NewStaticTokens(tokens)
	if err != nil {
		t.Fatal(err)
	}
	opts := append([]chatbox.Option{
		chatbox.WithStore(h.Store), chatbox.WithLLM(h.Provider), chatbox.WithAuthenticator(authn),
	}, cfg.Options...)
	srv, err := chatbox.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	h.Server = srv
	h.HTTP = httptest.NewUnstartedServer(srv)
	if cfg.SocketBufferBytes > 0 {
		h.HTTP.Listener = &smallBufferListener{Listener: h.HTTP.Listener, size: cfg.SocketBufferBytes}
	}
	h.HTTP.Start()
	h.URL = "ws" + strings.TrimPrefix(h.HTTP.URL, "http") + "/ws"
	h.AdminURL = h.HTTP.URL + chatbox.DefaultAdminPrefix
	t.Cleanup(func() {
		_ = h.Server.Close()
		h.HTTP.Close()
	})
	return h
}

// Dial connects as user (or operator) and waits for ready; the client is closed when the
// test ends.
func (h *Harness) Dial(t testing.TB, user string) *client.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, h.URL, client.Options{Token: Token(user)})
	if err != nil {
		t.Fatalf("dial as %s: %v", user, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

type smallBufferListener struct {
	net.Listener
	size int
}

func (l *smallBufferListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetWriteBuffer(l.size)
		_ = tc.SetReadBuffer(l.size)
	}
	return c, nil
}
