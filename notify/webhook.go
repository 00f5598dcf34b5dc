package notify

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"
)

// Header names and the event name a Webhook sends.
const (
	// DeliveryHeader carries an id that stays the same across the retries of
	// one Notify call, so a receiver can drop duplicates.
	DeliveryHeader = "X-Chatbox-Delivery"
	// EventHeader names the event; it repeats WebhookPayload.Event.
	EventHeader = "X-Chatbox-Event"
	// EventHelpRequested is the event of a HelpRequest.
	EventHelpRequested = "help_requested"
)

// Length caps applied to a HelpRequest's text before it is sent; longer
// values are cut at a UTF-8 boundary.
const (
	maxIDBytes     = 256
	maxNameBytes   = 256
	maxReasonBytes = 2048
	maxURLBytes    = 2048
)

// WebhookPayload is the JSON body a Webhook POSTs. Receivers may decode it
// with encoding/json after VerifySignature succeeds.
type WebhookPayload struct {
	Event          string    `json:"event"`       // EventHelpRequested
	DeliveryID     string    `json:"delivery_id"` // same as the X-Chatbox-Delivery header
	ConversationID string    `json:"conversation_id"`
	UserID         string    `json:"user_id"`
	UserName       string    `json:"user_name,omitempty"`
	Reason         string    `json:"reason,omitempty"` // at most 2048 bytes, untrusted user text
	At             time.Time `json:"at"`
	ConsoleURL     string    `json:"console_url,omitempty"`
}

// Webhook is a Notifier that POSTs a signed WebhookPayload to a URL.
//
// Every request carries Content-Type application/json, DeliveryHeader,
// EventHeader and SignatureHeader ("t=<unix>,v1=<hex>", the HMAC-SHA256 of
// "<unix>.<body>" with the secret; see Sign and VerifySignature). A 2xx
// response is success. Network errors, timeouts, 5xx and 429 are retried
// with exponential backoff and jitter, honouring Retry-After up to
// MaxRetryAfterInterval; other statuses (3xx and 4xx) are not retried.
// Attempts stop at MaxAttempts or when TotalTimeout is spent, whichever comes
// first.
//
// A Webhook is safe for concurrent use. Notify is synchronous: callers that
// must not wait should wrap it in an Async.
type Webhook struct {
	cfg       WebhookConfig
	client    *http.Client
	ownClient bool
}

var _ Notifier = (*Webhook)(nil)

// NewWebhook validates cfg and returns a Webhook. Every problem is reported
// at once (errors.Join), each naming its WebhookConfig field.
func NewWebhook(cfg WebhookConfig) (*Webhook, error) {
	cfg, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	cfg.Secret = bytes.Clone(cfg.Secret)
	w := &Webhook{cfg: cfg}
	if cfg.Client != nil {
		c := *cfg.Client
		w.client = &c
	} else {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = 2
		t.IdleConnTimeout = 30 * time.Second
		w.client = &http.Client{Transport: t}
		w.ownClient = true
	}
	w.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return w, nil
}

// Close releases the idle connections of the client NewWebhook created. It
// does nothing to a client given in WebhookConfig.Client. Notify still works
// after Close (it opens new connections). It always returns nil.
func (w *Webhook) Close() error {
	if w.ownClient {
		w.client.CloseIdleConnections()
	}
	return nil
}

// DeliveryError is the error Notify returns when delivery failed.
type DeliveryError struct {
	Attempts   int   // attempts made
	StatusCode int   // status of the last response, 0 if none arrived
	Err        error // why the last attempt failed, or why retrying stopped
}

func (e *DeliveryError) Error() string {
	return fmt.Sprintf("notify: webhook delivery failed after %d attempt(s): %v", e.Attempts, e.Err)
}

func (e *DeliveryError) Unwrap() error { return e.Err }

// Notify delivers r, retrying as described on Webhook, and returns nil once
// the receiver answered 2xx. Otherwise it returns a *DeliveryError whose
// chain holds ErrBudgetExhausted when TotalTimeout ran out, ctx's error when
// ctx ended first, or the last attempt's failure.
func (w *Webhook) Notify(ctx context.Context, r HelpRequest) error {
	id, err := newDeliveryID()
	if err != nil {
		return fmt.Errorf("notify: delivery id: %w", err)
	}
	body, err := json.Marshal(payloadOf(r, id))
	if err != nil {
		return fmt.Errorf("notify: encode payload: %w", err)
	}

	ctx, cancel := context.WithTimeoutCause(ctx, w.cfg.TotalTimeout, ErrBudgetExhausted)
	defer cancel()

	for attempt := 1; ; attempt++ {
		res := w.attempt(ctx, id, body)
		if res.err == nil {
			return nil
		}
		fail := func(err error) error {
			return &DeliveryError{Attempts: attempt, StatusCode: res.status, Err: err}
		}
		if ctx.Err() != nil {
			return fail(fmt.Errorf("%w (last attempt: %v)", context.Cause(ctx), res.err))
		}
		if !res.retryable || attempt >= w.cfg.MaxAttempts {
			return fail(res.err)
		}
		wait := w.backoff(attempt)
		if res.retryAfter > 0 {
			wait = min(res.retryAfter, w.cfg.MaxRetryAfterInterval)
		}
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) <= wait {
			return fail(fmt.Errorf("%w: next attempt due in %s (last attempt: %v)", ErrBudgetExhausted, wait, res.err))
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return fail(fmt.Errorf("%w (last attempt: %v)", context.Cause(ctx), res.err))
		}
	}
}

func payloadOf(r HelpRequest, id string) WebhookPayload {
	at := r.At
	if at.IsZero() {
		at = time.Now()
	}
	return WebhookPayload{
		Event:          EventHelpRequested,
		DeliveryID:     id,
		ConversationID: clip(r.ConversationID, maxIDBytes),
		UserID:         clip(r.UserID, maxIDBytes),
		UserName:       clip(r.UserName, maxNameBytes),
		Reason:         clip(r.Reason, maxReasonBytes),
		At:             at.UTC(),
		ConsoleURL:     clip(r.ConsoleURL, maxURLBytes),
	}
}

// clip makes s valid UTF-8 and cuts it to at most n bytes at a rune
// boundary.
func clip(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func newDeliveryID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return hex.EncodeToString(b[:]), nil
}
