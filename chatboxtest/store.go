package chatboxtest

import (
	"context"
	"crypto/rand"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/chatboxsdk/chatbox/storage"
	"github.com/chatboxsdk/chatbox/storage/memory"
	"github.com/chatboxsdk/chatbox/storage/pgstore"
)

// Environment variables that choose every Harness's default store.
const (
	StoreEnv       = "CHATBOX_TEST_STORE"        // "memory" (default) or "postgres"
	PostgresURLEnv = "CHATBOX_TEST_POSTGRES_URL" // the database for "postgres"
)

// NewStore returns a store of the kind every Harness uses by default (see
// the package doc), for a test that shares one store between Servers, as
// across a restart. It is closed or dropped when the test ends.
func NewStore(t testing.TB) storage.Store {
	t.Helper()
	return newStore(t)
}

// newStore returns the default store of a Harness (see the package doc).
func newStore(t testing.TB) storage.Store {
	t.Helper()
	switch kind := os.Getenv(StoreEnv); kind {
	case "", "memory":
		return memory.New()
	case "postgres":
		return newPostgresStore(t)
	default:
		t.Fatalf("chatboxtest: %s=%q: want memory or postgres", StoreEnv, kind)
		return nil
	}
}

// newPostgresStore gives the test a schema of its own, dropped at its end.
func newPostgresStore(t testing.TB) storage.Store {
	t.Helper()
	url := os.Getenv(PostgresURLEnv)
	if url == "" {
		t.Fatalf("chatboxtest: %s=postgres needs %s", StoreEnv, PostgresURLEnv)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatalf("chatboxtest: %v", err)
	}
	schema := "chatboxtest_" + strings.ToLower(rand.Text()[:16])
	st, err := pgstore.New(ctx, pool, pgstore.WithSchema(schema), pgstore.WithAutoMigrate(true))
	if err != nil {
		pool.Close()
		t.Fatalf("chatboxtest: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := pool.Exec(ctx, `DROP SCHEMA "`+schema+`" CASCADE`); err != nil {
			t.Errorf("chatboxtest: drop schema: %v", err)
		}
		pool.Close()
	})
	return st
}
