package chatbox_test

import (
	"bufio"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/chatboxsdk/chatbox"
	"github.com/chatboxsdk/chatbox/chatboxtest"
	"github.com/chatboxsdk/chatbox/client"
	"github.com/chatboxsdk/chatbox/protocol"
	"github.com/chatboxsdk/chatbox/ratelimit"
)

// TestOperatorOpensOfOtherUsersConversationsAreBudgeted: an operator's
// open of another user's conversation spends the per-operator frame budget
// as watch does, so 200 of them in a row are cut off. The read budget is
// lifted here so that only the operator budget can refuse.
func TestOperatorOpensOfOtherUsersConversationsAreBudgeted(t *testing.T) {
	h := chatboxtest.New(t, chatboxtest.Config{Options: []chatbox.Option{
		chatbox.WithReadRate(ratelimit.Limit{Rate: 1e6, Burst: 1e6}),
	}})
	ctx := testCtx(t)
	conv := openNew(t, h.Dial(t, "alice"))
	op := h.Dial(t, "olivia")
	opened, limited := 0, 0
	for range 200 {
		_, err := op.Open(ctx, conv)
		switch {
		case err == nil:
			opened++
		case client.Code(err) == protocol.CodeRateLimited:
			limited++
		default:
			t.Fatalf("open by an operator: %v", err)
		}
	}
	t.Logf("%d opens answered, %d rate limited", opened, limited)
	if limited == 0 || opened == 0 {
		t.Fatalf("%d opens answered, %d rate limited: the operator budget did not apply to open", opened, limited)
	}
	// The operator's own conversations cost no operator budget.
	own := openNew(t, h.Dial(t, "oscar"))
	oscar := h.Dial(t, "oscar")
	for range 100 {
		if _, err := oscar.Open(ctx, own); err != nil {
			t.Fatalf("an operator opening their own conversation: %v", err)
		}
	}
}

// widgetReadsPerMinute is the most read frames (list, open, history,
// resume) the shipped chat page sends in a busy minute, counted from
// widget/static: on load a list and an open; after each reply a list (one
// per reply, debounced, so at most one per message: 20 a minute at the
// default message rate); on a reconnect a resume per conversation it
// shows (and an open when the replay window no longer covers it); one
// history per page scrolled to (a generous 10).
const widgetReadsPerMinute = 2 + 20 + 2 + 10

// TestReadFramesAreBudgeted: a flood of list frames on one socket is
// answered rate_limited with a retry hint, while the default budget
// stays well above what the chat page sends.
func TestReadFramesAreBudgeted(t *testing.T) {
	h := chatboxtest.New(t, chatboxtest.Config{})
	ctx := testCtx(t)
	c := h.Dial(t, "alice")
	for i := range widgetReadsPerMinute {
		if _, err := c.List(ctx, "", 5); err != nil {
			t.Fatalf("read %d of a busy page's minute refused: %v", i+1, err)
		}
	}
	var denial *protocol.ErrorBody
	for i := 0; i < 500 && denial == nil; i++ {
		_, err := c.List(ctx, "", 5)
		var se *client.ServerError
		if err != nil {
			if !errors.As(err, &se) || se.Body.Code != protocol.CodeRateLimited {
				t.Fatalf("list: %v", err)
			}
			denial = &se.Body
		}
	}
	if denial == nil {
		t.Fatal("500 lists in a row were all answered")
	}
	if !denial.Retryable || denial.RetryAfterMS <= 0 {
		t.Fatalf("denial without a retry hint: %+v", denial)
	}
	// Another user is not affected.
	if _, err := h.Dial(t, "bob").List(ctx, "", 5); err != nil {
		t.Fatalf("another user's list: %v", err)
	}
}

// TestUnmaskedClientFrameClosesWith1002: a client frame that breaks the
// WebSocket protocol itself (here, unmasked, written over a raw TCP
// connection) closes the socket with 1002, as PROTOCOL.md documents.
func TestUnmaskedClientFrameClosesWith1002(t *testing.T) {
	h := chatboxtest.New(t, chatboxtest.Config{})
	conn, br := rawUpgrade(t, h, chatboxtest.Token("alice"))
	payload := []byte(`{"type":"hello"}`)
	frame := append([]byte{0x81, byte(len(payload))}, payload...) // FIN + text, no mask bit
	if _, err := conn.Write(frame); err != nil {
		t.Fatal(err)
	}
	hdr := make([]byte, 2)
	if _, err := io.ReadFull(br, hdr); err != nil {
		t.Fatalf("no close frame: %v", err)
	}
	if hdr[0] != 0x88 || hdr[1]&0x7f < 2 {
		t.Fatalf("got frame header % x, want a close frame with a code", hdr)
	}
	body := make([]byte, hdr[1]&0x7f)
	if _, err := io.ReadFull(br, body); err != nil {
		t.Fatal(err)
	}
	if code := binary.BigEndian.Uint16(body); code != protocol.CloseWireViolation {
		t.Fatalf("closed with %d (%q), want %d", code, body[2:], protocol.CloseWireViolation)
	}
}

// rawUpgrade performs the WebSocket upgrade by hand over TCP, with a
// bearer token, and returns the connection once the server answered 101.
func rawUpgrade(t *testing.T, h *chatboxtest.Harness, token string) (net.Conn, *bufio.Reader) {
	t.Helper()
	conn, err := net.Dial("tcp", h.HTTP.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	key := make([]byte, 16)
	_, _ = rand.Read(key)
	req := "GET /ws HTTP/1.1\r\nHost: " + h.HTTP.Listener.Addr().String() + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " + base64.StdEncoding.EncodeToString(key) + "\r\n" +
		"Sec-WebSocket-Protocol: " + protocol.Subprotocol + "\r\nAuthorization: Bearer " + token + "\r\n\r\n"
	if _, err := conn.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade answered %s", resp.Status)
	}
	return conn, br
}
