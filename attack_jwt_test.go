package chatbox_test

import (
	"context"
	"crypto"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chatboxsdk/chatbox"
	"github.com/chatboxsdk/chatbox/auth"
	"github.com/chatboxsdk/chatbox/auth/jwt"
	"github.com/chatboxsdk/chatbox/client"
	"github.com/chatboxsdk/chatbox/protocol"
)

// The attack suite's server accepts RS256 tokens from one issuer for one
// audience, next to its static tokens.
var (
	attackRSAKey = mustRSAKey()
	jwtIssuer    = "https://id.example.com"
	jwtAudience  = "chatbox"
)

func mustRSAKey() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
}

// eitherAuth tries static tokens, then JWTs.
type eitherAuth struct{ first, second auth.Authenticator }

func (e eitherAuth) Authenticate(ctx context.Context, token string) (auth.Identity, error) {
	id, err := e.first.Authenticate(ctx, token)
	if errors.Is(err, auth.ErrInvalidToken) {
		return e.second.Authenticate(ctx, token)
	}
	return id, err
}

func newJWTVerifier(t *testing.T) *jwt.Verifier {
	j, err := jwt.New(context.Background(), jwt.Config{
		PublicKey: &attackRSAKey.PublicKey, Algorithm: "RS256", Issuer: jwtIssuer, Audience: jwtAudience,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = j.Close() })
	return j
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// makeJWT builds a compact JWT by hand, so the suite can forge what a
// library would refuse to produce.
func makeJWT(header, claims map[string]any, sign func(signingInput []byte) []byte) string {
	h, _ := json.Marshal(header)
	c, _ := json.Marshal(claims)
	input := b64(h) + "." + b64(c)
	return input + "." + b64(sign([]byte(input)))
}

func rs256(input []byte) []byte {
	sum := sha256.Sum256(input)
	sig, err := rsa.SignPKCS1v15(rand.Reader, attackRSAKey, crypto.SHA256, sum[:])
	if err != nil {
		panic(err)
	}
	return sig
}

func goodClaims(mod map[string]any) map[string]any {
	now := time.Now()
	c := map[string]any{
		"sub": "jwt-user", "iss": jwtIssuer, "aud": jwtAudience,
		"exp": now.Add(time.Hour).Unix(), "iat": now.Unix(),
	}
	for k, v := range mod {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return c
}

var rsHeader = map[string]any{"alg": "RS256", "typ": "JWT"}

// jwtRefused dials with a forged token in the hello frame and expects
// unauthorized; it also tries the Authorization header, expecting 401.
func jwtRefused(name, token string) attack {
	return attack{name, func(t *testing.T, e *attackEnv) {
		_, err := client.Dial(e.ctx(), e.url, client.Options{Token: token})
		if client.Code(err) != protocol.CodeUnauthorized {
			t.Fatalf("hello with the token: %v", err)
		}
		if strings.Contains(err.Error(), token) {
			t.Fatal("the token appears in the error")
		}
		_, resp, err := e.raw(t, e.url, http.Header{"Authorization": {"Bearer " + token}})
		expectHTTP(t, resp, err, http.StatusUnauthorized, protocol.CodeUnauthorized)
	}}
}

func jwtAttacks() []attack {
	pubDER, _ := x509.MarshalPKIXPublicKey(&attackRSAKey.PublicKey)
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	hmacWith := func(key []byte) func([]byte) []byte {
		return func(in []byte) []byte { m := hmac.New(sha256.New, key); m.Write(in); return m.Sum(nil) }
	}
	now := time.Now()
	return []attack{
		{"valid RS256 token is accepted", func(t *testing.T, e *attackEnv) {
			c, err := client.Dial(e.ctx(), e.url, client.Options{Token: makeJWT(rsHeader, goodClaims(nil), rs256)})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if c.Ready.User.ID != "jwt-user" {
				t.Fatalf("identity %+v", c.Ready.User)
			}
		}},
		jwtRefused("alg none", makeJWT(map[string]any{"alg": "none"}, goodClaims(nil), func([]byte) []byte { return nil })),
		jwtRefused("HS256 signed with the RSA public key (PEM)", makeJWT(map[string]any{"alg": "HS256"}, goodClaims(nil), hmacWith(pubPEM))),
		jwtRefused("HS256 signed with the RSA public key (DER)", makeJWT(map[string]any{"alg": "HS256"}, goodClaims(nil), hmacWith(pubDER))),
		jwtRefused("expired token", makeJWT(rsHeader, goodClaims(map[string]any{"exp": now.Add(-time.Hour).Unix()}), rs256)),
		jwtRefused("not yet valid token", makeJWT(rsHeader, goodClaims(map[string]any{"nbf": now.Add(time.Hour).Unix()}), rs256)),
		jwtRefused("wrong issuer", makeJWT(rsHeader, goodClaims(map[string]any{"iss": "https://evil.example"}), rs256)),
		jwtRefused("wrong audience", makeJWT(rsHeader, goodClaims(map[string]any{"aud": "another-app"}), rs256)),
		jwtRefused("missing exp", makeJWT(rsHeader, goodClaims(map[string]any{"exp": nil}), rs256)),
		jwtRefused("tampered payload", func() string {
			tok := makeJWT(rsHeader, goodClaims(nil), rs256)
			parts := strings.Split(tok, ".")
			forged, _ := json.Marshal(goodClaims(map[string]any{"sub": "victim"}))
			return parts[0] + "." + b64(forged) + "." + parts[2]
		}()),
		jwtRefused("garbage token", "eyJhbGciOiJSUzI1NiJ9.not-base64!.x"),
	}
}

// attackAuthenticator combines the suite's static tokens with the JWT
// verifier.
func attackAuthenticator(t *testing.T, static auth.Authenticator) chatbox.Option {
	return chatbox.WithAuthenticator(eitherAuth{static, newJWTVerifier(t)})
}

func TestNewRefusesWeakJWTSecrets(t *testing.T) {
	for _, secret := range []string{"test123", "changeme", strings.Repeat("a", 40), "your-256-bit-secret"} {
		_, err := chatbox.New(chatbox.WithLLM(nilSafeProvider()), chatbox.WithJWT(jwt.Config{HMACSecret: []byte(secret), Algorithm: "HS256"}))
		if err == nil || !strings.Contains(err.Error(), "WithJWT") {
			t.Errorf("secret %q accepted or not named: %v", secret, err)
		}
		if err != nil && strings.Contains(err.Error(), secret) {
			t.Errorf("the error quotes the secret %q", secret)
		}
	}
	srv, err := chatbox.New(chatbox.WithLLM(nilSafeProvider()), chatbox.WithJWT(jwt.Config{HMACSecret: []byte("q8Zr2LmX0vKp7TnW4yBc9HdJ6gFs1EaU"), Algorithm: "HS256"}))
	if err != nil {
		t.Fatalf("a strong secret was refused: %v", err)
	}
	_ = srv.Close()
}
