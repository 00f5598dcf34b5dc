// Package access is the one path by which a request or a socket proves who
// it is: where a token may come from (the Authorization header, a cookie,
// the socket's first frame, an opt-in query parameter), the refusal of
// tokens in URLs whatever the letter case, bearer parsing, the checks every
// identity passes, and what happens when a rate limiter cannot decide. The
// socket upgrade, the socket's hello frame and the admin API all use it, so
// they cannot drift apart.
package access

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/chatboxsdk/chatbox/auth"
	"github.com/chatboxsdk/chatbox/protocol"
	"github.com/chatboxsdk/chatbox/ratelimit"
)

// tokenParams are query parameter names that carry tokens. They are
// refused in URLs, in any letter case, where a token would end up in access
// logs, browser history and Referer headers.
var tokenParams = [...]string{"token", "access_token", "jwt", "auth", "authorization"}

// CheckURL refuses a request whose query carries a token parameter (any
// letter case) other than optIn, the parameter the host allowed by name
// (empty: none), or whose query does not parse cleanly: the standard parser
// drops pairs it cannot read (a `;` separator), which could hide one.
func CheckURL(r *http.Request, optIn string) *protocol.Error {
	raw := r.URL.RawQuery
	if raw == "" {
		return nil
	}
	q, err := url.ParseQuery(raw)
	if err != nil {
		return &protocol.Error{Code: protocol.CodeInvalidField, Message: "the query string does not parse", Field: "query"}
	}
	for name := range q {
		if optIn != "" && name == optIn {
			continue
		}
		for _, p := range tokenParams {
			if strings.EqualFold(name, p) {
				return &protocol.Error{Code: protocol.CodeUnauthorized, Field: name,
					Message: "tokens in URLs are refused: send it in the hello frame or an Authorization header"}
			}
		}
	}
	return nil
}

// Bearer reads an Authorization: Bearer header (scheme in any case).
// present reports whether the header names the Bearer scheme; a present
// header with a blank token is refused by Source.Token.
func Bearer(r *http.Request) (token string, present bool) {
	h := r.Header.Get("Authorization")
	const prefix = "Bearer"
	if len(h) < len(prefix) || !strings.EqualFold(h[:len(prefix)], prefix) {
		return "", false
	}
	rest := h[len(prefix):]
	if rest != "" && rest[0] != ' ' {
		return "", false // another scheme that merely starts with "Bearer"
	}
	return strings.TrimSpace(rest), true
}

// Source says where a request's token may be found besides the
// Authorization header.
type Source struct {
	Cookie string // cookie name; empty: none
	Query  string // opt-in query parameter; empty: none
}

// Token finds the request's token: the Authorization header, then the
// cookie, then the opt-in query parameter. found is false when the request
// carries none (a socket then authenticates with its hello frame). A URL
// carrying a token parameter, an unparsable query and a blank bearer token
// are refused.
func (s Source) Token(r *http.Request) (token string, found bool, perr *protocol.Error) {
	if perr := CheckURL(r, s.Query); perr != nil {
		return "", false, perr
	}
	if t, present := Bearer(r); present {
		if t == "" {
			return "", false, protocol.Errorf(protocol.CodeUnauthorized, "the bearer token is blank")
		}
		return t, true, nil
	}
	if s.Cookie != "" {
		if c, err := r.Cookie(s.Cookie); err == nil && c.Value != "" {
			return c.Value, true, nil
		}
	}
	if s.Query != "" {
		if t := r.URL.Query().Get(s.Query); t != "" {
			return t, true, nil
		}
	}
	return "", false, nil
}

// Verifier turns tokens into identities the same way for every entry point.
type Verifier struct {
	Authenticator auth.Authenticator
	Timeout       time.Duration // bounds one Authenticate call
	Now           func() time.Time
	Logger        *slog.Logger
}

// Verify authenticates token and checks the identity. A token that does not
// verify, an identity without a user id and an expired identity are
// unauthorized; an authenticator that cannot decide (a key server down)
// gives a retryable error with a reference, never unauthorized; one that
// panics gives internal, with a reference.
func (v Verifier) Verify(ctx context.Context, token string) (id auth.Identity, perr *protocol.Error) {
	if strings.TrimSpace(token) == "" {
		return auth.Identity{}, protocol.Errorf(protocol.CodeUnauthorized, "a token is required")
	}
	ctx, cancel := context.WithTimeout(ctx, v.Timeout)
	defer cancel()
	defer func() {
		if p := recover(); p != nil { // host code: a panic fails this attempt only
			ref := NewRef()
			v.Logger.Error("internal error", "op", "authenticate", "ref", ref, "err", fmt.Errorf("authenticator panic: %v", p))
			id, perr = auth.Identity{}, &protocol.Error{Code: protocol.CodeInternal, Message: "internal error", Ref: ref}
		}
	}()
	id, err := v.Authenticator.Authenticate(ctx, token)
	switch {
	case errors.Is(err, auth.ErrInvalidToken):
		return auth.Identity{}, protocol.Errorf(protocol.CodeUnauthorized, "invalid token")
	case err != nil:
		return auth.Identity{}, v.unavailable(err)
	}
	return id, v.Check(id)
}

// Check applies the rules every identity must pass, whatever proved it.
func (v Verifier) Check(id auth.Identity) *protocol.Error {
	if strings.TrimSpace(id.UserID) == "" {
		v.Logger.Warn("authenticator returned an identity without a user id")
		return protocol.Errorf(protocol.CodeUnauthorized, "invalid token")
	}
	if !id.ExpiresAt.IsZero() && !id.ExpiresAt.After(v.Now()) {
		return protocol.Errorf(protocol.CodeUnauthorized, "the token has expired")
	}
	return nil
}

func (v Verifier) unavailable(err error) *protocol.Error {
	ref := NewRef()
	v.Logger.Warn("authenticator failed", "ref", ref, "err", err)
	return &protocol.Error{Code: protocol.CodeUnavailable, Message: "authentication is temporarily unavailable", Ref: ref}
}

// Allow spends one event of key's budget under limit. A limiter that cannot
// decide allows the event, with a warning: a limiter outage must not take
// the chat down. The denial carries the limiter's RetryAfter (at least 1 ns
// so clients always get a positive hint). log gives the logger of the
// warning; it is called only then, so a caller whose logger carries
// per-request attributes builds it only when a line is written.
func Allow(ctx context.Context, l ratelimit.Limiter, key string, limit ratelimit.Limit, log func() *slog.Logger) *protocol.Error {
	d, err := l.Allow(ctx, key, limit)
	if err != nil {
		log().Warn("rate limiter failed; allowing", "err", err)
		return nil
	}
	if !d.Allowed {
		return &protocol.Error{Code: protocol.CodeRateLimited, Message: "too many requests", RetryAfter: max(d.RetryAfter, 1)}
	}
	return nil
}

// NewRef returns a reference that ties a client-facing error to its log
// line.
func NewRef() string { return rand.Text()[:12] }
