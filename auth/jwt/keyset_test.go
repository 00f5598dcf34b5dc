package jwt_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"math/big"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"

	"github.com/chatboxsdk/chatbox/auth"
	"github.com/chatboxsdk/chatbox/auth/jwt"
)

// logBuffer collects log output written from the fetcher's goroutines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// serveRaw publishes body as the key set document.
func (ks *keyServer) serveRaw(body []byte) {
	ks.mu.Lock()
	ks.body, ks.failWith = body, 0
	ks.mu.Unlock()
}

// publicJWK is the JSON of pub as a JWK with the given members set.
func publicJWK(t testing.TB, pub any, members map[string]any) json.RawMessage {
	t.Helper()
	jk, err := jwk.Import(pub)
	if err != nil {
		t.Fatal(err)
	}
	for name, v := range members {
		if err := jk.Set(name, v); err != nil {
			t.Fatal(err)
		}
	}
	b, err := json.Marshal(jk)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func keySetJSON(t testing.TB, keys ...json.RawMessage) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{"keys": keys})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func newLoggingJWKSVerifier(t testing.TB, url, alg string, clock *fakeClock, logs *logBuffer) *jwt.Verifier {
	t.Helper()
	j, err := jwt.New(context.Background(), jwt.Config{
		JWKSURL: url, Algorithm: alg, Now: clock.Now,
		HTTPClient: &http.Client{Timeout: 5 * time.Second},
		Logger:     slog.New(slog.NewTextHandler(logs, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := j.Close(); err != nil {
			t.Error(err)
		}
	})
	return j
}

func TestJWKSSkipsUnusableKeysAndKeepsTheOthers(t *testing.T) {
	ec256, ec384 := newECKey(t), mustECKey(t, elliptic.P384())
	rsaGood, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	rsaWeak, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	edPub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	leaked := newECKey(t)
	for _, tc := range []struct {
		name    string
		alg     string
		jalg    jwa.SignatureAlgorithm
		good    any // private key signing the accepted token
		goodPub any
		bad     json.RawMessage // published under kid "bad"
		badKey  any             // signs the token naming "bad"; nil: the good key
		reason  string          // in the warning
	}{
		{"unknown kty", "ES256", jwa.ES256(), ec256, &ec256.PublicKey,
			json.RawMessage(`{"kty":"AKP","kid":"bad","alg":"ML-DSA-44","pub":"AAAA"}`), nil, "not supported"},
		{"RSA under 2048 bits", "RS256", jwa.RS256(), rsaGood, &rsaGood.PublicKey,
			weakRSAJWK(&rsaWeak.PublicKey, "bad"), nil, "2048"},
		{"use enc", "ES256", jwa.ES256(), ec256, &ec256.PublicKey,
			publicJWK(t, &ec256.PublicKey, map[string]any{jwk.KeyIDKey: "bad", jwk.KeyUsageKey: "enc"}), ec256, `enc`},
		{"alg not accepted", "ES256", jwa.ES256(), ec256, &ec256.PublicKey,
			publicJWK(t, &ec256.PublicKey, map[string]any{jwk.KeyIDKey: "bad", jwk.AlgorithmKey: jwa.ES384()}), ec256, `ES384`},
		{"curve of another algorithm", "ES256", jwa.ES256(), ec256, &ec256.PublicKey,
			publicJWK(t, &ec384.PublicKey, map[string]any{jwk.KeyIDKey: "bad"}), nil, "P-256"},
		{"key type of another algorithm", "ES256", jwa.ES256(), ec256, &ec256.PublicKey,
			publicJWK(t, edPub, map[string]any{jwk.KeyIDKey: "bad"}), nil, "Ed25519"},
		{"private key published", "ES256", jwa.ES256(), ec256, &ec256.PublicKey,
			publicJWK(t, leaked, map[string]any{jwk.KeyIDKey: "bad"}), leaked, "private"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ks := newKeyServer(t)
			ks.serveRaw(keySetJSON(t, publicJWK(t, tc.goodPub, map[string]any{jwk.KeyIDKey: "good", jwk.KeyUsageKey: "sig"}), tc.bad))
			logs := &logBuffer{}
			j := newLoggingJWKSVerifier(t, ks.srv.URL, tc.alg, newFakeClock(), logs)

			if _, err := j.Authenticate(context.Background(), signToken(t, tc.jalg, tc.good, "good", claims(nil))); err != nil {
				t.Fatalf("token for the usable key refused: %v", err)
			}
			out := logs.String()
			if !strings.Contains(out, "key skipped") || !strings.Contains(out, "kid=bad") || !strings.Contains(out, tc.reason) {
				t.Fatalf("no warning naming the skipped key and %q:\n%s", tc.reason, out)
			}
			if strings.Contains(out, "kid=good") {
				t.Fatalf("the usable key was reported:\n%s", out)
			}
			signer := tc.badKey
			if signer == nil {
				signer = tc.good
			}
			tok := signToken(t, tc.jalg, signer, "bad", claims(nil))
			_, err := j.Authenticate(context.Background(), tok)
			assertRejected(t, err, tok)
		})
	}
}

func TestJWKSSetWithoutUsableKeyIsNotAnInvalidToken(t *testing.T) {
	ks := newKeyServer(t)
	weak, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	ks.serveRaw(keySetJSON(t,
		weakRSAJWK(&weak.PublicKey, "weak"),
		json.RawMessage(`{"kty":"AKP","kid":"pq","pub":"AAAA"}`)))
	logs := &logBuffer{}
	clock := newFakeClock()
	j := newLoggingJWKSVerifier(t, ks.srv.URL, "RS256", clock, logs)
	good, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tok := signToken(t, jwa.RS256(), good, "weak", claims(nil))
	_, err = j.Authenticate(context.Background(), tok)
	if err == nil || errors.Is(err, auth.ErrInvalidToken) || !errors.Is(err, jwt.ErrKeysUnavailable) {
		t.Fatalf("got %v, want ErrKeysUnavailable and not ErrInvalidToken", err)
	}
	if !strings.Contains(err.Error(), "no usable key") {
		t.Fatalf("reason not given: %v", err)
	}
	assertNoTokenInError(t, err, tok)
	for _, kid := range []string{"kid=weak", "kid=pq"} {
		if !strings.Contains(logs.String(), kid) {
			t.Fatalf("no warning for %s:\n%s", kid, logs.String())
		}
	}

	// Once a usable key is published, the same verifier works.
	ks.serveRaw(keySetJSON(t, publicJWK(t, &good.PublicKey, map[string]any{jwk.KeyIDKey: "good"})))
	clock.Advance(31 * time.Second)
	if _, err := j.Authenticate(context.Background(), signToken(t, jwa.RS256(), good, "good", claims(nil))); err != nil {
		t.Fatalf("after a usable key was published: %v", err)
	}
}

func TestJWKSUnusableNewSetKeepsTheKeysHeld(t *testing.T) {
	ks := newKeyServer(t)
	k1 := newECKey(t)
	ks.serve(t, map[string]*ecdsa.PrivateKey{"k1": k1})
	clock := newFakeClock()
	j := newLoggingJWKSVerifier(t, ks.srv.URL, "ES256", clock, &logBuffer{})
	ctx := context.Background()
	old := signToken(t, jwa.ES256(), k1, "k1", claims(nil))
	if _, err := j.Authenticate(ctx, old); err != nil {
		t.Fatal(err)
	}
	// The key server now publishes only a key meant for encryption.
	k2 := newECKey(t)
	ks.serveRaw(keySetJSON(t, publicJWK(t, &k2.PublicKey, map[string]any{jwk.KeyIDKey: "k2", jwk.KeyUsageKey: "enc"})))
	clock.Advance(31 * time.Second)
	tok := signToken(t, jwa.ES256(), k2, "k2", claims(nil))
	_, err := j.Authenticate(ctx, tok)
	if errors.Is(err, auth.ErrInvalidToken) || !errors.Is(err, jwt.ErrKeysUnavailable) {
		t.Fatalf("token for a key of the unusable set: got %v, want ErrKeysUnavailable", err)
	}
	if _, err := j.Authenticate(ctx, old); err != nil {
		t.Fatalf("the key held before was dropped: %v", err)
	}
}

// A key server that fails while a set is cached: a token naming a key the
// cached set does not hold cannot be judged, so it is not refused as invalid.
// Keys already held keep working.
func TestJWKSOutageWithCachedSetIsNotAnInvalidToken(t *testing.T) {
	ks := newKeyServer(t)
	k1, k2 := newECKey(t), newECKey(t)
	ks.serve(t, map[string]*ecdsa.PrivateKey{"k1": k1})
	clock := newFakeClock()
	j := newJWKSVerifier(t, ks.srv.URL, clock)
	ctx := context.Background()
	if _, err := j.Authenticate(ctx, signToken(t, jwa.ES256(), k1, "k1", claims(nil))); err != nil {
		t.Fatal(err)
	}
	ks.fail(http.StatusBadGateway)
	clock.Advance(31 * time.Second)
	tok := signToken(t, jwa.ES256(), k2, "k2", claims(nil))
	for range 3 { // the refresh, then the gate's remembered outcome
		_, err := j.Authenticate(ctx, tok)
		if err == nil || errors.Is(err, auth.ErrInvalidToken) || !errors.Is(err, jwt.ErrKeysUnavailable) {
			t.Fatalf("got %v, want ErrKeysUnavailable and not ErrInvalidToken", err)
		}
		assertNoTokenInError(t, err, tok)
	}
	if _, err := j.Authenticate(ctx, signToken(t, jwa.ES256(), k1, "k1", claims(nil))); err != nil {
		t.Fatalf("cached key during the outage: %v", err)
	}
	ks.serve(t, map[string]*ecdsa.PrivateKey{"k1": k1, "k2": k2})
	clock.Advance(31 * time.Second)
	if _, err := j.Authenticate(ctx, tok); err != nil {
		t.Fatalf("after recovery: %v", err)
	}
}

// weakRSAJWK writes an RSA public key as a JWK by hand: the JOSE library
// refuses to import keys under 2048 bits.
func weakRSAJWK(pub *rsa.PublicKey, kid string) json.RawMessage {
	b, _ := json.Marshal(map[string]string{
		"kty": "RSA", "kid": kid, "use": "sig",
		"n": base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
		"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
	})
	return b
}

func mustECKey(t testing.TB, c elliptic.Curve) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(c, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}
