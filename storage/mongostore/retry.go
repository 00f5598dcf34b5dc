package mongostore

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/x/mongo/driver/topology"

	"github.com/chatboxsdk/chatbox/storage"
)

// transientCodes are server error codes meaning "this node cannot serve
// now, another may or it may later": not-primary, shutdown and
// interruption by a replica set state change, plus network-level codes.
var transientCodes = [...]int{
	6,     // HostUnreachable
	7,     // HostNotFound
	89,    // NetworkTimeout
	91,    // ShutdownInProgress
	189,   // PrimarySteppedDown
	262,   // ExceededTimeLimit
	9001,  // SocketException
	10107, // NotWritablePrimary
	11600, // InterruptedAtShutdown
	11602, // InterruptedDueToReplStateChange
	13435, // NotPrimaryNoSecondaryOk
	13436, // NotPrimaryOrSecondary
}

// transientLabels are error labels servers and the driver attach to
// failures worth retrying.
var transientLabels = [...]string{"RetryableWriteError", "TransientTransactionError", "NetworkError", "NetworkTimeoutError"}

// isTransient classifies err with the driver's classifiers, labels and
// codes, never by its text.
func isTransient(err error) bool {
	if err == nil {
		return false
	}
	if mongo.IsNetworkError(err) || mongo.IsTimeout(err) {
		return true
	}
	if errors.As(err, new(topology.ServerSelectionError)) {
		return true
	}
	var le mongo.LabeledError
	if errors.As(err, &le) {
		for _, l := range transientLabels {
			if le.HasErrorLabel(l) {
				return true
			}
		}
	}
	var se mongo.ServerError
	if errors.As(err, &se) {
		for _, c := range transientCodes {
			if se.HasErrorCode(c) {
				return true
			}
		}
	}
	return false
}

// do runs f until it succeeds, fails permanently, exhausts the attempt
// budget or ctx ends. Each attempt gets its own operation timeout.
func (s *Store) do(ctx context.Context, op string, f func(ctx context.Context) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("mongostore: %s: %w", op, err)
	}
	var last error
	for attempt := 1; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, s.cfg.operationTimeout)
		err := f(actx)
		cancel()
		if err == nil {
			return nil
		}
		if cerr := ctx.Err(); cerr != nil {
			if last == nil {
				return fmt.Errorf("mongostore: %s: %w", op, cerr)
			}
			return fmt.Errorf("mongostore: %s: %w: %w after %d attempts (last error: %v)", op, storage.ErrUnavailable, cerr, attempt, err)
		}
		if !isTransient(err) {
			return fmt.Errorf("mongostore: %s: %w", op, err)
		}
		last = err
		if attempt >= s.cfg.maxAttempts {
			return fmt.Errorf("mongostore: %s: %w after %d attempts (last error: %v)", op, storage.ErrUnavailable, attempt, err)
		}
		wait := s.backoff(attempt)
		s.cfg.logger.WarnContext(ctx, "mongostore: retrying", "op", op, "attempt", attempt, "error", err, "wait", wait)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("mongostore: %s: %w: %w after %d attempts (last error: %v)", op, storage.ErrUnavailable, ctx.Err(), attempt, err)
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

// findAll runs a Find on coll through do and decodes every document it
// returns into a fresh slice (a retry starts over).
func findAll[D any](ctx context.Context, s *Store, op string, coll *mongo.Collection, filter any, opts *options.FindOptionsBuilder) ([]D, error) {
	var docs []D
	err := s.do(ctx, op, func(ctx context.Context) error {
		cur, err := coll.Find(ctx, filter, opts)
		if err != nil {
			return err
		}
		docs = nil
		return cur.All(ctx, &docs)
	})
	return docs, err
}
