package pgstore

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// The schema's migrations: migrations/NNNN_name.sql, applied in order of
// NNNN, each once. They only add (tables, columns, indexes): a migrated
// database still serves the previous version of this package.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

type migration struct {
	version int
	name    string
	sql     string
}

// migrations are the embedded migrations, in order; a malformed file name
// is a bug caught by the tests.
var migrations = mustLoadMigrations()

func mustLoadMigrations() []migration {
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		panic(err)
	}
	var ms []migration
	for _, e := range entries {
		num, name, ok := strings.Cut(strings.TrimSuffix(e.Name(), ".sql"), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			panic(fmt.Sprintf("pgstore: migration file %q is not named NNNN_name.sql", e.Name()))
		}
		b, err := migrationFiles.ReadFile(path.Join("migrations", e.Name()))
		if err != nil {
			panic(err)
		}
		ms = append(ms, migration{version: v, name: name, sql: string(b)})
	}
	slices.SortFunc(ms, func(a, b migration) int { return a.version - b.version })
	for i, m := range ms {
		if m.version != i+1 {
			panic(fmt.Sprintf("pgstore: migration %d is numbered %d", i+1, m.version))
		}
	}
	return ms
}

func latestVersion() int { return len(migrations) }

// migrateLockKey is the advisory lock serializing the migrations of one
// schema across processes.
func migrateLockKey(schema string) int64 {
	h := fnv.New64a()
	h.Write([]byte("chatbox/pgstore/migrate/" + schema))
	return int64(h.Sum64())
}

// Migrate brings the schema of the store New would open on pool with
// opts (see WithSchema) to this package's version: it creates the schema
// and its schema_migrations table if missing, then applies the migrations
// not recorded there, in order, in one transaction. It holds a
// transaction-level advisory lock on the schema meanwhile, so several
// processes may call it at once: one applies, the others find nothing
// left to do. A current schema is left untouched. Migrations never drop
// or rewrite data. It retries like every call of the Store, within ctx.
func Migrate(ctx context.Context, pool *pgxpool.Pool, opts ...Option) error {
	s, err := newUnchecked(pool, opts)
	if err != nil {
		return err
	}
	return s.migrateTo(ctx, latestVersion())
}

// SchemaVersion returns the version of the last migration applied to the
// schema of the store New would open on pool with opts, 0 when none was.
func SchemaVersion(ctx context.Context, pool *pgxpool.Pool, opts ...Option) (int, error) {
	s, err := newUnchecked(pool, opts)
	if err != nil {
		return 0, err
	}
	return s.schemaVersion(ctx)
}

// migrateTo applies the migrations up to version target.
func (s *Store) migrateTo(ctx context.Context, target int) error {
	schema := quoteIdent(s.cfg.schema)
	return s.do(ctx, "migrate", func(ctx context.Context) error {
		return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", migrateLockKey(s.cfg.schema)); err != nil {
				return err
			}
			for _, q := range []string{
				"CREATE SCHEMA IF NOT EXISTS " + schema,
				"CREATE TABLE IF NOT EXISTS " + schema + `.schema_migrations (
					version    integer PRIMARY KEY,
					name       text NOT NULL,
					applied_at timestamptz NOT NULL DEFAULT now())`,
				"SET LOCAL search_path TO " + schema,
			} {
				if _, err := tx.Exec(ctx, q); err != nil {
					return err
				}
			}
			var current int
			if err := tx.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM schema_migrations").Scan(&current); err != nil {
				return err
			}
			for _, m := range migrations {
				if m.version <= current || m.version > target {
					continue
				}
				if _, err := tx.Exec(ctx, m.sql); err != nil {
					return fmt.Errorf("migration %d (%s): %w", m.version, m.name, err)
				}
				if _, err := tx.Exec(ctx, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", m.version, m.name); err != nil {
					return err
				}
				s.cfg.logger.InfoContext(ctx, "pgstore: migration applied", "schema", s.cfg.schema, "version", m.version, "name", m.name)
			}
			return nil
		})
	})
}

// schemaVersion returns the version of the last migration applied to the
// store's schema, 0 when none was.
func (s *Store) schemaVersion(ctx context.Context) (int, error) {
	var v int
	err := s.do(ctx, "read schema version", func(ctx context.Context) error {
		err := s.pool.QueryRow(ctx, s.sql("SELECT coalesce(max(version), 0) FROM @.schema_migrations")).Scan(&v)
		var pe *pgconn.PgError
		if errors.As(err, &pe) && (pe.Code == "42P01" || pe.Code == "3F000") { // undefined table or schema
			v, err = 0, nil
		}
		return err
	})
	return v, err
}
