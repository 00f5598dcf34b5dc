package chatbox_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/chatboxsdk/chatbox"
	"github.com/chatboxsdk/chatbox/auth"
	"github.com/chatboxsdk/chatbox/chatboxtest"
	"github.com/chatboxsdk/chatbox/client"
	"github.com/chatboxsdk/chatbox/llm/scripted"
	"github.com/chatboxsdk/chatbox/protocol"
	"github.com/chatboxsdk/chatbox/ratelimit"
	"github.com/chatboxsdk/chatbox/storage/memory"
)

// attackEnv is one real Server that every hostile input of the suite is
// thrown at; the suite ends by checking it still serves a normal client.
type attackEnv struct {
	t      *testing.T
	srv    *chatbox.Server
	hs     *httptest.Server
	url    string
	tokens map[string]string // user -> token
	// victimConv belongs to "victim"; attackers try to reach it.
	victimConv string
	runCtx     context.Context
}

func newAttackEnv(t *testing.T, extra ...chatbox.Option) *attackEnv {
	t.Helper()
	ids := map[string]auth.Identity{
		"tok-victim":   {UserID: "victim"},
		"tok-attacker": {UserID: "attacker"},
		"tok-normal":   {UserID: "normal"},
		// A credential that expires a moment after the suite starts.
		"tok-expiring": {UserID: "expiring", ExpiresAt: time.Now().Add(1500 * time.Millisecond)},
		"tok-expired":  {UserID: "expired", ExpiresAt: time.Now().Add(-time.Minute)},
	}
	authn, err := auth.NewStaticTokens(ids)
	if err != nil {
		t.Fatal(err)
	}
	opts := append([]chatbox.Option{
		chatbox.WithStore(memory.New()),
		chatbox.WithLLM(scripted.New(scripted.WithResponder(chatboxtest.Echo()))),
		attackAuthenticator(t, authn),
		chatbox.WithMaxFrameBytes(8 << 10),
		chatbox.WithMaxTextBytes(2 << 10),
		chatbox.WithMaxMetadataEntries(8),
		chatbox.WithMaxMetadataValueBytes(256),
		chatbox.WithAllowedOrigins("https://app.example.com", "https://*.partner.example"),
		chatbox.WithConnectionRate(ratelimit.Per(6000, time.Minute, 100)),
		chatbox.WithMessageRate(ratelimit.Per(60, time.Minute, 5)),
		chatbox.WithMaxSocketsPerUser(5),
		chatbox.WithHelloTimeout(300 * time.Millisecond),
	}, extra...)
	srv, err := chatbox.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(func() { _ = srv.Close(); hs.Close() })
	runCtx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	e := &attackEnv{t: t, srv: srv, hs: hs, runCtx: runCtx, url: "ws" + strings.TrimPrefix(hs.URL, "http") + "/ws", tokens: map[string]string{}}
	for tok, id := range ids {
		e.tokens[id.UserID] = tok
	}
	v := e.dial(t, "victim")
	opened, err := v.OpenNew(e.ctx(), client.OpenOptions{Title: "private"})
	if err != nil {
		t.Fatal(err)
	}
	e.victimConv = opened.ConversationID
	return e
}

func (e *attackEnv) ctx() context.Context { return e.runCtx }

// dial connects as user; the socket closes when t ends.
func (e *attackEnv) dial(t *testing.T, user string) *client.Client {
	t.Helper()
	c, err := client.Dial(e.ctx(), e.url, client.Options{Token: e.tokens[user]})
	if err != nil {
		t.Fatalf("dial %s: %v", user, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// raw dials without the client package, for malformed handshakes.
func (e *attackEnv) raw(t *testing.T, url string, header http.Header, subprotocols ...string) (*websocket.Conn, *http.Response, error) {
	if subprotocols == nil {
		subprotocols = []string{protocol.Subprotocol}
	}
	conn, resp, err := websocket.Dial(e.ctx(), url, &websocket.DialOptions{HTTPHeader: header, Subprotocols: subprotocols})
	if conn != nil {
		conn.SetReadLimit(1 << 20)
		t.Cleanup(func() { _ = conn.CloseNow() })
	}
	return conn, resp, err
}

// expectFrameError writes one raw frame on a fresh attacker socket and
// expects the documented error code with the socket still usable.
func (e *attackEnv) expectFrameError(t *testing.T, frame []byte, code protocol.Code) {
	t.Helper()
	c := e.dial(t, "attacker")
	if err := c.Write(e.ctx(), frame); err != nil {
		t.Fatal(err)
	}
	f, err := c.Next(e.ctx())
	if err != nil || f.Type != protocol.TypeError || f.Error.Code != code {
		t.Fatalf("got %+v (%v), want error %s", f.Error, err, code)
	}
	if _, err := c.List(e.ctx(), "", 1); err != nil {
		t.Fatalf("socket unusable after the hostile frame: %v", err)
	}
}

func expectHTTP(t *testing.T, resp *http.Response, err error, status int, code protocol.Code) {
	t.Helper()
	if err == nil || resp == nil || resp.StatusCode != status {
		got := 0
		if resp != nil {
			got = resp.StatusCode
		}
		t.Fatalf("upgrade: status %d, err %v; want %d", got, err, status)
	}
	if code == "" {
		return
	}
	var body struct{ Error protocol.ErrorBody }
	if jerr := json.NewDecoder(resp.Body).Decode(&body); jerr != nil || body.Error.Code != code {
		t.Fatalf("body code %q (%v), want %s", body.Error.Code, jerr, code)
	}
}

func expectClose(t *testing.T, err error, code int) {
	t.Helper()
	if got := client.CloseCode(err); got != code {
		t.Fatalf("closed with %d (%v), want %d", got, err, code)
	}
}
