package chatbox_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"

	"github.com/coder/websocket"

	"github.com/chatboxsdk/chatbox"
	"github.com/chatboxsdk/chatbox/auth"
	"github.com/chatboxsdk/chatbox/client"
	"github.com/chatboxsdk/chatbox/protocol"
	"github.com/chatboxsdk/chatbox/ratelimit"
)

// accessAuth knows one operator, one user and one token whose identity has
// no user id (a broken host authenticator).
type accessAuth struct{}

func (accessAuth) Authenticate(_ context.Context, token string) (auth.Identity, error) {
	switch token {
	case "tok-victim":
		return auth.Identity{UserID: "victim"}, nil
	case "tok-attacker":
		return auth.Identity{UserID: "attacker"}, nil
	case "tok-normal":
		return auth.Identity{UserID: "normal"}, nil
	case "tok-op":
		return auth.Identity{UserID: "op", Roles: []string{chatbox.DefaultOperatorRole}}, nil
	case "tok-blank":
		return auth.Identity{UserID: "", Roles: []string{chatbox.DefaultOperatorRole}}, nil
	}
	return auth.Identity{}, auth.ErrInvalidToken
}

// brokenLimiter cannot decide, ever.
type brokenLimiter struct{}

func (brokenLimiter) Allow(context.Context, string, ratelimit.Limit) (ratelimit.Decision, error) {
	return ratelimit.Decision{}, errors.New("limiter backend down")
}

// adminRequest calls the admin API's conversation list with the given
// query suffix and headers.
func (e *attackEnv) adminRequest(t *testing.T, query string, header http.Header) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(e.ctx(), http.MethodGet, e.hs.URL+chatbox.DefaultAdminPrefix+"conversations"+query, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := e.hs.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func bearer(token string) http.Header { return http.Header{"Authorization": {"Bearer " + token}} }

// TestAccessPathRefusesTheSameThingsEverywhere: the socket upgrade, the
// socket's hello and the admin API refuse the same credentials and URLs,
// each with the status and code it documents (PROTOCOL.md; the admin
// package), and agree that a limiter that cannot decide allows.
func TestAccessPathRefusesTheSameThingsEverywhere(t *testing.T) {
	e := newAttackEnv(t, chatbox.WithAuthenticator(accessAuth{}))
	// A valid operator credential rides along, so a refusal can only be
	// the URL's doing.
	urlCases := []struct{ name, query string }{
		{"Token in any case", "?Token=abc"},
		{"ACCESS_TOKEN in capitals", "?ACCESS_TOKEN=abc"},
		{"Jwt in mixed case", "?Jwt=abc"},
		{"a token hidden behind a semicolon", "?x=1;token=abc"},
	}
	for _, c := range urlCases {
		t.Run("socket: "+c.name, func(t *testing.T) {
			_, resp, err := e.raw(t, e.url+c.query, bearer("tok-op"))
			expectHTTP(t, resp, err, http.StatusBadRequest, "")
		})
		t.Run("admin: "+c.name, func(t *testing.T) {
			resp := e.adminRequest(t, c.query, bearer("tok-op"))
			expectHTTP(t, resp, errors.New("refused"), http.StatusBadRequest, protocol.CodeInvalidField)
		})
	}
	t.Run("socket: URL token code", func(t *testing.T) {
		_, resp, err := e.raw(t, e.url+"?Jwt=abc", nil)
		expectHTTP(t, resp, err, http.StatusBadRequest, protocol.CodeUnauthorized)
	})
	t.Run("socket: unparsable query code", func(t *testing.T) {
		_, resp, err := e.raw(t, e.url+"?x=1;token=abc", nil)
		expectHTTP(t, resp, err, http.StatusBadRequest, protocol.CodeInvalidField)
	})

	blank := http.Header{"Authorization": {"Bearer   "}}
	t.Run("socket: blank bearer", func(t *testing.T) {
		_, resp, err := e.raw(t, e.url, blank)
		expectHTTP(t, resp, err, http.StatusUnauthorized, protocol.CodeUnauthorized)
	})
	t.Run("admin: blank bearer", func(t *testing.T) {
		expectHTTP(t, e.adminRequest(t, "", blank), errors.New("refused"), http.StatusUnauthorized, protocol.CodeUnauthorized)
	})

	t.Run("socket upgrade: identity without a user id", func(t *testing.T) {
		_, resp, err := e.raw(t, e.url, bearer("tok-blank"))
		expectHTTP(t, resp, err, http.StatusUnauthorized, protocol.CodeUnauthorized)
	})
	t.Run("socket hello: identity without a user id", func(t *testing.T) {
		conn, _, err := e.raw(t, e.url, nil)
		if err != nil {
			t.Fatal(err)
		}
		_ = conn.Write(e.ctx(), websocket.MessageText, []byte(`{"type":"hello","id":"h","token":"tok-blank"}`))
		_, data, err := conn.Read(e.ctx())
		if err != nil {
			t.Fatal(err)
		}
		var f protocol.ServerFrame
		if err := json.Unmarshal(data, &f); err != nil || f.Error == nil || f.Error.Code != protocol.CodeUnauthorized {
			t.Fatalf("hello answered %s", data)
		}
		_, _, err = conn.Read(e.ctx())
		expectClose(t, err, protocol.CloseUnauthorized)
	})
	t.Run("admin: identity without a user id", func(t *testing.T) {
		expectHTTP(t, e.adminRequest(t, "", bearer("tok-blank")), errors.New("refused"), http.StatusUnauthorized, protocol.CodeUnauthorized)
	})
}

// TestAFailingLimiterAllowsOnEveryEntryPoint: one policy for a limiter
// that cannot decide, at the upgrade, on the socket's frames and on the
// admin API: allow (and log), so a limiter outage does not take the chat
// down.
func TestAFailingLimiterAllowsOnEveryEntryPoint(t *testing.T) {
	e := newAttackEnv(t, chatbox.WithAuthenticator(accessAuth{}), chatbox.WithLimiter(brokenLimiter{}))
	c, err := client.Dial(e.ctx(), e.url, client.Options{Token: "tok-normal", HeaderAuth: true})
	if err != nil {
		t.Fatalf("upgrade refused with a failing limiter: %v", err)
	}
	defer c.Close()
	conv, err := c.OpenNew(e.ctx(), client.OpenOptions{})
	if err != nil {
		t.Fatalf("open refused with a failing limiter: %v", err)
	}
	if _, err := c.Send(e.ctx(), conv.ConversationID, "m1", "hi"); err != nil {
		t.Fatalf("send refused with a failing limiter: %v", err)
	}
	if _, err := c.List(e.ctx(), "", 5); err != nil {
		t.Fatalf("list refused with a failing limiter: %v", err)
	}
	if resp := e.adminRequest(t, "", bearer("tok-op")); resp.StatusCode != http.StatusOK {
		t.Fatalf("admin API answered %d with a failing limiter", resp.StatusCode)
	}
}
