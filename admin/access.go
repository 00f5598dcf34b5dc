package admin

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"slices"

	"github.com/chatboxsdk/chatbox/auth"
	"github.com/chatboxsdk/chatbox/internal/access"
	"github.com/chatboxsdk/chatbox/protocol"
	"github.com/chatboxsdk/chatbox/ratelimit"
)

// admit checks a request's credentials, role and rate limit, in that order.
// On success rq.operator is set and rq.log carries the operator's user id.
func (h *Handler) admit(rq *request) *apiError {
	// The same rule as the socket's (internal/access): token parameters in
	// any letter case, and queries that do not parse cleanly, are refused.
	if perr := access.CheckURL(rq.r, ""); perr != nil {
		field := perr.Field
		if perr.Code == protocol.CodeUnauthorized {
			rq.log.Info("admin: token in the URL refused", "param", field)
			return badField(field, "tokens in URLs are refused: send an Authorization: Bearer header")
		}
		return badField("", "%s", perr.Message)
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
	}
	// The checks every identity passes, whatever proved it (internal/access).
	if perr := (access.Verifier{Now: h.now, Logger: rq.log}).Check(id); perr != nil {
		rq.log.Info("admin: identity refused", "reason", perr.Message)
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

// allow spends one request of key's budget; a limiter that fails allows
// (the one policy of internal/access).
func (h *Handler) allow(rq *request, key string, limit ratelimit.Limit) *apiError {
	ctx, cancel := context.WithTimeout(rq.r.Context(), h.storeTimeout)
	perr := access.Allow(ctx, h.limiter, key, limit, func() *slog.Logger { return rq.log })
	cancel()
	if perr != nil {
		rq.log.Info("admin: rate limited", "retry_after", perr.RetryAfter)
		return &apiError{http.StatusTooManyRequests, perr}
	}
	return nil
}

func unauthorized(rq *request) *apiError {
	rq.w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
	return &apiError{http.StatusUnauthorized, protocol.Errorf(protocol.CodeUnauthorized, "invalid token")}
}

// token returns the request's bearer token: the Authorization header, then
// the configured cookie (internal/access). A blank bearer token is no token.
func (h *Handler) token(r *http.Request) (string, bool) {
	t, found, perr := access.Source{Cookie: h.tokenCookie}.Token(r)
	return t, found && perr == nil
}
