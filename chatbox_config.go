package chatbox

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/chatboxsdk/chatbox/auth/jwt"
	memorybroker "github.com/chatboxsdk/chatbox/broker/memory"
	"github.com/chatboxsdk/chatbox/internal/metrics"
	"github.com/chatboxsdk/chatbox/notify"
	"github.com/chatboxsdk/chatbox/ratelimit"
	"github.com/chatboxsdk/chatbox/storage"
	memorystore "github.com/chatboxsdk/chatbox/storage/memory"
)

// applyOptions applies opts to the defaults and cross-checks the result,
// reporting every problem at once. The JWT verifier is built here so that
// its configuration problems are reported with the others; the caller owns
// it (its key refresh lives until Shutdown).
func applyOptions(opts []Option) (config, *jwt.Verifier, error) {
	cfg := defaultConfig()
	var errs []error
	for _, opt := range opts {
		if opt == nil {
			errs = append(errs, errors.New("nil Option"))
			continue
		}
		if err := opt(&cfg); err != nil {
			errs = append(errs, err)
		}
	}
	errs = append(errs, validate(&cfg)...)
	var verifier *jwt.Verifier
	if cfg.JWT != nil && cfg.Authenticator == nil {
		jcfg := *cfg.JWT
		if jcfg.Logger == nil {
			jcfg.Logger = cfg.Logger
		}
		j, err := jwt.New(context.Background(), jcfg)
		if err != nil {
			errs = append(errs, fmt.Errorf("WithJWT: %w", err))
		} else {
			verifier = j
		}
	}
	if len(errs) > 0 {
		if verifier != nil {
			_ = verifier.Close()
		}
		return cfg, nil, fmt.Errorf("chatbox: invalid options: %w", errors.Join(errs...))
	}
	return cfg, verifier, nil
}

// complete fills what the host left unset (store, limiter, broker) and
// builds what New owns (metrics, the notifier's queue, the access rules).
// What it creates is added to s.closers.
func (s *Server) complete(cfg *config) error {
	if cfg.Authenticator == nil {
		cfg.Authenticator = noTokens{} // only WithRequestAuthenticator (options_signin.go)
	}
	s.origins, _ = parseOriginPatterns(cfg.AllowedOrigins) // validated by the option
	s.origins.allowAny, s.origins.requireOrigin = cfg.AllowAnyOrigin, cfg.OriginRequired
	s.proxies, _ = parseTrustedProxies(cfg.TrustedProxies)
	if cfg.AllowAnyOrigin {
		cfg.Logger.Warn("chatbox: WithAllowAnyOrigin: pages on ANY origin may open sockets; make sure tokens never travel in cookies")
	}
	if cfg.Store == nil {
		cfg.Store = memorystore.New()
	}
	if u, ok := cfg.Store.(storage.UsageStore); ok && supportsUsage(cfg.Store) {
		cfg.Usage = u
	} else if !cfg.Budget.IsZero() || cfg.BudgetFunc != nil {
		return errors.New("chatbox: WithBudget: the store does not implement storage.UsageStore, which budgets need")
	}
	if b, ok := cfg.Store.(storage.BlobStore); ok && cfg.Blobs == nil && supportsBlobs(cfg.Store) {
		cfg.Blobs = b
	}
	if cfg.MetricsRegisterer != nil {
		m, err := metrics.New(cfg.MetricsRegisterer, "")
		if err != nil {
			return fmt.Errorf("chatbox: WithMetrics: %w", err)
		}
		s.metrics = m // stays registered after Shutdown, which it measures
		cfg.Store = meteredStore{inner: cfg.Store, m: m, now: time.Now}
	}
	if cfg.Limiter == nil {
		tb, err := ratelimit.NewTokenBucket(ratelimit.TokenBucketConfig{})
		if err != nil {
			return fmt.Errorf("chatbox: default limiter: %w", err)
		}
		cfg.Limiter = tb
	}
	if cfg.Broker == nil {
		// The broker remembers conversations as long as their live state
		// may be kept, and no more of them.
		mb, err := memorybroker.New(memorybroker.Config{MaxConversations: cfg.MaxSessions, IdleTTL: cfg.SessionTTL})
		if err != nil {
			return fmt.Errorf("chatbox: default broker: %w", err)
		}
		cfg.Broker, cfg.PrivateBroker = mb, true
		s.closers = append(s.closers, mb.Close)
	}
	var notifier notify.Notifier
	if cfg.Notifier != nil {
		a := notify.NewAsync(cfg.Notifier, 0, cfg.Logger)
		s.notifier, notifier = a, a
		// Shutdown closes it with its own deadline first; this covers the
		// failure paths of New.
		s.closers = append(s.closers, func() error { return a.Close(context.Background()) })
	}
	cfg.Notifier = notifier
	cfg.Metrics = s.metrics
	cfg.Now = time.Now
	if cfg.DefaultModel == "" {
		cfg.DefaultModel = cfg.Models[0].ID
	}
	return nil
}

// supportsUsage reports whether a store that has the UsageStore methods
// can keep usage: a wrapper (storage/encrypted) says so when it can only
// pass them to a store that has them.
func supportsUsage(s storage.Store) bool {
	if w, ok := s.(interface{ SupportsUsage() bool }); ok {
		return w.SupportsUsage()
	}
	return true
}

// supportsBlobs reports whether a store with the BlobStore methods can keep
// blobs (a wrapper says so when it only passes them on).
func supportsBlobs(s storage.Store) bool {
	if w, ok := s.(interface{ SupportsBlobs() bool }); ok {
		return w.SupportsBlobs()
	}
	return true
}
