package pgstore_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/chatboxsdk/chatbox/storage"
	"github.com/chatboxsdk/chatbox/storage/pgstore"
)

func TestNewReportsEveryInvalidOption(t *testing.T) {
	_, err := pgstore.New(t.Context(), nil,
		pgstore.WithSchema("Not-A-Schema"),
		pgstore.WithOperationTimeout(0),
		pgstore.WithMaxAttempts(0),
		pgstore.WithRetryInterval(time.Second, time.Millisecond),
		pgstore.WithLogger(nil),
		nil,
	)
	if err == nil {
		t.Fatal("New accepted invalid options")
	}
	for _, want := range []string{"nil pool", "WithSchema", "WithOperationTimeout", "WithMaxAttempts",
		"WithRetryInterval", "WithLogger", "option 5 is nil"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %s: %v", want, err)
		}
	}
	if _, err := pgstore.New(t.Context(), nil, pgstore.WithSchema(strings.Repeat("a", 64))); err == nil || !strings.Contains(err.Error(), "WithSchema") {
		t.Errorf("a 64-byte schema name: %v, want it refused", err)
	}
}

// unreachable returns a pool for an address nothing listens on.
func unreachable(t *testing.T) *pgxpool.Pool {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	p, err := pgxpool.New(t.Context(), "postgres://postgres@"+addr+"/postgres?sslmode=disable&connect_timeout=1")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

func TestUnreachableServerFailsWithinTheRetryBudget(t *testing.T) {
	p := unreachable(t)
	const op = 100 * time.Millisecond
	began := time.Now()
	_, err := pgstore.New(t.Context(), p, pgstore.WithOperationTimeout(op), pgstore.WithMaxAttempts(3),
		pgstore.WithRetryInterval(10*time.Millisecond, 20*time.Millisecond))
	elapsed := time.Since(began)
	if !errors.Is(err, storage.ErrUnavailable) {
		t.Fatalf("New on an unreachable server: %v, want storage.ErrUnavailable", err)
	}
	if !strings.Contains(err.Error(), "3 attempts") {
		t.Errorf("error does not say how many attempts were made: %v", err)
	}
	if budget := 3*op + 2*20*time.Millisecond; elapsed > budget+300*time.Millisecond {
		t.Errorf("New gave up after %v, past its budget %v", elapsed, budget)
	}
}

func TestCallerContextBoundsTheRetries(t *testing.T) {
	p := unreachable(t)
	ctx, cancel := context.WithTimeout(t.Context(), 150*time.Millisecond)
	defer cancel()
	began := time.Now()
	_, err := pgstore.New(ctx, p, pgstore.WithOperationTimeout(time.Minute), pgstore.WithMaxAttempts(100),
		pgstore.WithRetryInterval(10*time.Millisecond, 20*time.Millisecond))
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, storage.ErrUnavailable) {
		t.Errorf("New with a 150ms context: %v, want context.DeadlineExceeded and storage.ErrUnavailable", err)
	}
	if d := time.Since(began); d > 150*time.Millisecond+300*time.Millisecond {
		t.Errorf("New returned after %v with a 150ms context", d)
	}
}

func TestOpenOwnsItsPool(t *testing.T) {
	url := requireURL(t)
	schema := newSchemaName()
	dropSchema(t, pool(t), schema)
	st, err := pgstore.Open(t.Context(), url, pgstore.WithSchema(schema), pgstore.WithAutoMigrate(true))
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CreateConversation(t.Context(), storage.Conversation{ID: "c1", UserID: "u", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	if _, err := st.GetConversation(t.Context(), "c1"); err == nil {
		t.Error("GetConversation after Close succeeded; want the closed pool's error")
	}
	if _, err := pgstore.Open(t.Context(), "not a url ::"); err == nil {
		t.Error("Open accepted a malformed URL")
	}
}
