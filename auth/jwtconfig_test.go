package auth_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"

	"github.com/chatboxsdk/chatbox/auth"
)

func TestNewJWTRefusesWeakSecrets(t *testing.T) {
	for _, secret := range []string{
		"",
		"changeme",
		"secret",
		"your-256-bit-secret",
		"test123",
		"a-string-secret-at-least-256-bits-long",
		"changemechangemechangemechangeme",
		"testtesttesttesttesttesttesttesttest",
		"test-secret-for-the-unit-tests-only!",
		"development-key-0123456789-abcdefgh",
		strings.Repeat("a", 64),
		strings.Repeat("\x00", 32),
		strings.Repeat("ab12", 10),
		"abcdefghijklmnopqrstuvwxyz012345",
		"my-super-secret-jwt-key-for-prod-2024",
		"0000000011111111222222223333333344",
	} {
		t.Run(secret, func(t *testing.T) {
			_, err := auth.NewJWT(context.Background(), auth.JWTConfig{HMACSecret: []byte(secret), Algorithm: "HS256"})
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), "JWTConfig.HMACSecret") {
				t.Fatalf("error does not name the field: %v", err)
			}
			if len(secret) >= 6 && strings.Contains(err.Error(), secret) {
				t.Fatalf("error quotes the secret: %v", err)
			}
		})
	}
}

func TestNewJWTAcceptsRandomSecrets(t *testing.T) {
	for range 200 {
		secret := make([]byte, 32)
		if _, err := rand.Read(secret); err != nil {
			t.Fatal(err)
		}
		if _, err := auth.NewJWT(context.Background(), auth.JWTConfig{HMACSecret: secret, Algorithm: "HS512"}); err != nil {
			t.Fatalf("random secret refused: %v", err)
		}
	}
}

func TestNewJWTReportsEveryProblemAtOnce(t *testing.T) {
	_, err := auth.NewJWT(context.Background(), auth.JWTConfig{
		HMACSecret:    []byte("changeme"),
		Algorithm:     "RS256",
		ClockSkew:     time.Hour,
		MaxTokenBytes: -1,
	})
	if err == nil {
		t.Fatal("accepted")
	}
	for _, field := range []string{"JWTConfig.HMACSecret", "JWTConfig.Algorithm", "JWTConfig.ClockSkew", "JWTConfig.MaxTokenBytes"} {
		if !strings.Contains(err.Error(), field) {
			t.Errorf("%s not reported in:\n%v", field, err)
		}
	}
}

func TestNewJWTRefusesBadConfigurations(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	smallRSA, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	edPub, edPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		cfg   auth.JWTConfig
		field string
	}{
		{"no key source", auth.JWTConfig{Algorithm: "HS256"}, "JWTConfig: no key source"},
		{"two key sources", auth.JWTConfig{HMACSecret: testSecret, PublicKey: edPub, Algorithm: "HS256"}, "JWTConfig: several key sources"},
		{"no algorithm", auth.JWTConfig{HMACSecret: testSecret}, "JWTConfig.Algorithm"},
		{"unknown algorithm", auth.JWTConfig{HMACSecret: testSecret, Algorithm: "HS1"}, "JWTConfig.Algorithm"},
		{"lowercase algorithm", auth.JWTConfig{HMACSecret: testSecret, Algorithm: "hs256"}, "JWTConfig.Algorithm"},
		{"HMAC algorithm with a public key", auth.JWTConfig{PublicKey: &rsaKey.PublicKey, Algorithm: "HS256"}, "JWTConfig.Algorithm"},
		{"asymmetric algorithm with a secret", auth.JWTConfig{HMACSecret: testSecret, Algorithm: "RS256"}, "JWTConfig.Algorithm"},
		{"HMAC algorithm with a key set", auth.JWTConfig{JWKSURL: "https://idp.test/jwks", Algorithm: "HS256"}, "JWTConfig.Algorithm"},
		{"RSA key for ES256", auth.JWTConfig{PublicKey: &rsaKey.PublicKey, Algorithm: "ES256"}, "JWTConfig.PublicKey"},
		{"P-256 key for ES384", auth.JWTConfig{PublicKey: &ecKey.PublicKey, Algorithm: "ES384"}, "JWTConfig.PublicKey"},
		{"Ed25519 key for RS256", auth.JWTConfig{PublicKey: edPub, Algorithm: "RS256"}, "JWTConfig.PublicKey"},
		{"short RSA key", auth.JWTConfig{PublicKey: &smallRSA.PublicKey, Algorithm: "RS256"}, "JWTConfig.PublicKey"},
		{"private key", auth.JWTConfig{PublicKey: edPriv, Algorithm: "EdDSA"}, "JWTConfig.PublicKey"},
		{"RSA private key", auth.JWTConfig{PublicKey: rsaKey, Algorithm: "RS256"}, "JWTConfig.PublicKey"},
		{"unsupported key type", auth.JWTConfig{PublicKey: "pem text", Algorithm: "RS256"}, "JWTConfig.PublicKey"},
		{"plain http key set", auth.JWTConfig{JWKSURL: "http://idp.test/jwks", Algorithm: "RS256"}, "JWTConfig.JWKSURL"},
		{"key set without host", auth.JWTConfig{JWKSURL: "https:///jwks", Algorithm: "RS256"}, "JWTConfig.JWKSURL"},
		{"key set with other scheme", auth.JWTConfig{JWKSURL: "file:///etc/jwks", Algorithm: "RS256"}, "JWTConfig.JWKSURL"},
		{"refresh interval too short", auth.JWTConfig{JWKSURL: "https://idp.test/jwks", Algorithm: "RS256", JWKSRefreshInterval: time.Second}, "JWTConfig.JWKSRefreshInterval"},
		{"min refresh interval too short", auth.JWTConfig{JWKSURL: "https://idp.test/jwks", Algorithm: "RS256", JWKSMinRefreshInterval: time.Millisecond}, "JWTConfig.JWKSMinRefreshInterval"},
		{"min refresh above refresh", auth.JWTConfig{JWKSURL: "https://idp.test/jwks", Algorithm: "RS256", JWKSMinRefreshInterval: time.Hour}, "JWTConfig.JWKSMinRefreshInterval"},
		{"negative skew", auth.JWTConfig{HMACSecret: testSecret, Algorithm: "HS256", ClockSkew: -time.Second}, "JWTConfig.ClockSkew"},
		{"skew too large", auth.JWTConfig{HMACSecret: testSecret, Algorithm: "HS256", ClockSkew: 6 * time.Minute}, "JWTConfig.ClockSkew"},
		{"token cap too large", auth.JWTConfig{HMACSecret: testSecret, Algorithm: "HS256", MaxTokenBytes: 1 << 20}, "JWTConfig.MaxTokenBytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			j, err := auth.NewJWT(context.Background(), tc.cfg)
			if err == nil {
				_ = j.Close()
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), tc.field) {
				t.Fatalf("error does not name %s: %v", tc.field, err)
			}
		})
	}
}

func TestNewJWTCopiesTheSecret(t *testing.T) {
	secret := append([]byte(nil), testSecret...)
	j, err := auth.NewJWT(context.Background(), auth.JWTConfig{HMACSecret: secret, Algorithm: "HS256", Now: newFakeClock().Now})
	if err != nil {
		t.Fatal(err)
	}
	tok := signToken(t, jwa.HS256(), testSecret, "", claims(nil))
	secret[0] ^= 0xff
	if _, err := j.Authenticate(context.Background(), tok); err != nil {
		t.Fatalf("changing the caller's slice changed the verifier: %v", err)
	}
}
