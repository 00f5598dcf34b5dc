package jwt

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/lestrrat-go/httprc/v3"
	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
)

// ErrKeysUnavailable is returned (wrapped) when a token cannot be checked
// because no signing keys could be fetched from the key set URL. It does not
// wrap auth.ErrInvalidToken: the caller cannot tell whether the token is
// good, and should report a retryable failure.
var ErrKeysUnavailable = errors.New("jwt: signing keys unavailable")

// maxJWKSBytes caps the size of a fetched key set document.
const maxJWKSBytes = 1 << 20

// jwksKeys holds a key set fetched from a URL, refreshed in the background
// by a jwk.Cache, and refreshed on demand (rate limited) when a token names
// a key the set does not hold.
type jwksKeys struct {
	url   string
	cache *jwk.Cache
	res   *httprc.ResourceBase[jwk.Set]
	life  context.Context
	stop  context.CancelFunc
	gate  refreshGate
	alg   jwa.SignatureAlgorithm
	kty   jwa.KeyType
}

// newJWKSKeys starts the cache. Its goroutines live until ctx ends or close
// is called. It does not wait for the first fetch: tokens arriving before it
// completes trigger an on-demand fetch.
func newJWKSKeys(ctx context.Context, s settings) (*jwksKeys, error) {
	life, stop := context.WithCancel(ctx)
	cache, err := jwk.NewCache(life, httprc.NewClient(
		httprc.WithWorkers(1),
		httprc.WithHTTPClient(s.HTTPClient),
	))
	if err != nil {
		stop()
		return nil, fmt.Errorf("jwt: jwks: %w", err)
	}
	k := &jwksKeys{
		url:   s.JWKSURL,
		cache: cache,
		life:  life,
		stop:  stop,
		gate:  refreshGate{min: s.JWKSMinRefreshInterval, now: s.Now},
		alg:   s.alg.alg,
		kty:   keyTypeOf(s.alg.family),
	}
	err = cache.Register(life, s.JWKSURL,
		jwk.WithConstantInterval(s.JWKSRefreshInterval),
		// After a failed connection the cache retries after this interval.
		jwk.WithMinInterval(s.JWKSMinRefreshInterval),
		jwk.WithHTTPClient(s.HTTPClient),
		jwk.WithMaxFetchBodySize(maxJWKSBytes),
		jwk.WithWaitReady(false),
	)
	if err == nil {
		k.res, err = cache.LookupResource(life, s.JWKSURL)
	}
	if err != nil {
		_ = k.close()
		return nil, fmt.Errorf("jwt: jwks: %w", err)
	}
	return k, nil
}

func keyTypeOf(f keyFamily) jwa.KeyType {
	switch f {
	case familyRSA:
		return jwa.RSA()
	case familyEC:
		return jwa.EC()
	case familyEd25519:
		return jwa.OKP()
	}
	return jwa.OctetSeq()
}

// close stops the cache and waits for its goroutines.
func (k *jwksKeys) close() error {
	k.stop()
	if err := k.cache.Shutdown(context.Background()); err != nil {
		return fmt.Errorf("jwt: jwks: shutdown: %w", err)
	}
	return nil
}

// key returns the verification key named kid. Errors wrap ErrInvalidToken
// when the token names a key the set does not hold (after a refresh, or when
// a refresh is not allowed yet), and ErrKeysUnavailable when no key set is
// available at all.
func (k *jwksKeys) key(ctx context.Context, kid string) (jwk.Key, error) {
	set := k.res.Resource()
	if key, ok := k.pick(set, kid); ok {
		return k.usable(key)
	}
	refreshErr := k.refresh(ctx)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	set = k.res.Resource()
	if set == nil {
		if refreshErr == nil {
			refreshErr = errors.New("no key set fetched yet")
		}
		return nil, fmt.Errorf("%w: %w", ErrKeysUnavailable, refreshErr)
	}
	key, ok := k.pick(set, kid)
	if !ok {
		if kid == "" {
			return nil, invalid("no key id and the key set holds several keys")
		}
		return nil, invalid("unknown key id")
	}
	return k.usable(key)
}

func (k *jwksKeys) pick(set jwk.Set, kid string) (jwk.Key, bool) {
	if set == nil {
		return nil, false
	}
	if kid == "" {
		if set.Len() == 1 {
			return set.Key(0)
		}
		return nil, false
	}
	return set.LookupKeyID(kid)
}

// usable refuses keys that do not fit the pinned algorithm.
func (k *jwksKeys) usable(key jwk.Key) (jwk.Key, error) {
	if key.KeyType() != k.kty {
		return nil, invalid("key type does not match the algorithm")
	}
	if alg, ok := key.Algorithm(); ok && alg.String() != k.alg.String() {
		return nil, invalid("key is for another algorithm")
	}
	if use, ok := key.KeyUsage(); ok && use != "sig" {
		return nil, invalid("key is not a signing key")
	}
	return key, nil
}

// refresh fetches the key set now unless the gate refuses. The fetch is
// bounded by ctx, by the verifier's lifetime and by the HTTP client's
// timeout.
func (k *jwksKeys) refresh(ctx context.Context) error {
	if err := k.life.Err(); err != nil {
		return errors.New("verifier closed")
	}
	return k.gate.do(ctx, func() error {
		rctx, cancel := context.WithCancel(ctx)
		defer cancel()
		unhook := context.AfterFunc(k.life, cancel)
		defer unhook()
		_, err := k.cache.Refresh(rctx, k.url)
		return err
	})
}

// refreshGate lets one on-demand refresh start per interval. Callers
// arriving while one is in flight wait for it rather than starting another.
type refreshGate struct {
	min time.Duration
	now func() time.Time

	mu       sync.Mutex
	last     time.Time     // start of the last refresh; zero before the first
	inflight chan struct{} // closed when the running refresh ends
	lastErr  error         // outcome of the last refresh
}

// do runs fetch unless one ran less than min ago. A refused call returns the
// previous outcome.
func (g *refreshGate) do(ctx context.Context, fetch func() error) error {
	g.mu.Lock()
	if ch := g.inflight; ch != nil {
		g.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
		g.mu.Lock()
		defer g.mu.Unlock()
		return g.lastErr
	}
	now := g.now()
	if !g.last.IsZero() && now.Sub(g.last) < g.min && now.Sub(g.last) >= 0 {
		err := g.lastErr
		g.mu.Unlock()
		return err
	}
	g.last = now
	ch := make(chan struct{})
	g.inflight = ch
	g.mu.Unlock()

	var err error
	defer func() {
		g.mu.Lock()
		g.lastErr = err
		g.inflight = nil
		g.mu.Unlock()
		close(ch)
	}()
	err = fetch()
	return err
}
