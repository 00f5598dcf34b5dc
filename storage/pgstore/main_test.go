package pgstore_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.uber.org/goleak"

	"github.com/chatboxsdk/chatbox/storage/pgstore"
)

// urlEnv names the variable holding the URL of the test server; the test
// script (scripts/postgres.sh) starts a private cluster and sets it.
const urlEnv = "CHATBOX_TEST_POSTGRES_URL"

var shared struct {
	once sync.Once
	pool *pgxpool.Pool
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.pool != nil {
		shared.pool.Close()
	}
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// requireURL returns the test server's URL. Without one the test fails
// under CI and is skipped elsewhere.
func requireURL(t testing.TB) string {
	t.Helper()
	url := os.Getenv(urlEnv)
	if url == "" {
		msg := urlEnv + " is not set: run the tests through scripts/postgres.sh (see the Makefile's test target)"
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return url
}

// pool returns the pool shared by the package's tests.
func pool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	url := requireURL(t)
	shared.once.Do(func() {
		shared.pool, shared.err = pgxpool.New(context.Background(), url)
	})
	if shared.err != nil {
		t.Fatalf("connect to %s: %v", url, shared.err)
	}
	return shared.pool
}

// newSchemaName returns a schema name no other test uses.
func newSchemaName() string { return "chatbox_test_" + strings.ToLower(rand.Text()[:12]) }

// dropSchema drops schema when t ends.
func dropSchema(t testing.TB, p *pgxpool.Pool, schema string) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := p.Exec(ctx, "DROP SCHEMA IF EXISTS "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
}

// newStore returns a migrated Store on a schema of its own, dropped when
// t ends.
func newStore(t testing.TB, opts ...pgstore.Option) *pgstore.Store {
	t.Helper()
	st, _ := newStoreSchema(t, opts...)
	return st
}

// newStoreSchema is newStore, returning the schema's name too.
func newStoreSchema(t testing.TB, opts ...pgstore.Option) (*pgstore.Store, string) {
	t.Helper()
	p := pool(t)
	schema := newSchemaName()
	dropSchema(t, p, schema)
	st, err := pgstore.New(context.Background(), p, append([]pgstore.Option{pgstore.WithSchema(schema), pgstore.WithAutoMigrate(true)}, opts...)...)
	if err != nil {
		t.Fatalf("pgstore.New: %v", err)
	}
	return st, schema
}
