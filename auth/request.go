package auth

import (
	"errors"
	"net/http"
)

// ErrNoCredentials is returned (possibly wrapped) by a RequestAuthenticator
// when the request carries no sign-in at all: no session cookie, no gateway
// header. The server then tries a bearer token if an Authenticator is
// configured, and otherwise answers unauthorized.
var ErrNoCredentials = errors.New("auth: no credentials")

// RequestAuthenticator reads who is signed in from the HTTP request (a
// cookie session, a gateway header), so a page whose user is already signed
// in to the host needs no token endpoint.
//
// The server calls it on the socket's upgrade request and on every operator
// API request, with the request's context bounded by the server's store
// timeout. Implementations must be safe for concurrent use and must not log
// credentials.
type RequestAuthenticator interface {
	// AuthenticateRequest returns the identity the request proves. Errors:
	// ErrNoCredentials (wrapped or not) when the request carries no
	// sign-in; an error wrapping ErrInvalidToken when it carries one that
	// is not valid (unknown or expired session); any other error when the
	// sign-in could not be checked (a session store down), which clients
	// see as retryable.
	AuthenticateRequest(r *http.Request) (Identity, error)
}

// RequestAuthenticatorFunc adapts a function to RequestAuthenticator.
type RequestAuthenticatorFunc func(r *http.Request) (Identity, error)

// AuthenticateRequest implements RequestAuthenticator by calling f(r).
func (f RequestAuthenticatorFunc) AuthenticateRequest(r *http.Request) (Identity, error) { return f(r) }
