package jwt

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"

	"github.com/lestrrat-go/jwx/v3/jwk"
)

// maxJWKSBytes caps the size of a fetched key set document.
const maxJWKSBytes = 1 << 20

// maxLoggedKIDBytes and maxLoggedReasonBytes cap what a log line quotes
// from a key set document.
const (
	maxLoggedKIDBytes    = 64
	maxLoggedReasonBytes = 160
)

// errNoUsableKey is the outcome of a fetch whose key set holds no key that
// can verify the configured algorithm. The set is not taken: the keys held
// before stay in use.
var errNoUsableKey = errors.New("the key set holds no usable key")

// keySet is the part of a fetched key set that can verify tokens: public keys
// of the configured algorithm's type, strong enough, meant for signatures.
// It is immutable once built.
type keySet struct {
	byKID map[string]crypto.PublicKey
	// only is the usable key when the set holds exactly one; it verifies
	// tokens without "kid".
	only crypto.PublicKey
	// skipped holds the key ids of keys present in the document but
	// unusable, so a token naming one gets a precise reason.
	skipped map[string]bool
}

// pick returns the key named kid, or the only key when kid is empty. A nil
// set holds nothing.
func (s *keySet) pick(kid string) (crypto.PublicKey, bool) {
	if s == nil {
		return nil, false
	}
	if kid == "" {
		return s.only, s.only != nil
	}
	k, ok := s.byKID[kid]
	return k, ok
}

// keySetReader turns a key set document into a keySet. It is the fetcher's
// transformer: an error keeps the previously fetched set in use.
type keySetReader struct {
	alg algInfo
	log *slog.Logger
	url string
}

// Transform implements httprc.Transformer.
func (r keySetReader) Transform(ctx context.Context, res *http.Response) (*keySet, error) {
	body, err := io.ReadAll(io.LimitReader(res.Body, maxJWKSBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading the key set: %w", err)
	}
	if len(body) > maxJWKSBytes {
		return nil, fmt.Errorf("the key set exceeds %d bytes", maxJWKSBytes)
	}
	// Entries that cannot be parsed (an unknown "kty", a malformed key) are
	// kept as placeholders rather than failing the whole set (RFC 7517 §5:
	// such keys should be ignored); usableKeys skips them.
	set, err := jwk.Parse(body, jwk.WithStrictKeySetParsing(false))
	if err != nil {
		return nil, fmt.Errorf("the document is not a JSON Web Key Set: %w", err)
	}
	return r.usableKeys(ctx, set)
}

// usableKeys keeps the keys that can verify the configured algorithm and
// logs a warning naming each key skipped. When no key is left, it fails.
func (r keySetReader) usableKeys(ctx context.Context, set jwk.Set) (*keySet, error) {
	ks := &keySet{byKID: make(map[string]crypto.PublicKey), skipped: make(map[string]bool)}
	usable := 0
	for i := range set.Len() {
		key, ok := set.Key(i)
		if !ok {
			continue
		}
		kid, _ := key.KeyID()
		pub, reason := r.usable(key)
		if reason != "" {
			r.log.LogAttrs(ctx, slog.LevelWarn, "jwt: key set: key skipped",
				slog.String("url", r.url), slog.String("kid", truncate(kid, maxLoggedKIDBytes)), slog.String("reason", reason))
			if kid != "" {
				ks.skipped[kid] = true
			}
			continue
		}
		usable++
		if usable == 1 {
			ks.only = pub
		} else {
			ks.only = nil
		}
		if _, dup := ks.byKID[kid]; kid != "" && !dup {
			ks.byKID[kid] = pub // the first key with an id wins, as in jwk.Set
		}
	}
	if usable == 0 {
		return nil, fmt.Errorf("%w for %s (%d keys published)", errNoUsableKey, r.alg.alg, set.Len())
	}
	return ks, nil
}

// usable returns the public key of a JWK that can verify the configured
// algorithm, or why it cannot.
func (r keySetReader) usable(key jwk.Key) (crypto.PublicKey, string) {
	if uk, ok := key.(jwk.UnsupportedKey); ok {
		return nil, fmt.Sprintf("key type %q is not supported or the key is malformed: %s",
			truncate(key.KeyType().String(), 16), truncate(uk.Reason().Error(), maxLoggedReasonBytes))
	}
	if use, ok := key.KeyUsage(); ok && use != "sig" {
		return nil, fmt.Sprintf(`"use" is %q, not "sig"`, truncate(use, 16))
	}
	if alg, ok := key.Algorithm(); ok && alg.String() != r.alg.alg.String() {
		return nil, fmt.Sprintf(`"alg" is %q, only %s is accepted`, truncate(alg.String(), 16), r.alg.alg)
	}
	var raw any
	if err := jwk.Export(key, &raw); err != nil {
		return nil, "the key material cannot be read"
	}
	if _, private := raw.(interface{ Public() crypto.PublicKey }); private {
		return nil, "is a private key: a key set must publish public keys only"
	}
	if reason := publicKeyProblem(raw, r.alg); reason != "" {
		return nil, reason
	}
	return raw, ""
}

// truncate cuts s to at most n bytes for a log line.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
