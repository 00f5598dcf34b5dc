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

	"github.com/jackc/pgx/v5"
	"go.uber.org/goleak"

	"github.com/chatboxsdk/chatbox/client"
	"github.com/chatboxsdk/chatbox/storage"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestOpenStoreReportsMissingSettings(t *testing.T) {
	env := map[string]string{}
	getenv := func(k string) string { return env[k] }
	if _, _, err := openStore(t.Context(), getenv); err == nil || !strings.Contains(err.Error(), "CHATBOX_POSTGRES_URL") {
		t.Errorf("without a URL: %v", err)
	}
	env["CHATBOX_POSTGRES_URL"] = "postgres://127.0.0.1:1/none"
	if _, _, err := openStore(t.Context(), getenv); err == nil || !strings.Contains(err.Error(), "openssl rand -base64 32") {
		t.Errorf("without a key: %v, want the command that makes one", err)
	}
	env["CHATBOX_ENCRYPTION_KEY"] = base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
	if _, _, err := openStore(t.Context(), getenv); err == nil || !strings.Contains(err.Error(), "random") {
		t.Errorf("with a text key: %v, want it refused", err)
	}
}

func TestChatPersistsEncryptedInPostgres(t *testing.T) {
	url := os.Getenv("CHATBOX_TEST_POSTGRES_URL")
	if url == "" {
		msg := "CHATBOX_TEST_POSTGRES_URL is not set: run the tests through scripts/postgres.sh"
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	schema := "chatbox_example_" + strings.ToLower(rand.Text()[:10])
	env := map[string]string{
		"CHATBOX_POSTGRES_URL":    url,
		"CHATBOX_POSTGRES_SCHEMA": schema,
		"CHATBOX_ENCRYPTION_KEY":  base64.StdEncoding.EncodeToString(secret),
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	st, ps, err := openStore(ctx, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	defer ps.Close()
	defer func() {
		conn, err := pgx.Connect(context.Background(), url)
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Error(err)
		}
	}()

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
	if _, err := c.Send(ctx, opened.ConversationID, "m1", "hello postgres"); err != nil {
		t.Fatal(err)
	}
	if r, _, err := c.ReadReply(ctx, opened.ConversationID, nil); err != nil || r.FinishReason != "stop" {
		t.Fatalf("reply %v, %v", r, err)
	}
	// The message went through encryption into the database.
	m, err := st.GetMessage(ctx, opened.ConversationID, "m1")
	if err != nil || m.Text != "hello postgres" {
		t.Fatalf("stored user message = %q, %v", m.Text, err)
	}
	raw, err := ps.GetMessage(ctx, opened.ConversationID, "m1")
	if err != nil || strings.Contains(raw.Text, "hello") || !strings.HasPrefix(raw.Text, "v1:k1:") {
		t.Fatalf("raw stored text = %q, %v; want an envelope", raw.Text, err)
	}
	page, err := st.ListMessages(ctx, storage.MessageQuery{ConversationID: opened.ConversationID})
	if err != nil || len(page.Messages) < 2 {
		t.Fatalf("listed %d messages, %v; want the question and its reply", len(page.Messages), err)
	}
	conv, err := ps.GetConversation(ctx, opened.ConversationID)
	if err != nil || conv.Stats.MessageCount < 2 || conv.Stats.Responses < 1 {
		t.Fatalf("conversation statistics = %+v, %v; want the messages and the reply counted", conv.Stats, err)
	}
}
