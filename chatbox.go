package chatbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/chatboxsdk/chatbox/admin"
	"github.com/chatboxsdk/chatbox/auth"
	"github.com/chatboxsdk/chatbox/internal/access"
	"github.com/chatboxsdk/chatbox/internal/engine"
	"github.com/chatboxsdk/chatbox/internal/metrics"
	"github.com/chatboxsdk/chatbox/notify"
	"github.com/chatboxsdk/chatbox/protocol"
)

// DefaultModel is the id under which the provider given to WithLLM is
// offered to clients.
const DefaultModel = "default"

// Server is a chat backend. It is an http.Handler serving:
//
//	GET /ws            the WebSocket endpoint (subprotocol chatbox.v1)
//	GET /health/live   liveness: 200 while the process serves requests
//	GET /health/ready  readiness (also GET /health): 200 when the store
//	                   answers, models are configured and Shutdown has not
//	                   begun; 503 otherwise; JSON either way
//	/admin/            the operator HTTP API (package admin; WithAdminPrefix)
//
// Mount it under any prefix with http.StripPrefix. A Server is safe for
// concurrent use; its configuration cannot change after New.
type Server struct {
	cfg     config
	engine  *engine.Engine
	mux     *http.ServeMux
	origins originPolicy
	proxies []netip.Prefix

	verifier access.Verifier
	health   healthCache
	metrics  *metrics.Metrics // nil without WithMetrics
	notifier *notify.Async    // nil without WithNotifier

	// closers release what New created (never what the host passed in).
	closers  []func() error
	stopOnce sync.Once
}

// New builds a Server from options. Every invalid option is reported, all
// at once, in the returned error (joined with errors.Join); each message
// names its option.
func New(opts ...Option) (*Server, error) {
	cfg, verifier, err := applyOptions(opts)
	if err != nil {
		return nil, err
	}
	s := &Server{}
	if verifier != nil {
		cfg.Authenticator = verifier
		s.closers = append(s.closers, verifier.Close)
	}
	if err := s.complete(&cfg); err != nil {
		s.close()
		return nil, err
	}
	s.cfg = cfg // from here on read only, by everything
	e, err := engine.New(&s.cfg)
	if err != nil {
		s.close()
		return nil, fmt.Errorf("chatbox: %w", err)
	}
	s.engine = e
	s.verifier = access.Verifier{Authenticator: s.cfg.Authenticator, Timeout: s.cfg.StoreTimeout, Now: s.cfg.Now, Logger: s.cfg.Logger}
	adminAPI, err := admin.New(admin.Config{
		Store: cfg.Store, Usage: cfg.Usage, Blobs: cfg.Blobs, Cost: conversationCost(cfg.Prices), Authenticator: cfg.Authenticator, Limiter: cfg.Limiter, Limit: cfg.AdminRate,
		OperatorRoles: cfg.OperatorRoles, TokenCookie: cfg.TokenCookie, Logger: cfg.Logger,
		ActiveConversations: e.ActiveConversations, StoreTimeout: cfg.StoreTimeout,
		ClientAddress: func(req *http.Request) string { return clientIP(req, s.proxies) },

		RequestAuthenticator: adminSignIn(&cfg), // WithRequestAuthenticator (options_signin.go)
	})
	if err != nil {
		_ = e.Shutdown(context.Background())
		s.close()
		return nil, fmt.Errorf("chatbox: admin API: %w", err)
	}
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("GET /ws", s.serveWebSocket)
	s.mux.HandleFunc("GET /health", s.serveReady)
	s.mux.HandleFunc("GET /health/ready", s.serveReady)
	s.mux.HandleFunc("GET /health/live", s.serveLive)
	s.mux.HandleFunc("POST /files", s.serveUpload)
	s.mux.HandleFunc("GET /files/{conversation}/{file}", s.serveFile)
	s.mux.HandleFunc("DELETE /files/{conversation}/{file}", s.serveDeleteFile)
	s.mux.Handle(cfg.AdminPrefix, http.StripPrefix(strings.TrimSuffix(cfg.AdminPrefix, "/"), adminAPI))
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Shutdown stops the Server gracefully: new sockets are refused with 503;
// running replies may finish while ctx allows; replies still running when
// ctx is done are cancelled and stored with finish reason interrupted;
// every socket is closed with 1001, in parallel; background work stops.
// It returns ctx.Err() if the deadline won, nil otherwise. It is safe to call
// more than once. Shutdown does not close the Store, Limiter or Broker the
// host passed in.
func (s *Server) Shutdown(ctx context.Context) error {
	start := time.Now()
	err := s.engine.Shutdown(ctx)
	if s.notifier != nil {
		// Help requests already queued go out while ctx allows.
		if nerr := s.notifier.Close(ctx); err == nil {
			err = nerr
		}
	}
	s.metrics.ShutdownDuration(time.Since(start))
	s.close()
	return err
}

// Close stops the Server at once: running replies are stored as
// interrupted and sockets are closed. It is Shutdown with no grace period.
func (s *Server) Close() error {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Shutdown(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

func (s *Server) close() {
	s.stopOnce.Do(func() {
		for _, c := range s.closers {
			_ = c()
		}
	})
}

// LiveConversations reports how many conversations have live state in
// memory (bounded by WithMaxSessions).
func (s *Server) LiveConversations() int { return s.engine.LiveConversations() }

func (s *Server) serveWebSocket(w http.ResponseWriter, r *http.Request) {
	conn, identity, release := s.upgrade(w, r)
	if conn != nil {
		s.engine.Serve(conn, identity, release)
	}
}

// upgrade runs every check before the upgrade and accepts the socket, or
// answers with an HTTP error and returns nil. It is a function of its own
// so that its large frame is not parked on every idle socket's stack.
//
//go:noinline
func (s *Server) upgrade(w http.ResponseWriter, r *http.Request) (conn *websocket.Conn, identity *auth.Identity, release func()) {
	if s.engine.ShuttingDown() {
		httpError(w, http.StatusServiceUnavailable, protocol.Errorf(protocol.CodeShuttingDown, "the server is shutting down"))
		return nil, nil, nil
	}
	// The origin is checked first, so a hostile page cannot spend its
	// visitors' connection budget.
	if !s.origins.allows(r) {
		httpError(w, http.StatusForbidden, protocol.Errorf(protocol.CodeForbiddenOrigin, "this origin may not open sockets"))
		return nil, nil, nil
	}
	ip := clientIP(r, s.proxies)
	if perr := access.Allow(r.Context(), s.cfg.Limiter, "ip:"+ip, s.cfg.ConnectionRate, func() *slog.Logger { return s.cfg.Logger }); perr != nil {
		s.metrics.LimiterDenied("connect")
		perr.Message = "too many connection attempts"
		httpError(w, http.StatusTooManyRequests, perr)
		return nil, nil, nil
	}
	// Sockets open at once per address (WithMaxSocketsPerAddress), counted
	// by the same address rule; released when the socket ends, or below if
	// the upgrade is refused.
	free, ok := s.engine.AcquireAddress(ip)
	if !ok {
		s.metrics.LimiterDenied("address_sockets")
		httpError(w, http.StatusTooManyRequests, protocol.Errorf(protocol.CodeLimitReached, "too many sockets open from this address"))
		return nil, nil, nil
	}
	defer func() {
		if conn == nil {
			free()
		}
	}()
	if !offersSubprotocol(r) {
		httpError(w, http.StatusBadRequest, protocol.Errorf(protocol.CodeUnsupportedProtocol, "offer the %s subprotocol", protocol.Subprotocol))
		return nil, nil, nil
	}
	identity, refused := s.upgradeIdentity(w, r)
	if refused {
		return nil, nil, nil
	}
	var err error
	conn, err = websocket.Accept(w, r, &websocket.AcceptOptions{
		Subprotocols: []string{protocol.Subprotocol},
		// The origin was checked above, with scheme-aware patterns.
		InsecureSkipVerify: true,
	})
	if err != nil {
		return nil, nil, nil // Accept has written the HTTP error
	}
	return conn, identity, free
}

// upgradeIdentity finds who the upgrade request proves to be (nil: the
// client authenticates with its hello frame), or answers it with an HTTP
// error and reports refused.
func (s *Server) upgradeIdentity(w http.ResponseWriter, r *http.Request) (identity *auth.Identity, refused bool) {
	// A token in the URL, or a query that hides one, is a malformed
	// request (400); past that, the only refusal is a blank bearer token,
	// a bad credential like any other (401).
	if perr := access.CheckURL(r, s.cfg.QueryToken); perr != nil {
		httpError(w, http.StatusBadRequest, perr)
		return nil, true
	}
	token, found, perr := access.Source{Cookie: s.cfg.TokenCookie, Query: s.cfg.QueryToken}.Token(r)
	if perr != nil {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		httpError(w, http.StatusUnauthorized, perr)
		return nil, true
	}
	identity, answered := s.requestIdentity(w, r) // WithRequestAuthenticator (options_signin.go)
	if answered {
		return nil, true
	}
	if found && identity == nil {
		id, perr := s.verifier.Verify(r.Context(), token)
		switch {
		case perr == nil:
			identity = &id
		case perr.Code == protocol.CodeUnauthorized:
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			httpError(w, http.StatusUnauthorized, perr)
			return nil, true
		default:
			httpError(w, http.StatusServiceUnavailable, perr)
			return nil, true
		}
	}
	return identity, false
}

func offersSubprotocol(r *http.Request) bool {
	for _, v := range r.Header.Values("Sec-WebSocket-Protocol") {
		for p := range strings.SplitSeq(v, ",") {
			if strings.TrimSpace(p) == protocol.Subprotocol {
				return true
			}
		}
	}
	return false
}

func httpError(w http.ResponseWriter, code int, e *protocol.Error) {
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", fmt.Sprint(int(e.RetryAfter.Seconds()+0.999)))
	}
	writeJSON(w, code, struct {
		Error *protocol.ErrorBody `json:"error"`
	}{e.Body()})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
