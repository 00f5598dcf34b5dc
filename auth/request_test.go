package auth_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/chatboxsdk/chatbox/auth"
)

// sessionAuth reads a "session" cookie from a fixed table, the way a host's
// cookie session middleware would.
func sessionAuth(sessions map[string]auth.Identity) auth.RequestAuthenticator {
	return auth.RequestAuthenticatorFunc(func(r *http.Request) (auth.Identity, error) {
		c, err := r.Cookie("session")
		if err != nil {
			return auth.Identity{}, auth.ErrNoCredentials
		}
		id, ok := sessions[c.Value]
		if !ok {
			return auth.Identity{}, fmt.Errorf("unknown session: %w", auth.ErrInvalidToken)
		}
		return id, nil
	})
}

func TestRequestAuthenticatorFuncPassesTheRequestAndItsResults(t *testing.T) {
	a := sessionAuth(map[string]auth.Identity{"s1": {UserID: "ana", Roles: []string{"operator"}}})

	r := httptest.NewRequest(http.MethodGet, "/ws", nil)
	r.AddCookie(&http.Cookie{Name: "session", Value: "s1"})
	id, err := a.AuthenticateRequest(r)
	if err != nil || id.UserID != "ana" || !id.HasRole("operator") {
		t.Fatalf("signed-in request: got %+v, %v; want ana with the operator role", id, err)
	}

	r = httptest.NewRequest(http.MethodGet, "/ws", nil)
	if _, err := a.AuthenticateRequest(r); !errors.Is(err, auth.ErrNoCredentials) {
		t.Fatalf("request without a cookie: err = %v, want ErrNoCredentials", err)
	}

	r = httptest.NewRequest(http.MethodGet, "/ws", nil)
	r.AddCookie(&http.Cookie{Name: "session", Value: "forged"})
	if _, err := a.AuthenticateRequest(r); !errors.Is(err, auth.ErrInvalidToken) || errors.Is(err, auth.ErrNoCredentials) {
		t.Fatalf("unknown session: err = %v, want one wrapping ErrInvalidToken only", err)
	}
}
