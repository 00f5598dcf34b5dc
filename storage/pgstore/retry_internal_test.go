package pgstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/chatboxsdk/chatbox/storage"
)

func TestTransientErrorsAreToldByTypeAndState(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{&pgconn.PgError{Code: "40001"}, true}, // serialization_failure
		{&pgconn.PgError{Code: "40P01"}, true}, // deadlock_detected
		{&pgconn.PgError{Code: "57P01"}, true}, // admin_shutdown
		{&pgconn.PgError{Code: "57P03"}, true}, // cannot_connect_now
		{&pgconn.PgError{Code: "08006"}, true}, // connection_failure
		{&pgconn.PgError{Code: "53300"}, true}, // too_many_connections
		{fmt.Errorf("wrapped: %w", &pgconn.PgError{Code: "40001"}), true},
		{&pgconn.PgError{Code: "23505"}, false}, // unique_violation
		{&pgconn.PgError{Code: "42P01"}, false}, // undefined_table
		{&pgconn.PgError{Code: "28P01"}, false}, // invalid_password
		{io.ErrUnexpectedEOF, true},
		{fmt.Errorf("read: %w", syscall.ECONNRESET), true},
		{syscall.ECONNREFUSED, true},
		{pgconn.ErrConnClosed, true},
		{context.DeadlineExceeded, true}, // an attempt's own timeout
		{errRetry, true},
		{context.Canceled, false},
		{storage.ErrNotFound, false},
		{errors.New("anything else"), false},
		{nil, false},
	} {
		if got := isTransient(tc.err); got != tc.want {
			t.Errorf("isTransient(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

func TestRetriesStopAtTheBudgetAndNeverAfterPermanentErrors(t *testing.T) {
	s := &Store{cfg: defaultConfig()}
	s.cfg.maxAttempts, s.cfg.retryInterval, s.cfg.maxRetryInterval = 3, time.Millisecond, 2*time.Millisecond

	calls := 0
	err := s.do(t.Context(), "op", func(context.Context) error { calls++; return &pgconn.PgError{Code: "40001"} })
	if calls != 3 || !errors.Is(err, storage.ErrUnavailable) {
		t.Errorf("transient failures: %d calls, %v; want 3 and storage.ErrUnavailable", calls, err)
	}
	calls = 0
	err = s.do(t.Context(), "op", func(context.Context) error { calls++; return fmt.Errorf("x: %w", storage.ErrConflict) })
	if calls != 1 || !errors.Is(err, storage.ErrConflict) || errors.Is(err, storage.ErrUnavailable) {
		t.Errorf("permanent failure: %d calls, %v; want 1 and storage.ErrConflict", calls, err)
	}
	calls = 0
	err = s.do(t.Context(), "op", func(context.Context) error {
		calls++
		if calls < 2 {
			return io.ErrUnexpectedEOF
		}
		return nil
	})
	if calls != 2 || err != nil {
		t.Errorf("one lost connection: %d calls, %v; want 2 and success", calls, err)
	}
}
