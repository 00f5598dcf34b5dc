package admin

import (
	"context"
	"errors"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/chatboxsdk/chatbox/auth"
	"github.com/chatboxsdk/chatbox/protocol"
	"github.com/chatboxsdk/chatbox/ratelimit"
)

// isTokenParam reports whether a query parameter name is one that carries
// tokens; those are refused in URLs, where a token ends up in access logs,
// browser history and Referer headers. The names match the ones the chatbox
// server refuses on its socket endpoint, in any letter case.
func isTokenParam(name string) bool {
	switch strings.ToLower(name) {
	case "token", "access_token", "jwt", "auth", "authorization":
		return true
	}
	return false
}

// admit checks a request's credentials, role and rate limit, in that order.
// On success rq.operator is set and rq.log carries the operator's user id.
func (h *Handler) admit(rq *request) *apiError {
	// ParseQuery's partial result is enough to find token parameters; a
	// malformed query is refused later by the endpoint.
	q, _ := url.ParseQuery(rq.r.URL.RawQuery)
	for _, p := range slices.Sorted(maps.Keys(q)) {
		if isTokenParam(p) {
			rq.log.Info("admin: token in the URL refused", "param", p)
			return badField(p, "tokens in URLs are refused: send an Authorization: Bearer header")
		}
	}

	if perr := h.allow(rq, "admin-addr:"+h.clientAddr(rq.r), h.addrLimit); perr != nil {
		return perr
	}
	id, err := h.identify(rq.r) // Config.RequestAuthenticator, then the bearer token (signin.go)
	switch {
	case errors.Is(err, auth.ErrNoCredentials):
		rq.w.Header().Set("WWW-Authenticate", `Bearer`)
		return &apiError{http.StatusUnauthorized, protocol.Errorf(protocol.CodeUnauthorized, "a bearer token is required")}
	case errors.Is(err, auth.ErrInvalidToken):
		return unauthorized(rq) // the request's log line says 401

	case err != nil:
		ref := newRef()
		rq.log.Warn("admin: authenticator failed", "ref", ref, "err", err)
		return &apiError{http.StatusServiceUnavailable, &protocol.Error{Code: protocol.CodeUnavailable,
			Message: "authentication is temporarily unavailable", Ref: ref}}
	case id.UserID == "":
		rq.log.Warn("admin: authenticator returned an identity without a user id")
		return unauthorized(rq)
	case !id.ExpiresAt.IsZero() && !h.now().Before(id.ExpiresAt):
		rq.log.Info("admin: expired identity", "operator", id.UserID)
		return unauthorized(rq)
	}
	rq.log = rq.log.With("operator", id.UserID)
	if !slices.ContainsFunc(h.roles, id.HasRole) {
		rq.log.Warn("admin: identity without an operator role refused")
		return &apiError{http.StatusForbidden, protocol.Errorf(protocol.CodeForbidden, "an operator role is required")}
	}
	rq.operator = id
	return h.allow(rq, "admin:"+id.UserID, h.limit)
}

// allow spends one request of key's budget; a limiter that fails allows.
func (h *Handler) allow(rq *request, key string, limit ratelimit.Limit) *apiError {
	ctx, cancel := context.WithTimeout(rq.r.Context(), h.storeTimeout)
	d, err := h.limiter.Allow(ctx, key, limit)
	cancel()
	switch {
	case err != nil:
		rq.log.Warn("admin: rate limiter failed; allowing", "err", err)
	case !d.Allowed:
		rq.log.Info("admin: rate limited", "retry_after", d.RetryAfter)
		return &apiError{http.StatusTooManyRequests, &protocol.Error{Code: protocol.CodeRateLimited,
			Message: "too many requests", RetryAfter: max(d.RetryAfter, 1)}}
	}
	return nil
}

func unauthorized(rq *request) *apiError {
	rq.w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
	return &apiError{http.StatusUnauthorized, protocol.Errorf(protocol.CodeUnauthorized, "invalid token")}
}

// token returns the request's bearer token: the Authorization header, then
// the configured cookie.
func (h *Handler) token(r *http.Request) (string, bool) {
	const prefix = "Bearer "
	if v := r.Header.Get("Authorization"); len(v) > len(prefix) && strings.EqualFold(v[:len(prefix)], prefix) {
		if t := strings.TrimSpace(v[len(prefix):]); t != "" {
			return t, true
		}
	}
	if h.tokenCookie != "" {
		if c, err := r.Cookie(h.tokenCookie); err == nil && c.Value != "" {
			return c.Value, true
		}
	}
	return "", false
}
