package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/chatboxsdk/chatbox/client"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestQuickstartServesThePageAndChats(t *testing.T) {
	chat, handler, err := newHandler(slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(handler)
	defer hs.Close()
	defer chat.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	resp, err := http.Get(hs.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "chatbox.v1") || !strings.Contains(string(body), demoToken) {
		t.Fatal("the page does not speak the protocol")
	}

	c, err := client.Dial(ctx, "ws"+strings.TrimPrefix(hs.URL, "http")+"/chat/ws", client.Options{Token: demoToken})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	opened, err := c.OpenNew(ctx, client.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Send(ctx, opened.ConversationID, "m1", "hello demo"); err != nil {
		t.Fatal(err)
	}
	r, _, err := c.ReadReply(ctx, opened.ConversationID, nil)
	if err != nil || !strings.Contains(r.Text, "hello demo") || r.FinishReason != "stop" {
		t.Fatalf("demo reply %v, %v", r, err)
	}
}
