package auth

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
)

// StaticTokens authenticates a fixed set of tokens. It suits tests, demos
// and internal tools; production hosts use a signed-token verifier (package auth/jwt).
//
// Tokens are kept as SHA-256 digests, so a token's bytes are never compared
// directly and never kept in memory in clear. A StaticTokens is immutable and
// safe for concurrent use.
type StaticTokens struct {
	byDigest map[[sha256.Size]byte]Identity
}

// NewStaticTokens builds an authenticator from token → identity pairs.
// Every token must be non-empty and every identity must have a UserID.
func NewStaticTokens(tokens map[string]Identity) (*StaticTokens, error) {
	if len(tokens) == 0 {
		return nil, errors.New("auth: static tokens: no tokens given")
	}
	s := &StaticTokens{byDigest: make(map[[sha256.Size]byte]Identity, len(tokens))}
	var errs []error
	for tok, id := range tokens {
		if tok == "" {
			errs = append(errs, errors.New("auth: static tokens: empty token"))
			continue
		}
		if id.UserID == "" {
			errs = append(errs, fmt.Errorf("auth: static tokens: identity %q has no UserID", id.Name))
			continue
		}
		id.Roles = append([]string(nil), id.Roles...)
		s.byDigest[sha256.Sum256([]byte(tok))] = id
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return s, nil
}

// Authenticate implements Authenticator.
func (s *StaticTokens) Authenticate(ctx context.Context, token string) (Identity, error) {
	if err := ctx.Err(); err != nil {
		return Identity{}, err
	}
	id, ok := s.byDigest[sha256.Sum256([]byte(token))]
	if !ok || token == "" {
		return Identity{}, ErrInvalidToken
	}
	id.Roles = append([]string(nil), id.Roles...)
	return id, nil
}
