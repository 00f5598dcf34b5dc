package mongostore

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/chatboxsdk/chatbox/storage"
)

func TestTransientErrorsAreClassifiedByLabelsAndCodes(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want bool
	}{
		{"network label", mongo.CommandError{Labels: []string{"NetworkError"}}, true},
		{"retryable write label", mongo.CommandError{Code: 1, Labels: []string{"RetryableWriteError"}}, true},
		{"not writable primary", mongo.CommandError{Code: 10107}, true},
		{"primary stepped down", mongo.CommandError{Code: 189}, true},
		{"shutdown in progress", fmt.Errorf("wrapped: %w", mongo.CommandError{Code: 91}), true},
		{"deadline of an attempt", fmt.Errorf("op: %w", context.DeadlineExceeded), true},
		{"duplicate key", mongo.WriteException{WriteErrors: []mongo.WriteError{{Code: 11000}}}, false},
		{"bad value", mongo.CommandError{Code: 2, Message: "network timeout"}, false}, // text is never read
		{"no documents", mongo.ErrNoDocuments, false},
		{"not found", storage.ErrNotFound, false},
		{"nil", nil, false},
	}
	for _, tc := range cases {
		if got := isTransient(tc.err); got != tc.want {
			t.Errorf("%s: isTransient(%v) = %v, want %v", tc.name, tc.err, got, tc.want)
		}
	}
}

func TestDoRetriesTransientErrorsOnly(t *testing.T) {
	cfg := defaultConfig()
	cfg.maxAttempts, cfg.retryInterval, cfg.maxRetryInterval = 4, time.Millisecond, 2*time.Millisecond
	s := &Store{cfg: cfg}
	transient := mongo.CommandError{Code: 10107}

	calls := 0
	err := s.do(t.Context(), "op", func(context.Context) error {
		calls++
		if calls < 3 {
			return transient
		}
		return nil
	})
	if err != nil || calls != 3 {
		t.Errorf("two transient failures then success: %d calls, %v; want 3 calls, nil", calls, err)
	}

	calls = 0
	err = s.do(t.Context(), "op", func(context.Context) error { calls++; return transient })
	if !errors.Is(err, storage.ErrUnavailable) || calls != 4 {
		t.Errorf("always transient: %d calls, %v; want 4 calls and ErrUnavailable", calls, err)
	}

	calls = 0
	err = s.do(t.Context(), "op", func(context.Context) error { calls++; return storage.ErrConflict })
	if !errors.Is(err, storage.ErrConflict) || errors.Is(err, storage.ErrUnavailable) || calls != 1 {
		t.Errorf("permanent error: %d calls, %v; want 1 call and the error itself", calls, err)
	}
}

func TestBackoffIsCappedAndJittered(t *testing.T) {
	cfg := defaultConfig()
	cfg.retryInterval, cfg.maxRetryInterval = 10*time.Millisecond, 80*time.Millisecond
	s := &Store{cfg: cfg}
	for attempt := 1; attempt <= 40; attempt++ {
		ceiling := min(cfg.retryInterval<<min(attempt-1, 30), cfg.maxRetryInterval)
		distinct := make(map[time.Duration]bool)
		for range 50 {
			d := s.backoff(attempt)
			if d < 0 || d > ceiling {
				t.Fatalf("backoff(%d) = %v, outside [0, %v]", attempt, d, ceiling)
			}
			distinct[d] = true
		}
		if len(distinct) < 10 {
			t.Errorf("backoff(%d) took only %d distinct values in 50 draws: no jitter", attempt, len(distinct))
		}
	}
}

func TestMessageKeysAreUnambiguous(t *testing.T) {
	pairs := [][2]string{{"a/b", "c"}, {"a", "b/c"}, {"1:a", "b"}, {"1", "a/b"}, {"", "x"}, {"x", ""}}
	seen := make(map[string][2]string)
	for _, p := range pairs {
		k := messageKey(p[0], p[1])
		if other, ok := seen[k]; ok {
			t.Errorf("messageKey(%q) = messageKey(%q) = %q", p, other, k)
		}
		seen[k] = p
	}
}
