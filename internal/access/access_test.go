package access_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/chatboxsdk/chatbox/auth"
	"github.com/chatboxsdk/chatbox/internal/access"
	"github.com/chatboxsdk/chatbox/protocol"
	"github.com/chatboxsdk/chatbox/ratelimit"
)

func TestTokenSources(t *testing.T) {
	cases := []struct {
		name, query, authz string
		optIn              string
		wantToken          string
		wantFound          bool
		wantCode           protocol.Code
	}{
		{name: "nothing"},
		{name: "bearer", authz: "Bearer abc", wantToken: "abc", wantFound: true},
		{name: "bearer scheme in any case", authz: "bEaReR abc", wantToken: "abc", wantFound: true},
		{name: "another scheme that starts with Bearer", authz: "Bearerx abc"},
		{name: "blank bearer", authz: "Bearer   ", wantCode: protocol.CodeUnauthorized},
		{name: "bare Bearer", authz: "Bearer", wantCode: protocol.CodeUnauthorized},
		{name: "Token in the URL", query: "Token=abc", wantCode: protocol.CodeUnauthorized},
		{name: "ACCESS_TOKEN in the URL", query: "ACCESS_TOKEN=abc", wantCode: protocol.CodeUnauthorized},
		{name: "Jwt in the URL", query: "Jwt=abc", wantCode: protocol.CodeUnauthorized},
		{name: "Authorization in the URL", query: "a=1&Authorization=abc", wantCode: protocol.CodeUnauthorized},
		{name: "a token behind a semicolon", query: "x=1;token=abc", wantCode: protocol.CodeInvalidField},
		{name: "a bad escape", query: "x=%zz", wantCode: protocol.CodeInvalidField},
		{name: "harmless query", query: "lang=pt&v=2"},
		{name: "the opted-in parameter", query: "ticket=abc", optIn: "ticket", wantToken: "abc", wantFound: true},
		{name: "the opted-in parameter is exact", query: "Ticket=abc", optIn: "ticket"},
		{name: "the header wins over the opted-in parameter", query: "ticket=abc", authz: "Bearer h", optIn: "ticket", wantToken: "h", wantFound: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/ws?"+tc.query, nil)
			if tc.query == "" {
				r = httptest.NewRequest("GET", "/ws", nil)
			}
			if tc.authz != "" {
				r.Header.Set("Authorization", tc.authz)
			}
			token, found, perr := access.Source{Query: tc.optIn}.Token(r)
			if tc.wantCode != "" {
				if perr == nil || perr.Code != tc.wantCode {
					t.Fatalf("got %v, want %s", perr, tc.wantCode)
				}
				return
			}
			if perr != nil || token != tc.wantToken || found != tc.wantFound {
				t.Fatalf("got %q %v %v, want %q %v", token, found, perr, tc.wantToken, tc.wantFound)
			}
		})
	}
}

type fixedAuth struct {
	id  auth.Identity
	err error
}

func (a fixedAuth) Authenticate(context.Context, string) (auth.Identity, error) { return a.id, a.err }

func TestVerify(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		name string
		a    fixedAuth
		want protocol.Code // "" for success
	}{
		{"valid", fixedAuth{id: auth.Identity{UserID: "u"}}, ""},
		{"invalid token", fixedAuth{err: auth.ErrInvalidToken}, protocol.CodeUnauthorized},
		{"empty user id", fixedAuth{id: auth.Identity{UserID: ""}}, protocol.CodeUnauthorized},
		{"blank user id", fixedAuth{id: auth.Identity{UserID: " \t"}}, protocol.CodeUnauthorized},
		{"expired", fixedAuth{id: auth.Identity{UserID: "u", ExpiresAt: now}}, protocol.CodeUnauthorized},
		{"authenticator cannot decide", fixedAuth{err: errors.New("key server down")}, protocol.CodeUnavailable},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := access.Verifier{Authenticator: tc.a, Timeout: time.Second, Now: func() time.Time { return now }, Logger: slog.New(slog.DiscardHandler)}
			_, perr := v.Verify(context.Background(), "tok")
			switch {
			case tc.want == "" && perr != nil:
				t.Fatalf("got %v", perr)
			case tc.want != "" && (perr == nil || perr.Code != tc.want):
				t.Fatalf("got %v, want %s", perr, tc.want)
			case tc.want == protocol.CodeUnavailable && (!perr.Body().Retryable || perr.Ref == ""):
				t.Fatalf("unavailable without retryable and ref: %+v", perr.Body())
			}
		})
	}
	v := access.Verifier{Authenticator: fixedAuth{id: auth.Identity{UserID: "u"}}, Timeout: time.Second, Now: time.Now, Logger: slog.New(slog.DiscardHandler)}
	if _, perr := v.Verify(context.Background(), "  "); perr == nil || perr.Code != protocol.CodeUnauthorized {
		t.Fatalf("a blank token: %v", perr)
	}
}

type failingLimiter struct{}

func (failingLimiter) Allow(context.Context, string, ratelimit.Limit) (ratelimit.Decision, error) {
	return ratelimit.Decision{}, errors.New("down")
}

type denyingLimiter struct{}

func (denyingLimiter) Allow(context.Context, string, ratelimit.Limit) (ratelimit.Decision, error) {
	return ratelimit.Decision{Allowed: false}, nil
}

func TestAllow(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	if perr := access.Allow(context.Background(), failingLimiter{}, "k", ratelimit.Per(1, time.Minute, 1), func() *slog.Logger { return log }); perr != nil {
		t.Fatalf("a failing limiter refused: %v", perr)
	}
	perr := access.Allow(context.Background(), denyingLimiter{}, "k", ratelimit.Per(1, time.Minute, 1), func() *slog.Logger { return log })
	if perr == nil || perr.Code != protocol.CodeRateLimited || perr.RetryAfter <= 0 {
		t.Fatalf("a denial without a positive retry hint: %+v", perr)
	}
}
