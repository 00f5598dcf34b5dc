package jwt_test

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

	"github.com/chatboxsdk/chatbox/auth/jwt"
)

func TestNewRefusesWeakSecrets(t *testing.T) {
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
			_, err := jwt.New(context.Background(), jwt.Config{HMACSecret: []byte(secret), Algorithm: "HS256"})
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), "jwt.Config.HMACSecret") {
				t.Fatalf("error does not name the field: %v", err)
			}
			if len(secret) >= 6 && strings.Contains(err.Error(), secret) {
				t.Fatalf("error quotes the secret: %v", err)
			}
		})
	}
}

func TestNewAcceptsRandomSecrets(t *testing.T) {
	for range 200 {
		secret := make([]byte, 32)
		if _, err := rand.Read(secret); err != nil {
			t.Fatal(err)
		}
		if _, err := jwt.New(context.Background(), jwt.Config{HMACSecret: secret, Algorithm: "HS512"}); err != nil {
			t.Fatalf("random secret refused: %v", err)
		}
	}
}

func TestNewReportsEveryProblemAtOnce(t *testing.T) {
	_, err := jwt.New(context.Background(), jwt.Config{
		HMACSecret:    []byte("changeme"),
		Algorithm:     "RS256",
		ClockSkew:     time.Hour,
		MaxTokenBytes: -1,
	})
	if err == nil {
		t.Fatal("accepted")
	}
	for _, field := range []string{"jwt.Config.HMACSecret", "jwt.Config.Algorithm", "jwt.Config.ClockSkew", "jwt.Config.MaxTokenBytes"} {
		if !strings.Contains(err.Error(), field) {
			t.Errorf("%s not reported in:\n%v", field, err)
		}
	}
}

func TestNewRefusesBadConfigurations(t *testing.T) {
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
		cfg   jwt.Config
		field string
	}{
		{"no key source", jwt.Config{Algorithm: "HS256"}, "jwt.Config: no key source"},
		{"two key sources", jwt.Config{HMACSecret: testSecret, PublicKey: edPub, Algorithm: "HS256"}, "jwt.Config: several key sources"},
		{"no algorithm", jwt.Config{HMACSecret: testSecret}, "jwt.Config.Algorithm"},
		{"unknown algorithm", jwt.Config{HMACSecret: testSecret, Algorithm: "HS1"}, "jwt.Config.Algorithm"},
		{"lowercase algorithm", jwt.Config{HMACSecret: testSecret, Algorithm: "hs256"}, "jwt.Config.Algorithm"},
		{"HMAC algorithm with a public key", jwt.Config{PublicKey: &rsaKey.PublicKey, Algorithm: "HS256"}, "jwt.Config.Algorithm"},
		{"asymmetric algorithm with a secret", jwt.Config{HMACSecret: testSecret, Algorithm: "RS256"}, "jwt.Config.Algorithm"},
		{"HMAC algorithm with a key set", jwt.Config{JWKSURL: "https://idp.test/jwks", Algorithm: "HS256"}, "jwt.Config.Algorithm"},
		{"RSA key for ES256", jwt.Config{PublicKey: &rsaKey.PublicKey, Algorithm: "ES256"}, "jwt.Config.PublicKey"},
		{"P-256 key for ES384", jwt.Config{PublicKey: &ecKey.PublicKey, Algorithm: "ES384"}, "jwt.Config.PublicKey"},
		{"Ed25519 key for RS256", jwt.Config{PublicKey: edPub, Algorithm: "RS256"}, "jwt.Config.PublicKey"},
		{"short RSA key", jwt.Config{PublicKey: &smallRSA.PublicKey, Algorithm: "RS256"}, "jwt.Config.PublicKey"},
		{"private key", jwt.Config{PublicKey: edPriv, Algorithm: "EdDSA"}, "jwt.Config.PublicKey"},
		{"RSA private key", jwt.Config{PublicKey: rsaKey, Algorithm: "RS256"}, "jwt.Config.PublicKey"},
		{"unsupported key type", jwt.Config{PublicKey: "pem text", Algorithm: "RS256"}, "jwt.Config.PublicKey"},
		{"plain http key set", jwt.Config{JWKSURL: "http://idp.test/jwks", Algorithm: "RS256"}, "jwt.Config.JWKSURL"},
		{"key set without host", jwt.Config{JWKSURL: "https:///jwks", Algorithm: "RS256"}, "jwt.Config.JWKSURL"},
		{"key set with other scheme", jwt.Config{JWKSURL: "file:///etc/jwks", Algorithm: "RS256"}, "jwt.Config.JWKSURL"},
		{"refresh interval too short", jwt.Config{JWKSURL: "https://idp.test/jwks", Algorithm: "RS256", JWKSRefreshInterval: time.Second}, "jwt.Config.JWKSRefreshInterval"},
		{"min refresh interval too short", jwt.Config{JWKSURL: "https://idp.test/jwks", Algorithm: "RS256", JWKSMinRefreshInterval: time.Millisecond}, "jwt.Config.JWKSMinRefreshInterval"},
		{"min refresh above refresh", jwt.Config{JWKSURL: "https://idp.test/jwks", Algorithm: "RS256", JWKSMinRefreshInterval: time.Hour}, "jwt.Config.JWKSMinRefreshInterval"},
		{"negative skew", jwt.Config{HMACSecret: testSecret, Algorithm: "HS256", ClockSkew: -time.Second}, "jwt.Config.ClockSkew"},
		{"skew too large", jwt.Config{HMACSecret: testSecret, Algorithm: "HS256", ClockSkew: 6 * time.Minute}, "jwt.Config.ClockSkew"},
		{"token cap too large", jwt.Config{HMACSecret: testSecret, Algorithm: "HS256", MaxTokenBytes: 1 << 20}, "jwt.Config.MaxTokenBytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			j, err := jwt.New(context.Background(), tc.cfg)
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

func TestNewCopiesTheSecret(t *testing.T) {
	secret := append([]byte(nil), testSecret...)
	j, err := jwt.New(context.Background(), jwt.Config{HMACSecret: secret, Algorithm: "HS256", Now: newFakeClock().Now})
	if err != nil {
		t.Fatal(err)
	}
	tok := signToken(t, jwa.HS256(), testSecret, "", claims(nil))
	secret[0] ^= 0xff
	if _, err := j.Authenticate(context.Background(), tok); err != nil {
		t.Fatalf("changing the caller's slice changed the verifier: %v", err)
	}
}
