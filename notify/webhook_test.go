package notify_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chatboxsdk/chatbox/notify"
)

func TestWebhookSignedPayloadVerifies(t *testing.T) {
	rc := newReceiver(t, status(http.StatusNoContent))
	w := newWebhook(t, rc, notify.WebhookConfig{})

	if err := notifyWithin(t, w, 5*time.Second); err != nil {
		t.Fatalf("Notify: %v", err)
	}
	got := rc.deliveries()
	if len(got) != 1 {
		t.Fatalf("receiver saw %d requests, want 1", len(got))
	}
	d := got[0]
	if err := notify.VerifySignature(testSecret, d.header.Get(notify.SignatureHeader), d.body, time.Now(), 0); err != nil {
		t.Fatalf("signature does not verify: %v", err)
	}
	if ct := d.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	if ev := d.header.Get(notify.EventHeader); ev != notify.EventHelpRequested {
		t.Errorf("%s = %q", notify.EventHeader, ev)
	}
	var p notify.WebhookPayload
	if err := json.Unmarshal(d.body, &p); err != nil {
		t.Fatalf("payload: %v", err)
	}
	want := sampleRequest()
	if p.Event != notify.EventHelpRequested || p.ConversationID != want.ConversationID || p.UserID != want.UserID ||
		p.UserName != want.UserName || p.Reason != want.Reason || !p.At.Equal(want.At) || p.ConsoleURL != want.ConsoleURL {
		t.Errorf("payload = %+v, want the fields of %+v", p, want)
	}
	if p.DeliveryID == "" || p.DeliveryID != d.header.Get(notify.DeliveryHeader) {
		t.Errorf("delivery id %q, header %q: want equal and non-empty", p.DeliveryID, d.header.Get(notify.DeliveryHeader))
	}

	// What a receiver must reject.
	tampered := []byte(strings.Replace(string(d.body), "conv-1", "conv-2", 1))
	if err := notify.VerifySignature(testSecret, d.header.Get(notify.SignatureHeader), tampered, time.Now(), 0); !errors.Is(err, notify.ErrInvalidSignature) {
		t.Errorf("tampered body: err = %v, want ErrInvalidSignature", err)
	}
	later := time.Now().Add(notify.DefaultSignatureTolerance + time.Minute)
	if err := notify.VerifySignature(testSecret, d.header.Get(notify.SignatureHeader), d.body, later, 0); !errors.Is(err, notify.ErrStaleSignature) {
		t.Errorf("replayed later: err = %v, want ErrStaleSignature", err)
	}
	other := []byte("Zq8-wP2mX7vL4nR9tB1cK6hJ3dF5gS0aYe")
	if err := notify.VerifySignature(other, d.header.Get(notify.SignatureHeader), d.body, time.Now(), 0); !errors.Is(err, notify.ErrInvalidSignature) {
		t.Errorf("other secret: err = %v, want ErrInvalidSignature", err)
	}
}

func TestWebhookLongUserTextIsCapped(t *testing.T) {
	rc := newReceiver(t, status(http.StatusOK))
	w := newWebhook(t, rc, notify.WebhookConfig{})
	r := sampleRequest()
	r.Reason = strings.Repeat("é", 5000) // 10,000 bytes
	if err := w.Notify(context.Background(), r); err != nil {
		t.Fatalf("Notify: %v", err)
	}
	var p notify.WebhookPayload
	if err := json.Unmarshal(rc.deliveries()[0].body, &p); err != nil {
		t.Fatal(err)
	}
	if len(p.Reason) != 2048 || p.Reason != strings.Repeat("é", 1024) {
		t.Errorf("reason is %d bytes, want 2048 bytes of whole runes", len(p.Reason))
	}
}

func TestWebhookRetriesServerErrorThenSucceeds(t *testing.T) {
	rc := newReceiver(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		if n < 2 {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	w := newWebhook(t, rc, notify.WebhookConfig{})

	if err := notifyWithin(t, w, 5*time.Second); err != nil {
		t.Fatalf("Notify: %v", err)
	}
	got := rc.deliveries()
	if len(got) != 3 {
		t.Fatalf("receiver saw %d requests, want 3", len(got))
	}
	id := got[0].header.Get(notify.DeliveryHeader)
	for i, d := range got {
		if d.header.Get(notify.DeliveryHeader) != id {
			t.Errorf("attempt %d has delivery id %q, want %q (the same for every retry)", i, d.header.Get(notify.DeliveryHeader), id)
		}
		if string(d.body) != string(got[0].body) {
			t.Errorf("attempt %d body differs from the first", i)
		}
		if err := notify.VerifySignature(testSecret, d.header.Get(notify.SignatureHeader), d.body, time.Now(), 0); err != nil {
			t.Errorf("attempt %d: %v", i, err)
		}
	}
}

func TestWebhookRetriesTooManyRequestsAndNetworkErrors(t *testing.T) {
	rc := newReceiver(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		switch n {
		case 0:
			w.WriteHeader(http.StatusTooManyRequests)
		case 1: // drop the connection without answering
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				_ = conn.Close()
			}
		default:
			w.WriteHeader(http.StatusAccepted)
		}
	})
	w := newWebhook(t, rc, notify.WebhookConfig{})
	if err := notifyWithin(t, w, 5*time.Second); err != nil {
		t.Fatalf("Notify: %v", err)
	}
	if n := len(rc.deliveries()); n != 3 {
		t.Fatalf("receiver saw %d requests, want 3", n)
	}
}

func TestWebhookDoesNotRetryClientErrorsOrRedirects(t *testing.T) {
	for _, code := range []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusNotFound, http.StatusConflict, http.StatusFound} {
		t.Run(http.StatusText(code), func(t *testing.T) {
			rc := newReceiver(t, func(_ int, w http.ResponseWriter, r *http.Request) {
				if code == http.StatusFound {
					http.Redirect(w, r, "/elsewhere", code)
					return
				}
				w.WriteHeader(code)
			})
			w := newWebhook(t, rc, notify.WebhookConfig{MaxAttempts: 5})
			err := notifyWithin(t, w, 5*time.Second)
			var de *notify.DeliveryError
			if !errors.As(err, &de) {
				t.Fatalf("err = %v, want *DeliveryError", err)
			}
			if de.Attempts != 1 || de.StatusCode != code {
				t.Errorf("Attempts = %d, StatusCode = %d; want 1, %d", de.Attempts, de.StatusCode, code)
			}
			if n := len(rc.deliveries()); n != 1 {
				t.Errorf("receiver saw %d requests, want 1 (no retry, no redirect followed)", n)
			}
		})
	}
}

func TestWebhookStopsAtMaxAttempts(t *testing.T) {
	rc := newReceiver(t, status(http.StatusServiceUnavailable))
	w := newWebhook(t, rc, notify.WebhookConfig{MaxAttempts: 3})
	err := notifyWithin(t, w, 5*time.Second)
	var de *notify.DeliveryError
	if !errors.As(err, &de) || de.Attempts != 3 || de.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("err = %#v, want *DeliveryError after 3 attempts with status 503", err)
	}
	if n := len(rc.deliveries()); n != 3 {
		t.Errorf("receiver saw %d requests, want 3", n)
	}
}

func TestWebhookGivesUpWhenBudgetIsSpent(t *testing.T) {
	rc := newReceiver(t, status(http.StatusInternalServerError))
	const budget = 300 * time.Millisecond
	w := newWebhook(t, rc, notify.WebhookConfig{
		TotalTimeout:       budget,
		AttemptTimeout:     100 * time.Millisecond,
		MaxAttempts:        1000,
		BackoffInterval:    10 * time.Millisecond,
		MaxBackoffInterval: 40 * time.Millisecond,
	})
	start := time.Now()
	err := notifyWithin(t, w, 5*time.Second)
	elapsed := time.Since(start)
	if !errors.Is(err, notify.ErrBudgetExhausted) {
		t.Fatalf("err = %v, want ErrBudgetExhausted", err)
	}
	if elapsed > budget+time.Second {
		t.Errorf("Notify took %s, budget %s", elapsed, budget)
	}
	if n := len(rc.deliveries()); n < 2 || n >= 1000 {
		t.Errorf("receiver saw %d requests; want retries, bounded by the budget", n)
	}
}

func TestWebhookAttemptTimeoutRetriesHangingReceiver(t *testing.T) {
	rc := newReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if n == 0 {
			<-r.Context().Done() // hang until the client gives up
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	w := newWebhook(t, rc, notify.WebhookConfig{AttemptTimeout: 100 * time.Millisecond})
	if err := notifyWithin(t, w, 5*time.Second); err != nil {
		t.Fatalf("Notify: %v", err)
	}
	got := rc.deliveries()
	if len(got) != 2 {
		t.Fatalf("receiver saw %d requests, want 2", len(got))
	}
	if gap := got[1].at.Sub(got[0].at); gap < 100*time.Millisecond {
		t.Errorf("second attempt %s after the first; the first should have run for its 100ms timeout", gap)
	}
}

func TestWebhookHonoursRetryAfter(t *testing.T) {
	rc := newReceiver(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		if n == 0 {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	// Backoff alone would retry after about a millisecond.
	w := newWebhook(t, rc, notify.WebhookConfig{})
	if err := notifyWithin(t, w, 5*time.Second); err != nil {
		t.Fatalf("Notify: %v", err)
	}
	got := rc.deliveries()
	if len(got) != 2 {
		t.Fatalf("receiver saw %d requests, want 2", len(got))
	}
	if gap := got[1].at.Sub(got[0].at); gap < time.Second {
		t.Errorf("retried after %s, want at least the 1s Retry-After", gap)
	}
}

func TestWebhookCapsRetryAfter(t *testing.T) {
	rc := newReceiver(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		if n == 0 {
			w.Header().Set("Retry-After", "3600")
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	w := newWebhook(t, rc, notify.WebhookConfig{MaxRetryAfterInterval: 50 * time.Millisecond})
	if err := notifyWithin(t, w, 5*time.Second); err != nil {
		t.Fatalf("Notify: %v", err)
	}
	got := rc.deliveries()
	if len(got) != 2 {
		t.Fatalf("receiver saw %d requests, want 2", len(got))
	}
	if gap := got[1].at.Sub(got[0].at); gap < 50*time.Millisecond || gap > 2*time.Second {
		t.Errorf("retried after %s, want the 50ms cap", gap)
	}
}

func TestWebhookRetryAfterBeyondBudgetGivesUpAtOnce(t *testing.T) {
	rc := newReceiver(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Retry-After", "30")
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	w := newWebhook(t, rc, notify.WebhookConfig{TotalTimeout: 10 * time.Second, MaxRetryAfterInterval: 30 * time.Second})
	start := time.Now()
	err := notifyWithin(t, w, 5*time.Second)
	if !errors.Is(err, notify.ErrBudgetExhausted) {
		t.Fatalf("err = %v, want ErrBudgetExhausted", err)
	}
	if elapsed := time.Since(start); elapsed > 2*time.Second {
		t.Errorf("Notify took %s; it should give up without waiting past its budget", elapsed)
	}
	if n := len(rc.deliveries()); n != 1 {
		t.Errorf("receiver saw %d requests, want 1", n)
	}
}

func TestWebhookStopsWhenCallerCancels(t *testing.T) {
	answered := make(chan struct{}, 1)
	rc := newReceiver(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
		select {
		case answered <- struct{}{}:
		default:
		}
	})
	w := newWebhook(t, rc, notify.WebhookConfig{
		MaxAttempts:        1000,
		BackoffInterval:    time.Second,
		MaxBackoffInterval: time.Second,
	})
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- w.Notify(ctx, sampleRequest()) }()
	<-answered // Notify is now between attempts, or finishing the first
	cancel()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled in its chain", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Notify did not return after cancel")
	}
	if n := len(rc.deliveries()); n != 1 {
		t.Errorf("receiver saw %d requests, want 1", n)
	}
}
