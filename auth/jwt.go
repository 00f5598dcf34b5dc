package auth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/lestrrat-go/jwx/v3/jwt"
)

// maxClaimBytes caps the user id, the name and each role taken from a token.
const maxClaimBytes = 256

// JWT verifies signed JSON Web Tokens (compact JWS) and maps their claims to
// an Identity. It implements Authenticator.
//
// The signature algorithm is pinned by configuration; "exp" is required;
// "nbf" and "iat" are honoured with the configured clock skew; "iss" and
// "aud" are checked when configured.
//
// A JWT is immutable after NewJWT and safe for concurrent use. With a key
// set URL it owns background goroutines, stopped by Close or when the
// context given to NewJWT ends.
type JWT struct {
	alg      string
	maxBytes int
	userID   string
	name     string
	roles    string

	// opts verify and validate a token; with a static key they include the
	// key, with a key set the key is appended per token.
	opts []jwt.ParseOption
	jwks *jwksKeys

	closeOnce sync.Once
	closeErr  error
}

// NewJWT validates cfg and builds a verifier. Every configuration problem is
// reported at once (errors.Join), each naming its JWTConfig field.
//
// With JWKSURL, NewJWT starts fetching the key set in the background without
// waiting for it; refreshing lasts until ctx ends or Close is called.
func NewJWT(ctx context.Context, cfg JWTConfig) (*JWT, error) {
	s, err := resolveJWTConfig(cfg)
	if err != nil {
		return nil, err
	}
	j := &JWT{
		alg:      s.Algorithm,
		maxBytes: s.MaxTokenBytes,
		userID:   s.UserIDClaim,
		name:     s.NameClaim,
		roles:    s.RolesClaim,
	}
	j.opts = []jwt.ParseOption{
		jwt.WithValidate(true),
		jwt.WithClock(jwt.ClockFunc(s.Now)),
		jwt.WithAcceptableSkew(s.ClockSkew),
		jwt.WithRequiredClaim(jwt.ExpirationKey),
	}
	if s.Issuer != "" {
		j.opts = append(j.opts, jwt.WithIssuer(s.Issuer))
	}
	if s.Audience != "" {
		j.opts = append(j.opts, jwt.WithAudience(s.Audience))
	}
	switch {
	case s.HMACSecret != nil:
		j.opts = append(j.opts, jwt.WithKey(s.alg.alg, s.HMACSecret))
	case s.PublicKey != nil:
		j.opts = append(j.opts, jwt.WithKey(s.alg.alg, s.PublicKey))
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
func (j *JWT) Close() error {
	j.closeOnce.Do(func() {
		if j.jwks != nil {
			j.closeErr = j.jwks.close()
		}
	})
	return j.closeErr
}

// Authenticate implements Authenticator. A token that does not verify yields
// an error wrapping ErrInvalidToken with a short reason (never the token).
// When no key set could be fetched the error wraps ErrKeysUnavailable
// instead: the token could not be checked.
func (j *JWT) Authenticate(ctx context.Context, token string) (Identity, error) {
	if err := ctx.Err(); err != nil {
		return Identity{}, err
	}
	if token == "" {
		return Identity{}, invalid("empty token")
	}
	if len(token) > j.maxBytes {
		return Identity{}, invalid("token too large")
	}
	hdr, ok := parseHeader(token)
	if !ok {
		return Identity{}, invalid("malformed token")
	}
	if hdr.Alg != j.alg {
		return Identity{}, invalid("algorithm not accepted")
	}
	opts := j.opts
	if j.jwks != nil {
		key, err := j.jwks.key(ctx, hdr.Kid)
		if err != nil {
			return Identity{}, err
		}
		opts = append(opts[:len(opts):len(opts)], jwt.WithKey(j.jwks.alg, key))
	}
	tok, err := jwt.Parse([]byte(token), opts...)
	if err != nil {
		return Identity{}, invalid(rejectionReason(err))
	}
	return j.identity(tok)
}

// invalid builds a rejection wrapping ErrInvalidToken.
func invalid(reason string) error {
	return fmt.Errorf("%w: %s", ErrInvalidToken, reason)
}

type joseHeader struct {
	Alg string `json:"alg"`
	Kid string `json:"kid"`
}

// parseHeader decodes the protected header of a compact JWS without
// trusting it: the algorithm is compared with the pinned one, the key id
// only selects a key.
func parseHeader(token string) (joseHeader, bool) {
	var h joseHeader
	head, rest, ok := strings.Cut(token, ".")
	if !ok || strings.Count(rest, ".") != 1 || head == "" {
		return h, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		return h, false
	}
	if err := json.Unmarshal(raw, &h); err != nil {
		return h, false
	}
	return h, h.Alg != ""
}

// rejectionReason turns a jwx error into a short reason. The library's error
// text is not reused, so nothing from the token can leak through it.
func rejectionReason(err error) string {
	switch {
	case errors.Is(err, jwt.TokenExpiredError()):
		return "token expired"
	case errors.Is(err, jwt.TokenNotYetValidError()):
		return "token not valid yet"
	case errors.Is(err, jwt.InvalidIssuedAtError()):
		return "token issued in the future"
	case errors.Is(err, jwt.InvalidIssuerError()):
		return "wrong issuer"
	case errors.Is(err, jwt.InvalidAudienceError()):
		return "wrong audience"
	case errors.Is(err, jwt.MissingRequiredClaimError()):
		return "missing exp claim"
	case errors.Is(err, jwt.ValidateError()):
		return "claims invalid"
	default:
		return "signature or format invalid"
	}
}

// identity maps the verified token's claims.
func (j *JWT) identity(tok jwt.Token) (Identity, error) {
	var id Identity
	exp, ok := tok.Expiration()
	if !ok {
		return Identity{}, invalid("missing exp claim")
	}
	id.ExpiresAt = exp

	uid, present, err := stringClaim(tok, j.userID)
	switch {
	case err != nil:
		return Identity{}, invalid("user id claim is not a string")
	case !present || uid == "":
		return Identity{}, invalid("missing user id claim")
	case len(uid) > maxClaimBytes:
		return Identity{}, invalid("user id claim too long")
	}
	id.UserID = uid

	name, _, err := stringClaim(tok, j.name)
	if err != nil {
		return Identity{}, invalid("name claim is not a string")
	}
	if len(name) > maxClaimBytes {
		return Identity{}, invalid("name claim too long")
	}
	id.Name = name

	if id.Roles, err = rolesClaim(tok, j.roles); err != nil {
		return Identity{}, err
	}
	return id, nil
}

// stringClaim reads a string claim; present is false when it is absent.
func stringClaim(tok jwt.Token, name string) (value string, present bool, err error) {
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
func rolesClaim(tok jwt.Token, name string) ([]string, error) {
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

var _ Authenticator = (*JWT)(nil)
