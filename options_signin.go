package chatbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/chatboxsdk/chatbox/auth"
	"github.com/chatboxsdk/chatbox/protocol"
)

// WithRequestAuthenticator lets the host's own sign-in (a cookie session, a
// header set by an authenticating gateway) say who is on a socket or calls
// the operator API, so a page whose user is signed in needs no token
// endpoint. Default: none. At least one of WithAuthenticator, WithJWT and
// WithRequestAuthenticator is required; a nil authenticator is an error.
//
// It is consulted on the socket's upgrade request (after the origin check
// and the per-address connection budget) and on every operator API request,
// with the request's context bounded by WithStoreTimeout. The identity it
// returns passes the same checks as a token's: it must have a UserID, and a
// socket is closed with 4001 once its ExpiresAt has passed (the client
// reconnects and the request is read again). Its errors mean:
//
//   - auth.ErrNoCredentials: the request carries no sign-in; a bearer token
//     is tried next when WithAuthenticator or WithJWT is configured, and
//     the request is answered 401 otherwise;
//   - an error wrapping auth.ErrInvalidToken: the sign-in is not valid
//     (unknown or expired session); 401 unauthorized, as for a bad token;
//   - any other error: the sign-in could not be checked; 503 with the
//     retryable code unavailable, and the error goes to the log.
//
// A socket opened this way ignores the token of its hello frame.
//
// Cookies travel with cross-site requests: once a cookie signs users in,
// the origin check is what stands between a foreign page and your user's
// session. Keep WithAllowedOrigins to the origins that serve your pages,
// never use WithAllowAnyOrigin, and give the session cookie SameSite=Lax or
// Strict (plus Secure and HttpOnly).
func WithRequestAuthenticator(a auth.RequestAuthenticator) Option {
	return func(c *config) error {
		if f, isFunc := a.(auth.RequestAuthenticatorFunc); a == nil || isFunc && f == nil {
			return errors.New("WithRequestAuthenticator: authenticator is nil")
		}
		c.RequestAuthenticator = a
		return nil
	}
}

// noTokens is the token Authenticator of a Server configured with
// WithRequestAuthenticator only: every token is refused.
type noTokens struct{}

func (noTokens) Authenticate(context.Context, string) (auth.Identity, error) {
	return auth.Identity{}, fmt.Errorf("%w: this server accepts no tokens, only its host's sign-in", auth.ErrInvalidToken)
}

// signIn asks the host's RequestAuthenticator who sent r, within timeout,
// and applies the checks every access point needs: a panic is an error
// (retryable for the client), an identity without a user id is invalid.
func signIn(a auth.RequestAuthenticator, timeout time.Duration, log *slog.Logger, r *http.Request) (id auth.Identity, err error) {
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()
	defer func() {
		if p := recover(); p != nil { // host code: a panic fails this request only
			id, err = auth.Identity{}, fmt.Errorf("request authenticator panic: %v", p)
		}
	}()
	id, err = a.AuthenticateRequest(r.WithContext(ctx))
	if err == nil && id.UserID == "" {
		log.Warn("request authenticator returned an identity without a user id")
		return auth.Identity{}, fmt.Errorf("identity without a user id: %w", auth.ErrInvalidToken)
	}
	return id, err
}

// adminSignIn is the RequestAuthenticator handed to the operator API: the
// host's, with signIn's checks; nil without WithRequestAuthenticator.
func adminSignIn(c *config) auth.RequestAuthenticator {
	if c.RequestAuthenticator == nil {
		return nil
	}
	a, timeout, log := c.RequestAuthenticator, c.StoreTimeout, c.Logger
	return auth.RequestAuthenticatorFunc(func(r *http.Request) (auth.Identity, error) { return signIn(a, timeout, log, r) })
}

// requestIdentity consults WithRequestAuthenticator on a socket's upgrade
// request. It returns the identity the request proves, or nil when the
// token path should decide; when it answered the request with an HTTP error
// itself, answered is true.
func (s *Server) requestIdentity(w http.ResponseWriter, r *http.Request) (identity *auth.Identity, answered bool) {
	if s.cfg.RequestAuthenticator == nil {
		return nil, false
	}
	id, err := signIn(s.cfg.RequestAuthenticator, s.cfg.StoreTimeout, s.cfg.Logger, r)
	_, tokensRefused := s.cfg.Authenticator.(noTokens)
	switch {
	case err == nil:
		// The same checks as a token's identity (access.Verifier).
		if perr := s.verifier.Check(id); perr != nil {
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			httpError(w, http.StatusUnauthorized, perr)
			return nil, true
		}
		return &id, false
	case errors.Is(err, auth.ErrInvalidToken):
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		httpError(w, http.StatusUnauthorized, protocol.Errorf(protocol.CodeUnauthorized, "invalid credentials"))
	case errors.Is(err, auth.ErrNoCredentials) && tokensRefused:
		w.Header().Set("WWW-Authenticate", `Bearer`)
		httpError(w, http.StatusUnauthorized, protocol.Errorf(protocol.CodeUnauthorized, "sign in first"))
	case errors.Is(err, auth.ErrNoCredentials):
		return nil, false // a bearer token or the hello frame decides
	default:
		s.cfg.Logger.Warn("request authenticator failed", "err", err)
		httpError(w, http.StatusServiceUnavailable, protocol.Errorf(protocol.CodeUnavailable, "authentication is temporarily unavailable"))
	}
	return nil, true
}
