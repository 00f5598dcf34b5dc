package notify

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// maxDrainBytes bounds how much of a response body is read (and discarded)
// so the connection can be reused.
const maxDrainBytes = 64 << 10

// result is the outcome of one attempt.
type result struct {
	err        error         // nil on success
	status     int           // 0 when no response arrived
	retryable  bool          // whether another attempt may succeed
	retryAfter time.Duration // from a Retry-After header; 0 if none
}

// attempt makes one signed POST bounded by AttemptTimeout.
func (w *Webhook) attempt(ctx context.Context, id string, body []byte) result {
	ctx, cancel := context.WithTimeout(ctx, w.cfg.AttemptTimeout)
	defer cancel()

	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return result{err: fmt.Errorf("build request: %w", err)}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "chatbox-webhook/1")
	req.Header.Set(EventHeader, EventHelpRequested)
	req.Header.Set(DeliveryHeader, id)
	req.Header.Set(SignatureHeader, Sign(w.cfg.Secret, time.Now(), body))

	resp, err := w.client.Do(req)
	if err != nil {
		return result{err: fmt.Errorf("post: %w", err), retryable: retryableNetError(err)}
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrainBytes))
	_ = resp.Body.Close()

	res := result{status: resp.StatusCode}
	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
		return res
	case code == http.StatusTooManyRequests || code >= 500:
		res.retryable = true
		res.retryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	case code >= 300 && code < 400:
		// Redirects are not followed: the signed payload goes only where
		// the configuration says.
	}
	res.err = fmt.Errorf("receiver answered %d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
	return res
}

// retryableNetError reports whether a transport error may pass on retry.
// Certificate failures will not.
func retryableNetError(err error) bool {
	var certErr *tls.CertificateVerificationError
	var unknownAuth x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	if errors.As(err, &certErr) || errors.As(err, &unknownAuth) || errors.As(err, &hostErr) {
		return false
	}
	return true
}

// backoff returns the jittered wait before retry number attempt (1-based):
// between half and all of BackoffInterval*2^(attempt-1), capped at
// MaxBackoffInterval.
func (w *Webhook) backoff(attempt int) time.Duration {
	d := w.cfg.BackoffInterval
	for i := 1; i < attempt && d < w.cfg.MaxBackoffInterval; i++ {
		d *= 2
	}
	d = min(d, w.cfg.MaxBackoffInterval)
	half := d / 2
	return half + rand.N(d-half+1)
}

// parseRetryAfter reads a Retry-After value, delay-seconds or an HTTP date,
// and returns the wait it asks for, or 0 when absent, invalid or past.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		const maxSecs = int64(24 * time.Hour / time.Second)
		return time.Duration(min(secs, maxSecs)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}
