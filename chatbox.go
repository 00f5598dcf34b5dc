package chatbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/chatboxsdk/chatbox/admin"
	"github.com/chatboxsdk/chatbox/auth"
	memorybroker "github.com/chatboxsdk/chatbox/broker/memory"
	"github.com/chatboxsdk/chatbox/metrics"
	"github.com/chatboxsdk/chatbox/notify"
	"github.com/chatboxsdk/chatbox/protocol"
	"github.com/chatboxsdk/chatbox/ratelimit"
	"github.com/chatboxsdk/chatbox/router"
	memorystore "github.com/chatboxsdk/chatbox/storage/memory"
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
	router  *router.Router
	mux     *http.ServeMux
	origins originPolicy
	proxies []netip.Prefix

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
	cfg := defaultConfig()
	var errs []error
	for _, opt := range opts {
		if opt == nil {
			errs = append(errs, errors.New("nil Option"))
			continue
		}
		if err := opt(&cfg); err != nil {
			errs = append(errs, err)
		}
	}
	errs = append(errs, cfg.validate()...)
	var jwt *auth.JWT
	if cfg.jwt != nil && cfg.authenticator == nil {
		// Built here so its configuration problems are reported with the
		// others; its key refresh lives until Shutdown.
		j, err := auth.NewJWT(context.Background(), *cfg.jwt)
		if err != nil {
			errs = append(errs, fmt.Errorf("WithJWT: %w", err))
		} else {
			jwt = j
		}
	}
	if len(errs) > 0 {
		if jwt != nil {
			_ = jwt.Close()
		}
		return nil, fmt.Errorf("chatbox: invalid options: %w", errors.Join(errs...))
	}

	s := &Server{}
	if jwt != nil {
		cfg.authenticator = jwt
		s.closers = append(s.closers, jwt.Close)
	}
	if cfg.authenticator == nil {
		cfg.authenticator = noTokens{} // only WithRequestAuthenticator (options_signin.go)
	}
	s.origins, _ = parseOriginPatterns(cfg.allowedOrigins) // validated by the option
	s.origins.allowAny, s.origins.requireOrigin = cfg.allowAnyOrigin, cfg.originRequired
	s.proxies, _ = parseTrustedProxies(cfg.trustedProxies)
	if cfg.allowAnyOrigin {
		cfg.logger.Warn("chatbox: WithAllowAnyOrigin: pages on ANY origin may open sockets; make sure tokens never travel in cookies")
	}
	if cfg.store == nil {
		cfg.store = memorystore.New()
	}
	if cfg.metricsRegisterer != nil {
		m, err := metrics.New(cfg.metricsRegisterer, "")
		if err != nil {
			s.close()
			return nil, fmt.Errorf("chatbox: WithMetrics: %w", err)
		}
		s.metrics = m // stays registered after Shutdown, which it measures
		cfg.store = meteredStore{inner: cfg.store, m: m, now: time.Now}
	}
	if cfg.limiter == nil {
		tb, err := ratelimit.NewTokenBucket(ratelimit.TokenBucketConfig{})
		if err != nil {
			s.close()
			return nil, fmt.Errorf("chatbox: default limiter: %w", err)
		}
		cfg.limiter = tb
	}
	if cfg.broker == nil {
		// The broker remembers conversations as long as their live state
		// may be kept, and no more of them.
		mb, err := memorybroker.New(memorybroker.Config{MaxConversations: cfg.maxSessions, IdleTTL: cfg.sessionTTL})
		if err != nil {
			s.close()
			return nil, fmt.Errorf("chatbox: default broker: %w", err)
		}
		cfg.broker = mb
		s.closers = append(s.closers, mb.Close)
	}
	var notifier notify.Notifier
	if cfg.notifier != nil {
		a := notify.NewAsync(cfg.notifier, 0, cfg.logger)
		s.notifier, notifier = a, a
		// Shutdown closes it with its own deadline first; this covers the
		// failure paths of New.
		s.closers = append(s.closers, func() error { return a.Close(context.Background()) })
	}
	models, defaultModel := cfg.routerModels()
	r, err := router.New(router.Config{
		Store: cfg.store, Broker: cfg.broker, Limiter: cfg.limiter,
		Authenticator: cfg.authenticator, Logger: cfg.logger,
		Models:       models,
		DefaultModel: defaultModel, SystemPrompt: cfg.systemPrompt, MaxTokens: cfg.maxTokens,
		MaxFrameBytes: cfg.maxFrameBytes, MaxTextBytes: cfg.maxTextBytes,
		MaxMetadataKeys: cfg.maxMetadataEntries, MaxMetadataValue: cfg.maxMetadataValueBytes, MaxQueueBytes: cfg.maxQueueBytes,
		MaxHistoryMessages: cfg.maxHistoryMessages, HistoryPageSize: cfg.historyPageSize,
		WriteTimeout: cfg.writeTimeout, PingInterval: cfg.pingInterval, HelloTimeout: cfg.helloTimeout,
		GenerationTimeout: cfg.generationTimeout, StoreTimeout: cfg.storeTimeout,
		DeltaCoalesceInterval: cfg.coalesceInterval,
		MessageLimit:          cfg.messageRate, ConversationLimit: cfg.conversationRate,
		SessionTTL: cfg.sessionTTL, MaxSessions: cfg.maxSessions,
		MaxSocketsPerUser: cfg.maxSocketsPerUser, MaxGenerationsPerUser: cfg.maxGenerationsPerUser,
		OperatorRoles: cfg.operatorRoles, HelpLimit: cfg.helpRate, OperatorLimit: cfg.adminRate,
		Notifier: notifier, Metrics: s.metrics,
	})
	if err != nil {
		s.close()
		return nil, fmt.Errorf("chatbox: %w", err)
	}
	s.router = r
	adminAPI, err := admin.New(admin.Config{
		Store: cfg.store, Authenticator: cfg.authenticator, Limiter: cfg.limiter, Limit: cfg.adminRate,
		OperatorRoles: cfg.operatorRoles, TokenCookie: cfg.tokenCookie, Logger: cfg.logger,
		ActiveConversations: r.ActiveConversations, StoreTimeout: cfg.storeTimeout,
		ClientAddress: func(req *http.Request) string { return clientIP(req, s.proxies) },

		RequestAuthenticator: cfg.adminSignIn(), // WithRequestAuthenticator (options_signin.go)
	})
	if err != nil {
		_ = r.Shutdown(context.Background())
		s.close()
		return nil, fmt.Errorf("chatbox: admin API: %w", err)
	}
	s.cfg = cfg
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("GET /ws", s.serveWebSocket)
	s.mux.HandleFunc("GET /health", s.serveReady)
	s.mux.HandleFunc("GET /health/ready", s.serveReady)
	s.mux.HandleFunc("GET /health/live", s.serveLive)
	s.mux.Handle(cfg.adminPrefix, http.StripPrefix(strings.TrimSuffix(cfg.adminPrefix, "/"), adminAPI))
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
	err := s.router.Shutdown(ctx)
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
func (s *Server) LiveConversations() int { return s.router.LiveConversations() }

func (s *Server) serveWebSocket(w http.ResponseWriter, r *http.Request) {
	conn, identity := s.upgrade(w, r)
	if conn != nil {
		s.router.Serve(conn, identity)
	}
}

// upgrade runs every check before the upgrade and accepts the socket, or
// answers with an HTTP error and returns nil. It is a function of its own
// so that its large frame is not parked on every idle socket's stack.
//
//go:noinline
func (s *Server) upgrade(w http.ResponseWriter, r *http.Request) (*websocket.Conn, *auth.Identity) {
	if s.router.ShuttingDown() {
		httpError(w, http.StatusServiceUnavailable, protocol.Errorf(protocol.CodeShuttingDown, "the server is shutting down"))
		return nil, nil
	}
	// The origin is checked first, so a hostile page cannot spend its
	// visitors' connection budget.
	if !s.origins.allows(r) {
		httpError(w, http.StatusForbidden, protocol.Errorf(protocol.CodeForbiddenOrigin, "this origin may not open sockets"))
		return nil, nil
	}
	ip := clientIP(r, s.proxies)
	if d, err := s.cfg.limiter.Allow(r.Context(), "ip:"+ip, s.cfg.connectionRate); err != nil {
		s.cfg.logger.Warn("rate limiter failed; allowing", "err", err)
	} else if !d.Allowed {
		s.metrics.LimiterDenied("connect")
		httpError(w, http.StatusTooManyRequests, &protocol.Error{Code: protocol.CodeRateLimited, Message: "too many connection attempts", RetryAfter: d.RetryAfter})
		return nil, nil
	}
	if !offersSubprotocol(r) {
		httpError(w, http.StatusBadRequest, protocol.Errorf(protocol.CodeUnsupportedProtocol, "offer the %s subprotocol", protocol.Subprotocol))
		return nil, nil
	}
	token, found, perr := s.upgradeToken(r)
	if perr != nil {
		httpError(w, http.StatusBadRequest, perr)
		return nil, nil
	}
	identity, answered := s.requestIdentity(w, r) // WithRequestAuthenticator (options_signin.go)
	if answered {
		return nil, nil
	}
	if found && identity == nil {
		ctx, cancel := context.WithTimeout(r.Context(), s.cfg.storeTimeout)
		id, err := s.cfg.authenticator.Authenticate(ctx, token)
		cancel()
		if err != nil {
			if errors.Is(err, auth.ErrInvalidToken) {
				w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
				httpError(w, http.StatusUnauthorized, protocol.Errorf(protocol.CodeUnauthorized, "invalid token"))
				return nil, nil
			}
			s.cfg.logger.Warn("authenticator failed", "err", err)
			httpError(w, http.StatusServiceUnavailable, protocol.Errorf(protocol.CodeUnavailable, "authentication is temporarily unavailable"))
			return nil, nil
		}
		identity = &id
	}
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{
		Subprotocols: []string{protocol.Subprotocol},
		// The origin was checked above, with scheme-aware patterns.
		InsecureSkipVerify: true,
	})
	if err != nil {
		return nil, nil // Accept has written the HTTP error
	}
	return conn, identity
}

// tokenQueryParams are refused in URLs unless WithQueryToken names one.
var tokenQueryParams = []string{"token", "access_token", "jwt", "auth", "authorization"}

// upgradeToken finds a token on the upgrade request: the Authorization
// header, then the configured cookie, then (only if configured) the query.
// Without any, the client must authenticate with its hello frame.
func (s *Server) upgradeToken(r *http.Request) (string, bool, *protocol.Error) {
	q := r.URL.Query()
	if s.cfg.queryToken == "" {
		for _, p := range tokenQueryParams {
			if q.Has(p) {
				return "", false, protocol.Errorf(protocol.CodeUnauthorized, "tokens in URLs are refused: send it in the hello frame or an Authorization header")
			}
		}
	}
	if t, ok := bearerToken(r); ok {
		return t, true, nil
	}
	if s.cfg.tokenCookie != "" {
		if c, err := r.Cookie(s.cfg.tokenCookie); err == nil && c.Value != "" {
			return c.Value, true, nil
		}
	}
	if s.cfg.queryToken != "" && q.Get(s.cfg.queryToken) != "" {
		return q.Get(s.cfg.queryToken), true, nil
	}
	return "", false, nil
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

func bearerToken(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	const prefix = "Bearer "
	if len(h) > len(prefix) && strings.EqualFold(h[:len(prefix)], prefix) {
		return strings.TrimSpace(h[len(prefix):]), true
	}
	return "", false
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
