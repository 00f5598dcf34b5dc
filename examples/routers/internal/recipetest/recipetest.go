// Package recipetest checks a router recipe end to end: the router on
// httptest, signed in with the demo cookie, chatting over the socket through
// the router, the chat page, health and the operator API.
package recipetest

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chatboxsdk/chatbox/client"
	"github.com/chatboxsdk/chatbox/examples/routers/internal/demo"
	"github.com/chatboxsdk/chatbox/llm"
	"github.com/chatboxsdk/chatbox/llm/scripted"
)

// Provider answers "you said: <text>" at once.
func Provider() llm.Provider {
	return scripted.New(scripted.WithResponder(func(req llm.Request) scripted.Reply {
		return scripted.Reply{Deltas: scripted.Words("you said: " + req.Messages[len(req.Messages)-1].Text)}
	}))
}

// Run serves h (a recipe's router, built on sessions) on httptest and
// checks it.
func Run(t *testing.T, h http.Handler, sessions *demo.Sessions) {
	t.Helper()
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	// Sign in through the router: the session cookie comes back.
	resp, err := noRedirect.Get(hs.URL + "/signin?user=ana")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var session *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == demo.CookieName {
			session = c
		}
	}
	if resp.StatusCode != http.StatusSeeOther || session == nil {
		t.Fatalf("GET /signin: %d with cookies %v; want a redirect setting %q", resp.StatusCode, resp.Cookies(), demo.CookieName)
	}

	// The socket, through the router, signed in by the cookie alone.
	wsURL := "ws" + strings.TrimPrefix(hs.URL, "http") + "/chat/ws"
	c, err := client.Dial(ctx, wsURL, client.Options{Header: http.Header{"Cookie": {session.String()}}})
	if err != nil {
		t.Fatalf("dial %s with the session cookie: %v", wsURL, err)
	}
	defer c.Close()
	if c.Ready.User == nil || c.Ready.User.ID != "ana" {
		t.Fatalf("ready user %+v, want ana", c.Ready.User)
	}
	opened, err := c.OpenNew(ctx, client.OpenOptions{Title: "recipe"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Send(ctx, opened.ConversationID, client.NewMessageID(), "hello router"); err != nil {
		t.Fatal(err)
	}
	reply, _, err := c.ReadReply(ctx, opened.ConversationID, nil)
	if err != nil || reply.Text != "you said: hello router" || reply.FinishReason != "stop" {
		t.Fatalf("reply %q (%s), %v; want \"you said: hello router\", stop", reply.Text, reply.FinishReason, err)
	}

	// Without the cookie the upgrade is refused.
	if _, err := client.Dial(ctx, wsURL, client.Options{}); !isStatus(err, http.StatusUnauthorized) {
		t.Fatalf("dial without the cookie: %v; want 401", err)
	}

	get := func(path string, cookie *http.Cookie) (int, string, string) {
		t.Helper()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, hs.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if cookie != nil {
			req.AddCookie(cookie)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Content-Type"), string(body)
	}
	// The chat page and its script, under /chat/.
	if code, ctype, body := get("/chat/", nil); code != http.StatusOK || !strings.HasPrefix(ctype, "text/html") || !strings.Contains(body, "chat.js") {
		t.Fatalf("GET /chat/: %d %s; want the chat page\n%.300s", code, ctype, body)
	}
	if code, _, _ := get("/chat/chatbox.js", nil); code != http.StatusOK {
		t.Fatalf("GET /chat/chatbox.js: %d, want 200", code)
	}
	if code, _, body := get("/chat/health/ready", nil); code != http.StatusOK {
		t.Fatalf("GET /chat/health/ready: %d, want 200\n%s", code, body)
	}
	// The operator API: an operator's session is admitted, a user's is not.
	operator, err := sessions.Start("olivia")
	if err != nil {
		t.Fatal(err)
	}
	if code, ctype, body := get("/chat/admin/conversations", operator); code != http.StatusOK || !strings.Contains(body, opened.ConversationID) {
		t.Fatalf("GET /chat/admin/conversations as an operator: %d %s; want 200 listing %s\n%.300s", code, ctype, opened.ConversationID, body)
	}
	if code, _, _ := get("/chat/admin/conversations", session); code != http.StatusForbidden {
		t.Fatalf("GET /chat/admin/conversations as a user: %d, want 403", code)
	}
}

func isStatus(err error, status int) bool {
	var he *client.HTTPError
	return errors.As(err, &he) && he.Status == status
}
