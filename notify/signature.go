package notify

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// SignatureHeader is the HTTP header that carries a Webhook's signature.
const SignatureHeader = "X-Chatbox-Signature"

// DefaultSignatureTolerance is the tolerance VerifySignature uses when it is
// given zero or less.
const DefaultSignatureTolerance = 5 * time.Minute

// maxSignatureHeaderBytes bounds what VerifySignature parses.
const maxSignatureHeaderBytes = 4096

// Sign returns the value of the X-Chatbox-Signature header for body sent at
// t: "t=<unix seconds>,v1=<hex HMAC-SHA256 of "<unix seconds>.<body>">".
// Webhook signs every attempt with the time of that attempt.
func Sign(secret []byte, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac(secret, ts, body))
}

func mac(secret []byte, ts string, body []byte) []byte {
	h := hmac.New(sha256.New, secret)
	h.Write([]byte(ts))
	h.Write([]byte{'.'})
	h.Write(body)
	return h.Sum(nil)
}

// VerifySignature checks header (the X-Chatbox-Signature value) against body
// and secret. It accepts the header when one of its v1 signatures matches
// (several v1 entries let a sender roll its secret) and its timestamp lies
// within tolerance of now, in either direction. A tolerance of zero or less
// means DefaultSignatureTolerance (5 minutes).
//
// The error wraps ErrInvalidSignature for a malformed header or a mismatch,
// and ErrStaleSignature for a timestamp outside the tolerance, so a receiver
// can reject replays of old deliveries. Comparison is constant-time.
// Receivers should also remember delivery ids (the X-Chatbox-Delivery header)
// for the tolerance window to drop duplicates.
func VerifySignature(secret []byte, header string, body []byte, now time.Time, tolerance time.Duration) error {
	if tolerance <= 0 {
		tolerance = DefaultSignatureTolerance
	}
	if len(header) > maxSignatureHeaderBytes {
		return fmt.Errorf("%w: header longer than %d bytes", ErrInvalidSignature, maxSignatureHeaderBytes)
	}
	var ts string
	var sigs [][]byte
	for part := range strings.SplitSeq(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return fmt.Errorf("%w: malformed element %q", ErrInvalidSignature, truncateForError(part))
		}
		switch k {
		case "t":
			if ts != "" {
				return fmt.Errorf("%w: more than one timestamp", ErrInvalidSignature)
			}
			ts = v
		case "v1":
			sig, err := hex.DecodeString(v)
			if err != nil || len(sig) != sha256.Size {
				return fmt.Errorf("%w: v1 is not a hex SHA-256 MAC", ErrInvalidSignature)
			}
			sigs = append(sigs, sig)
		default:
			// Unknown schemes are ignored so senders can add new ones.
		}
	}
	if ts == "" {
		return fmt.Errorf("%w: no timestamp", ErrInvalidSignature)
	}
	if len(sigs) == 0 {
		return fmt.Errorf("%w: no v1 signature", ErrInvalidSignature)
	}
	unix, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: timestamp is not an integer", ErrInvalidSignature)
	}
	want := mac(secret, ts, body)
	matched := false
	for _, sig := range sigs {
		if hmac.Equal(sig, want) {
			matched = true
		}
	}
	if !matched {
		return fmt.Errorf("%w: no signature matches", ErrInvalidSignature)
	}
	age := now.Sub(time.Unix(unix, 0))
	if age > tolerance || age < -tolerance {
		return fmt.Errorf("%w: signed at %s, %s from now (tolerance %s)",
			ErrStaleSignature, time.Unix(unix, 0).UTC().Format(time.RFC3339), age.Round(time.Second), tolerance)
	}
	return nil
}

func truncateForError(s string) string {
	const limit = 32
	if len(s) > limit {
		return s[:limit] + "..."
	}
	return s
}
