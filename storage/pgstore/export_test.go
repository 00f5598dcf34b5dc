package pgstore

import (
	"context"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/chatboxsdk/chatbox/storage"
)

// MigrateTo applies the migrations up to version target, as an older
// release of this package would have.
func MigrateTo(ctx context.Context, pool *pgxpool.Pool, target int, opts ...Option) error {
	s, err := newUnchecked(pool, opts)
	if err != nil {
		return err
	}
	return s.migrateTo(ctx, target)
}

// LatestVersion is the version Migrate brings a schema to.
var LatestVersion = latestVersion

// Percentiles are the fractions Aggregate asks percentile_disc for.
var Percentiles = percentiles

// ConversationPageSQL returns the statement and arguments of the page q
// asks for.
func (s *Store) ConversationPageSQL(q storage.ConversationQuery) (string, []any, error) {
	pq, err := s.conversationPage(q)
	return pq.sql, pq.args, err
}

// MigrationSQL returns the statements of migration version.
func MigrationSQL(version int) string { return migrations[version-1].sql }

// UsagePageSQL returns the statement and arguments of the usage page q
// asks for.
func (s *Store) UsagePageSQL(q storage.UsageQuery) (string, []any, error) {
	pq, err := s.usagePage(q)
	return pq.sql, pq.args, err
}

// BlobPageSQL returns the statement and arguments of the blob page q
// asks for.
func (s *Store) BlobPageSQL(q storage.BlobQuery) (string, []any, error) {
	pq, err := s.blobPage(q)
	return pq.sql, pq.args, err
}
