package admin_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/chatboxsdk/chatbox/admin"
	"github.com/chatboxsdk/chatbox/auth"
)

// TestRequestAuthenticatorAdmitsBeforeTokens checks Config.RequestAuthenticator:
// asked first, its identity checked like a token's, auth.ErrNoCredentials
// handing over to the bearer token, and its failures told apart.
func TestRequestAuthenticatorAdmitsBeforeTokens(t *testing.T) {
	var sawDeadline bool
	f := newFixture(t, func(c *admin.Config) {
		c.RequestAuthenticator = auth.RequestAuthenticatorFunc(func(r *http.Request) (auth.Identity, error) {
			_, sawDeadline = r.Context().Deadline()
			ck, err := r.Cookie("session")
			if err != nil {
				return auth.Identity{}, auth.ErrNoCredentials
			}
			switch ck.Value {
			case "operator":
				return auth.Identity{UserID: "op-9", Roles: []string{"operator"}}, nil
			case "user":
				return auth.Identity{UserID: "u-9", Roles: []string{"user"}}, nil
			case "expired":
				return auth.Identity{UserID: "op-9", Roles: []string{"operator"}, ExpiresAt: t0.Add(-1)}, nil
			case "nobody":
				return auth.Identity{Roles: []string{"operator"}}, nil
			case "down":
				return auth.Identity{}, errors.New("session store unreachable")
			}
			return auth.Identity{}, fmt.Errorf("unknown session: %w", auth.ErrInvalidToken)
		})
	})
	withCookie := func(session, token string) *http.Request {
		req := httptest.NewRequest(http.MethodGet, "/conversations", nil).WithContext(context.Background())
		req.AddCookie(&http.Cookie{Name: "session", Value: session})
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		return req
	}

	if r := f.do(withCookie("operator", "")); r.status != http.StatusOK {
		t.Fatalf("operator's session: %d %s", r.status, r.body)
	}
	if !sawDeadline {
		t.Error("the request authenticator was called without the store timeout's deadline")
	}
	f.do(withCookie("user", "")).wantError(t, http.StatusForbidden, "forbidden", "")
	f.do(withCookie("forged", opToken)).wantError(t, http.StatusUnauthorized, "unauthorized", "")
	f.do(withCookie("expired", "")).wantError(t, http.StatusUnauthorized, "unauthorized", "")
	f.do(withCookie("nobody", "")).wantError(t, http.StatusUnauthorized, "unauthorized", "")
	f.do(withCookie("down", "")).wantError(t, http.StatusServiceUnavailable, "unavailable", "")
	// No sign-in on the request: the bearer token decides.
	if r := f.get("/conversations", opToken); r.status != http.StatusOK {
		t.Fatalf("no session, operator token: %d %s", r.status, r.body)
	}
	f.get("/conversations", "").wantError(t, http.StatusUnauthorized, "unauthorized", "")
}
