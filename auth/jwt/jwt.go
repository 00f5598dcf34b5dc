// Package jwt verifies signed JSON Web Tokens (compact JWS) for chatbox: a
// Verifier is an auth.Authenticator configured with an HMAC secret, a public
// key (RSA, ECDSA, Ed25519) or a JSON Web Key Set URL refreshed in the
// background.
//
// It lives apart from package auth so that code needing only auth.Identity
// or auth.Authenticator does not import the JOSE library and its key set
// refresh machinery.
package jwt

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	jwxjwt "github.com/lestrrat-go/jwx/v3/jwt"

	"github.com/chatboxsdk/chatbox/auth"
)

// maxClaimBytes caps the user id, the name and each role taken from a token.
const maxClaimBytes = 256

// Verifier verifies signed JSON Web Tokens (compact JWS) and maps their
// claims to an auth.Identity. It implements auth.Authenticator.
//
// The signature algorithm is pinned by configuration; the token's syntax is
// checked strictly before any cryptography (see Authenticate); "exp" is
// required; "nbf" and "iat" are honoured with the configured clock skew;
// "iss" and "aud" are checked when configured; the lifetime is capped when
// Config.MaxTokenTTL is set.
//
// A Verifier is immutable after New and safe for concurrent use. With a key
// set URL it owns background goroutines, stopped by Close or when the
// context given to New ends.
type Verifier struct {
	alg      string
	maxBytes int
	userID   string
	name     string
	roles    string
	maxTTL   time.Duration
	skew     time.Duration
	now      func() time.Time

	// opts verify and validate a token; with a static key they include the
	// key, with a key set the key is appended per token.
	opts []jwxjwt.ParseOption
	jwks *jwksKeys

	closeOnce sync.Once
	closeErr  error
}

// New validates cfg and builds a verifier. Every configuration problem is
// reported at once (errors.Join), each naming its Config field.
//
// With JWKSURL, New starts fetching the key set in the background without
// waiting for it; refreshing lasts until ctx ends or Close is called.
func New(ctx context.Context, cfg Config) (*Verifier, error) {
	s, err := resolveConfig(cfg)
	if err != nil {
		return nil, err
	}
	j := &Verifier{
		alg:      s.Algorithm,
		maxBytes: s.MaxTokenBytes,
		userID:   s.UserIDClaim,
		name:     s.NameClaim,
		roles:    s.RolesClaim,
		maxTTL:   s.MaxTokenTTL,
		skew:     s.ClockSkew,
		now:      s.Now,
	}
	j.opts = []jwxjwt.ParseOption{
		jwxjwt.WithValidate(true),
		jwxjwt.WithClock(jwxjwt.ClockFunc(s.Now)),
		jwxjwt.WithAcceptableSkew(s.ClockSkew),
		jwxjwt.WithRequiredClaim(jwxjwt.ExpirationKey),
	}
	if s.Issuer != "" {
		j.opts = append(j.opts, jwxjwt.WithIssuer(s.Issuer))
	}
	if s.Audience != "" {
		j.opts = append(j.opts, jwxjwt.WithAudience(s.Audience))
	}
	switch {
	case s.HMACSecret != nil:
		j.opts = append(j.opts, jwxjwt.WithKey(s.alg.alg, s.HMACSecret))
	case s.PublicKey != nil:
		j.opts = append(j.opts, jwxjwt.WithKey(s.alg.alg, s.PublicKey))
	default:
		if j.jwks, err = newJWKSKeys(ctx, s); err != nil {
			return nil, err
		}
	}
	return j, nil
}

// Close stops refreshing the key set and waits for the background
// goroutines. It is idempotent; a verifier without a key set URL has nothing
// to stop. Authenticate still works after Close with the keys already
// fetched, without fetching again.
func (j *Verifier) Close() error {
	j.closeOnce.Do(func() {
		if j.jwks != nil {
			j.closeErr = j.jwks.close()
		}
	})
	return j.closeErr
}

// Authenticate implements auth.Authenticator. A token that does not verify
// yields an error wrapping auth.ErrInvalidToken with a short reason (never
// the token). A token is refused before any signature check unless it is
// exactly three segments of canonical unpadded base64url (RFC 7515): no "=",
// no "+" or "/", no stray bits in the last character of a segment.
//
// With a key set URL, when the keys could not be fetched (the key server is
// down, answers an error, or publishes no usable key) the error wraps
// ErrKeysUnavailable instead, and not auth.ErrInvalidToken: the token could
// not be checked, and the caller should report a retryable failure.
func (j *Verifier) Authenticate(ctx context.Context, token string) (auth.Identity, error) {
	if err := ctx.Err(); err != nil {
		return auth.Identity{}, err
	}
	if token == "" {
		return auth.Identity{}, invalid("empty token")
	}
	if len(token) > j.maxBytes {
		return auth.Identity{}, invalid("token too large")
	}
	hdr, reason := parseCompact(token)
	if reason != "" {
		return auth.Identity{}, invalid(reason)
	}
	if hdr.Alg != j.alg {
		return auth.Identity{}, invalid("algorithm not accepted")
	}
	opts := j.opts
	if j.jwks != nil {
		key, err := j.jwks.key(ctx, hdr.Kid)
		if err != nil {
			return auth.Identity{}, err
		}
		opts = append(opts[:len(opts):len(opts)], jwxjwt.WithKey(j.jwks.alg, key))
	}
	tok, err := jwxjwt.Parse([]byte(token), opts...)
	if err != nil {
		return auth.Identity{}, invalid(rejectionReason(err))
	}
	return j.identity(tok)
}

// invalid builds a rejection wrapping auth.ErrInvalidToken.
func invalid(reason string) error {
	return fmt.Errorf("%w: %s", auth.ErrInvalidToken, reason)
}

// rejectionReason turns a jwx error into a short reason. The library's error
// text is not reused, so nothing from the token can leak through it.
func rejectionReason(err error) string {
	switch {
	case errors.Is(err, jwxjwt.TokenExpiredError()):
		return "token expired"
	case errors.Is(err, jwxjwt.TokenNotYetValidError()):
		return "token not valid yet"
	case errors.Is(err, jwxjwt.InvalidIssuedAtError()):
		return "token issued in the future"
	case errors.Is(err, jwxjwt.InvalidIssuerError()):
		return "wrong issuer"
	case errors.Is(err, jwxjwt.InvalidAudienceError()):
		return "wrong audience"
	case errors.Is(err, jwxjwt.MissingRequiredClaimError()):
		return "missing exp claim"
	case errors.Is(err, jwxjwt.ValidateError()):
		return "claims invalid"
	default:
		return "signature or format invalid"
	}
}

// identity maps the verified token's claims.
func (j *Verifier) identity(tok jwxjwt.Token) (auth.Identity, error) {
	var id auth.Identity
	exp, ok := tok.Expiration()
	if !ok {
		return auth.Identity{}, invalid("missing exp claim")
	}
	id.ExpiresAt = exp
	if j.maxTTL > 0 {
		// With "iat" the lifetime is what the issuer granted; without it,
		// what is left, with the clock skew allowed for the issuer's clock.
		lifetime, limit := exp.Sub(j.now()), j.maxTTL+j.skew
		if iat, ok := tok.IssuedAt(); ok {
			lifetime, limit = exp.Sub(iat), j.maxTTL
		}
		if lifetime > limit {
			return auth.Identity{}, invalid("token lifetime exceeds the maximum")
		}
	}

	uid, present, err := stringClaim(tok, j.userID)
	switch {
	case err != nil:
		return auth.Identity{}, invalid("user id claim is not a string")
	case !present || uid == "":
		return auth.Identity{}, invalid("missing user id claim")
	case len(uid) > maxClaimBytes:
		return auth.Identity{}, invalid("user id claim too long")
	}
	id.UserID = uid

	name, _, err := stringClaim(tok, j.name)
	if err != nil {
		return auth.Identity{}, invalid("name claim is not a string")
	}
	if len(name) > maxClaimBytes {
		return auth.Identity{}, invalid("name claim too long")
	}
	id.Name = name

	if id.Roles, err = rolesClaim(tok, j.roles); err != nil {
		return auth.Identity{}, err
	}
	return id, nil
}

// stringClaim reads a string claim; present is false when it is absent.
func stringClaim(tok jwxjwt.Token, name string) (value string, present bool, err error) {
	if !tok.Has(name) {
		return "", false, nil
	}
	var v any
	if err := tok.Get(name, &v); err != nil {
		return "", true, err
	}
	s, ok := v.(string)
	if !ok {
		return "", true, errors.New("not a string")
	}
	return s, true, nil
}

// rolesClaim reads roles given as an array of strings or as one string of
// space-separated roles.
func rolesClaim(tok jwxjwt.Token, name string) ([]string, error) {
	if !tok.Has(name) {
		return nil, nil
	}
	var v any
	if err := tok.Get(name, &v); err != nil {
		return nil, invalid("roles claim unreadable")
	}
	var roles []string
	switch v := v.(type) {
	case string:
		roles = strings.Fields(v)
	case []any:
		roles = make([]string, 0, len(v))
		for _, e := range v {
			s, ok := e.(string)
			if !ok {
				return nil, invalid("roles claim holds a non-string")
			}
			if s != "" {
				roles = append(roles, s)
			}
		}
	case []string:
		roles = append(roles, v...)
	default:
		return nil, invalid("roles claim is neither a string nor an array of strings")
	}
	for _, r := range roles {
		if len(r) > maxClaimBytes {
			return nil, invalid("role too long")
		}
	}
	if len(roles) == 0 {
		return nil, nil
	}
	return roles, nil
}

var _ auth.Authenticator = (*Verifier)(nil)
