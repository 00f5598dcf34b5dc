package notify_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/chatboxsdk/chatbox/notify"
)

func TestVerifySignatureToleranceBothWays(t *testing.T) {
	body := []byte(`{"event":"help_requested"}`)
	signedAt := time.Unix(1_700_000_000, 0)
	h := notify.Sign(testSecret, signedAt, body)

	for _, tc := range []struct {
		name      string
		now       time.Time
		tolerance time.Duration
		want      error
	}{
		{"same second", signedAt, 0, nil},
		{"4 minutes later, default tolerance", signedAt.Add(4 * time.Minute), 0, nil},
		{"6 minutes later, default tolerance", signedAt.Add(6 * time.Minute), 0, notify.ErrStaleSignature},
		{"6 minutes early (clock skew or forged future)", signedAt.Add(-6 * time.Minute), 0, notify.ErrStaleSignature},
		{"31s later, 30s tolerance", signedAt.Add(31 * time.Second), 30 * time.Second, notify.ErrStaleSignature},
		{"29s later, 30s tolerance", signedAt.Add(29 * time.Second), 30 * time.Second, nil},
	} {
		err := notify.VerifySignature(testSecret, h, body, tc.now, tc.tolerance)
		if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.want)
		}
	}
}

func TestVerifySignatureSignedTimestampCannotBeSwapped(t *testing.T) {
	body := []byte(`{"x":1}`)
	old := time.Unix(1_700_000_000, 0)
	h := notify.Sign(testSecret, old, body)
	// A replayer rewrites the timestamp to look fresh; the MAC covers it.
	_, sig, _ := strings.Cut(h, ",")
	forged := "t=1700009999," + sig
	if err := notify.VerifySignature(testSecret, forged, body, time.Unix(1_700_009_999, 0), 0); !errors.Is(err, notify.ErrInvalidSignature) {
		t.Errorf("err = %v, want ErrInvalidSignature", err)
	}
}

func TestVerifySignatureAcceptsAnyMatchingV1(t *testing.T) {
	body := []byte("payload")
	now := time.Unix(1_700_000_000, 0)
	oldSecret := []byte("Zq8-wP2mX7vL4nR9tB1cK6hJ3dF5gS0aYe")
	hOld := notify.Sign(oldSecret, now, body)
	hNew := notify.Sign(testSecret, now, body)
	_, v1Old, _ := strings.Cut(hOld, ",")
	_, v1New, _ := strings.Cut(hNew, ",")
	both := "t=1700000000," + v1Old + "," + v1New + ",v0=ignored"
	if err := notify.VerifySignature(testSecret, both, body, now, 0); err != nil {
		t.Errorf("rolled secret: %v", err)
	}
}

func TestVerifySignatureRejectsMalformedHeaders(t *testing.T) {
	body := []byte("payload")
	now := time.Unix(1_700_000_000, 0)
	valid := notify.Sign(testSecret, now, body)
	_, v1, _ := strings.Cut(valid, ",")
	for _, h := range []string{
		"",
		"garbage",
		"t=1700000000",
		v1,
		"t=soon," + v1,
		"t=1700000000,t=1700000000," + v1,
		"t=1700000000,v1=zz",
		"t=1700000000,v1=abcd",
		valid + strings.Repeat(",x=y", 2000),
	} {
		if err := notify.VerifySignature(testSecret, h, body, now, 0); !errors.Is(err, notify.ErrInvalidSignature) {
			t.Errorf("header %.60q: err = %v, want ErrInvalidSignature", h, err)
		}
	}
}
