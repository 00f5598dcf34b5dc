package chatbox_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/chatboxsdk/chatbox"
	"github.com/chatboxsdk/chatbox/auth/jwt"
	"github.com/chatboxsdk/chatbox/chatboxtest"
	"github.com/chatboxsdk/chatbox/client"
	"github.com/chatboxsdk/chatbox/llm/scripted"
	"github.com/chatboxsdk/chatbox/protocol"
)

// TestSocketsPerAddressAreCapped: with a cap of 3, a fourth socket from
// the same address is refused with HTTP 429 limit_reached whoever it
// authenticates as; closing one gives its place back. The address is the
// peer's: a spoofed X-Forwarded-For from an untrusted peer does not dodge
// the cap, while a trusted proxy's forwarded address is counted apart.
func TestSocketsPerAddressAreCapped(t *testing.T) {
	h := chatboxtest.New(t, chatboxtest.Config{Options: []chatbox.Option{chatbox.WithMaxSocketsPerAddress(3)}})
	ctx := testCtx(t)
	var open []*client.Client
	for _, u := range []string{"alice", "bob", "carol"} {
		open = append(open, h.Dial(t, u))
	}
	dial := func(user string, header http.Header) error {
		c, err := client.Dial(ctx, h.URL, client.Options{Token: chatboxtest.Token(user), Header: header})
		if err == nil {
			t.Cleanup(func() { c.Close() })
		}
		return err
	}
	for _, hdr := range []http.Header{nil, {"X-Forwarded-For": {"198.51.100.7"}}} {
		err := dial("olivia", hdr)
		var he *client.HTTPError
		if !errors.As(err, &he) || he.Status != http.StatusTooManyRequests {
			t.Fatalf("fourth socket from one address (header %v): %v, want HTTP 429", hdr, err)
		}
	}
	_, resp, err := websocket.Dial(ctx, h.URL, &websocket.DialOptions{Subprotocols: []string{protocol.Subprotocol}})
	expectHTTP(t, resp, err, http.StatusTooManyRequests, protocol.CodeLimitReached)

	// A closed socket gives its place back once the server has seen it go.
	if err := open[0].Close(); err != nil {
		t.Fatal(err)
	}
	for attempt := 0; ; attempt++ {
		err := dial("alice", nil)
		if err == nil {
			break
		}
		var he *client.HTTPError
		if !errors.As(err, &he) || he.Status != http.StatusTooManyRequests || attempt > 200 {
			t.Fatalf("after a close: %v", err)
		}
		// The server releases the place when the closed socket's goroutine
		// ends; nothing of it is observable from here, so poll.
		time.Sleep(5 * time.Millisecond)
	}
}

// TestSocketsPerAddressBehindATrustedProxy: behind a trusted proxy, each
// forwarded client address has its own count.
func TestSocketsPerAddressBehindATrustedProxy(t *testing.T) {
	h := chatboxtest.New(t, chatboxtest.Config{Options: []chatbox.Option{
		chatbox.WithMaxSocketsPerAddress(1), chatbox.WithTrustedProxies("127.0.0.0/8", "::1/128"),
	}})
	ctx := testCtx(t)
	from := func(addr string) http.Header { return http.Header{"X-Forwarded-For": {addr}} }
	for _, addr := range []string{"198.51.100.1", "198.51.100.2"} {
		c, err := client.Dial(ctx, h.URL, client.Options{Token: chatboxtest.Token("alice"), Header: from(addr)})
		if err != nil {
			t.Fatalf("first socket from %s: %v", addr, err)
		}
		t.Cleanup(func() { c.Close() })
	}
	_, err := client.Dial(ctx, h.URL, client.Options{Token: chatboxtest.Token("bob"), Header: from("198.51.100.1")})
	var he *client.HTTPError
	if !errors.As(err, &he) || he.Status != http.StatusTooManyRequests {
		t.Fatalf("second socket from one forwarded address: %v, want HTTP 429", err)
	}
}

// TestReadinessWithoutDetail: WithReadinessDetail(false) makes readiness
// answer its status alone, with the same HTTP status; the default answers
// with checks and counts.
func TestReadinessWithoutDetail(t *testing.T) {
	for _, detail := range []bool{true, false} {
		h := chatboxtest.New(t, chatboxtest.Config{Options: []chatbox.Option{chatbox.WithReadinessDetail(detail)}})
		for _, path := range []string{"/health/ready", "/health"} {
			resp, err := h.HTTP.Client().Get(h.HTTP.URL + path)
			if err != nil {
				t.Fatal(err)
			}
			var body map[string]any
			err = json.NewDecoder(resp.Body).Decode(&body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != http.StatusOK || body["status"] != "ok" {
				t.Fatalf("detail %v %s: %d %v (%v)", detail, path, resp.StatusCode, body, err)
			}
			_, hasChecks := body["checks"]
			_, hasCount := body["live_conversations"]
			if detail != hasChecks || detail != hasCount || !detail && len(body) != 1 {
				t.Fatalf("detail %v %s: answered %v", detail, path, body)
			}
		}
	}
	h := chatboxtest.New(t, chatboxtest.Config{Options: []chatbox.Option{chatbox.WithReadinessDetail(false)}})
	_ = h.Server.Close()
	resp, err := h.HTTP.Client().Get(h.HTTP.URL + "/health/ready")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != http.StatusServiceUnavailable || body["status"] != "shutting_down" || len(body) != 1 {
		t.Fatalf("readiness without detail while stopping: %d %v (%v)", resp.StatusCode, body, err)
	}
}

// TestJWKSOutageAtTheSocket: with a JWT verifier whose key server is down,
// a hello is answered with a retryable unavailable and the socket is closed
// with 1013 (try again later), never 4001, so the client keeps its token;
// the same token on the upgrade gets HTTP 503.
func TestJWKSOutageAtTheSocket(t *testing.T) {
	ks := httptest.NewServer(http.NotFoundHandler())
	keysURL := ks.URL + "/.well-known/jwks.json"
	ks.Close() // the key server is down from the start
	srv, err := chatbox.New(
		chatbox.WithLLM(scripted.New(scripted.WithResponder(chatboxtest.Echo()))),
		chatbox.WithJWT(jwt.Config{JWKSURL: keysURL, Algorithm: "RS256", HTTPClient: &http.Client{}}),
	)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(func() { _ = srv.Close(); hs.Close() })
	url := "ws" + strings.TrimPrefix(hs.URL, "http") + "/ws"
	ctx := testCtx(t)
	token := makeJWT(map[string]any{"alg": "RS256", "typ": "JWT", "kid": "k1"}, goodClaims(nil), rs256)

	conn, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: []string{protocol.Subprotocol}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	hello, _ := json.Marshal(protocol.ClientFrame{Type: protocol.TypeHello, ID: "h", Token: token})
	if err := conn.Write(ctx, websocket.MessageText, hello); err != nil {
		t.Fatal(err)
	}
	_, data, err := conn.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var f protocol.ServerFrame
	if err := json.Unmarshal(data, &f); err != nil || f.Error == nil || f.Error.Code != protocol.CodeUnavailable || !f.Error.Retryable {
		t.Fatalf("hello during a key server outage answered %s", data)
	}
	_, _, err = conn.Read(ctx)
	expectClose(t, err, protocol.CloseTryAgainLater)

	_, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: []string{protocol.Subprotocol}, HTTPHeader: bearer(token)})
	expectHTTP(t, resp, err, http.StatusServiceUnavailable, protocol.CodeUnavailable)
}

// TestExposureOptionsAreValidated: a negative socket cap is refused by New
// with the option named; 0 (no cap) is accepted.
func TestExposureOptionsAreValidated(t *testing.T) {
	llm := chatbox.WithLLM(scripted.New())
	authn := chatbox.WithAuthenticator(accessAuth{})
	if _, err := chatbox.New(llm, authn, chatbox.WithMaxSocketsPerAddress(-1)); err == nil || !strings.Contains(err.Error(), "WithMaxSocketsPerAddress") {
		t.Fatalf("a negative cap: %v", err)
	}
	srv, err := chatbox.New(llm, authn, chatbox.WithMaxSocketsPerAddress(0), chatbox.WithReadinessDetail(false))
	if err != nil {
		t.Fatal(err)
	}
	_ = srv.Close()
}
