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
	chat, handler, err := newHandler(slog.New(slog.DiscardHandler), time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(handler)
	defer hs.Close()
	defer chat.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// The page is the widget's chat page, configured for this mux; its
	// client speaks the protocol; the token endpoint gives the demo token.
	page := get(t, hs.URL+"/", "text/html")
	if !strings.Contains(page, `"socket_url":"/chat/ws"`) || !strings.Contains(page, `"token_url":"/token"`) ||
		!strings.Contains(page, "./chat.js") {
		t.Fatalf("the page is not the configured chat page:\n%s", page)
	}
	if strings.Contains(page, demoToken) {
		t.Fatal("the token is written into the page; it must come from the token endpoint")
	}
	if js := get(t, hs.URL+"/chatbox.js", "text/javascript"); !strings.Contains(js, "chatbox.v1") {
		t.Fatal("chatbox.js does not speak the protocol")
	}
	if tok := get(t, hs.URL+"/token", "application/json"); !strings.Contains(tok, `"token":"`+demoToken+`"`) {
		t.Fatalf("token endpoint answered %s", tok)
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
	// The demo model writes Markdown for the page to draw.
	for _, want := range []string{"\n- ", "\n|---|---|\n", "\n```go\n"} {
		if !strings.Contains(r.Text, want) {
			t.Fatalf("demo reply has no list, table or code block (%q missing):\n%s", want, r.Text)
		}
	}
}

func TestQuickstartServesTheOperatorConsoleForTheDemoOperator(t *testing.T) {
	chat, handler, err := newHandler(slog.New(slog.DiscardHandler), time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(handler)
	defer hs.Close()
	defer chat.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	console := get(t, hs.URL+"/operator", "text/html")
	if !strings.Contains(console, `"admin_url":"/chat/admin/"`) || !strings.Contains(console, "./operator.js") || strings.Contains(console, demoOperatorToken) {
		t.Fatalf("the console is not configured for this mux:\n%s", console)
	}
	// The user asks for a person; the demo operator sees the conversation
	// in the API's needs-help listing the console polls, and takes it over.
	ws := "ws" + strings.TrimPrefix(hs.URL, "http") + "/chat/ws"
	user, err := client.Dial(ctx, ws, client.Options{Token: demoToken})
	if err != nil {
		t.Fatal(err)
	}
	defer user.Close()
	opened, err := user.OpenNew(ctx, client.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := user.Help(ctx, opened.ConversationID); err != nil {
		t.Fatal(err)
	}
	if code, body := admin(t, hs.URL+"/chat/admin/conversations?needs_help=true", demoOperatorToken); code != http.StatusOK || !strings.Contains(body, opened.ConversationID) {
		t.Fatalf("needs-help listing for the operator: %d %s", code, body)
	}
	if code, _ := admin(t, hs.URL+"/chat/admin/conversations", demoToken); code != http.StatusForbidden {
		t.Fatalf("the demo user reached the operator API: %d", code)
	}
	op, err := client.Dial(ctx, ws, client.Options{Token: demoOperatorToken})
	if err != nil {
		t.Fatal(err)
	}
	defer op.Close()
	if _, err := op.Watch(ctx, opened.ConversationID); err != nil {
		t.Fatal(err)
	}
	if err := op.Takeover(ctx, opened.ConversationID); err != nil {
		t.Fatal(err)
	}
}

// admin GETs an operator API URL with a bearer token.
func admin(t *testing.T, url, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

// get fetches url and checks the status and content type.
func get(t *testing.T, url, contentType string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), contentType) {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	return string(body)
}

// The demo model calls the demo tools: a lookup runs at once, a refund
// waits for the user's approval.
func TestQuickstartDemoCallsItsTools(t *testing.T) {
	ctx, c := dialQuickstart(t)
	opened, err := c.OpenNew(ctx, client.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	conv := opened.ConversationID
	if _, err := c.Send(ctx, conv, "m1", "where is order 1234?"); err != nil {
		t.Fatal(err)
	}
	r, _, err := c.ReadReply(ctx, conv, nil)
	if err != nil || r.FinishReason != "stop" || !strings.Contains(r.Text, "shipped") || len(r.Parts) == 0 {
		t.Fatalf("lookup reply %+v, %v", r, err)
	}

	if _, err := c.Send(ctx, conv, "m2", "please refund order 1234"); err != nil {
		t.Fatal(err)
	}
	r, _, err = c.ReadReply(ctx, conv, nil)
	if err != nil || r.Awaiting == nil || r.Awaiting.Name != "refund_order" {
		t.Fatalf("refund reply %+v, %v; want an approval request", r, err)
	}
	if err := c.Approve(ctx, conv, r.ID, r.Awaiting.ID, true); err != nil {
		t.Fatal(err)
	}
	r, _, err = c.ReadReply(ctx, conv, &r)
	if err != nil || r.FinishReason != "stop" || !strings.Contains(r.Text, "$39.00") {
		t.Fatalf("refund reply after approval %+v, %v", r, err)
	}
}

// dialQuickstart serves the quickstart for the test and dials its socket
// as the demo user; everything is closed when the test ends.
func dialQuickstart(t *testing.T) (context.Context, *client.Client) {
	t.Helper()
	chat, handler, err := newHandler(slog.New(slog.DiscardHandler), time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(handler)
	t.Cleanup(func() { hs.Close(); _ = chat.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	c, err := client.Dial(ctx, "ws"+strings.TrimPrefix(hs.URL, "http")+"/chat/ws", client.Options{Token: demoToken})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return ctx, c
}
