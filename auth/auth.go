// Package auth defines how chatbox learns who is on a socket: an
// Authenticator turns a bearer token into an Identity.
//
// Where the token comes from (an Authorization header, the first frame of
// the socket) is the server's concern; an Authenticator only verifies it.
//
// The signed-token verifier (JWT with HMAC, RSA, ECDSA, EdDSA or a key set
// URL) lives in package auth/jwt, so importing auth for Identity does not
// pull in a JOSE library.
package auth

import (
	"context"
	"errors"
	"slices"
	"time"
)

// ErrInvalidToken is returned (wrapped) for any token that does not
// authenticate: unknown, malformed, expired, wrong signature. Its text never
// contains the token.
var ErrInvalidToken = errors.New("auth: invalid token")

// Identity is an authenticated principal.
type Identity struct {
	UserID string
	Name   string
	Roles  []string
	// ExpiresAt is when the credential stops being valid; zero means never.
	// The server closes sockets whose identity expired.
	ExpiresAt time.Time
}

// HasRole reports whether the identity holds role.
func (id Identity) HasRole(role string) bool { return slices.Contains(id.Roles, role) }

// Authenticator verifies bearer tokens. Implementations must be safe for
// concurrent use and must not log tokens.
type Authenticator interface {
	// Authenticate returns the identity the token proves, or an error
	// wrapping ErrInvalidToken. Other errors mean the authenticator could not
	// decide (a key server down) and are reported to the client as
	// retryable.
	Authenticate(ctx context.Context, token string) (Identity, error)
}
