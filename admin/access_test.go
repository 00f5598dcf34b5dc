package admin_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chatboxsdk/chatbox/admin"
	"github.com/chatboxsdk/chatbox/auth"
	"github.com/chatboxsdk/chatbox/ratelimit"
	"github.com/chatboxsdk/chatbox/storage"
)

func TestOnlyOperatorsGetIn(t *testing.T) {
	f := newFixture(t, nil)
	f.conv(storage.Conversation{ID: "c-1", CreatedAt: t0})

	t.Run("operator", func(t *testing.T) {
		var list admin.ConversationList
		f.getOK(t, "/conversations", &list)
		if len(list.Conversations) != 1 || list.Total != 1 {
			t.Fatalf("got %+v", list)
		}
	})
	t.Run("any configured operator role", func(t *testing.T) {
		if r := f.get("/conversations", adminToken); r.status != http.StatusOK {
			t.Fatalf("admin role: %d %s", r.status, r.body)
		}
	})
	t.Run("user token is forbidden", func(t *testing.T) {
		f.get("/conversations", userToken).wantError(t, http.StatusForbidden, "forbidden", "")
	})
	t.Run("no token", func(t *testing.T) {
		r := f.get("/conversations", "")
		r.wantError(t, http.StatusUnauthorized, "unauthorized", "")
		if got := r.header.Get("WWW-Authenticate"); !strings.HasPrefix(got, "Bearer") {
			t.Fatalf("WWW-Authenticate %q", got)
		}
	})
	t.Run("invalid token", func(t *testing.T) {
		r := f.get("/conversations", "not-a-token")
		r.wantError(t, http.StatusUnauthorized, "unauthorized", "")
		if got := r.header.Get("WWW-Authenticate"); got != `Bearer error="invalid_token"` {
			t.Fatalf("WWW-Authenticate %q", got)
		}
	})
	t.Run("basic auth is no bearer token", func(t *testing.T) {
		req := httptest.NewRequest(http.MethodGet, "/conversations", nil)
		req.SetBasicAuth("op-1", opToken)
		f.do(req).wantError(t, http.StatusUnauthorized, "unauthorized", "")
	})
	for _, p := range []string{"token", "access_token", "jwt", "Token", "authorization"} {
		t.Run("token in the query: "+p, func(t *testing.T) {
			// Refused even with a valid header, and before authentication.
			f.get("/conversations?"+p+"="+opToken, opToken).wantError(t, http.StatusBadRequest, "invalid_field", p)
			f.get("/metrics?"+p+"=x", "").wantError(t, http.StatusBadRequest, "invalid_field", p)
		})
	}
	t.Run("cookie is not read unless configured", func(t *testing.T) {
		req := httptest.NewRequest(http.MethodGet, "/conversations", nil)
		req.AddCookie(&http.Cookie{Name: "chatbox_token", Value: opToken})
		f.do(req).wantError(t, http.StatusUnauthorized, "unauthorized", "")
	})
}

func TestTokenCookie(t *testing.T) {
	f := newFixture(t, func(c *admin.Config) { c.TokenCookie = "chatbox_token" })
	req := httptest.NewRequest(http.MethodGet, "/conversations", nil)
	req.AddCookie(&http.Cookie{Name: "chatbox_token", Value: opToken})
	if r := f.do(req); r.status != http.StatusOK {
		t.Fatalf("operator cookie: %d %s", r.status, r.body)
	}
	req = httptest.NewRequest(http.MethodGet, "/conversations", nil)
	req.AddCookie(&http.Cookie{Name: "chatbox_token", Value: userToken})
	f.do(req).wantError(t, http.StatusForbidden, "forbidden", "")
	req = httptest.NewRequest(http.MethodGet, "/conversations", nil)
	req.AddCookie(&http.Cookie{Name: "other", Value: opToken})
	f.do(req).wantError(t, http.StatusUnauthorized, "unauthorized", "")
}

func TestExpiredIdentityIsUnauthorized(t *testing.T) {
	f := newFixture(t, func(c *admin.Config) {
		a, err := auth.NewStaticTokens(map[string]auth.Identity{
			"old": {UserID: "op-9", Roles: []string{"operator"}, ExpiresAt: t0},
			"new": {UserID: "op-8", Roles: []string{"operator"}, ExpiresAt: t0.Add(time.Second)},
		})
		if err != nil {
			t.Fatal(err)
		}
		c.Authenticator = a
	})
	f.get("/metrics", "old").wantError(t, http.StatusUnauthorized, "unauthorized", "")
	if r := f.get("/metrics", "new"); r.status != http.StatusOK {
		t.Fatalf("unexpired identity: %d %s", r.status, r.body)
	}
}

// failingAuthn cannot decide.
type failingAuthn struct{}

func (failingAuthn) Authenticate(context.Context, string) (auth.Identity, error) {
	return auth.Identity{}, errors.New("key server down")
}

func TestAuthenticatorFailureIsRetryable(t *testing.T) {
	f := newFixture(t, func(c *admin.Config) { c.Authenticator = failingAuthn{} })
	e := f.get("/metrics", opToken).wantError(t, http.StatusServiceUnavailable, "unavailable", "")
	if !e.Error.Retryable || strings.Contains(e.Error.Message, "key server") {
		t.Fatalf("got %+v", e.Error)
	}
}

func TestRateLimitIsPerOperator(t *testing.T) {
	f := newFixture(t, func(c *admin.Config) { c.Limit = ratelimit.Limit{Rate: 0.4, Burst: 3} })
	for i := range 3 {
		if r := f.get("/metrics", opToken); r.status != http.StatusOK {
			t.Fatalf("request %d: %d %s", i, r.status, r.body)
		}
	}
	r := f.get("/metrics", opToken)
	e := r.wantError(t, http.StatusTooManyRequests, "rate_limited", "")
	// One token every 2.5s: Retry-After rounds up to whole seconds.
	if got := r.header.Get("Retry-After"); got != "3" {
		t.Fatalf("Retry-After %q, want 3", got)
	}
	if e.Error.RetryAfterMS != 2500 || !e.Error.Retryable {
		t.Fatalf("retry_after_ms %d retryable %v, want 2500 true", e.Error.RetryAfterMS, e.Error.Retryable)
	}
	// Another operator has a budget of their own.
	for i := range 3 {
		if r := f.get("/metrics", op2Token); r.status != http.StatusOK {
			t.Fatalf("other operator, request %d: %d %s", i, r.status, r.body)
		}
	}
	f.clock.Advance(2500 * time.Millisecond)
	if r := f.get("/metrics", opToken); r.status != http.StatusOK {
		t.Fatalf("after Retry-After: %d %s", r.status, r.body)
	}
	f.get("/metrics", opToken).wantError(t, http.StatusTooManyRequests, "rate_limited", "")
}

func TestRetryAfterIsAtLeastOneSecond(t *testing.T) {
	f := newFixture(t, func(c *admin.Config) { c.Limit = ratelimit.Limit{Rate: 100, Burst: 1} })
	f.get("/metrics", opToken)
	r := f.get("/metrics", opToken)
	e := r.wantError(t, http.StatusTooManyRequests, "rate_limited", "")
	if r.header.Get("Retry-After") != "1" || e.Error.RetryAfterMS != 10 {
		t.Fatalf("Retry-After %q retry_after_ms %d, want 1 and 10", r.header.Get("Retry-After"), e.Error.RetryAfterMS)
	}
}

func TestUnknownPathAndMethod(t *testing.T) {
	f := newFixture(t, nil)
	for _, p := range []string{"/", "/conversation", "/conversations/", "/conversations/c-1/", "/conversations/c-1/other", "/metrics/x"} {
		f.get(p, opToken).wantError(t, http.StatusNotFound, "not_found", "")
	}
	for _, m := range []string{http.MethodPost, http.MethodDelete, http.MethodPut} {
		req := httptest.NewRequest(m, "/conversations", nil)
		req.Header.Set("Authorization", "Bearer "+opToken)
		r := f.do(req)
		r.wantError(t, http.StatusMethodNotAllowed, "invalid_field", "method")
		if got := r.header.Get("Allow"); got != "GET, HEAD" {
			t.Fatalf("%s: Allow %q", m, got)
		}
	}
	req := httptest.NewRequest(http.MethodHead, "/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+opToken)
	if r := f.do(req); r.status != http.StatusOK {
		t.Fatalf("HEAD: %d", r.status)
	}
}

func TestNewReportsEveryProblem(t *testing.T) {
	_, err := admin.New(admin.Config{
		Limit:         ratelimit.Limit{Rate: -1, Burst: 0},
		OperatorRoles: []string{"operator", ""},
		TokenCookie:   "bad cookie",
		StoreTimeout:  -time.Second,
	})
	if err == nil {
		t.Fatal("New accepted an invalid Config")
	}
	for _, want := range []string{"Store", "Authenticator", "Limiter", "Limit.Burst", "Limit.Rate",
		"empty role", "TokenCookie", "StoreTimeout"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %s: %v", want, err)
		}
	}
	_, err = admin.New(admin.Config{})
	if err == nil || !strings.Contains(err.Error(), "OperatorRoles is required") {
		t.Fatalf("no roles: %v", err)
	}
}

func TestZeroLimitUsesTheDefaultBudget(t *testing.T) {
	f := newFixture(t, func(c *admin.Config) { c.Limit = ratelimit.Limit{} })
	for i := range admin.DefaultBurst {
		if r := f.get("/metrics", opToken); r.status != http.StatusOK {
			t.Fatalf("request %d: %d", i, r.status)
		}
	}
	f.get("/metrics", opToken).wantError(t, http.StatusTooManyRequests, "rate_limited", "")
}

// countingAuth counts the tokens it is asked to verify.
type countingAuth struct {
	auth.Authenticator
	calls atomic.Int64
}

func (a *countingAuth) Authenticate(ctx context.Context, token string) (auth.Identity, error) {
	a.calls.Add(1)
	return a.Authenticator.Authenticate(ctx, token)
}

// TestBadTokenFloodsAreLimitedPerAddress: the per-address budget is spent
// before any token is verified, and each address has its own.
func TestBadTokenFloodsAreLimitedPerAddress(t *testing.T) {
	var counting *countingAuth
	addr := "192.0.2.1"
	f := newFixture(t, func(c *admin.Config) {
		counting = &countingAuth{Authenticator: c.Authenticator}
		c.Authenticator = counting
		c.AddressLimit = ratelimit.Limit{Rate: 0.1, Burst: 3}
		c.ClientAddress = func(*http.Request) string { return addr }
	})
	for i := range 3 {
		f.get("/metrics", fmt.Sprintf("forged-%d", i)).wantError(t, http.StatusUnauthorized, "unauthorized", "")
	}
	r := f.get("/metrics", "forged-3")
	r.wantError(t, http.StatusTooManyRequests, "rate_limited", "")
	if r.header.Get("Retry-After") == "" {
		t.Fatal("429 without Retry-After")
	}
	if n := counting.calls.Load(); n != 3 {
		t.Fatalf("the authenticator verified %d tokens, want 3 (none after the limit)", n)
	}
	addr = "192.0.2.2" // another address is not affected
	if r := f.get("/metrics", opToken); r.status != http.StatusOK {
		t.Fatalf("another address: %d %s", r.status, r.body)
	}
}
