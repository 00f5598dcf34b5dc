package admin

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/chatboxsdk/chatbox/auth"
	"github.com/chatboxsdk/chatbox/protocol"
	"github.com/chatboxsdk/chatbox/ratelimit"
	"github.com/chatboxsdk/chatbox/storage"
)

// DefaultStoreTimeout bounds each Store, Authenticator and Limiter call
// when Config.StoreTimeout is zero.
const DefaultStoreTimeout = 5 * time.Second

// Default per-operator budget used when Config.Limit is the zero Limit:
// DefaultRate requests a second with bursts of DefaultBurst.
const (
	DefaultRate  = 5
	DefaultBurst = 30
)

// Default budget per client address, spent before the token is checked,
// when Config.AddressLimit is the zero Limit: DefaultAddressRate requests a
// second with bursts of DefaultAddressBurst.
const (
	DefaultAddressRate  = 20
	DefaultAddressBurst = 100
)

// maxLoggedPathBytes bounds the path in a request's log line: the path
// comes from the client, before authentication.
const maxLoggedPathBytes = 300

// Config configures a Handler. New validates it and copies what it keeps,
// so changing a Config after New has no effect on the Handler.
type Config struct {
	// Store is read for every answer. Required.
	Store storage.Store
	// Usage answers GET /usage; default: Store, when it implements
	// storage.UsageStore (otherwise /usage answers 501).
	Usage storage.UsageStore
	// Blobs answers DELETE /users/{id}/files; default: Store, when it
	// implements storage.BlobStore (otherwise that answers 501).
	Blobs storage.BlobStore
	// Cost prices a conversation's tokens for its stats.cost (ok false:
	// no price for the model); nil leaves cost out.
	Cost func(model string, u storage.Usage) (cost float64, ok bool)
	// Authenticator verifies the bearer token of every request. Required.
	Authenticator auth.Authenticator
	// RequestAuthenticator, when set, is asked first who sent each request
	// (the host's cookie session, a gateway header); when it reports
	// auth.ErrNoCredentials the bearer token decides. Its identity passes
	// the same checks as a token's. Default: none (tokens only).
	RequestAuthenticator auth.RequestAuthenticator
	// Limiter enforces Limit per operator, under the key "admin:"+UserID.
	// Required. When the Limiter fails (rather than denies), the request
	// is allowed and a warning is logged.
	Limiter ratelimit.Limiter
	// Limit is each operator's request budget. The zero Limit means
	// DefaultRate requests a second with bursts of DefaultBurst; otherwise
	// Burst must be at least 1 and Rate a non-negative number (+Inf
	// disables the limit).
	Limit ratelimit.Limit
	// AddressLimit is each client address's request budget, spent before
	// the token is verified, so floods of bad tokens cost the
	// Authenticator nothing (key "admin-addr:" + ClientAddress). The zero
	// Limit means DefaultAddressRate a second with bursts of
	// DefaultAddressBurst; generous, as operators may share an address.
	AddressLimit ratelimit.Limit
	// ClientAddress returns the address a request counts against; it must
	// only trust forwarding headers set by the host's own proxies. Default:
	// the host part of http.Request.RemoteAddr.
	ClientAddress func(*http.Request) string
	// OperatorRoles lists the roles that may use the API: an identity
	// holding any of them is an operator. Required, non-empty, no empty
	// role.
	OperatorRoles []string
	// TokenCookie, when set, names a cookie read for the token when the
	// request has no Authorization header. Default: none (header only).
	// Tokens are never read from the URL.
	TokenCookie string
	// Logger receives one Info line per request (method, path, status,
	// duration), warnings for failed dependencies and the details of
	// internal errors. Every line of a request carries its request_id and,
	// once authenticated, the operator's user id as operator; tokens and
	// query strings are never logged. Default: a logger that discards
	// everything.
	Logger *slog.Logger
	// Now is the clock, used for the default range of /metrics and to
	// refuse identities past their ExpiresAt. Default time.Now.
	Now func() time.Time
	// ActiveConversations reports the number of conversations live right
	// now, shown as "active_now" by /metrics. It must be safe for
	// concurrent use. Default: always 0.
	ActiveConversations func() int
	// StoreTimeout bounds each call to the Store, and also each call to
	// the Authenticator and the Limiter. Default DefaultStoreTimeout (5s);
	// negative is an error.
	StoreTimeout time.Duration
}

// Handler serves the operator API. It holds no mutable state and is safe
// for concurrent use; it starts no goroutines.
type Handler struct {
	store        storage.Store
	usage        storage.UsageStore
	blobs        storage.BlobStore
	cost         func(model string, u storage.Usage) (float64, bool)
	authn        auth.Authenticator
	signIn       auth.RequestAuthenticator // Config.RequestAuthenticator (signin.go)
	limiter      ratelimit.Limiter
	limit        ratelimit.Limit
	addrLimit    ratelimit.Limit
	clientAddr   func(*http.Request) string
	roles        []string
	tokenCookie  string
	log          *slog.Logger
	now          func() time.Time
	active       func() int
	storeTimeout time.Duration
}

// New validates cfg and returns a Handler. Every problem is reported at
// once, joined with errors.Join; a missing dependency is an error.
func New(cfg Config) (*Handler, error) {
	var errs []error
	if cfg.Store == nil {
		errs = append(errs, errors.New("admin: Store is required"))
	}
	if cfg.Authenticator == nil {
		errs = append(errs, errors.New("admin: Authenticator is required"))
	}
	if cfg.Limiter == nil {
		errs = append(errs, errors.New("admin: Limiter is required"))
	}
	if cfg.Limit == (ratelimit.Limit{}) {
		cfg.Limit = ratelimit.Limit{Rate: DefaultRate, Burst: DefaultBurst}
	}
	if cfg.Limit.Burst < 1 {
		errs = append(errs, fmt.Errorf("admin: Limit.Burst %d is below 1", cfg.Limit.Burst))
	}
	if math.IsNaN(cfg.Limit.Rate) || cfg.Limit.Rate < 0 {
		errs = append(errs, fmt.Errorf("admin: Limit.Rate %v is not a non-negative number", cfg.Limit.Rate))
	}
	if cfg.AddressLimit == (ratelimit.Limit{}) {
		cfg.AddressLimit = ratelimit.Limit{Rate: DefaultAddressRate, Burst: DefaultAddressBurst}
	}
	if cfg.AddressLimit.Burst < 1 || math.IsNaN(cfg.AddressLimit.Rate) || cfg.AddressLimit.Rate < 0 {
		errs = append(errs, fmt.Errorf("admin: AddressLimit %+v needs a non-negative rate and a burst of at least 1", cfg.AddressLimit))
	}
	if len(cfg.OperatorRoles) == 0 {
		errs = append(errs, errors.New("admin: OperatorRoles is required"))
	}
	if slices.Contains(cfg.OperatorRoles, "") {
		errs = append(errs, errors.New("admin: OperatorRoles contains an empty role"))
	}
	if cfg.TokenCookie != "" && !validCookieName(cfg.TokenCookie) {
		errs = append(errs, fmt.Errorf("admin: TokenCookie %q is not a valid cookie name", cfg.TokenCookie))
	}
	if cfg.StoreTimeout < 0 {
		errs = append(errs, fmt.Errorf("admin: StoreTimeout %v is negative", cfg.StoreTimeout))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if cfg.Usage == nil {
		cfg.Usage, _ = cfg.Store.(storage.UsageStore)
	}
	if cfg.Blobs == nil {
		cfg.Blobs, _ = cfg.Store.(storage.BlobStore)
	}
	h := &Handler{
		store:        cfg.Store,
		usage:        cfg.Usage,
		blobs:        cfg.Blobs,
		cost:         cfg.Cost,
		authn:        cfg.Authenticator,
		signIn:       cfg.RequestAuthenticator,
		limiter:      cfg.Limiter,
		limit:        cfg.Limit,
		addrLimit:    cfg.AddressLimit,
		clientAddr:   cfg.ClientAddress,
		roles:        slices.Clone(cfg.OperatorRoles),
		tokenCookie:  cfg.TokenCookie,
		log:          cfg.Logger,
		now:          cfg.Now,
		active:       cfg.ActiveConversations,
		storeTimeout: cfg.StoreTimeout,
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if h.now == nil {
		h.now = time.Now
	}
	if h.active == nil {
		h.active = func() int { return 0 }
	}
	if h.storeTimeout == 0 {
		h.storeTimeout = DefaultStoreTimeout
	}
	if h.clientAddr == nil {
		h.clientAddr = remoteHost
	}
	return h, nil
}

// remoteHost is the default ClientAddress: the peer's IP address.
func remoteHost(r *http.Request) string {
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}

// validCookieName reports whether name is an RFC 6265 token.
func validCookieName(name string) bool {
	for _, r := range name {
		if r <= ' ' || r >= 0x7f || strings.ContainsRune(`()<>@,;:\"/[]?={}`, r) {
			return false
		}
	}
	return true
}

// endpoint is one route of the API: it returns the body of a 200 answer
// or the error to send.
type endpoint func(h *Handler, rq *request) (any, *apiError)

// route finds the endpoint of a path, returning the path's conversation id
// for the routes that have one. ok is false for an unknown path.
func route(escapedPath string) (ep endpoint, id string, ok bool) {
	if !strings.HasPrefix(escapedPath, "/") { // mounted with StripPrefix("/admin/")
		escapedPath = "/" + escapedPath
	}
	switch escapedPath {
	case "/conversations":
		return (*Handler).listConversations, "", true
	case "/metrics":
		return (*Handler).metrics, "", true
	case "/audit":
		return (*Handler).listAudit, "", true
	case "/usage":
		return (*Handler).listUsage, "", true
	}
	rest, found := strings.CutPrefix(escapedPath, "/conversations/")
	if !found {
		return nil, "", false
	}
	raw, sub, _ := strings.Cut(rest, "/")
	id, err := url.PathUnescape(raw)
	if err != nil || id == "" {
		return nil, "", false
	}
	switch sub {
	case "":
		if strings.HasSuffix(rest, "/") {
			return nil, "", false
		}
		return (*Handler).getConversation, id, true
	case "messages":
		return (*Handler).listMessages, id, true
	}
	return nil, "", false
}

// ServeHTTP implements http.Handler. It routes the request, then
// authenticates it, checks the operator role and the operator's rate
// limit, and answers with JSON. See the package documentation for the
// endpoints and the error shape.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rq := &request{w: w, r: r, id: newRequestID()}
	rq.log = h.log.With("request_id", rq.id)
	w.Header().Set("X-Request-Id", rq.id)

	h.serve(rq)

	path := r.URL.Path
	if len(path) > maxLoggedPathBytes {
		path = path[:maxLoggedPathBytes] + "..."
	}
	rq.log.Info("admin request", "method", r.Method, "path", path,
		"status", rq.status, "duration_ms", time.Since(start).Milliseconds())
}

func (h *Handler) serve(rq *request) {
	if user, ok := userFilesPath(rq.r.URL.EscapedPath()); ok {
		h.serveEraseFiles(rq, user)
		return
	}
	ep, id, ok := route(rq.r.URL.EscapedPath())
	if !ok {
		rq.fail(&apiError{http.StatusNotFound, protocol.Errorf(protocol.CodeNotFound, "no such endpoint")})
		return
	}
	if rq.r.Method != http.MethodGet && rq.r.Method != http.MethodHead {
		rq.w.Header().Set("Allow", "GET, HEAD")
		rq.fail(&apiError{http.StatusMethodNotAllowed, &protocol.Error{Code: protocol.CodeInvalidField,
			Message: "method " + rq.r.Method + " is not allowed: use GET", Field: "method"}})
		return
	}
	if e := h.admit(rq); e != nil {
		rq.fail(e)
		return
	}
	rq.convID = id
	body, e := ep(h, rq)
	if e != nil {
		rq.fail(e)
		return
	}
	rq.respond(http.StatusOK, body)
}
