package notify_test

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chatboxsdk/chatbox/notify"
)

func TestNewWebhookURLRules(t *testing.T) {
	for _, u := range []string{
		"https://hooks.example.org/chatbox",
		"http://127.0.0.1:8080/hook",
		"http://localhost/hook",
		"http://[::1]:9000/",
	} {
		if _, err := notify.NewWebhook(notify.WebhookConfig{URL: u, Secret: testSecret}); err != nil {
			t.Errorf("URL %q refused: %v", u, err)
		}
	}
	for _, u := range []string{
		"http://hooks.example.org/chatbox", // plain http off the machine
		"http://10.0.0.1/hook",
		"ftp://hooks.example.org/x",
		"https://user:pw@hooks.example.org/x", // credentials would end up in logs
		"https:///nohost",
		"://bad",
		"",
	} {
		_, err := notify.NewWebhook(notify.WebhookConfig{URL: u, Secret: testSecret})
		if err == nil || !strings.Contains(err.Error(), "WebhookConfig.URL") {
			t.Errorf("URL %q: err = %v, want a WebhookConfig.URL error", u, err)
		}
	}
}

func TestNewWebhookRefusesWeakSecrets(t *testing.T) {
	for name, secret := range map[string]string{
		"empty":       "",
		"short":       "k3Jd9-Qz81LmN0pW",
		"changeme":    "changeme-k3Jd9Qz81LmN0pWv7Rt2Yx5Bc4",
		"test prefix": "test-k3Jd9Qz81LmN0pWv7Rt2Yx5Bc4Hf6",
		"secret word": "k3Jd9Qz81-my-webhook-secret-LmN0pWv7",
		"repeated":    strings.Repeat("ab12", 8),
		"few bytes":   "aaaabbbbccccddddaaaabbbbccccddddeeee1",
	} {
		_, err := notify.NewWebhook(notify.WebhookConfig{URL: "https://hooks.example.org/x", Secret: []byte(secret)})
		if err == nil || !strings.Contains(err.Error(), "WebhookConfig.Secret") {
			t.Errorf("%s: err = %v, want a WebhookConfig.Secret error", name, err)
			continue
		}
		if secret != "" && strings.Contains(err.Error(), secret) {
			t.Errorf("%s: the error quotes the secret: %v", name, err)
		}
	}
}

func TestNewWebhookReportsEveryProblemAtOnce(t *testing.T) {
	_, err := notify.NewWebhook(notify.WebhookConfig{
		URL:                   "http://hooks.example.org/x",
		Secret:                []byte("short"),
		AttemptTimeout:        -time.Second,
		TotalTimeout:          -time.Second,
		MaxAttempts:           -1,
		BackoffInterval:       -time.Second,
		MaxBackoffInterval:    -time.Second,
		MaxRetryAfterInterval: -time.Second,
	})
	if err == nil {
		t.Fatal("NewWebhook accepted an invalid config")
	}
	for _, field := range []string{"URL", "Secret", "AttemptTimeout", "TotalTimeout", "MaxAttempts",
		"BackoffInterval", "MaxBackoffInterval", "MaxRetryAfterInterval"} {
		if !strings.Contains(err.Error(), "WebhookConfig."+field+" ") {
			t.Errorf("error does not name %s:\n%v", field, err)
		}
	}
}

func TestNewWebhookCrossChecksDurations(t *testing.T) {
	_, err := notify.NewWebhook(notify.WebhookConfig{
		URL: "https://hooks.example.org/x", Secret: testSecret,
		AttemptTimeout: time.Minute, TotalTimeout: time.Second,
	})
	if err == nil || !strings.Contains(err.Error(), "WebhookConfig.AttemptTimeout") {
		t.Errorf("AttemptTimeout > TotalTimeout: err = %v", err)
	}
	_, err = notify.NewWebhook(notify.WebhookConfig{
		URL: "https://hooks.example.org/x", Secret: testSecret,
		BackoffInterval: time.Minute, MaxBackoffInterval: time.Second,
	})
	if err == nil || !strings.Contains(err.Error(), "WebhookConfig.BackoffInterval") {
		t.Errorf("BackoffInterval > MaxBackoffInterval: err = %v", err)
	}
}

func TestNewWebhookKeepsItsOwnCopyOfTheSecret(t *testing.T) {
	rc := newReceiver(t, status(http.StatusOK))
	secret := bytes.Clone(testSecret)
	w := newWebhook(t, rc, notify.WebhookConfig{Secret: secret})
	clear(secret) // the caller wipes its buffer
	if err := w.Notify(context.Background(), sampleRequest()); err != nil {
		t.Fatal(err)
	}
	d := rc.deliveries()[0]
	if err := notify.VerifySignature(testSecret, d.header.Get(notify.SignatureHeader), d.body, time.Now(), 0); err != nil {
		t.Errorf("signature made after the caller changed its buffer: %v", err)
	}
}
