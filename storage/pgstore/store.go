package pgstore

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/chatboxsdk/chatbox/storage"
)

// ErrMigrationNeeded: the database schema is older than this package's
// and New was not asked to migrate it (see Migrate and WithAutoMigrate).
var ErrMigrationNeeded = errors.New("pgstore: schema migration needed")

// Store is a storage.Store on PostgreSQL. It is safe for concurrent use
// and holds no state besides its configuration and the pool.
type Store struct {
	cfg     config
	pool    *pgxpool.Pool
	ownPool bool
	// tables turns the "@." prefix of the statements into the schema.
	tables *strings.Replacer
}

var _ storage.Store = (*Store)(nil)

// New returns a Store on pool, which the caller owns: Close does not
// close it. New checks, under ctx and the retry policy, that the schema is
// current: with WithAutoMigrate it applies the pending migrations (see
// Migrate), otherwise a schema behind this package's gives
// ErrMigrationNeeded. It reports every invalid option at once.
func New(ctx context.Context, pool *pgxpool.Pool, opts ...Option) (*Store, error) {
	s, err := newUnchecked(pool, opts)
	if err != nil {
		return nil, err
	}
	cfg := s.cfg
	if cfg.autoMigrate {
		if err := s.migrateTo(ctx, latestVersion()); err != nil {
			return nil, err
		}
		return s, nil
	}
	v, err := s.schemaVersion(ctx)
	if err != nil {
		return nil, err
	}
	latest := latestVersion()
	switch {
	case v < latest:
		return nil, fmt.Errorf("pgstore: schema %q is at version %d, this package needs %d: call Migrate or pass WithAutoMigrate(true): %w",
			cfg.schema, v, latest, ErrMigrationNeeded)
	case v > latest:
		cfg.logger.WarnContext(ctx, "pgstore: the schema is newer than this package; migrations only add, so it is used as is",
			"schema", cfg.schema, "version", v, "known", latest)
	}
	return s, nil
}

// newUnchecked returns a Store on pool with opts, validated, without
// looking at the database.
func newUnchecked(pool *pgxpool.Pool, opts []Option) (*Store, error) {
	cfg, err := buildConfig(opts)
	if pool == nil {
		err = errors.Join(err, errors.New("nil pool"))
	}
	if err != nil {
		return nil, fmt.Errorf("pgstore: %w", err)
	}
	return &Store{cfg: cfg, pool: pool, tables: strings.NewReplacer("@.", quoteIdent(cfg.schema)+".")}, nil
}

// Open connects to the PostgreSQL server at url (a connection string or
// URL, as pgxpool.ParseConfig reads it) and returns a Store that owns the
// pool: Close closes it. The options are those of New.
func Open(ctx context.Context, url string, opts ...Option) (*Store, error) {
	pcfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("pgstore: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, fmt.Errorf("pgstore: %w", err)
	}
	s, err := New(ctx, pool, opts...)
	if err != nil {
		pool.Close()
		return nil, err
	}
	s.ownPool = true
	return s, nil
}

// Close closes the pool if Open created it; with a pool passed to New it
// does nothing.
func (s *Store) Close() {
	if s.ownPool {
		s.pool.Close()
	}
}

// sql returns the statement q with its tables in the store's schema.
func (s *Store) sql(q string) string { return s.tables.Replace(q) }

// quoteIdent quotes an identifier for SQL.
func quoteIdent(name string) string {
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}
