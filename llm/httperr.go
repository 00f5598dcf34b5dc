package llm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// MaxErrorBodyBytes is how much of an HTTP error body HTTPError reads. The
// rest is discarded unread, so a hostile or broken upstream cannot make a
// provider buffer an unbounded body.
const MaxErrorBodyBytes = 8 << 10

// maxErrorTextBytes bounds the provider text kept in an Error's cause.
const maxErrorTextBytes = 512

// KindForStatus classifies an HTTP status code of a failed provider
// response: 429 is KindRateLimited; 401, 402 and 403 KindAuthentication;
// 408 and 504 KindTimeout; 413 KindContextLength; 503 and 529
// KindOverloaded; other 5xx KindUnavailable; other 4xx KindInvalidRequest;
// anything else KindUnknown.
func KindForStatus(status int) ErrorKind {
	switch {
	case status == http.StatusTooManyRequests:
		return KindRateLimited
	case status == http.StatusUnauthorized, status == http.StatusPaymentRequired, status == http.StatusForbidden:
		return KindAuthentication
	case status == http.StatusRequestTimeout, status == http.StatusGatewayTimeout:
		return KindTimeout
	case status == http.StatusRequestEntityTooLarge:
		return KindContextLength
	case status == http.StatusServiceUnavailable, status == 529:
		return KindOverloaded
	case status >= 500 && status <= 599:
		return KindUnavailable
	case status >= 400 && status <= 499:
		return KindInvalidRequest
	}
	return KindUnknown
}

// KindForErrorType classifies the machine-readable error type or code that
// providers put in error bodies and stream error events (OpenAI's
// error.type and error.code, Anthropic's error.type, Dify's code). It
// reports false for identifiers it does not know, so the caller can fall
// back to the status code. Message text is never classified.
func KindForErrorType(id string) (ErrorKind, bool) {
	switch strings.ToLower(strings.TrimSpace(id)) {
	case "rate_limit_exceeded", "rate_limit_error", "requests", "tokens":
		return KindRateLimited, true
	case "overloaded_error", "server_is_overloaded", "engine_overloaded", "slow_down", "service_unavailable_error":
		return KindOverloaded, true
	case "context_length_exceeded", "string_above_max_length", "request_too_large":
		return KindContextLength, true
	case "authentication_error", "invalid_api_key", "permission_error", "billing_error",
		"insufficient_quota", "unauthorized", "provider_not_initialize", "provider_quota_exceeded":
		return KindAuthentication, true
	case "invalid_request_error", "not_found_error", "model_not_found", "invalid_param", "bad_request",
		"model_currently_not_support", "app_unavailable":
		return KindInvalidRequest, true
	case "timeout", "timeout_error":
		return KindTimeout, true
	case "server_error", "api_error", "internal_error", "internal_server_error", "completion_request_error":
		return KindUnavailable, true
	}
	return "", false
}

// RetryAfter returns the wait a response asks for: the retry-after-ms
// header (milliseconds, sent by OpenAI), else Retry-After in seconds or as
// an HTTP date relative to now. It returns 0 when neither is present,
// parseable and positive.
func RetryAfter(h http.Header, now time.Time) time.Duration {
	if v := strings.TrimSpace(h.Get("Retry-After-Ms")); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil && ms > 0 && ms < 1e9 {
			return time.Duration(ms * float64(time.Millisecond))
		}
	}
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil {
		if s > 0 && s < 1e6 {
			return time.Duration(s * float64(time.Second))
		}
		return 0
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// HTTPError builds the *Error for a failed HTTP response of provider. It
// reads at most MaxErrorBodyBytes of the body (the caller still closes
// it), classifies from the status code, refined by classify when it is
// non-nil and recognises the body (classify returns the provider's error
// type or code, "" if none), sets RetryAfter from the headers, and keeps
// at most a short, single-line excerpt of the body in the cause. Bodies
// of 401 and 403 responses are not kept at all, since providers echo
// (masked) credentials there. secrets are removed from the excerpt.
func HTTPError(provider string, resp *http.Response, classify func(body []byte) string, secrets ...string) *Error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, MaxErrorBodyBytes))
	kind := KindForStatus(resp.StatusCode)
	var id string
	if classify != nil {
		id = classify(body)
	}
	if k, ok := KindForErrorType(id); ok {
		kind = k
	}
	text := ""
	if resp.StatusCode != http.StatusUnauthorized && resp.StatusCode != http.StatusForbidden {
		text = Excerpt(string(body), secrets...)
	}
	cause := fmt.Sprintf("HTTP %d", resp.StatusCode)
	if id != "" {
		cause += " " + Excerpt(id)
	}
	if text != "" {
		cause += ": " + text
	}
	return &Error{Kind: kind, Provider: provider, RetryAfter: RetryAfter(resp.Header, time.Now()), Err: errors.New(cause)}
}

// Excerpt returns s on one line, without any of secrets, cut to a few
// hundred bytes at a character boundary: the form in which provider text
// may enter an error.
func Excerpt(s string, secrets ...string) string {
	for _, secret := range secrets {
		if len(secret) >= 4 {
			s = strings.ReplaceAll(s, secret, "[redacted]")
		}
	}
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > maxErrorTextBytes {
		cut := maxErrorTextBytes
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

// TransportError classifies a failure to reach provider or to read its
// response that is not the caller's cancellation: a network timeout is
// KindTimeout, anything else (refused or reset connections, a body cut
// short, DNS failures) KindUnavailable. Errors that already hold an *Error
// are returned as they are; context errors are returned unchanged, since
// they are the caller's, not the provider's.
func TransportError(provider string, err error) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return &Error{Kind: KindTimeout, Provider: provider, Err: err}
	}
	return &Error{Kind: KindUnavailable, Provider: provider, Err: err}
}
