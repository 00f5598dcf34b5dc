package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/chatboxsdk/chatbox"
	"github.com/chatboxsdk/chatbox/auth"
	"github.com/chatboxsdk/chatbox/llm"
	"github.com/chatboxsdk/chatbox/storage"
	"github.com/chatboxsdk/chatbox/storage/memory"
	"github.com/chatboxsdk/chatbox/widget"
)

// The user every page signs in as (unless a test serves another token),
// and the operator the console signs in as.
const (
	userToken     = "token-alice-0123456789"
	userName      = "Alice"
	operatorToken = "token-olivia-0123456789"
	operatorName  = "Olivia"
)

// appConfig describes one host application: the chat Server mounted at
// /chat/ (its operator API at /chat/admin/), the widget's chat page at /
// and its operator console at /operator, and a token endpoint at /token.
type appConfig struct {
	Addr     string // listen address; "" picks a free port
	Store    *memory.Store
	Provider llm.Provider
	// Token is what /token hands out; default userToken. TokenStatus, when
	// set, makes /token fail with that HTTP status instead.
	Token       string
	TokenStatus int
	// WrapStore, when set, wraps the store the Server uses (to inject
	// failures); Store is still what the test reads.
	WrapStore func(storage.Store) storage.Store
	// Options are added to the Server's options.
	Options []chatbox.Option
	// Widget, when set, adjusts the widget's configuration.
	Widget func(*widget.Config)
}

// app is a running host application.
type app struct {
	URL    string // http://host:port
	Addr   string
	Server *chatbox.Server
	Store  *memory.Store
	hs     *http.Server
	ln     *trackingListener
	served chan error
	once   sync.Once
}

func startApp(t *testing.T, cfg appConfig) *app {
	t.Helper()
	if cfg.Store == nil {
		cfg.Store = memory.New()
	}
	if cfg.Token == "" {
		cfg.Token = userToken
	}
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	authn, err := auth.NewStaticTokens(map[string]auth.Identity{
		userToken:     {UserID: "alice", Name: userName},
		operatorToken: {UserID: "olivia", Name: operatorName, Roles: []string{"operator"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	var store storage.Store = cfg.Store
	if cfg.WrapStore != nil {
		store = cfg.WrapStore(store)
	}
	opts := append([]chatbox.Option{chatbox.WithStore(store), chatbox.WithLLM(cfg.Provider), chatbox.WithAuthenticator(authn)}, cfg.Options...)
	chat, err := chatbox.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	wc := widget.Config{SocketURL: "/chat/ws", TokenURL: "/token", Title: "Acme Support"}
	if cfg.Widget != nil {
		cfg.Widget(&wc)
	}
	page, err := widget.Handler(wc)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/chat/", http.StripPrefix("/chat", chat))
	mux.HandleFunc("GET /token", func(w http.ResponseWriter, _ *http.Request) {
		if cfg.TokenStatus != 0 {
			http.Error(w, "no session", cfg.TokenStatus)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"token": cfg.Token})
	})
	mux.Handle("/", page)

	ln, err := listen(cfg.Addr)
	if err != nil {
		_ = chat.Close()
		t.Fatal(err)
	}
	a := &app{
		URL: "http://" + ln.Addr().String(), Addr: ln.Addr().String(), Server: chat, Store: cfg.Store,
		hs: &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}, ln: ln, served: make(chan error, 1),
	}
	go func() { a.served <- a.hs.Serve(ln) }()
	t.Cleanup(func() { a.stop(t, 0) })
	return a
}

// listen listens on addr, retrying briefly while a previous listener on the
// same address is still being released.
func listen(addr string) (*trackingListener, error) {
	var err error
	for range 50 {
		var ln net.Listener
		if ln, err = net.Listen("tcp", addr); err == nil {
			return &trackingListener{Listener: ln, conns: map[net.Conn]struct{}{}}, nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil, err
}

// stop shuts the application down: the chat Server gets grace to finish
// running replies (none when grace is 0), then the HTTP server closes.
func (a *app) stop(t *testing.T, grace time.Duration) {
	a.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), grace)
		defer cancel()
		if err := a.Server.Shutdown(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("chat shutdown: %v", err)
		}
		_ = a.hs.Close()
		if err := <-a.served; err != nil && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
			t.Errorf("serve: %v", err)
		}
	})
}

// crash makes the application vanish from the network at once, as a killed
// process does: the listener closes and every connection, upgraded sockets
// included, is cut without a close frame. The chat Server itself keeps
// running (replies in progress go on to the store) until stop.
func (a *app) crash() {
	_ = a.ln.Close()
	a.ln.dropAll()
}

// trackingListener remembers accepted connections so crash can cut them:
// http.Server forgets connections once they are upgraded to WebSockets.
type trackingListener struct {
	net.Listener
	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

func (l *trackingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	l.conns[c] = struct{}{}
	l.mu.Unlock()
	return &trackedConn{Conn: c, l: l}, nil
}

func (l *trackingListener) dropAll() {
	l.mu.Lock()
	conns := make([]net.Conn, 0, len(l.conns))
	for c := range l.conns {
		conns = append(conns, c)
	}
	l.mu.Unlock()
	for _, c := range conns {
		_ = c.Close()
	}
}

type trackedConn struct {
	net.Conn
	l *trackingListener
}

func (c *trackedConn) Close() error {
	c.l.mu.Lock()
	delete(c.l.conns, c.Conn)
	c.l.mu.Unlock()
	return c.Conn.Close()
}

type llmRequest = llm.Request

// lastUser returns the last user message of a request.
func lastUser(req llm.Request) string {
	for i := len(req.Messages) - 1; i >= 0; i-- {
		if req.Messages[i].Role == llm.RoleUser {
			return req.Messages[i].Text
		}
	}
	return ""
}
