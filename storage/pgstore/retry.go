package pgstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/chatboxsdk/chatbox/storage"
)

// transientStates are the SQLSTATEs meaning "this could not be done now,
// the same statement may succeed later": serialization failures and
// deadlocks, a server shutting down, starting up or out of connections.
// Class 08 (connection exceptions) is transient as a whole.
var transientStates = [...]string{
	"40001", // serialization_failure
	"40P01", // deadlock_detected
	"57P01", // admin_shutdown
	"57P02", // crash_shutdown
	"57P03", // cannot_connect_now
	"53300", // too_many_connections
	"53400", // configuration_limit_exceeded
	"55006", // object_in_use
}

// isTransient classifies err by its type and SQLSTATE, never by its text.
// An attempt's own timeout is transient too; the caller's context is
// checked before this is asked.
func isTransient(err error) bool {
	if err == nil {
		return false
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		if strings.HasPrefix(pe.Code, "08") {
			return true
		}
		for _, c := range transientStates {
			if pe.Code == c {
				return true
			}
		}
		return false
	}
	if errors.Is(err, errRetry) || pgconn.SafeToRetry(err) || pgconn.Timeout(err) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	if errors.As(err, new(*pgconn.ConnectError)) || errors.Is(err, pgconn.ErrConnClosed) {
		return true
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne)
}

// do runs f until it succeeds, fails permanently, exhausts the attempt
// budget or ctx ends. Each attempt gets its own operation timeout. Every
// statement the Store runs is idempotent, so an attempt whose outcome was
// lost can be repeated without writing anything twice.
func (s *Store) do(ctx context.Context, op string, f func(ctx context.Context) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("pgstore: %s: %w", op, err)
	}
	for attempt := 1; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, s.cfg.operationTimeout)
		err := f(actx)
		cancel()
		if err == nil {
			return nil
		}
		if cerr := ctx.Err(); cerr != nil {
			if attempt == 1 && !isTransient(err) {
				return fmt.Errorf("pgstore: %s: %w", op, cerr)
			}
			return fmt.Errorf("pgstore: %s: %w: %w after %d attempts (last error: %v)", op, storage.ErrUnavailable, cerr, attempt, err)
		}
		if !isTransient(err) {
			return fmt.Errorf("pgstore: %s: %w", op, err)
		}
		if attempt >= s.cfg.maxAttempts {
			return fmt.Errorf("pgstore: %s: %w after %d attempts (last error: %v)", op, storage.ErrUnavailable, attempt, err)
		}
		wait := s.backoff(attempt)
		s.cfg.logger.WarnContext(ctx, "pgstore: retrying", "op", op, "attempt", attempt, "error", err, "wait", wait)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("pgstore: %s: %w: %w after %d attempts (last error: %v)", op, storage.ErrUnavailable, ctx.Err(), attempt, err)
		case <-t.C:
		}
	}
}

// backoff returns the wait before retry number attempt (1-based): full
// jitter over an exponentially growing, capped interval.
func (s *Store) backoff(attempt int) time.Duration {
	ceiling := s.cfg.retryInterval << min(attempt-1, 30)
	if ceiling <= 0 || ceiling > s.cfg.maxRetryInterval {
		ceiling = s.cfg.maxRetryInterval
	}
	return rand.N(ceiling + 1)
}
