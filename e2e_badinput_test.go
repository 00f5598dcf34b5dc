package chatbox_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/chatboxsdk/chatbox"
	"github.com/chatboxsdk/chatbox/chatboxtest"
	"github.com/chatboxsdk/chatbox/client"
	"github.com/chatboxsdk/chatbox/protocol"
)

func TestBadFramesGetDocumentedCodesAndTheSocketSurvives(t *testing.T) {
	h := chatboxtest.New(t, chatboxtest.Config{Options: []chatbox.Option{chatbox.WithMaxFrameBytes(4096), chatbox.WithMaxTextBytes(1024)}})
	ctx := testCtx(t)
	bystander := h.Dial(t, "bob")
	bconv := openNew(t, bystander)
	c := h.Dial(t, "alice")
	conv := openNew(t, c)
	cases := []struct {
		name  string
		frame string
		code  protocol.Code
	}{
		{"not json", `hello?`, protocol.CodeBadFrame},
		{"json array", `[1]`, protocol.CodeBadFrame},
		{"unknown type", `{"type":"dance"}`, protocol.CodeUnknownType},
		{"missing fields", `{"type":"send"}`, protocol.CodeInvalidField},
		{"wrong types", `{"type":"send","conversation_id":"` + conv + `","message_id":7,"text":"x"}`, protocol.CodeBadFrame},
		{"text over limit", `{"type":"send","conversation_id":"` + conv + `","message_id":"m","text":"` + strings.Repeat("a", 1025) + `"}`, protocol.CodeTooLarge},
		{"frame over limit", `{"type":"send","text":"` + strings.Repeat("a", 5000) + `"}`, protocol.CodeTooLarge},
		{"invalid utf8", "{\"type\":\"send\",\"text\":\"\xc3\x28\"}", protocol.CodeBadFrame},
		{"re-authentication with a bad token", `{"type":"hello","token":"x"}`, protocol.CodeUnauthorized},
		{"re-authentication without a token", `{"type":"hello"}`, protocol.CodeInvalidField},
		{"conversation not open", `{"type":"send","conversation_id":"c_other","message_id":"m","text":"hi"}`, protocol.CodeNotOpen},
	}
	for _, tc := range cases {
		if err := c.Write(ctx, []byte(tc.frame)); err != nil {
			t.Fatal(err)
		}
		f, err := c.Next(ctx)
		if err != nil {
			t.Fatalf("%s: socket lost: %v", tc.name, err)
		}
		if f.Type != protocol.TypeError || f.Error == nil || f.Error.Code != tc.code {
			t.Fatalf("%s: got %+v, want error %s", tc.name, f, tc.code)
		}
	}
	if err := c.WriteBinary(ctx, []byte{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	if f, err := c.Next(ctx); err != nil || f.Error == nil || f.Error.Code != protocol.CodeBadFrame {
		t.Fatalf("binary frame: %+v %v", f, err)
	}
	// The same socket still chats, and so does another user's.
	for _, cc := range []struct {
		c    *client.Client
		conv string
	}{{c, conv}, {bystander, bconv}} {
		if _, err := cc.c.Send(ctx, cc.conv, "ok-1", "still fine"); err != nil {
			t.Fatal(err)
		}
		if r, _, err := cc.c.ReadReply(ctx, cc.conv, nil); err != nil || r.Text != "echo: still fine" {
			t.Fatalf("after bad frames: %v %v", r, err)
		}
	}
}

func TestAFrameFarOverTheLimitClosesWith1009(t *testing.T) {
	h := chatboxtest.New(t, chatboxtest.Config{Options: []chatbox.Option{chatbox.WithMaxFrameBytes(4096), chatbox.WithMaxTextBytes(1024)}})
	ctx := testCtx(t)
	c := h.Dial(t, "alice")
	if err := c.Write(ctx, []byte(strings.Repeat("x", 64<<10))); err != nil {
		t.Fatal(err)
	}
	_, err := c.Next(ctx)
	if code := client.CloseCode(err); code != protocol.CloseMessageTooBig {
		t.Fatalf("close code %d (%v), want 1009", code, err)
	}
}

func TestHandshakeFailures(t *testing.T) {
	h := chatboxtest.New(t, chatboxtest.Config{Options: []chatbox.Option{chatbox.WithHelloTimeout(200 * time.Millisecond)}})
	ctx := testCtx(t)

	t.Run("no subprotocol is refused with 400", func(t *testing.T) {
		_, resp, err := websocket.Dial(ctx, h.URL, nil)
		if err == nil || resp == nil || resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("dial without subprotocol: %v", err)
		}
	})
	t.Run("bad bearer header is refused with 401", func(t *testing.T) {
		_, err := client.Dial(ctx, h.URL, client.Options{Token: "wrong", HeaderAuth: true})
		var he *client.HTTPError
		if !errors.As(err, &he) || he.Status != http.StatusUnauthorized {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("good bearer header works", func(t *testing.T) {
		c, err := client.Dial(ctx, h.URL, client.Options{Token: chatboxtest.Token("carol"), HeaderAuth: true})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if c.Ready.User.ID != "carol" {
			t.Fatalf("ready for %+v", c.Ready.User)
		}
	})
	t.Run("bad token in hello closes with 4001", func(t *testing.T) {
		_, err := client.Dial(ctx, h.URL, client.Options{Token: "wrong"})
		if client.Code(err) != protocol.CodeUnauthorized {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("no token at all", func(t *testing.T) {
		_, err := client.Dial(ctx, h.URL, client.Options{})
		if client.Code(err) != protocol.CodeUnauthorized {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("first frame must be hello", func(t *testing.T) {
		conn, _, err := websocket.Dial(ctx, h.URL, &websocket.DialOptions{Subprotocols: []string{protocol.Subprotocol}})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.CloseNow()
		_ = conn.Write(ctx, websocket.MessageText, []byte(`{"type":"list"}`))
		_, data, _ := conn.Read(ctx)
		if !strings.Contains(string(data), `"hello_required"`) {
			t.Fatalf("got %s", data)
		}
		_, _, err = conn.Read(ctx)
		if websocket.CloseStatus(err) != protocol.CloseProtocolError {
			t.Fatalf("close %v, want 4000", err)
		}
	})
	t.Run("silence past the hello timeout closes with 4000", func(t *testing.T) {
		conn, _, err := websocket.Dial(ctx, h.URL, &websocket.DialOptions{Subprotocols: []string{protocol.Subprotocol}})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.CloseNow()
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		_, _, err = conn.Read(rctx)
		if websocket.CloseStatus(err) != protocol.CloseProtocolError {
			t.Fatalf("close %v, want 4000", err)
		}
	})
	t.Run("foreign origin is refused", func(t *testing.T) {
		_, err := client.Dial(ctx, h.URL, client.Options{Token: chatboxtest.Token("alice"), Header: http.Header{"Origin": {"https://evil.example"}}})
		var he *client.HTTPError
		if !errors.As(err, &he) || he.Status != http.StatusForbidden {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("health", func(t *testing.T) {
		resp, err := http.Get(h.HTTP.URL + "/health")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
			t.Fatalf("health: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
	})
}
