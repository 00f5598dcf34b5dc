package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"log/slog"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/chatboxsdk/chatbox/client"
	"github.com/chatboxsdk/chatbox/storage"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestOpenStoreReportsMissingSettings(t *testing.T) {
	env := map[string]string{}
	getenv := func(k string) string { return env[k] }
	if _, _, err := openStore(t.Context(), getenv); err == nil || !strings.Contains(err.Error(), "CHATBOX_MONGODB_URI") {
		t.Errorf("without a URI: %v", err)
	}
	env["CHATBOX_MONGODB_URI"] = "mongodb://127.0.0.1:1"
	if _, _, err := openStore(t.Context(), getenv); err == nil || !strings.Contains(err.Error(), "openssl rand -base64 32") {
		t.Errorf("without a key: %v, want the command that makes one", err)
	}
	env["CHATBOX_ENCRYPTION_KEY"] = base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
	if _, _, err := openStore(t.Context(), getenv); err == nil || !strings.Contains(err.Error(), "random") {
		t.Errorf("with a text key: %v, want it refused", err)
	}
}

func TestChatPersistsEncryptedInMongoDB(t *testing.T) {
	uri := os.Getenv("CHATBOX_TEST_MONGODB_URI")
	if uri == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("CHATBOX_TEST_MONGODB_URI is not set: run the tests through scripts/ferretdb.sh")
		}
		t.Skip("CHATBOX_TEST_MONGODB_URI is not set: run the tests through scripts/ferretdb.sh")
	}
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	env := map[string]string{
		"CHATBOX_MONGODB_URI":      uri,
		"CHATBOX_MONGODB_DATABASE": "chatbox_example_" + strings.ToLower(rand.Text()[:10]),
		"CHATBOX_ENCRYPTION_KEY":   base64.StdEncoding.EncodeToString(secret),
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	st, ms, err := openStore(ctx, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	defer ms.Close(context.Background())

	chat, handler, err := newHandler(st, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(handler)
	defer hs.Close()
	defer chat.Close()

	c, err := client.Dial(ctx, "ws"+strings.TrimPrefix(hs.URL, "http")+"/chat/ws", client.Options{Token: demoToken})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	opened, err := c.OpenNew(ctx, client.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Send(ctx, opened.ConversationID, "m1", "hello mongo"); err != nil {
		t.Fatal(err)
	}
	if r, _, err := c.ReadReply(ctx, opened.ConversationID, nil); err != nil || r.FinishReason != "stop" {
		t.Fatalf("reply %v, %v", r, err)
	}
	// The message went through encryption into the database.
	m, err := st.GetMessage(ctx, opened.ConversationID, "m1")
	if err != nil || m.Text != "hello mongo" {
		t.Fatalf("stored user message = %q, %v", m.Text, err)
	}
	raw, err := ms.GetMessage(ctx, opened.ConversationID, "m1")
	if err != nil || strings.Contains(raw.Text, "hello") || !strings.HasPrefix(raw.Text, "v1:k1:") {
		t.Fatalf("raw stored text = %q, %v; want an envelope", raw.Text, err)
	}
	page, err := st.ListMessages(ctx, storage.MessageQuery{ConversationID: opened.ConversationID})
	if err != nil || len(page.Messages) < 2 {
		t.Fatalf("listed %d messages, %v; want the question and its reply", len(page.Messages), err)
	}
	if err := ms.Close(ctx); err != nil {
		t.Fatal(err)
	}
}
