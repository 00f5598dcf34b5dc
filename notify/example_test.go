package notify_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/chatboxsdk/chatbox/notify"
)

// A receiver checks the signature before trusting the payload. In
// production the secret comes from a secret store and the URL is https.
func ExampleNewWebhook() {
	secret := []byte("k3Jd9-Qz81LmN0pWv7Rt2Yx5Bc4Hf6Ga")

	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 64<<10))
		if err := notify.VerifySignature(secret, r.Header.Get(notify.SignatureHeader), body, time.Now(), 0); err != nil {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var p notify.WebhookPayload
		_ = json.Unmarshal(body, &p)
		fmt.Printf("%s in %s from %s: %q\n", p.Event, p.ConversationID, p.UserName, p.Reason)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer receiver.Close()

	hook, err := notify.NewWebhook(notify.WebhookConfig{URL: receiver.URL, Secret: secret})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer hook.Close()

	err = hook.Notify(context.Background(), notify.HelpRequest{
		ConversationID: "conv-42",
		UserID:         "u-1",
		UserName:       "Ada",
		Reason:         "I need to change my order",
		At:             time.Now(),
	})
	fmt.Println("delivered:", err == nil)
	// Output:
	// help_requested in conv-42 from Ada: "I need to change my order"
	// delivered: true
}

func ExampleNewWebhook_invalidConfig() {
	_, err := notify.NewWebhook(notify.WebhookConfig{
		URL:    "http://hooks.example.org/help",
		Secret: []byte("changeme"),
	})
	fmt.Println(err)
	// Output:
	// notify: WebhookConfig.URL must use https (http is accepted only for loopback hosts)
	// notify: WebhookConfig.Secret is 8 bytes; at least 32 random bytes are required
}

func ExampleVerifySignature() {
	secret := []byte("k3Jd9-Qz81LmN0pWv7Rt2Yx5Bc4Hf6Ga")
	body := []byte(`{"event":"help_requested"}`)
	sent := time.Unix(1_767_225_600, 0)
	header := notify.Sign(secret, sent, body)

	fmt.Println(notify.VerifySignature(secret, header, body, sent.Add(time.Minute), 0))
	fmt.Println(notify.VerifySignature(secret, header, []byte(`{"event":"other"}`), sent, 0))
	fmt.Println(notify.VerifySignature(secret, header, body, sent.Add(time.Hour), 0))
	// Output:
	// <nil>
	// notify: invalid signature: no signature matches
	// notify: signature timestamp outside tolerance: signed at 2026-01-01T00:00:00Z, 1h0m0s from now (tolerance 5m0s)
}

// The server hands help requests to an Async so the user's socket never
// waits for the receiver.
func ExampleNewAsync() {
	delivered := make(chan string, 1)
	n := notify.NotifierFunc(func(_ context.Context, r notify.HelpRequest) error {
		delivered <- r.ConversationID
		return nil
	})

	a := notify.NewAsync(n, 16, nil)
	if err := a.Notify(context.Background(), notify.HelpRequest{ConversationID: "conv-7"}); err != nil {
		fmt.Println(err) // ErrQueueFull: count it and tell the user to try again
	}
	fmt.Println("queued; delivered", <-delivered)

	if err := a.Close(context.Background()); err != nil {
		fmt.Println(err)
	}
	fmt.Println(a.Notify(context.Background(), notify.HelpRequest{ConversationID: "conv-8"}))
	// Output:
	// queued; delivered conv-7
	// notify: closed
}
