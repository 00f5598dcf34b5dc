package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/chatboxsdk/chatbox/storage"
)

// CreateConversation implements storage.Store with one insert that does
// nothing when the id exists; the owner of an existing id then tells a
// retried create (nil) from a conflict (storage.ErrConflict). Mode,
// Operator, ModeChangedAt and Stats are ignored: a conversation starts in
// storage.ModeAI with zero figures. A zero UpdatedAt is stored as
// CreatedAt.
func (s *Store) CreateConversation(ctx context.Context, c storage.Conversation) error {
	var missing []string
	if c.ID == "" {
		missing = append(missing, "ID")
	}
	if c.UserID == "" {
		missing = append(missing, "UserID")
	}
	if c.CreatedAt.IsZero() {
		missing = append(missing, "CreatedAt")
	}
	if len(missing) > 0 {
		return fmt.Errorf("pgstore: conversation without %v: %w", missing, storage.ErrInvalid)
	}
	if c.UpdatedAt.IsZero() {
		c.UpdatedAt = c.CreatedAt
	}
	var metadata any
	if len(c.Metadata) > 0 {
		metadata = c.Metadata
	}
	q := s.sql(`WITH ins AS (
		INSERT INTO @.conversations (id, user_id, title, model, status, metadata, created_at, updated_at, ended_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
		ON CONFLICT (id) DO NOTHING
		RETURNING user_id)
	SELECT user_id FROM ins UNION ALL SELECT user_id FROM @.conversations WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM ins)`)
	return s.do(ctx, "create conversation", func(ctx context.Context) error {
		var owner string
		err := s.pool.QueryRow(ctx, q, c.ID, c.UserID, c.Title, c.Model, string(c.Status), metadata,
			c.CreatedAt, c.UpdatedAt, nullTime(c.EndedAt)).Scan(&owner)
		if errors.Is(err, pgx.ErrNoRows) {
			// Inserted and deleted by someone else in between: try again.
			return fmt.Errorf("conversation %q vanished while created: %w", c.ID, errRetry)
		}
		if err != nil {
			return err
		}
		if owner != c.UserID {
			return fmt.Errorf("conversation %q belongs to another user: %w", c.ID, storage.ErrConflict)
		}
		return nil
	})
}

// errRetry marks a failure worth another attempt.
var errRetry = errors.New("concurrent change")

// GetConversation implements storage.Store.
func (s *Store) GetConversation(ctx context.Context, id string) (storage.Conversation, error) {
	if err := ctx.Err(); err != nil {
		return storage.Conversation{}, fmt.Errorf("pgstore: get conversation: %w", err)
	}
	if id == "" {
		return storage.Conversation{}, fmt.Errorf("pgstore: empty conversation id: %w", storage.ErrNotFound)
	}
	var c storage.Conversation
	err := s.do(ctx, "get conversation", func(ctx context.Context) (err error) {
		c, err = s.findConversation(ctx, id)
		return err
	})
	return c, err
}

// findConversation reads one conversation; a missing one is
// storage.ErrNotFound.
func (s *Store) findConversation(ctx context.Context, id string) (storage.Conversation, error) {
	c, err := scanConversation(s.pool.QueryRow(ctx, s.sql("SELECT "+convColumns+" FROM @.conversations WHERE id = $1"), id))
	if errors.Is(err, pgx.ErrNoRows) {
		return storage.Conversation{}, fmt.Errorf("conversation %q: %w", id, storage.ErrNotFound)
	}
	return c, err
}

// EndConversation implements storage.Store. The first end wins: the update
// only matches a conversation that is not ended yet.
func (s *Store) EndConversation(ctx context.Context, id string, at time.Time) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("pgstore: end conversation: %w", err)
	}
	if id == "" {
		return fmt.Errorf("pgstore: empty conversation id: %w", storage.ErrNotFound)
	}
	q := s.sql(`WITH upd AS (
		UPDATE @.conversations SET status = $2, ended_at = $3 WHERE id = $1 AND status <> $2 RETURNING 1)
	SELECT EXISTS (SELECT 1 FROM upd) OR EXISTS (SELECT 1 FROM @.conversations WHERE id = $1)`)
	return s.do(ctx, "end conversation", func(ctx context.Context) error {
		var found bool
		if err := s.pool.QueryRow(ctx, q, id, string(storage.StatusEnded), nullTime(at)).Scan(&found); err != nil {
			return err
		}
		if !found {
			return fmt.Errorf("conversation %q: %w", id, storage.ErrNotFound)
		}
		return nil
	})
}
