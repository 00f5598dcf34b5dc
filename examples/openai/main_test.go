package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/chatboxsdk/chatbox/client"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeOllama replays a recorded Ollama stream on /v1/chat/completions and
// keeps the request bodies.
type fakeOllama struct {
	reply []byte
	mu    sync.Mutex
	seen  [][]byte
}

func (f *fakeOllama) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v1/chat/completions" {
		http.NotFound(w, r)
		return
	}
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.seen = append(f.seen, body)
	f.mu.Unlock()
	w.Header().Set("Content-Type", "text/event-stream")
	_, _ = w.Write(f.reply)
}

func (f *fakeOllama) requests() [][]byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([][]byte(nil), f.seen...)
}

func TestChatsWithAnOllamaServerConfiguredFromTheEnvironment(t *testing.T) {
	reply, err := os.ReadFile("testdata/ollama_reply.sse")
	if err != nil {
		t.Fatal(err)
	}
	fake := &fakeOllama{reply: reply}
	upstream := httptest.NewServer(fake)
	defer upstream.Close()
	env := map[string]string{"OPENAI_BASE_URL": upstream.URL + "/v1", "OPENAI_MODEL": "llama3.2"}

	chat, handler, err := newHandler(slog.New(slog.DiscardHandler), func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(handler)
	defer hs.Close()
	defer chat.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	c, err := client.Dial(ctx, "ws"+strings.TrimPrefix(hs.URL, "http")+"/chat/ws", client.Options{Token: demoToken})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	opened, err := c.OpenNew(ctx, client.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i, text := range []string{"hello model", "and again"} {
		if _, err := c.Send(ctx, opened.ConversationID, []string{"m1", "m2"}[i], text); err != nil {
			t.Fatal(err)
		}
		r, _, err := c.ReadReply(ctx, opened.ConversationID, nil)
		if err != nil || r.Text != "Hello from a local model." || r.FinishReason != "stop" {
			t.Fatalf("reply %d: %+v, %v", i, r, err)
		}
		if r.Usage == nil || r.Usage.InputTokens != 26 || r.Usage.OutputTokens != 5 {
			t.Fatalf("reply %d usage %+v", i, r.Usage)
		}
	}

	reqs := fake.requests()
	if len(reqs) != 2 {
		t.Fatalf("%d upstream requests", len(reqs))
	}
	var second struct {
		Model    string `json:"model"`
		Messages []struct{ Role, Content string }
	}
	if err := json.Unmarshal(reqs[1], &second); err != nil {
		t.Fatal(err)
	}
	roles := make([]string, 0, len(second.Messages))
	for _, m := range second.Messages {
		roles = append(roles, m.Role+":"+m.Content)
	}
	want := "system:You are a helpful assistant. Answer briefly.|user:hello model|assistant:Hello from a local model.|user:and again"
	if second.Model != "llama3.2" || strings.Join(roles, "|") != want {
		t.Fatalf("second request: model %q, messages %s", second.Model, strings.Join(roles, "|"))
	}
}

func TestNeedsAKeyOrABaseURL(t *testing.T) {
	if _, _, err := newHandler(slog.New(slog.DiscardHandler), func(string) string { return "" }); err == nil || !strings.Contains(err.Error(), "OPENAI_API_KEY") {
		t.Fatalf("got %v", err)
	}
}
