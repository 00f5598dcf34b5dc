// Package demo holds what the router recipes share and a real host has of
// its own: a cookie sign-in, the handler that puts the chat Server and the
// chat page under one prefix, and a run loop with a graceful stop.
package demo

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/chatboxsdk/chatbox"
	"github.com/chatboxsdk/chatbox/auth"
)

// CookieName is the demo session cookie.
const CookieName = "session"

// user returns the demo account named name: ana is a user, olivia an
// operator.
func user(name string) (auth.Identity, bool) {
	switch name {
	case "ana":
		return auth.Identity{UserID: "ana", Name: "Ana"}, true
	case "olivia":
		return auth.Identity{UserID: "olivia", Name: "Olivia", Roles: []string{chatbox.DefaultOperatorRole}}, true
	}
	return auth.Identity{}, false
}

// Sessions is a host's cookie sign-in, kept in memory: session id → user.
// It is the auth.RequestAuthenticator given to chatbox.
type Sessions struct {
	mu       sync.Mutex
	sessions map[string]auth.Identity
}

// NewSessions returns an empty session table.
func NewSessions() *Sessions { return &Sessions{sessions: map[string]auth.Identity{}} }

// Start signs name in and returns the session cookie (for SignIn and tests).
func (s *Sessions) Start(name string) (*http.Cookie, error) {
	id, ok := user(name)
	if !ok {
		return nil, fmt.Errorf("demo: no user %q", name)
	}
	sid := rand.Text()
	s.mu.Lock()
	s.sessions[sid] = id
	s.mu.Unlock()
	// SameSite=Lax: browsers do not attach the cookie to sockets or API
	// calls that other sites' pages start.
	return &http.Cookie{Name: CookieName, Value: sid, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode}, nil
}

// SignIn is the demo's sign-in page: GET /signin?user=ana sets the session
// cookie and sends the browser to the chat page. A real host checks a
// password or an identity provider here.
func (s *Sessions) SignIn(w http.ResponseWriter, r *http.Request) {
	c, err := s.Start(r.URL.Query().Get("user"))
	if err != nil {
		http.Error(w, "unknown user: try /signin?user=ana or /signin?user=olivia", http.StatusNotFound)
		return
	}
	http.SetCookie(w, c)
	http.Redirect(w, r, "/chat/", http.StatusSeeOther)
}

// AuthenticateRequest implements auth.RequestAuthenticator.
func (s *Sessions) AuthenticateRequest(r *http.Request) (auth.Identity, error) {
	c, err := r.Cookie(CookieName)
	if err != nil {
		return auth.Identity{}, auth.ErrNoCredentials
	}
	s.mu.Lock()
	id, ok := s.sessions[c.Value]
	s.mu.Unlock()
	if !ok {
		return auth.Identity{}, fmt.Errorf("demo: unknown session: %w", auth.ErrInvalidToken)
	}
	return id, nil
}

// ChatAndPage routes the paths under one prefix (already stripped) to the
// chat Server (the socket, health and the operator API) or to the chat page
// (the widget: the page at /, the console at /operator, their scripts).
func ChatAndPage(chat *chatbox.Server, page http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/ws", chat)
	mux.Handle("/health", chat)
	mux.Handle("/health/", chat)
	mux.Handle("/admin/", chat)
	mux.Handle("/", page)
	return mux
}

// Run serves h on addr until SIGINT or SIGTERM, then shuts chat down and
// then the HTTP server.
func Run(addr string, h http.Handler, chat *chatbox.Server) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		_ = chat.Close()
		return err
	}
	// ReadHeaderTimeout against slow-header clients; no WriteTimeout (see
	// SECURITY.md, "http.Server settings").
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10}
	log.Printf("sign in at http://%s/signin?user=ana (or olivia, an operator), then chat at /chat/", ln.Addr())
	serveErr := make(chan error, 1)
	go func() { serveErr <- hs.Serve(ln) }()
	select {
	case err := <-serveErr:
		_ = chat.Close()
		return err
	case <-ctx.Done():
	}
	stop()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	chatErr := chat.Shutdown(shutdownCtx)
	httpErr := hs.Shutdown(shutdownCtx)
	<-serveErr
	return errors.Join(chatErr, httpErr)
}
