package jwt_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	jwxjwt "github.com/lestrrat-go/jwx/v3/jwt"
	"go.uber.org/goleak"

	"github.com/chatboxsdk/chatbox/auth"
	"github.com/chatboxsdk/chatbox/auth/jwt"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testSecret is 32 random-looking bytes that pass the weak-secret checks.
var testSecret = []byte("q8Zr2LmX0vKp7TnW4yBc9HdJ6gFs1EaU")

// epoch is the fixed "now" of the tests.
var epoch = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// fakeClock is a settable clock safe for concurrent use.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: epoch} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// claims builds a claim set valid at epoch for ten minutes.
func claims(extra map[string]any) map[string]any {
	c := map[string]any{
		"sub":   "user-1",
		"name":  "Ada",
		"roles": []string{"operator"},
		"exp":   epoch.Add(10 * time.Minute),
		"iat":   epoch.Add(-time.Minute),
	}
	for k, v := range extra {
		if v == nil {
			delete(c, k)
			continue
		}
		c[k] = v
	}
	return c
}

// signToken signs claims with jwx; kid, when not empty, goes in the header.
func signToken(t testing.TB, alg jwa.SignatureAlgorithm, key any, kid string, c map[string]any) string {
	t.Helper()
	tok := jwxjwt.New()
	for k, v := range c {
		if err := tok.Set(k, v); err != nil {
			t.Fatalf("set %s: %v", k, err)
		}
	}
	var signKey any = key
	if kid != "" {
		jk, err := jwk.Import(key)
		if err != nil {
			t.Fatal(err)
		}
		if err := jk.Set(jwk.KeyIDKey, kid); err != nil {
			t.Fatal(err)
		}
		signKey = jk
	}
	out, err := jwxjwt.Sign(tok, jwxjwt.WithKey(alg, signKey))
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// rawToken assembles a compact token by hand: header and payload are JSON
// values; the signature is HMAC-SHA256 with macKey, or empty when macKey is
// nil.
func rawToken(t testing.TB, header, payload any, macKey []byte) string {
	t.Helper()
	enc := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	input := enc(header) + "." + enc(payload)
	if macKey == nil {
		return input + "."
	}
	m := hmac.New(sha256.New, macKey)
	m.Write([]byte(input))
	return input + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func newHS256(t testing.TB, mod func(*jwt.Config)) (*jwt.Verifier, *fakeClock) {
	t.Helper()
	clock := newFakeClock()
	cfg := jwt.Config{HMACSecret: testSecret, Algorithm: "HS256", Now: clock.Now}
	if mod != nil {
		mod(&cfg)
	}
	j, err := jwt.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = j.Close() })
	return j, clock
}

// assertRejected checks that err wraps ErrInvalidToken and that no part of
// the token shows in its text.
func assertRejected(t testing.TB, err error, token string) {
	t.Helper()
	if !errors.Is(err, auth.ErrInvalidToken) {
		t.Fatalf("want ErrInvalidToken, got %v", err)
	}
	assertNoTokenInError(t, err, token)
}

func assertNoTokenInError(t testing.TB, err error, token string) {
	t.Helper()
	msg := err.Error()
	if token != "" && strings.Contains(msg, token) {
		t.Fatalf("error contains the token: %q", msg)
	}
	for _, part := range strings.Split(token, ".") {
		if len(part) >= 8 && strings.Contains(msg, part) {
			t.Fatalf("error contains a token segment: %q", msg)
		}
	}
}
