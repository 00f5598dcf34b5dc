package jwt

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/lestrrat-go/httprc/v3"
	"github.com/lestrrat-go/httprc/v3/errsink"
	"github.com/lestrrat-go/jwx/v3/jwa"
)

// ErrKeysUnavailable is returned (wrapped) when a token cannot be checked
// because the signing keys could not be fetched from the key set URL: the
// key server is unreachable, answers an error, serves something that is not
// a key set, or publishes no key usable with the configured algorithm. It
// does not wrap auth.ErrInvalidToken: the caller cannot tell whether the
// token is good, and should report a retryable failure.
var ErrKeysUnavailable = errors.New("jwt: signing keys unavailable")

// errClosed is the outcome of a refresh asked for after Close: nothing was
// fetched, and the keys already held are all there is.
var errClosed = errors.New("verifier closed")

// jwksKeys holds the usable keys of a key set fetched from a URL, refreshed
// in the background by an httprc client, and refreshed on demand (rate
// limited) when a token names a key the set does not hold.
type jwksKeys struct {
	url  string
	ctrl httprc.Controller
	res  *httprc.ResourceBase[*keySet]
	life context.Context
	stop context.CancelFunc
	gate refreshGate
	alg  jwa.SignatureAlgorithm
}

// newJWKSKeys starts the background fetcher. Its goroutines live until ctx
// ends or close is called. It does not wait for the first fetch: tokens
// arriving before it completes trigger an on-demand fetch.
func newJWKSKeys(ctx context.Context, s settings) (*jwksKeys, error) {
	life, stop := context.WithCancel(ctx)
	logger := s.Logger
	ctrl, err := httprc.NewClient(
		httprc.WithWorkers(1),
		httprc.WithHTTPClient(s.HTTPClient),
		httprc.WithErrorSink(errsink.NewFunc(func(ctx context.Context, err error) {
			logger.LogAttrs(ctx, slog.LevelWarn, "jwt: key set fetch failed", slog.String("url", s.JWKSURL), slog.Any("err", err))
		})),
	).Start(life)
	if err != nil {
		stop()
		return nil, fmt.Errorf("jwt: jwks: %w", err)
	}
	k := &jwksKeys{
		url:  s.JWKSURL,
		ctrl: ctrl,
		life: life,
		stop: stop,
		gate: refreshGate{min: s.JWKSMinRefreshInterval, now: s.Now},
		alg:  s.alg.alg,
	}
	k.res, err = httprc.NewResource[*keySet](s.JWKSURL,
		keySetReader{alg: s.alg, log: logger, url: s.JWKSURL},
		httprc.WithHTTPClient(s.HTTPClient),
		httprc.WithConstantInterval(s.JWKSRefreshInterval),
		// After a failed connection the fetcher retries after this interval.
		httprc.WithMinInterval(s.JWKSMinRefreshInterval),
	)
	if err == nil {
		err = ctrl.Add(life, k.res, httprc.WithWaitReady(false))
	}
	if err != nil {
		_ = k.close()
		return nil, fmt.Errorf("jwt: jwks: %w", err)
	}
	return k, nil
}

// close stops the fetcher and waits for its goroutines.
func (k *jwksKeys) close() error {
	k.stop()
	if err := k.ctrl.ShutdownContext(context.Background()); err != nil {
		return fmt.Errorf("jwt: jwks: shutdown: %w", err)
	}
	return nil
}

// key returns the verification key named kid (or the set's only usable key
// when kid is empty).
//
// A key the set does not hold triggers a refresh (see refreshGate). The error
// wraps ErrKeysUnavailable when no usable key set was ever fetched, or when
// the token names a key the set does not hold and the last refresh failed:
// the key may exist but cannot be known. It wraps auth.ErrInvalidToken when
// an up-to-date set does not hold the key.
func (k *jwksKeys) key(ctx context.Context, kid string) (crypto.PublicKey, error) {
	if key, ok := k.res.Resource().pick(kid); ok {
		return key, nil
	}
	refreshErr := k.refresh(ctx)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	set := k.res.Resource()
	if key, ok := set.pick(kid); ok {
		return key, nil
	}
	switch {
	case set == nil:
		if refreshErr == nil || errors.Is(refreshErr, errClosed) {
			refreshErr = errors.New("no key set fetched yet")
		}
		return nil, fmt.Errorf("%w: %w", ErrKeysUnavailable, refreshErr)
	case refreshErr != nil && !errors.Is(refreshErr, errClosed):
		return nil, fmt.Errorf("%w: key not in the cached set, refresh failed: %w", ErrKeysUnavailable, refreshErr)
	case kid == "":
		return nil, invalid("no key id and the key set holds several usable keys")
	case set.skipped[kid]:
		return nil, invalid("key id names a key that cannot verify the accepted algorithm")
	default:
		return nil, invalid("unknown key id")
	}
}

// refresh fetches the key set now unless the gate refuses. The fetch is
// bounded by ctx, by the verifier's lifetime and by the HTTP client's
// timeout.
func (k *jwksKeys) refresh(ctx context.Context) error {
	if k.life.Err() != nil {
		return errClosed
	}
	return k.gate.do(ctx, func() error {
		rctx, cancel := context.WithCancel(ctx)
		defer cancel()
		unhook := context.AfterFunc(k.life, cancel)
		defer unhook()
		return k.ctrl.Refresh(rctx, k.url)
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
