package main

import (
	"context"
	"crypto/rand"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/chatboxsdk/chatbox/broker/redis/redistest"
	"github.com/chatboxsdk/chatbox/client"
	"github.com/chatboxsdk/chatbox/storage/memory"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestACommandWithoutSharedBackendsIsRefused(t *testing.T) {
	err := run(t.Context(), options{addr: "127.0.0.1:0"})
	if err == nil || !strings.Contains(err.Error(), "-redis") || !strings.Contains(err.Error(), "-mongodb") {
		t.Fatalf("run without -redis and -mongodb: %v, want both named", err)
	}
}

// Two instances in one process share the test Redis and a memory store (a
// stand-in for the MongoDB two processes would share); a user chats
// through both.
func TestTwoInstancesServeOneConversation(t *testing.T) {
	cfg := instanceConfig{Redis: redistest.Addr(t), Store: memory.New(), KeyPrefix: "chatbox-example-" + rand.Text() + ":",
		Logger: slog.New(slog.DiscardHandler), WordDelay: time.Millisecond}
	var urls []string
	for range 2 {
		in, err := newInstance(cfg)
		if err != nil {
			t.Fatal(err)
		}
		hs := httptest.NewServer(in.handler)
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := in.close(ctx); err != nil {
				t.Errorf("close: %v", err)
			}
			hs.Close()
		})
		urls = append(urls, hs.URL)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()

	// Each instance serves the page.
	for _, u := range urls {
		resp, err := http.Get(u + "/")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "chatbox cluster") {
			t.Fatalf("GET %s/: %d", u, resp.StatusCode)
		}
	}

	tabs := make([]*client.Client, 2)
	for i, u := range urls {
		c, err := client.Dial(ctx, "ws"+strings.TrimPrefix(u, "http")+"/chat/ws", client.Options{Token: demoToken})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		tabs[i] = c
	}
	opened, err := tabs[0].OpenNew(ctx, client.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	conv := opened.ConversationID
	if _, err := tabs[1].Open(ctx, conv); err != nil {
		t.Fatalf("the second instance opens the conversation the first started: %v", err)
	}
	for i, text := range []string{"hello", "and again"} {
		if _, err := tabs[1-i].Send(ctx, conv, client.NewMessageID(), text); err != nil {
			t.Fatalf("send %q: %v", text, err)
		}
		r0, _, err0 := tabs[0].ReadReply(ctx, conv, nil)
		r1, _, err1 := tabs[1].ReadReply(ctx, conv, nil)
		if err0 != nil || err1 != nil {
			t.Fatalf("reply to %q: %v, %v", text, err0, err1)
		}
		if r0.FinishReason != "stop" || r0.Text == "" || r0.Text != r1.Text || !slices.Equal(r0.Seqs, r1.Seqs) {
			t.Fatalf("reply to %q: instance 1 %v %v, instance 2 %v %v; want one reply with the same numbers", text, r0, r0.Seqs, r1, r1.Seqs)
		}
	}
}
