package jwt_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"

	"github.com/chatboxsdk/chatbox/auth"
	"github.com/chatboxsdk/chatbox/auth/jwt"
)

func TestJWTAcceptsHMACAlgorithms(t *testing.T) {
	for _, tc := range []struct {
		name string
		alg  jwa.SignatureAlgorithm
	}{{"HS256", jwa.HS256()}, {"HS384", jwa.HS384()}, {"HS512", jwa.HS512()}} {
		t.Run(tc.name, func(t *testing.T) {
			j, _ := newHS256(t, func(c *jwt.Config) { c.Algorithm = tc.name })
			tok := signToken(t, tc.alg, testSecret, "", claims(nil))
			id, err := j.Authenticate(context.Background(), tok)
			if err != nil {
				t.Fatal(err)
			}
			want := auth.Identity{UserID: "user-1", Name: "Ada", Roles: []string{"operator"}, ExpiresAt: epoch.Add(10 * time.Minute)}
			if id.UserID != want.UserID || id.Name != want.Name || !slices.Equal(id.Roles, want.Roles) || !id.ExpiresAt.Equal(want.ExpiresAt) {
				t.Fatalf("identity %+v, want %+v", id, want)
			}
		})
	}
}

func TestJWTAcceptsAsymmetricKeys(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ec384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	edPub, edPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		alg  string
		jalg jwa.SignatureAlgorithm
		priv any
		pub  any
	}{
		{"RS256", jwa.RS256(), rsaKey, &rsaKey.PublicKey},
		{"PS256", jwa.PS256(), rsaKey, &rsaKey.PublicKey},
		{"ES256", jwa.ES256(), ecKey, &ecKey.PublicKey},
		{"ES384", jwa.ES384(), ec384, &ec384.PublicKey},
		{"EdDSA", jwa.EdDSA(), edPriv, edPub},
	} {
		t.Run(tc.alg, func(t *testing.T) {
			clock := newFakeClock()
			j, err := jwt.New(context.Background(), jwt.Config{PublicKey: tc.pub, Algorithm: tc.alg, Now: clock.Now})
			if err != nil {
				t.Fatal(err)
			}
			tok := signToken(t, tc.jalg, tc.priv, "", claims(nil))
			id, err := j.Authenticate(context.Background(), tok)
			if err != nil || id.UserID != "user-1" {
				t.Fatalf("valid token: %+v %v", id, err)
			}
			// One flipped signature byte is refused.
			sig := strings.LastIndexByte(tok, '.') + 1
			flipped := []byte(tok)
			flipped[sig+2] ^= 0x01
			if flipped[sig+2] == '.' || flipped[sig+2] > 'z' {
				flipped[sig+2] = 'A'
			}
			_, err = j.Authenticate(context.Background(), string(flipped))
			assertRejected(t, err, string(flipped))
		})
	}
}

func TestJWTRefusesAlgNone(t *testing.T) {
	j, _ := newHS256(t, nil)
	payload := claims(map[string]any{"exp": epoch.Add(time.Minute).Unix(), "iat": nil})
	for _, alg := range []string{"none", "None", "NONE", ""} {
		tok := rawToken(t, map[string]any{"alg": alg, "typ": "JWT"}, payload, nil)
		_, err := j.Authenticate(context.Background(), tok)
		assertRejected(t, err, tok)
	}
	if _, err := jwt.New(context.Background(), jwt.Config{HMACSecret: testSecret, Algorithm: "none"}); err == nil ||
		!strings.Contains(err.Error(), "jwt.Config.Algorithm") {
		t.Fatalf("Algorithm none accepted at New: %v", err)
	}
}

func TestJWTRefusesHMACSignedWithRSAPublicKey(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	j, err := jwt.New(context.Background(), jwt.Config{PublicKey: &rsaKey.PublicKey, Algorithm: "RS256", Now: newFakeClock().Now})
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&rsaKey.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	payload := claims(map[string]any{"exp": epoch.Add(time.Minute).Unix(), "iat": nil})
	for _, macKey := range [][]byte{der, pemBytes, x509.MarshalPKCS1PublicKey(&rsaKey.PublicKey)} {
		for _, alg := range []string{"HS256", "RS256"} {
			tok := rawToken(t, map[string]any{"alg": alg, "typ": "JWT"}, payload, macKey)
			_, err := j.Authenticate(context.Background(), tok)
			assertRejected(t, err, tok)
		}
	}
}

func TestJWTRefusesOtherAlgorithmThanPinned(t *testing.T) {
	j, _ := newHS256(t, nil)
	for _, alg := range []jwa.SignatureAlgorithm{jwa.HS384(), jwa.HS512()} {
		tok := signToken(t, alg, testSecret, "", claims(nil))
		_, err := j.Authenticate(context.Background(), tok)
		assertRejected(t, err, tok)
		if !strings.Contains(err.Error(), "algorithm") {
			t.Errorf("reason does not name the algorithm: %v", err)
		}
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tok := signToken(t, jwa.ES256(), ecKey, "", claims(nil))
	_, err = j.Authenticate(context.Background(), tok)
	assertRejected(t, err, tok)
}

func TestJWTRefusesInvalidClaims(t *testing.T) {
	j, _ := newHS256(t, func(c *jwt.Config) { c.Issuer = "https://issuer.test"; c.Audience = "chatbox" })
	good := map[string]any{"iss": "https://issuer.test", "aud": []string{"chatbox"}}
	with := func(extra map[string]any) map[string]any {
		m := claims(good)
		for k, v := range extra {
			if v == nil {
				delete(m, k)
			} else {
				m[k] = v
			}
		}
		return m
	}
	// Sanity: the baseline is accepted, so each case below fails for its own reason.
	if _, err := j.Authenticate(context.Background(), signToken(t, jwa.HS256(), testSecret, "", with(nil))); err != nil {
		t.Fatalf("baseline refused: %v", err)
	}
	for _, tc := range []struct {
		name   string
		claims map[string]any
		reason string
	}{
		{"expired", with(map[string]any{"exp": epoch.Add(-time.Minute)}), "expired"},
		{"not yet valid", with(map[string]any{"nbf": epoch.Add(time.Minute)}), "not valid yet"},
		{"issued in the future", with(map[string]any{"iat": epoch.Add(time.Minute)}), "future"},
		{"missing exp", with(map[string]any{"exp": nil}), "exp"},
		{"wrong issuer", with(map[string]any{"iss": "https://evil.test"}), "issuer"},
		{"missing issuer", with(map[string]any{"iss": nil}), "issuer"},
		{"wrong audience", with(map[string]any{"aud": []string{"other"}}), "audience"},
		{"missing audience", with(map[string]any{"aud": nil}), "audience"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok := signToken(t, jwa.HS256(), testSecret, "", tc.claims)
			_, err := j.Authenticate(context.Background(), tok)
			assertRejected(t, err, tok)
			if !strings.Contains(err.Error(), tc.reason) {
				t.Errorf("reason %q not in %v", tc.reason, err)
			}
		})
	}
}

func TestJWTRefusesMalformedTokens(t *testing.T) {
	j, _ := newHS256(t, func(c *jwt.Config) { c.MaxTokenBytes = 1024 })
	valid := signToken(t, jwa.HS256(), testSecret, "", claims(nil))
	other := []byte("Xk3pLw9QzR7vNc2TbY5mHf8JdG4sAe6U")
	cases := map[string]string{
		"empty":           "",
		"garbage":         "not-a-token",
		"two parts":       valid[:strings.LastIndexByte(valid, '.')],
		"four parts":      valid + ".x",
		"bad base64":      "%%%." + valid[strings.IndexByte(valid, '.')+1:],
		"no signature":    valid[:strings.LastIndexByte(valid, '.')+1],
		"wrong secret":    signToken(t, jwa.HS256(), other, "", claims(nil)),
		"too large":       rawToken(t, map[string]any{"alg": "HS256"}, claims(map[string]any{"pad": strings.Repeat("a", 2000)}), testSecret),
		"payload swapped": strings.Split(valid, ".")[0] + "." + strings.Split(signToken(t, jwa.HS256(), other, "", claims(map[string]any{"sub": "admin"})), ".")[1] + "." + strings.Split(valid, ".")[2],
		"json not jws":    `{"alg":"HS256"}`,
		"header not json": "bm90LWpzb24." + strings.Split(valid, ".")[1] + "." + strings.Split(valid, ".")[2],
		"unknown critical header": rawToken(t, map[string]any{"alg": "HS256", "crit": []string{"x-policy"}, "x-policy": 1},
			claims(map[string]any{"exp": epoch.Add(time.Minute).Unix(), "iat": nil}), testSecret),
		"embedded attacker key": rawToken(t, map[string]any{"alg": "HS256", "jwk": map[string]any{"kty": "oct", "k": base64.RawURLEncoding.EncodeToString(other)}},
			claims(map[string]any{"exp": epoch.Add(time.Minute).Unix(), "iat": nil}), other),
		"unsigned payload": rawToken(t, map[string]any{"alg": "HS256"}, claims(map[string]any{"exp": epoch.Add(time.Minute).Unix(), "iat": nil}), nil),
	}
	for name, tok := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := j.Authenticate(context.Background(), tok)
			assertRejected(t, err, tok)
		})
	}
	if _, err := j.Authenticate(context.Background(), valid); err != nil {
		t.Fatalf("valid token refused after the bad ones: %v", err)
	}
}

func TestJWTClockSkewHonouredBothSides(t *testing.T) {
	j, _ := newHS256(t, func(c *jwt.Config) { c.ClockSkew = 30 * time.Second })
	for _, tc := range []struct {
		name   string
		claims map[string]any
		ok     bool
	}{
		{"exp 10s ago, within skew", claims(map[string]any{"exp": epoch.Add(-10 * time.Second)}), true},
		{"exp 40s ago, beyond skew", claims(map[string]any{"exp": epoch.Add(-40 * time.Second)}), false},
		{"nbf in 10s, within skew", claims(map[string]any{"nbf": epoch.Add(10 * time.Second)}), true},
		{"nbf in 40s, beyond skew", claims(map[string]any{"nbf": epoch.Add(40 * time.Second)}), false},
		{"iat in 10s, within skew", claims(map[string]any{"iat": epoch.Add(10 * time.Second)}), true},
		{"iat in 40s, beyond skew", claims(map[string]any{"iat": epoch.Add(40 * time.Second)}), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok := signToken(t, jwa.HS256(), testSecret, "", tc.claims)
			_, err := j.Authenticate(context.Background(), tok)
			if tc.ok && err != nil {
				t.Fatalf("refused: %v", err)
			}
			if !tc.ok {
				assertRejected(t, err, tok)
			}
		})
	}
}

func TestJWTExpiryFollowsTheClock(t *testing.T) {
	j, clock := newHS256(t, nil)
	tok := signToken(t, jwa.HS256(), testSecret, "", claims(nil))
	if _, err := j.Authenticate(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	clock.Advance(10*time.Minute + 31*time.Second) // past exp plus the default 30s skew
	_, err := j.Authenticate(context.Background(), tok)
	assertRejected(t, err, tok)
}

func TestJWTClaimsMapping(t *testing.T) {
	j, _ := newHS256(t, func(c *jwt.Config) {
		c.UserIDClaim, c.NameClaim, c.RolesClaim = "uid", "display", "groups"
	})
	ctx := context.Background()
	base := map[string]any{"sub": nil, "name": nil, "roles": nil, "uid": "u-7", "display": "Grace"}
	with := func(extra map[string]any) map[string]any {
		m := claims(base)
		for k, v := range extra {
			if v == nil {
				delete(m, k)
			} else {
				m[k] = v
			}
		}
		return m
	}
	for _, tc := range []struct {
		name  string
		extra map[string]any
		roles []string
	}{
		{"roles as array", map[string]any{"groups": []string{"operator", "admin"}}, []string{"operator", "admin"}},
		{"roles as string", map[string]any{"groups": "operator admin"}, []string{"operator", "admin"}},
		{"single role string", map[string]any{"groups": "operator"}, []string{"operator"}},
		{"no roles", nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id, err := j.Authenticate(ctx, signToken(t, jwa.HS256(), testSecret, "", with(tc.extra)))
			if err != nil {
				t.Fatal(err)
			}
			if id.UserID != "u-7" || id.Name != "Grace" || !slices.Equal(id.Roles, tc.roles) {
				t.Fatalf("identity %+v, want u-7/Grace/%v", id, tc.roles)
			}
		})
	}
	for _, tc := range []struct {
		name  string
		extra map[string]any
	}{
		{"missing user id", map[string]any{"uid": nil}},
		{"empty user id", map[string]any{"uid": ""}},
		{"numeric user id", map[string]any{"uid": 42}},
		{"user id only in sub", map[string]any{"uid": nil, "sub": "user-1"}},
		{"roles with a number", map[string]any{"groups": []any{"operator", 3}}},
		{"roles as object", map[string]any{"groups": map[string]any{"a": "b"}}},
		{"name not a string", map[string]any{"display": []string{"x"}}},
		{"user id too long", map[string]any{"uid": strings.Repeat("u", 300)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok := signToken(t, jwa.HS256(), testSecret, "", with(tc.extra))
			_, err := j.Authenticate(ctx, tok)
			assertRejected(t, err, tok)
		})
	}
}

func TestJWTHonoursCancelledContext(t *testing.T) {
	j, _ := newHS256(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := j.Authenticate(ctx, signToken(t, jwa.HS256(), testSecret, "", claims(nil)))
	if !errors.Is(err, context.Canceled) || errors.Is(err, auth.ErrInvalidToken) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
}

func TestJWTConcurrentUse(t *testing.T) {
	j, _ := newHS256(t, nil)
	tok := signToken(t, jwa.HS256(), testSecret, "", claims(nil))
	errs := make(chan error, 16)
	for range 16 {
		go func() {
			var err error
			for range 50 {
				if _, err = j.Authenticate(context.Background(), tok); err != nil {
					break
				}
			}
			errs <- err
		}()
	}
	for range 16 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}
