package jwt_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"

	"github.com/chatboxsdk/chatbox/auth/jwt"
)

func TestMaxTokenTTLRefusesLongLivedTokens(t *testing.T) {
	far := time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
	capped, _ := newHS256(t, func(c *jwt.Config) { c.MaxTokenTTL = 24 * time.Hour })
	uncapped, _ := newHS256(t, nil)
	for _, tc := range []struct {
		name   string
		claims map[string]any
		capped bool // accepted by the capped verifier
	}{
		{"exp in 2100 with iat", claims(map[string]any{"exp": far}), false},
		{"exp in 2100 without iat", claims(map[string]any{"exp": far, "iat": nil}), false},
		{"exactly the cap with iat", claims(map[string]any{"iat": epoch.Add(-time.Hour), "exp": epoch.Add(23 * time.Hour)}), true},
		{"a second over the cap with iat", claims(map[string]any{"iat": epoch.Add(-time.Hour), "exp": epoch.Add(23*time.Hour + time.Second)}), false},
		// Without iat the lifetime left is measured, with the default 30s
		// clock skew allowed.
		{"cap plus skew without iat", claims(map[string]any{"iat": nil, "exp": epoch.Add(24*time.Hour + 30*time.Second)}), true},
		{"beyond cap plus skew without iat", claims(map[string]any{"iat": nil, "exp": epoch.Add(24*time.Hour + 31*time.Second)}), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok := signToken(t, jwa.HS256(), testSecret, "", tc.claims)
			if _, err := uncapped.Authenticate(context.Background(), tok); err != nil {
				t.Fatalf("refused without a cap: %v", err)
			}
			_, err := capped.Authenticate(context.Background(), tok)
			if tc.capped {
				if err != nil {
					t.Fatalf("refused under the cap: %v", err)
				}
				return
			}
			assertRejected(t, err, tok)
			if !strings.Contains(err.Error(), "lifetime") {
				t.Fatalf("reason does not name the lifetime: %v", err)
			}
		})
	}
}

func TestMaxTokenTTLMustBePositiveWhenSet(t *testing.T) {
	_, err := jwt.New(context.Background(), jwt.Config{HMACSecret: testSecret, Algorithm: "HS256", MaxTokenTTL: -time.Second})
	if err == nil || !strings.Contains(err.Error(), "jwt.Config.MaxTokenTTL") {
		t.Fatalf("negative MaxTokenTTL: %v", err)
	}
}
