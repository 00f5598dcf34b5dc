package pgstore_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/chatboxsdk/chatbox/storage"
	"github.com/chatboxsdk/chatbox/storage/pgstore"
)

// migrations returns the versions recorded in schema's schema_migrations.
func migrations(t *testing.T, p *pgxpool.Pool, schema string) []int {
	t.Helper()
	rows, err := p.Query(t.Context(), "SELECT version FROM "+schema+".schema_migrations ORDER BY version")
	if err != nil {
		t.Fatal(err)
	}
	var vs []int
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		vs = append(vs, v)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return vs
}

func wantAllMigrations(t *testing.T, p *pgxpool.Pool, schema string) {
	t.Helper()
	vs := migrations(t, p, schema)
	if len(vs) != pgstore.LatestVersion() {
		t.Fatalf("schema_migrations holds %v, want every version 1..%d once", vs, pgstore.LatestVersion())
	}
	for i, v := range vs {
		if v != i+1 {
			t.Fatalf("schema_migrations holds %v, want every version 1..%d once", vs, pgstore.LatestVersion())
		}
	}
}

func TestNewRefusesAnUnmigratedSchema(t *testing.T) {
	p := pool(t)
	schema := newSchemaName()
	dropSchema(t, p, schema)
	_, err := pgstore.New(t.Context(), p, pgstore.WithSchema(schema))
	if !errors.Is(err, pgstore.ErrMigrationNeeded) {
		t.Fatalf("New on an empty schema: %v, want ErrMigrationNeeded", err)
	}
	if v, err := pgstore.SchemaVersion(t.Context(), p, pgstore.WithSchema(schema)); err != nil || v != 0 {
		t.Fatalf("SchemaVersion of an empty schema = %d, %v; want 0", v, err)
	}
	if err := pgstore.Migrate(t.Context(), p, pgstore.WithSchema(schema)); err != nil {
		t.Fatal(err)
	}
	if _, err := pgstore.New(t.Context(), p, pgstore.WithSchema(schema)); err != nil {
		t.Fatalf("New after Migrate: %v", err)
	}
}

func TestMigrateTwiceChangesNothing(t *testing.T) {
	p := pool(t)
	schema := newSchemaName()
	dropSchema(t, p, schema)
	for range 2 {
		if err := pgstore.Migrate(t.Context(), p, pgstore.WithSchema(schema)); err != nil {
			t.Fatal(err)
		}
	}
	wantAllMigrations(t, p, schema)
	// A store opened with the option migrates a third time, and works.
	st, err := pgstore.New(t.Context(), p, pgstore.WithSchema(schema), pgstore.WithAutoMigrate(true))
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CreateConversation(t.Context(), storage.Conversation{ID: "c1", UserID: "u", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	wantAllMigrations(t, p, schema)
}

func TestMigrateFromSeveralPoolsAtOnce(t *testing.T) {
	url := requireURL(t)
	schema := newSchemaName()
	dropSchema(t, pool(t), schema)
	// Two pools stand for two processes: nothing but the database's lock
	// keeps their connections apart.
	var pools []*pgxpool.Pool
	for range 2 {
		p, err := pgxpool.New(t.Context(), url)
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		pools = append(pools, p)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Go(func() {
			_, err := pgstore.New(context.WithoutCancel(t.Context()), pools[i%2], pgstore.WithSchema(schema), pgstore.WithAutoMigrate(true))
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("concurrent migration: %v", err)
		}
	}
	wantAllMigrations(t, pools[0], schema)
}

func TestAnOlderSchemaIsBroughtForward(t *testing.T) {
	p := pool(t)
	schema := newSchemaName()
	dropSchema(t, p, schema)
	// Version 1, as the first release left it, holding data.
	if err := pgstore.MigrateTo(t.Context(), p, 1, pgstore.WithSchema(schema)); err != nil {
		t.Fatal(err)
	}
	created := time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)
	if _, err := p.Exec(t.Context(), "INSERT INTO "+schema+".conversations (id, user_id, status, created_at, updated_at) VALUES ('old', 'u', 'active', $1, $1)", created); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Exec(t.Context(), "INSERT INTO "+schema+".messages (conversation_id, id, role, text, created_at) VALUES ('old', 'm1', 'user', 'kept', $1)", created); err != nil {
		t.Fatal(err)
	}
	if _, err := pgstore.New(t.Context(), p, pgstore.WithSchema(schema)); !errors.Is(err, pgstore.ErrMigrationNeeded) {
		t.Fatalf("New on a version 1 schema: %v, want ErrMigrationNeeded", err)
	}
	st, err := pgstore.New(t.Context(), p, pgstore.WithSchema(schema), pgstore.WithAutoMigrate(true))
	if err != nil {
		t.Fatal(err)
	}
	wantAllMigrations(t, p, schema)
	c, err := st.GetConversation(t.Context(), "old")
	if err != nil || c.UserID != "u" || !c.CreatedAt.Equal(created) {
		t.Fatalf("conversation from version 1 = %+v, %v", c, err)
	}
	m, err := st.GetMessage(t.Context(), "old", "m1")
	if err != nil || m.Text != "kept" {
		t.Fatalf("message from version 1 = %+v, %v", m, err)
	}
	var indexes int
	if err := p.QueryRow(t.Context(), "SELECT count(*) FROM pg_indexes WHERE schemaname = $1 AND indexname = 'conversations_tokens'", schema).Scan(&indexes); err != nil || indexes != 1 {
		t.Fatalf("index of the second migration: %d, %v", indexes, err)
	}
}
