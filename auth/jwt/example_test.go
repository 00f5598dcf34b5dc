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
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	jwxjwt "github.com/lestrrat-go/jwx/v3/jwt"

	"github.com/chatboxsdk/chatbox/auth"
	"github.com/chatboxsdk/chatbox/auth/jwt"
)

// A verifier for tokens signed with a shared HMAC secret. In production the
// secret comes from the environment or a secret store: 32 random bytes.
func ExampleNew() {
	secret := []byte("q8Zr2LmX0vKp7TnW4yBc9HdJ6gFs1EaU")
	verifier, err := jwt.New(context.Background(), jwt.Config{
		HMACSecret: secret,
		Algorithm:  "HS256",
		Issuer:     "https://login.example.com",
		Audience:   "chat",
	})
	if err != nil {
		fmt.Println(err)
		return
	}

	// What the identity provider issues.
	tok, _ := jwxjwt.NewBuilder().
		Issuer("https://login.example.com").
		Audience([]string{"chat"}).
		Subject("user-42").
		Claim("name", "Ada").
		Claim("roles", []string{"operator"}).
		Expiration(time.Now().Add(time.Hour)).
		Build()
	signed, _ := jwxjwt.Sign(tok, jwxjwt.WithKey(jwa.HS256(), secret))

	id, err := verifier.Authenticate(context.Background(), string(signed))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(id.UserID, id.Name, id.HasRole("operator"))
	// Output: user-42 Ada true
}

// Configuration problems are all reported at once, each naming its field.
func ExampleNew_invalidConfig() {
	_, err := jwt.New(context.Background(), jwt.Config{
		HMACSecret: []byte("changeme"),
		Algorithm:  "none",
		ClockSkew:  time.Hour,
	})
	fmt.Println(err)
	// Output:
	// jwt.Config.Algorithm: "none" is refused: tokens must be signed
	// jwt.Config.HMACSecret: is 8 bytes, at least 32 are required (use 32 random bytes)
	// jwt.Config.ClockSkew: 1h0m0s exceeds the maximum of 5m0s
}

// Keys published by an identity provider as a JSON Web Key Set. The set is
// fetched in the background and again when a token names a new key.
func ExampleNew_jwks() {
	signingKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	private, _ := jwk.Import(signingKey)
	_ = private.Set(jwk.KeyIDKey, "2030-01")
	_ = private.Set(jwk.AlgorithmKey, jwa.ES256())
	public, _ := private.PublicKey()
	set := jwk.NewSet()
	_ = set.AddKey(public)
	body, _ := json.Marshal(set)
	idp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write(body)
	}))
	defer idp.Close()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	verifier, err := jwt.New(ctx, jwt.Config{
		JWKSURL:   idp.URL, // https in production; http only on loopback
		Algorithm: "ES256",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer verifier.Close()

	tok, _ := jwxjwt.NewBuilder().Subject("user-7").Expiration(time.Now().Add(time.Hour)).Build()
	signed, _ := jwxjwt.Sign(tok, jwxjwt.WithKey(jwa.ES256(), private))
	id, err := verifier.Authenticate(ctx, string(signed))
	fmt.Println(id.UserID, err)
	// Output: user-7 <nil>
}

// A rejected token wraps ErrInvalidToken with a short reason; a key server
// that cannot be reached yields ErrKeysUnavailable instead, which callers
// report as retryable.
func ExampleVerifier_Authenticate() {
	verifier, _ := jwt.New(context.Background(), jwt.Config{
		HMACSecret: []byte("q8Zr2LmX0vKp7TnW4yBc9HdJ6gFs1EaU"),
		Algorithm:  "HS256",
	})
	expired, _ := jwxjwt.NewBuilder().Subject("user-42").Expiration(time.Now().Add(-time.Hour)).Build()
	signed, _ := jwxjwt.Sign(expired, jwxjwt.WithKey(jwa.HS256(), []byte("q8Zr2LmX0vKp7TnW4yBc9HdJ6gFs1EaU")))

	_, err := verifier.Authenticate(context.Background(), string(signed))
	switch {
	case errors.Is(err, auth.ErrInvalidToken):
		fmt.Println("refused:", err)
	case errors.Is(err, jwt.ErrKeysUnavailable):
		fmt.Println("try again later")
	}
	// Output: refused: auth: invalid token: token expired
}

// MaxTokenTTL refuses tokens minted to stay valid for longer than the
// identity provider ever issues, such as one that expires in 2100.
func ExampleConfig_maxTokenTTL() {
	secret := []byte("q8Zr2LmX0vKp7TnW4yBc9HdJ6gFs1EaU")
	verifier, err := jwt.New(context.Background(), jwt.Config{
		HMACSecret:  secret,
		Algorithm:   "HS256",
		MaxTokenTTL: 24 * time.Hour,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	forever, _ := jwxjwt.NewBuilder().
		Subject("user-42").
		IssuedAt(time.Now()).
		Expiration(time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)).
		Build()
	signed, _ := jwxjwt.Sign(forever, jwxjwt.WithKey(jwa.HS256(), secret))

	_, err = verifier.Authenticate(context.Background(), string(signed))
	fmt.Println(err)
	// Output: auth: invalid token: token lifetime exceeds the maximum
}
