package jwt

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
)

// Config configures a Verifier built by New. Exactly one key
// source is set: HMACSecret, PublicKey or JWKSURL.
type Config struct {
	// HMACSecret verifies HS256, HS384 and HS512 tokens. It must be at least
	// 32 bytes and must not look like a placeholder ("changeme", "secret",
	// "test...", a repeated pattern, a run of consecutive characters).
	HMACSecret []byte
	// PublicKey verifies asymmetric tokens: *rsa.PublicKey (RS256/384/512,
	// PS256/384/512; at least 2048 bits), *ecdsa.PublicKey (ES256 on P-256,
	// ES384 on P-384, ES512 on P-521) or ed25519.PublicKey (EdDSA).
	PublicKey crypto.PublicKey
	// JWKSURL is where the signing keys are fetched from (a JSON Web Key
	// Set). It must be https; http is allowed only for loopback hosts. The
	// token's "kid" header selects the key; a key set with a single usable
	// key also verifies tokens without "kid".
	//
	// Keys that cannot verify Algorithm are skipped with a warning on Logger
	// (an unknown "kty", RSA under 2048 bits, a "use" other than "sig", an
	// "alg" other than Algorithm, another key type or curve, a private key);
	// the others stay usable. A fetched set with no usable key is a failed
	// fetch: the keys held before stay in use, and while none are held
	// tokens fail with ErrKeysUnavailable.
	JWKSURL string
	// JWKSRefreshInterval is how often the key set is fetched again.
	// Default 15m, at least 1m. Ignored without JWKSURL.
	JWKSRefreshInterval time.Duration
	// JWKSMinRefreshInterval bounds fetches caused by tokens: a token whose
	// "kid" is not in the key set (or any token while no key set could be
	// fetched yet) triggers at most one fetch per interval. Default 30s, at
	// least 1s and at most JWKSRefreshInterval. Ignored without JWKSURL.
	JWKSMinRefreshInterval time.Duration

	// Algorithm is required and pinned: a token whose "alg" header differs is
	// refused. "none" is refused, and so is an HMAC algorithm with a public key
	// source or an asymmetric algorithm with HMACSecret.
	Algorithm string

	// Issuer, when set, must equal the token's "iss".
	Issuer string
	// Audience, when set, must be one of the token's "aud" values.
	Audience string
	// ClockSkew is the tolerance applied to exp, nbf and iat. Default 30s,
	// at most 5m; negative is an error.
	ClockSkew time.Duration

	// UserIDClaim names the claim holding auth.Identity.UserID (a non-empty
	// string, required in every token). Default "sub".
	UserIDClaim string
	// NameClaim names the claim holding auth.Identity.Name (a string, optional).
	// Default "name".
	NameClaim string
	// RolesClaim names the claim holding auth.Identity.Roles (optional): an array
	// of strings, or one string holding space-separated roles. Default
	// "roles".
	RolesClaim string

	// MaxTokenBytes caps the token length checked before any parsing.
	// Default 8 KiB, at most 64 KiB.
	MaxTokenBytes int
	// MaxTokenTTL, when set, caps how long a token may be valid: "exp"
	// minus "iat", or, when the token has no "iat", "exp" minus now (with
	// ClockSkew allowed). A token valid for longer is refused, so a token
	// minted by mistake or by a stolen signing key for years cannot be used.
	// Default 0: no cap. Negative is an error.
	MaxTokenTTL time.Duration

	// Logger receives warnings about the key set: keys skipped because
	// they cannot be used (unknown key type, RSA under 2048 bits, "use"
	// other than "sig", "alg" other than Algorithm, a curve or key type
	// that cannot verify Algorithm, a private key), naming the key id, and
	// failed fetches. Tokens are never logged. Default: discards. Ignored
	// without JWKSURL.
	Logger *slog.Logger
	// HTTPClient fetches the key set. Default: a client with a 10s timeout
	// that refuses redirects away from https. Ignored without JWKSURL.
	HTTPClient *http.Client
	// Now is the clock (tests). Default time.Now.
	Now func() time.Time
}

// Defaults and bounds of Config.
const (
	defaultJWKSRefreshInterval    = 15 * time.Minute
	minJWKSRefreshInterval        = time.Minute
	defaultJWKSMinRefreshInterval = 30 * time.Second
	minJWKSMinRefreshInterval     = time.Second
	defaultClockSkew              = 30 * time.Second
	maxClockSkew                  = 5 * time.Minute
	defaultMaxTokenBytes          = 8 << 10
	maxMaxTokenBytes              = 64 << 10
	minHMACSecretBytes            = 32
	minRSABits                    = 2048
	defaultJWKSHTTPTimeout        = 10 * time.Second
)

type keyFamily int

const (
	familyHMAC keyFamily = iota + 1
	familyRSA
	familyEC
	familyEd25519
)

// algInfo describes one supported signature algorithm.
type algInfo struct {
	alg    jwa.SignatureAlgorithm
	family keyFamily
	curve  elliptic.Curve // ECDSA only
}

func lookupAlgorithm(name string) (algInfo, bool) {
	switch name {
	case "HS256":
		return algInfo{alg: jwa.HS256(), family: familyHMAC}, true
	case "HS384":
		return algInfo{alg: jwa.HS384(), family: familyHMAC}, true
	case "HS512":
		return algInfo{alg: jwa.HS512(), family: familyHMAC}, true
	case "RS256":
		return algInfo{alg: jwa.RS256(), family: familyRSA}, true
	case "RS384":
		return algInfo{alg: jwa.RS384(), family: familyRSA}, true
	case "RS512":
		return algInfo{alg: jwa.RS512(), family: familyRSA}, true
	case "PS256":
		return algInfo{alg: jwa.PS256(), family: familyRSA}, true
	case "PS384":
		return algInfo{alg: jwa.PS384(), family: familyRSA}, true
	case "PS512":
		return algInfo{alg: jwa.PS512(), family: familyRSA}, true
	case "ES256":
		return algInfo{alg: jwa.ES256(), family: familyEC, curve: elliptic.P256()}, true
	case "ES384":
		return algInfo{alg: jwa.ES384(), family: familyEC, curve: elliptic.P384()}, true
	case "ES512":
		return algInfo{alg: jwa.ES512(), family: familyEC, curve: elliptic.P521()}, true
	case "EdDSA":
		return algInfo{alg: jwa.EdDSA(), family: familyEd25519}, true
	}
	return algInfo{}, false
}

// settings is a Config with defaults applied, validated.
type settings struct {
	Config
	alg algInfo
}

// resolveConfig applies defaults and reports every problem at once, each
// naming its field.
func resolveConfig(cfg Config) (settings, error) {
	s := settings{Config: cfg}
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("jwt.Config.%s: "+format, append([]any{field}, args...)...))
	}

	sources := 0
	for _, set := range []bool{cfg.HMACSecret != nil, cfg.PublicKey != nil, cfg.JWKSURL != ""} {
		if set {
			sources++
		}
	}
	switch {
	case sources == 0:
		errs = append(errs, errors.New("jwt.Config: no key source: set one of HMACSecret, PublicKey or JWKSURL"))
	case sources > 1:
		errs = append(errs, errors.New("jwt.Config: several key sources: set only one of HMACSecret, PublicKey or JWKSURL"))
	}

	info, algOK := lookupAlgorithm(cfg.Algorithm)
	switch {
	case cfg.Algorithm == "":
		bad("Algorithm", "required (for example HS256, RS256, ES256 or EdDSA)")
	case strings.EqualFold(cfg.Algorithm, "none"):
		bad("Algorithm", `"none" is refused: tokens must be signed`)
	case !algOK:
		bad("Algorithm", "%q is not supported (HS256/384/512, RS256/384/512, PS256/384/512, ES256/384/512, EdDSA)", cfg.Algorithm)
	}
	s.alg = info

	if cfg.HMACSecret != nil {
		if reason := weakSecretReason(cfg.HMACSecret); reason != "" {
			bad("HMACSecret", "%s", reason)
		}
		if algOK && info.family != familyHMAC {
			bad("Algorithm", "%s is asymmetric but HMACSecret is set: use PublicKey or JWKSURL", cfg.Algorithm)
		}
		s.HMACSecret = bytes.Clone(cfg.HMACSecret)
	}
	if cfg.PublicKey != nil {
		if algOK && info.family == familyHMAC {
			bad("Algorithm", "%s is an HMAC algorithm but a public key is set: HMAC needs HMACSecret", cfg.Algorithm)
		} else if algOK {
			if reason := publicKeyProblem(cfg.PublicKey, info); reason != "" {
				bad("PublicKey", "%s", reason)
			}
		}
	}
	if cfg.JWKSURL != "" {
		if reason := jwksURLProblem(cfg.JWKSURL); reason != "" {
			bad("JWKSURL", "%s", reason)
		}
		if algOK && info.family == familyHMAC {
			bad("Algorithm", "%s is an HMAC algorithm but JWKSURL is set: a key set serves public keys", cfg.Algorithm)
		}
		if s.JWKSRefreshInterval == 0 {
			s.JWKSRefreshInterval = defaultJWKSRefreshInterval
		}
		if s.JWKSMinRefreshInterval == 0 {
			s.JWKSMinRefreshInterval = defaultJWKSMinRefreshInterval
		}
		if s.JWKSRefreshInterval < minJWKSRefreshInterval {
			bad("JWKSRefreshInterval", "%v is below the minimum of %v", s.JWKSRefreshInterval, minJWKSRefreshInterval)
		}
		if s.JWKSMinRefreshInterval < minJWKSMinRefreshInterval {
			bad("JWKSMinRefreshInterval", "%v is below the minimum of %v", s.JWKSMinRefreshInterval, minJWKSMinRefreshInterval)
		} else if s.JWKSMinRefreshInterval > s.JWKSRefreshInterval {
			bad("JWKSMinRefreshInterval", "%v exceeds JWKSRefreshInterval (%v)", s.JWKSMinRefreshInterval, s.JWKSRefreshInterval)
		}
		if s.HTTPClient == nil {
			s.HTTPClient = defaultJWKSHTTPClient()
		}
		if s.Logger == nil {
			s.Logger = slog.New(slog.DiscardHandler)
		}
	}

	switch {
	case cfg.ClockSkew == 0:
		s.ClockSkew = defaultClockSkew
	case cfg.ClockSkew < 0:
		bad("ClockSkew", "%v is negative", cfg.ClockSkew)
	case cfg.ClockSkew > maxClockSkew:
		bad("ClockSkew", "%v exceeds the maximum of %v", cfg.ClockSkew, maxClockSkew)
	}
	if cfg.MaxTokenTTL < 0 {
		bad("MaxTokenTTL", "%v is negative (0 means no cap)", cfg.MaxTokenTTL)
	}
	switch {
	case cfg.MaxTokenBytes == 0:
		s.MaxTokenBytes = defaultMaxTokenBytes
	case cfg.MaxTokenBytes < 0:
		bad("MaxTokenBytes", "%d is negative", cfg.MaxTokenBytes)
	case cfg.MaxTokenBytes > maxMaxTokenBytes:
		bad("MaxTokenBytes", "%d exceeds the maximum of %d", cfg.MaxTokenBytes, maxMaxTokenBytes)
	}
	if s.UserIDClaim == "" {
		s.UserIDClaim = "sub"
	}
	if s.NameClaim == "" {
		s.NameClaim = "name"
	}
	if s.RolesClaim == "" {
		s.RolesClaim = "roles"
	}
	if s.Now == nil {
		s.Now = time.Now
	}
	return s, errors.Join(errs...)
}

// publicKeyProblem returns why key cannot verify info's algorithm, or "".
func publicKeyProblem(key crypto.PublicKey, info algInfo) string {
	switch k := key.(type) {
	case *rsa.PublicKey:
		if info.family != familyRSA {
			return fmt.Sprintf("an RSA key cannot verify %s", info.alg)
		}
		if k.N == nil || k.N.BitLen() < minRSABits {
			return fmt.Sprintf("RSA key is shorter than %d bits", minRSABits)
		}
	case *ecdsa.PublicKey:
		if info.family != familyEC {
			return fmt.Sprintf("an ECDSA key cannot verify %s", info.alg)
		}
		if k.Curve != info.curve {
			return fmt.Sprintf("%s needs a key on %s", info.alg, info.curve.Params().Name)
		}
	case ed25519.PublicKey:
		if info.family != familyEd25519 {
			return fmt.Sprintf("an Ed25519 key cannot verify %s", info.alg)
		}
		if len(k) != ed25519.PublicKeySize {
			return fmt.Sprintf("Ed25519 key is %d bytes, want %d", len(k), ed25519.PublicKeySize)
		}
	case interface{ Public() crypto.PublicKey }:
		return "is a private key: pass its public key"
	default:
		return fmt.Sprintf("unsupported key type %T (want *rsa.PublicKey, *ecdsa.PublicKey or ed25519.PublicKey)", key)
	}
	return ""
}

// jwksURLProblem returns why raw is unfit as a key set address, or "".
func jwksURLProblem(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "is not a valid URL"
	}
	if u.Host == "" {
		return "has no host"
	}
	switch u.Scheme {
	case "https":
		return ""
	case "http":
		if isLoopbackHost(u.Hostname()) {
			return ""
		}
		return "must be https (http is allowed only for loopback hosts)"
	default:
		return fmt.Sprintf("scheme %q is not https", u.Scheme)
	}
}

func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// defaultJWKSHTTPClient has a timeout and refuses redirects that leave
// https or exceed a few hops.
func defaultJWKSHTTPClient() *http.Client {
	return &http.Client{
		Timeout: defaultJWKSHTTPTimeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 3 {
				return errors.New("too many redirects")
			}
			if req.URL.Scheme != "https" && via[0].URL.Scheme == "https" {
				return errors.New("redirect away from https refused")
			}
			return nil
		},
	}
}
