package jwt_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"

	"github.com/chatboxsdk/chatbox/auth"
	"github.com/chatboxsdk/chatbox/auth/jwt"
)

// keyServer is a JWKS endpoint whose key set can be replaced and which
// counts the requests it receives.
type keyServer struct {
	srv      *httptest.Server
	fetches  atomic.Int64
	mu       sync.Mutex
	body     []byte
	failWith int // HTTP status to answer with instead of the set; 0 = serve
}

func newKeyServer(t testing.TB) *keyServer {
	t.Helper()
	ks := &keyServer{}
	ks.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ks.fetches.Add(1)
		ks.mu.Lock()
		body, status := ks.body, ks.failWith
		ks.mu.Unlock()
		if status != 0 {
			http.Error(w, "unavailable", status)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}))
	t.Cleanup(ks.srv.Close)
	return ks
}

// serve publishes the public halves of keys under their kids.
func (ks *keyServer) serve(t testing.TB, keys map[string]*ecdsa.PrivateKey) {
	t.Helper()
	set := jwk.NewSet()
	for kid, k := range keys {
		jk, err := jwk.Import(&k.PublicKey)
		if err != nil {
			t.Fatal(err)
		}
		for name, v := range map[string]any{jwk.KeyIDKey: kid, jwk.AlgorithmKey: jwa.ES256(), jwk.KeyUsageKey: "sig"} {
			if err := jk.Set(name, v); err != nil {
				t.Fatal(err)
			}
		}
		if err := set.AddKey(jk); err != nil {
			t.Fatal(err)
		}
	}
	body, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	ks.mu.Lock()
	ks.body, ks.failWith = body, 0
	ks.mu.Unlock()
}

func (ks *keyServer) fail(status int) {
	ks.mu.Lock()
	ks.failWith = status
	ks.mu.Unlock()
}

func newECKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func newJWKSVerifier(t testing.TB, url string, clock *fakeClock) *jwt.Verifier {
	t.Helper()
	j, err := jwt.New(context.Background(), jwt.Config{
		JWKSURL: url, Algorithm: "ES256", Now: clock.Now,
		HTTPClient: &http.Client{Timeout: 5 * time.Second},
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

func TestJWKSKeyRotationWithoutRestart(t *testing.T) {
	ks := newKeyServer(t)
	k1, k2 := newECKey(t), newECKey(t)
	ks.serve(t, map[string]*ecdsa.PrivateKey{"k1": k1})
	clock := newFakeClock()
	j := newJWKSVerifier(t, ks.srv.URL, clock)
	ctx := context.Background()

	if id, err := j.Authenticate(ctx, signToken(t, jwa.ES256(), k1, "k1", claims(nil))); err != nil || id.UserID != "user-1" {
		t.Fatalf("k1 before rotation: %+v %v", id, err)
	}
	// A token for a key the set does not hold yet is refused...
	early := signToken(t, jwa.ES256(), k2, "k2", claims(nil))
	clock.Advance(31 * time.Second)
	ks.serve(t, map[string]*ecdsa.PrivateKey{"k2": k2})
	// ...and accepted once the set publishes it: the unknown kid triggers a fetch.
	if _, err := j.Authenticate(ctx, early); err != nil {
		t.Fatalf("k2 after rotation: %v", err)
	}
	// k1 left the set. Within the minimum refresh interval no fetch happens,
	// and the token is refused as naming an unknown key.
	before := ks.fetches.Load()
	old := signToken(t, jwa.ES256(), k1, "k1", claims(nil))
	_, err := j.Authenticate(ctx, old)
	assertRejected(t, err, old)
	if got := ks.fetches.Load() - before; got != 0 {
		t.Fatalf("%d fetches within the minimum refresh interval", got)
	}
}

func TestJWKSUnknownKidStormFetchesBoundedly(t *testing.T) {
	ks := newKeyServer(t)
	good := newECKey(t)
	ks.serve(t, map[string]*ecdsa.PrivateKey{"good": good})
	clock := newFakeClock()
	j := newJWKSVerifier(t, ks.srv.URL, clock)
	ctx := context.Background()
	valid := signToken(t, jwa.ES256(), good, "good", claims(nil))
	if _, err := j.Authenticate(ctx, valid); err != nil {
		t.Fatal(err)
	}
	attacker := newECKey(t)
	forged := make([]string, 200)
	for i := range forged {
		forged[i] = signToken(t, jwa.ES256(), attacker, fmt.Sprintf("kid-%d-%x", i, i*7919), claims(nil))
	}

	// Sequential storm at one instant: at most one fetch.
	start := ks.fetches.Load()
	for _, tok := range forged {
		_, err := j.Authenticate(ctx, tok)
		assertRejected(t, err, tok)
	}
	if got := ks.fetches.Load() - start; got > 1 {
		t.Fatalf("sequential storm of %d unknown kids caused %d fetches, want at most 1", len(forged), got)
	}

	// Concurrent storm after the interval: callers share one fetch.
	clock.Advance(31 * time.Second)
	start = ks.fetches.Load()
	var wg sync.WaitGroup
	errs := make(chan error, len(forged))
	for _, tok := range forged {
		wg.Go(func() {
			if _, err := j.Authenticate(ctx, tok); !errors.Is(err, auth.ErrInvalidToken) {
				errs <- fmt.Errorf("forged token: %v", err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if got := ks.fetches.Load() - start; got > 1 {
		t.Fatalf("concurrent storm caused %d fetches, want at most 1", got)
	}
	if total := ks.fetches.Load(); total > 4 {
		t.Fatalf("%d fetches in all", total)
	}
	if _, err := j.Authenticate(ctx, valid); err != nil {
		t.Fatalf("valid token refused after the storm: %v", err)
	}
}

func TestJWKSServerDownIsNotAnInvalidToken(t *testing.T) {
	k := newECKey(t)
	tok := signToken(t, jwa.ES256(), k, "k", claims(nil))

	t.Run("refused connection", func(t *testing.T) {
		ks := newKeyServer(t)
		url := ks.srv.URL
		ks.srv.Close()
		j := newJWKSVerifier(t, url, newFakeClock())
		_, err := j.Authenticate(context.Background(), tok)
		if err == nil || errors.Is(err, auth.ErrInvalidToken) || !errors.Is(err, jwt.ErrKeysUnavailable) {
			t.Fatalf("got %v, want ErrKeysUnavailable and not ErrInvalidToken", err)
		}
		assertNoTokenInError(t, err, tok)
	})

	t.Run("error status, then recovery", func(t *testing.T) {
		ks := newKeyServer(t)
		ks.fail(http.StatusServiceUnavailable)
		clock := newFakeClock()
		j := newJWKSVerifier(t, ks.srv.URL, clock)
		for range 50 {
			_, err := j.Authenticate(context.Background(), tok)
			if errors.Is(err, auth.ErrInvalidToken) || !errors.Is(err, jwt.ErrKeysUnavailable) {
				t.Fatalf("got %v, want ErrKeysUnavailable", err)
			}
			assertNoTokenInError(t, err, tok)
		}
		if n := ks.fetches.Load(); n > 2 {
			t.Fatalf("%d fetches for 50 tokens while the server fails", n)
		}
		ks.serve(t, map[string]*ecdsa.PrivateKey{"k": k})
		clock.Advance(31 * time.Second)
		if _, err := j.Authenticate(context.Background(), tok); err != nil {
			t.Fatalf("after recovery: %v", err)
		}
	})
}

func TestJWKSRefusesKeysThatDoNotFitTheAlgorithm(t *testing.T) {
	ks := newKeyServer(t)
	k := newECKey(t)
	ks.serve(t, map[string]*ecdsa.PrivateKey{"k": k})
	j, err := jwt.New(context.Background(), jwt.Config{JWKSURL: ks.srv.URL, Algorithm: "ES384", Now: newFakeClock().Now})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	// The token claims ES384 but the published key is an ES256 key.
	tok := signToken(t, jwa.ES256(), k, "k", claims(nil))
	_, err = j.Authenticate(context.Background(), tok)
	assertRejected(t, err, tok)
}

func TestJWKSCloseIsIdempotentAndKeepsFetchedKeys(t *testing.T) {
	ks := newKeyServer(t)
	k := newECKey(t)
	ks.serve(t, map[string]*ecdsa.PrivateKey{"k": k})
	clock := newFakeClock()
	j, err := jwt.New(context.Background(), jwt.Config{JWKSURL: ks.srv.URL, Algorithm: "ES256", Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	tok := signToken(t, jwa.ES256(), k, "k", claims(nil))
	if _, err := j.Authenticate(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := j.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := j.Authenticate(context.Background(), tok); err != nil {
		t.Fatalf("known key after Close: %v", err)
	}
	clock.Advance(time.Minute)
	before := ks.fetches.Load()
	unknown := signToken(t, jwa.ES256(), k, "other", claims(nil))
	_, err = j.Authenticate(context.Background(), unknown)
	assertRejected(t, err, unknown)
	if ks.fetches.Load() != before {
		t.Fatal("fetched after Close")
	}
}

func TestJWKSStopsWhenContextEnds(t *testing.T) {
	ks := newKeyServer(t)
	ks.serve(t, map[string]*ecdsa.PrivateKey{"k": newECKey(t)})
	ctx, cancel := context.WithCancel(context.Background())
	j, err := jwt.New(ctx, jwt.Config{JWKSURL: ks.srv.URL, Algorithm: "ES256"})
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	// Close after the context ended still waits for the goroutines (goleak
	// in TestMain checks that none is left).
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestJWKSTokenWithoutKid(t *testing.T) {
	ks := newKeyServer(t)
	k1, k2 := newECKey(t), newECKey(t)
	ks.serve(t, map[string]*ecdsa.PrivateKey{"k1": k1})
	clock := newFakeClock()
	j := newJWKSVerifier(t, ks.srv.URL, clock)
	// A set with one key verifies a token without kid...
	if _, err := j.Authenticate(context.Background(), signToken(t, jwa.ES256(), k1, "", claims(nil))); err != nil {
		t.Fatalf("single-key set, no kid: %v", err)
	}
	// ...a set with several keys does not guess.
	ks.serve(t, map[string]*ecdsa.PrivateKey{"k1": k1, "k2": k2})
	clock.Advance(time.Minute)
	tok := signToken(t, jwa.ES256(), k2, "", claims(nil))
	_, err := j.Authenticate(context.Background(), tok)
	assertRejected(t, err, tok)
	if _, err := j.Authenticate(context.Background(), signToken(t, jwa.ES256(), k2, "k2", claims(nil))); err != nil {
		t.Fatalf("k2 with kid: %v", err)
	}
}
