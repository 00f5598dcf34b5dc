package chatbox

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/chatboxsdk/chatbox/auth/jwt"
	"github.com/chatboxsdk/chatbox/ratelimit"
)

// WithAllowedOrigins lets browser pages on other origins open sockets.
// Each pattern is an origin, "https://app.example.com", or a wildcard over
// subdomains, "https://*.example.com" (the scheme must match too). Default:
// none, so only pages served from the same host as the socket may connect.
// "*" is refused: use WithAllowAnyOrigin to mean it.
func WithAllowedOrigins(patterns ...string) Option {
	return func(c *config) error {
		var errs []error
		for _, p := range patterns {
			if strings.TrimSpace(p) == "*" {
				errs = append(errs, errors.New(`WithAllowedOrigins: "*" would allow every origin; use WithAllowAnyOrigin if that is really meant`))
			}
		}
		if err := errors.Join(errs...); err != nil {
			return err
		}
		if _, perrs := parseOriginPatterns(patterns); len(perrs) > 0 {
			return errors.Join(perrs...)
		}
		c.AllowedOrigins = append(c.AllowedOrigins, patterns...)
		return nil
	}
}

// WithAllowAnyOrigin lets pages on any origin open sockets. This exposes
// users to cross-site WebSocket hijacking when the token travels in a
// cookie; New logs a warning. Default: off.
func WithAllowAnyOrigin() Option {
	return func(c *config) error {
		c.AllowAnyOrigin = true
		return nil
	}
}

// WithOriginRequired refuses clients that send no Origin header (non-browser
// clients). Default: false, they are allowed.
func WithOriginRequired(required bool) Option {
	return func(c *config) error {
		c.OriginRequired = required
		return nil
	}
}

// WithTrustedProxies lists the proxies (CIDRs such as "10.0.0.0/8") whose
// X-Forwarded-For header is believed when finding a client's address for
// per-address limits. Default: none, so the peer address is used and the
// header ignored.
func WithTrustedProxies(cidrs ...string) Option {
	return func(c *config) error {
		if _, errs := parseTrustedProxies(cidrs); len(errs) > 0 {
			return errors.Join(errs...)
		}
		c.TrustedProxies = append(c.TrustedProxies, cidrs...)
		return nil
	}
}

// WithTokenCookie reads the bearer token from the named cookie on the
// upgrade request when there is no Authorization header. Default: none.
// Cookies travel with cross-site requests: keep the origin policy strict.
func WithTokenCookie(name string) Option {
	return func(c *config) error {
		if name == "" || !validCookieName(name) {
			return fmt.Errorf("WithTokenCookie: %q is not a valid cookie name", name)
		}
		c.TokenCookie = name
		return nil
	}
}

func validCookieName(name string) bool {
	return (&http.Cookie{Name: name, Value: "x"}).Valid() == nil
}

// WithQueryToken accepts the token from the named URL query parameter.
// Discouraged: URLs end up in access logs, browser history and Referer
// headers. Default: off, and a request carrying a token-like query parameter
// (token, access_token, jwt, auth) is refused.
func WithQueryToken(param string) Option {
	return func(c *config) error {
		if param == "" || strings.ContainsAny(param, "&=?# ") {
			return fmt.Errorf("WithQueryToken: %q is not a valid parameter name", param)
		}
		c.QueryToken = param
		return nil
	}
}

// WithConnectionRate limits socket connection attempts per client address.
// Default 60 per minute with a burst of 30.
func WithConnectionRate(l ratelimit.Limit) Option {
	return func(c *config) error { return checkRate("WithConnectionRate", l, &c.ConnectionRate) }
}

// WithMaxSocketsPerUser caps the sockets one user may have open at once;
// more are closed with 4029. Default 20; 1 to 10,000.
func WithMaxSocketsPerUser(n int) Option {
	return func(c *config) error { return intRange("WithMaxSocketsPerUser", n, 1, 10_000, &c.MaxSocketsPerUser) }
}

// WithMaxGenerationsPerUser caps the replies being generated at once for
// one user, across conversations; a send beyond it is refused with busy
// (retryable). Default 4; 1 to 1,000.
func WithMaxGenerationsPerUser(n int) Option {
	return func(c *config) error {
		return intRange("WithMaxGenerationsPerUser", n, 1, 1000, &c.MaxGenerationsPerUser)
	}
}

// WithJWT authenticates with signed tokens (jwt.New): HMAC secrets of at
// least 32 bytes, RSA, ECDSA or Ed25519 public keys, or a JWKS URL; the
// algorithm pinned; exp required; iss and aud checked when set. New builds
// the verifier, reports its configuration problems under this option's
// name, and closes it on Shutdown; the verifier's warnings (key set keys
// skipped, failed fetches) go to WithLogger's logger unless cfg.Logger is
// set. Use either WithJWT or WithAuthenticator.
func WithJWT(cfg jwt.Config) Option {
	return func(c *config) error {
		c.JWT = &cfg
		return nil
	}
}

// WithMaxMetadataEntries caps the metadata entries a client may attach to a
// new conversation. Default 16; 1 to 64.
func WithMaxMetadataEntries(n int) Option {
	return func(c *config) error { return intRange("WithMaxMetadataEntries", n, 1, 64, &c.MaxMetadataEntries) }
}

// WithMaxMetadataValueBytes caps each metadata value. Default 512; 1 to
// 4096. Keys are at most 64 bytes.
func WithMaxMetadataValueBytes(n int) Option {
	return func(c *config) error {
		return intRange("WithMaxMetadataValueBytes", n, 1, 4096, &c.MaxMetadataValueBytes)
	}
}
