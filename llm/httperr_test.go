package llm_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chatboxsdk/chatbox/llm"
)

func TestKindForStatus(t *testing.T) {
	for status, want := range map[int]llm.ErrorKind{
		429: llm.KindRateLimited, 401: llm.KindAuthentication, 403: llm.KindAuthentication, 408: llm.KindTimeout,
		504: llm.KindTimeout, 413: llm.KindContextLength, 503: llm.KindOverloaded, 529: llm.KindOverloaded,
		500: llm.KindUnavailable, 502: llm.KindUnavailable, 400: llm.KindInvalidRequest, 404: llm.KindInvalidRequest,
		200: llm.KindUnknown,
	} {
		if got := llm.KindForStatus(status); got != want {
			t.Errorf("KindForStatus(%d) = %s, want %s", status, got, want)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		header http.Header
		want   time.Duration
	}{
		{http.Header{"Retry-After": {"3"}}, 3 * time.Second},
		{http.Header{"Retry-After": {"1.5"}}, 1500 * time.Millisecond},
		{http.Header{"Retry-After-Ms": {"250"}, "Retry-After": {"9"}}, 250 * time.Millisecond},
		{http.Header{"Retry-After": {now.Add(time.Minute).Format(http.TimeFormat)}}, time.Minute},
		{http.Header{"Retry-After": {now.Add(-time.Minute).Format(http.TimeFormat)}}, 0},
		{http.Header{"Retry-After": {"soon"}}, 0},
		{http.Header{"Retry-After": {"-4"}}, 0},
		{http.Header{}, 0},
	} {
		if got := llm.RetryAfter(c.header, now); got != c.want {
			t.Errorf("RetryAfter(%v) = %v, want %v", c.header, got, c.want)
		}
	}
}

func TestHTTPErrorCapsTheBodyAndHidesSecrets(t *testing.T) {
	body := &countingReader{r: strings.NewReader(`{"code":"rate_limit_exceeded","message":"key sk-secret-123 ` + strings.Repeat("x", 1<<20) + `"}`)}
	resp := &http.Response{StatusCode: 400, Header: http.Header{"Retry-After": {"2"}}, Body: io.NopCloser(body)}
	code := func(b []byte) string {
		if strings.Contains(string(b), "rate_limit_exceeded") {
			return "rate_limit_exceeded"
		}
		return ""
	}
	e := llm.HTTPError("p", resp, code, "sk-secret-123")
	if e.Kind != llm.KindRateLimited || e.RetryAfter != 2*time.Second || e.Provider != "p" {
		t.Fatalf("%+v", e)
	}
	if body.n > llm.MaxErrorBodyBytes {
		t.Fatalf("read %d bytes of the body, want at most %d", body.n, llm.MaxErrorBodyBytes)
	}
	if msg := e.Error(); strings.Contains(msg, "sk-secret-123") || len(msg) > 1024 {
		t.Fatalf("error text %.200q (%d bytes)", msg, len(msg))
	}

	resp = &http.Response{StatusCode: 401, Header: http.Header{}, Body: io.NopCloser(strings.NewReader("Incorrect API key provided: sk-****1234"))}
	if e := llm.HTTPError("p", resp, nil); e.Kind != llm.KindAuthentication || strings.Contains(e.Error(), "1234") {
		t.Fatalf("401: %v", e)
	}
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func TestTransportError(t *testing.T) {
	timeout := &net.OpError{Op: "read", Err: timeoutErr{}}
	if k := llm.KindOf(llm.TransportError("p", timeout)); k != llm.KindTimeout {
		t.Errorf("network timeout: %s", k)
	}
	if k := llm.KindOf(llm.TransportError("p", io.ErrUnexpectedEOF)); k != llm.KindUnavailable {
		t.Errorf("cut body: %s", k)
	}
	cancelled := fmt.Errorf("x: %w", errors.Join(errors.New("y"), context.Canceled))
	if got := llm.TransportError("p", cancelled); got != cancelled {
		t.Errorf("a cancellation was classified: %v", got)
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }
