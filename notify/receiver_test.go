package notify_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/chatboxsdk/chatbox/notify"
)

// testSecret is 32 bytes that pass NewWebhook's checks.
var testSecret = []byte("k3Jd9-Qz81LmN0pWv7Rt2Yx5Bc4Hf6Ga")

// delivery is one request the receiver saw.
type delivery struct {
	at     time.Time
	header http.Header
	body   []byte
}

// receiver is a local webhook endpoint. respond decides the answer to the
// n-th request (0-based); it may block on the request's context.
type receiver struct {
	srv     *httptest.Server
	respond func(n int, w http.ResponseWriter, r *http.Request)

	mu   sync.Mutex
	seen []delivery
}

func newReceiver(t *testing.T, respond func(n int, w http.ResponseWriter, r *http.Request)) *receiver {
	t.Helper()
	rc := &receiver{respond: respond}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		rc.mu.Lock()
		n := len(rc.seen)
		rc.seen = append(rc.seen, delivery{at: time.Now(), header: r.Header.Clone(), body: body})
		rc.mu.Unlock()
		rc.respond(n, w, r)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) deliveries() []delivery {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]delivery(nil), rc.seen...)
}

// status answers every request with code.
func status(code int) func(int, http.ResponseWriter, *http.Request) {
	return func(_ int, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(code) }
}

// newWebhook builds a Webhook for rc with fast retries unless cfg says
// otherwise, and closes it at the end of the test.
func newWebhook(t *testing.T, rc *receiver, cfg notify.WebhookConfig) *notify.Webhook {
	t.Helper()
	cfg.URL = rc.srv.URL + "/hooks/help"
	if cfg.Secret == nil {
		cfg.Secret = testSecret
	}
	if cfg.BackoffInterval == 0 {
		cfg.BackoffInterval = time.Millisecond
	}
	if cfg.MaxBackoffInterval == 0 {
		cfg.MaxBackoffInterval = 4 * time.Millisecond
	}
	w, err := notify.NewWebhook(cfg)
	if err != nil {
		t.Fatalf("NewWebhook: %v", err)
	}
	t.Cleanup(func() { _ = w.Close() })
	return w
}

func sampleRequest() notify.HelpRequest {
	return notify.HelpRequest{
		ConversationID: "conv-1",
		UserID:         "user-7",
		UserName:       "Ada",
		Reason:         "the bot keeps misunderstanding me",
		At:             time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC),
		ConsoleURL:     "https://console.example.com/c/conv-1",
	}
}

// notifyWithin runs Notify and fails the test if it has not returned by
// limit.
func notifyWithin(t *testing.T, w notify.Notifier, limit time.Duration) error {
	t.Helper()
	errc := make(chan error, 1)
	go func() { errc <- w.Notify(context.Background(), sampleRequest()) }()
	select {
	case err := <-errc:
		return err
	case <-time.After(limit):
		t.Fatalf("Notify did not return within %s", limit)
		return nil
	}
}
