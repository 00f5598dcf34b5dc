package chatbox_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatboxsdk/chatbox"
	"github.com/chatboxsdk/chatbox/auth"
	"github.com/chatboxsdk/chatbox/chatboxtest"
	"github.com/chatboxsdk/chatbox/client"
	"github.com/chatboxsdk/chatbox/llm/scripted"
	"github.com/chatboxsdk/chatbox/protocol"
)

// A host whose users are signed in with a session cookie lets that session
// open the socket: the page needs no token endpoint.
func ExampleWithRequestAuthenticator() {
	// The host's sessions: session id → signed-in user.
	sessions := map[string]auth.Identity{
		"s-3f9a": {UserID: "ana", Name: "Ana"},
	}
	signedIn := auth.RequestAuthenticatorFunc(func(r *http.Request) (auth.Identity, error) {
		c, err := r.Cookie("session")
		if err != nil {
			return auth.Identity{}, auth.ErrNoCredentials // not signed in
		}
		id, ok := sessions[c.Value]
		if !ok {
			return auth.Identity{}, fmt.Errorf("unknown session: %w", auth.ErrInvalidToken)
		}
		return id, nil
	})
	model := scripted.New(scripted.WithReplies(scripted.Reply{Deltas: []string{"Hello", ", ", "Ana", "!"}}))
	chat, err := chatbox.New(chatbox.WithLLM(model), chatbox.WithRequestAuthenticator(signedIn))
	if err != nil {
		fmt.Println(err)
		return
	}
	mux := http.NewServeMux()
	mux.Handle("/chat/", http.StripPrefix("/chat", chat))
	hs := httptest.NewServer(mux)
	defer hs.Close()
	defer chat.Shutdown(context.Background())

	// The browser sends the cookie with the upgrade request; the hello frame
	// carries no token.
	ctx := context.Background()
	url := "ws" + strings.TrimPrefix(hs.URL, "http") + "/chat/ws"
	c, err := client.Dial(ctx, url, client.Options{Header: http.Header{"Cookie": {"session=s-3f9a"}}})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	fmt.Println("signed in as:", c.Ready.User.ID)
	opened, _ := c.OpenNew(ctx, client.OpenOptions{Title: "greeting"})
	_, _ = c.Send(ctx, opened.ConversationID, "m1", "Hi!")
	reply, _, _ := c.ReadReply(ctx, opened.ConversationID, nil)
	fmt.Println("reply:", reply.Text)

	// Without the cookie (and with no token authenticator configured) the
	// upgrade is refused.
	_, err = client.Dial(ctx, url, client.Options{})
	var refused *client.HTTPError
	if errors.As(err, &refused) {
		fmt.Println("without the cookie:", refused.Status)
	}
	// Output:
	// signed in as: ana
	// reply: Hello, Ana!
	// without the cookie: 401
}

// cookieSessions is a host's cookie session table for the tests; each
// identity's ExpiresAt is computed when the request is read, by expires.
type cookieSessions struct {
	mu      sync.Mutex
	users   map[string]auth.Identity
	expires map[string]time.Duration // session → lifetime from now; negative: already expired
	err     error                    // when set, the session store is "down"
	panics  bool
}

func newCookieSessions() *cookieSessions {
	return &cookieSessions{
		users: map[string]auth.Identity{
			"s-ana":    {UserID: "ana", Name: "Ana"},
			"s-olivia": {UserID: "olivia", Name: "Olivia", Roles: []string{chatbox.DefaultOperatorRole}},
			"s-nouser": {Name: "Nobody"},
		},
		expires: map[string]time.Duration{},
	}
}

func (s *cookieSessions) AuthenticateRequest(r *http.Request) (auth.Identity, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.panics {
		panic("session store bug")
	}
	if s.err != nil {
		return auth.Identity{}, s.err
	}
	c, err := r.Cookie("session")
	if err != nil {
		return auth.Identity{}, auth.ErrNoCredentials
	}
	id, ok := s.users[c.Value]
	if !ok {
		return auth.Identity{}, fmt.Errorf("unknown session: %w", auth.ErrInvalidToken)
	}
	if d, ok := s.expires[c.Value]; ok {
		id.ExpiresAt = time.Now().Add(d)
	}
	return id, nil
}

// signInHarness starts a Server with the cookie sessions as its only
// authentication (tokens: when true, the harness's static tokens too).
func signInHarness(t *testing.T, sessions *cookieSessions, tokens bool, opts ...chatbox.Option) *chatboxtest.Harness {
	t.Helper()
	opts = append([]chatbox.Option{chatbox.WithRequestAuthenticator(sessions)}, opts...)
	if tokens {
		return chatboxtest.New(t, chatboxtest.Config{Options: opts})
	}
	// The harness installs its static tokens; a Server with only the
	// sign-in hook is built here instead.
	chat, err := chatbox.New(append([]chatbox.Option{chatbox.WithLLM(scripted.New(scripted.WithResponder(chatboxtest.Echo())))}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(chat)
	t.Cleanup(func() {
		_ = chat.Close()
		hs.Close()
	})
	return &chatboxtest.Harness{Server: chat, HTTP: hs, URL: "ws" + strings.TrimPrefix(hs.URL, "http") + "/ws", AdminURL: hs.URL + chatbox.DefaultAdminPrefix}
}

func cookie(session string) http.Header { return http.Header{"Cookie": {"session=" + session}} }

func dialStatus(t *testing.T, url string, opts client.Options) int {
	t.Helper()
	c, err := client.Dial(testCtx(t), url, opts)
	if err == nil {
		c.Close()
		t.Fatalf("dial succeeded as %s; want it refused", c.Ready.User.ID)
	}
	var he *client.HTTPError
	if !errors.As(err, &he) {
		t.Fatalf("dial: %v; want an HTTP refusal of the upgrade", err)
	}
	return he.Status
}

func TestSignInCookieOpensASocketThatChats(t *testing.T) {
	h := signInHarness(t, newCookieSessions(), false)
	ctx := testCtx(t)
	c, err := client.Dial(ctx, h.URL, client.Options{Header: cookie("s-ana")})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.Ready.User == nil || c.Ready.User.ID != "ana" || c.Ready.User.Name != "Ana" {
		t.Fatalf("ready user = %+v, want ana", c.Ready.User)
	}
	conv := openNew(t, c)
	if _, err := c.Send(ctx, conv, client.NewMessageID(), "hello there"); err != nil {
		t.Fatal(err)
	}
	reply, _, err := c.ReadReply(ctx, conv, nil)
	if err != nil || reply.Text != "echo: hello there" || reply.FinishReason != "stop" {
		t.Fatalf("reply = %q (%s), %v; want the echo, finished with stop", reply.Text, reply.FinishReason, err)
	}
}

func TestSignInRefusesUpgradesWithoutValidSignIn(t *testing.T) {
	sessions := newCookieSessions()
	h := signInHarness(t, sessions, false)
	for name, tc := range map[string]struct {
		opts client.Options
		want int
	}{
		"no cookie, no token":          {client.Options{}, http.StatusUnauthorized},
		"unknown session":              {client.Options{Header: cookie("s-forged")}, http.StatusUnauthorized},
		"identity without a user id":   {client.Options{Header: cookie("s-nouser")}, http.StatusUnauthorized},
		"bearer token, no token authn": {client.Options{Token: chatboxtest.Token("ana"), HeaderAuth: true}, http.StatusUnauthorized},
		"foreign origin, valid cookie": {client.Options{Header: http.Header{"Cookie": {"session=s-ana"}, "Origin": {"https://evil.example"}}}, http.StatusForbidden},
	} {
		t.Run(name, func(t *testing.T) {
			if got := dialStatus(t, h.URL, tc.opts); got != tc.want {
				t.Fatalf("status %d, want %d", got, tc.want)
			}
		})
	}
	// With no token authenticator, a hello frame's token opens nothing.
	c, err := client.Dial(testCtx(t), h.URL, client.Options{Token: chatboxtest.Token("ana")})
	if err == nil {
		c.Close()
		t.Fatal("a token in the hello frame opened a socket on a server that accepts no tokens")
	}
}

func TestSignInFailureOfTheSessionStoreIsRetryable(t *testing.T) {
	sessions := newCookieSessions()
	h := signInHarness(t, sessions, false)
	sessions.mu.Lock()
	sessions.err = errors.New("session store unreachable")
	sessions.mu.Unlock()
	if got := dialStatus(t, h.URL, client.Options{Header: cookie("s-ana")}); got != http.StatusServiceUnavailable {
		t.Fatalf("session store down: status %d, want 503", got)
	}
	sessions.mu.Lock()
	sessions.err, sessions.panics = nil, true
	sessions.mu.Unlock()
	if got := dialStatus(t, h.URL, client.Options{Header: cookie("s-ana")}); got != http.StatusServiceUnavailable {
		t.Fatalf("panicking sign-in: status %d, want 503", got)
	}
}

func TestSignInFallsBackToTokensWhenTheRequestCarriesNoSignIn(t *testing.T) {
	h := signInHarness(t, newCookieSessions(), true)
	ctx := testCtx(t)
	// No cookie: the hello frame's token decides.
	c, err := client.Dial(ctx, h.URL, client.Options{Token: chatboxtest.Token("bob")})
	if err != nil {
		t.Fatalf("token without a cookie: %v", err)
	}
	if c.Ready.User.ID != "bob" {
		t.Fatalf("signed in as %s, want bob", c.Ready.User.ID)
	}
	c.Close()
	// A cookie wins over a token.
	c, err = client.Dial(ctx, h.URL, client.Options{Token: chatboxtest.Token("bob"), HeaderAuth: true, Header: cookie("s-ana")})
	if err != nil {
		t.Fatal(err)
	}
	if c.Ready.User.ID != "ana" {
		t.Fatalf("signed in as %s, want ana (the cookie)", c.Ready.User.ID)
	}
	c.Close()
	// No cookie and no token: refused at hello, as without the hook.
	_, err = client.Dial(ctx, h.URL, client.Options{})
	if client.Code(err) != protocol.CodeUnauthorized {
		t.Fatalf("no cookie, no token: %v; want unauthorized", err)
	}
	// An invalid session is not rescued by a valid token.
	if got := dialStatus(t, h.URL, client.Options{Token: chatboxtest.Token("bob"), HeaderAuth: true, Header: cookie("s-forged")}); got != http.StatusUnauthorized {
		t.Fatalf("forged session with a valid token: status %d, want 401", got)
	}
}

func TestSignInExpiredIdentityIsClosedAsForTokens(t *testing.T) {
	sessions := newCookieSessions()
	sessions.expires["s-ana"] = -time.Minute
	h := signInHarness(t, sessions, false)
	ctx := testCtx(t)

	// Refused as an expired token is: unauthorized, at the upgrade (401) or
	// in answer to hello (then closed with 4001).
	_, err := client.Dial(ctx, h.URL, client.Options{Header: cookie("s-ana")})
	var he *client.HTTPError
	if !(errors.As(err, &he) && he.Status == http.StatusUnauthorized) && client.Code(err) != protocol.CodeUnauthorized {
		t.Fatalf("expired session: %v; want unauthorized", err)
	}

	// A session that expires while the socket is open closes it with 4001.
	sessions.mu.Lock()
	sessions.expires["s-ana"] = 1500 * time.Millisecond
	sessions.mu.Unlock()
	c, err := client.Dial(ctx, h.URL, client.Options{Header: cookie("s-ana")})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for {
		f, err := c.Next(ctx)
		if err != nil {
			if code := client.CloseCode(err); code != protocol.CloseUnauthorized {
				t.Fatalf("socket ended with %v (close code %d), want %d", err, code, protocol.CloseUnauthorized)
			}
			return
		}
		if f.Type == protocol.TypeError && f.Error.Code != protocol.CodeUnauthorized {
			t.Fatalf("unexpected error frame %+v", f.Error)
		}
	}
}

func TestSignInOperatorCookieReachesTheAdminAPI(t *testing.T) {
	sessions := newCookieSessions()
	h := signInHarness(t, sessions, false)
	get := func(header http.Header) int {
		t.Helper()
		req, err := http.NewRequestWithContext(testCtx(t), http.MethodGet, h.AdminURL+"conversations", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header = header
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for name, tc := range map[string]struct {
		header http.Header
		want   int
	}{
		"operator's cookie": {cookie("s-olivia"), http.StatusOK},
		"user's cookie":     {cookie("s-ana"), http.StatusForbidden},
		"unknown session":   {cookie("s-forged"), http.StatusUnauthorized},
		"no cookie":         {http.Header{}, http.StatusUnauthorized},
		"no user id":        {cookie("s-nouser"), http.StatusUnauthorized},
		"bearer, no authn":  {http.Header{"Authorization": {"Bearer " + chatboxtest.Token("olivia")}}, http.StatusUnauthorized},
	} {
		if got := get(tc.header); got != tc.want {
			t.Errorf("%s: status %d, want %d", name, got, tc.want)
		}
	}
	sessions.mu.Lock()
	sessions.expires["s-olivia"] = -time.Second
	sessions.mu.Unlock()
	if got := get(cookie("s-olivia")); got != http.StatusUnauthorized {
		t.Errorf("expired operator session: status %d, want 401", got)
	}
	sessions.mu.Lock()
	sessions.err = errors.New("session store unreachable")
	sessions.mu.Unlock()
	if got := get(cookie("s-olivia")); got != http.StatusServiceUnavailable {
		t.Errorf("session store down: status %d, want 503", got)
	}
}

func TestWithRequestAuthenticatorValidation(t *testing.T) {
	llmOpt := chatbox.WithLLM(scripted.New())
	for name, a := range map[string]auth.RequestAuthenticator{
		"nil interface": nil,
		"nil func":      auth.RequestAuthenticatorFunc(nil),
	} {
		_, err := chatbox.New(llmOpt, chatbox.WithRequestAuthenticator(a))
		if err == nil || !strings.Contains(err.Error(), "WithRequestAuthenticator: authenticator is nil") {
			t.Errorf("%s: New error = %v; want it to name WithRequestAuthenticator", name, err)
		}
	}
	_, err := chatbox.New(llmOpt)
	if err == nil || !strings.Contains(err.Error(), "WithRequestAuthenticator") {
		t.Errorf("no authenticator at all: New error = %v; want it to list WithRequestAuthenticator", err)
	}
	srv, err := chatbox.New(llmOpt, chatbox.WithRequestAuthenticator(newCookieSessions()))
	if err != nil {
		t.Fatalf("the sign-in hook alone: %v", err)
	}
	_ = srv.Close()
}
