package pgstore

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/chatboxsdk/chatbox/storage"
)

// appendSQL inserts a message unless its (conversation_id, id) is taken
// and, in the same statement, counts a created one in its conversation:
// the row and the figures are written together or not at all. It returns
// the writer token of the stored row: the caller's own when this call (or
// an earlier attempt of it whose answer was lost) inserted it.
const appendSQL = `WITH ins AS (
	INSERT INTO @.messages (conversation_id, id, role, text, status, finish_reason, error, model, reply_to,
		input_tokens, output_tokens, created_at, updated_at, writer, cached_input_tokens, reasoning_tokens, parts)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
	ON CONFLICT (conversation_id, id) DO NOTHING
	RETURNING conversation_id, role, input_tokens, output_tokens, cached_input_tokens, reasoning_tokens, created_at
), counted AS (
	UPDATE @.conversations c SET
		message_count = c.message_count + 1,
		input_tokens = c.input_tokens + ins.input_tokens,
		output_tokens = c.output_tokens + ins.output_tokens,
		cached_input_tokens = c.cached_input_tokens + ins.cached_input_tokens,
		reasoning_tokens = c.reasoning_tokens + ins.reasoning_tokens,
		operator_assisted = c.operator_assisted OR ins.role = 'operator',
		updated_at = greatest(c.updated_at, ins.created_at)
	FROM ins WHERE c.id = ins.conversation_id
	RETURNING c.id
)
SELECT count(*) FROM counted`

// AppendMessage implements storage.Store with one statement (see
// appendSQL). A message already stored is read back: created is false,
// unless the row carries this call's own writer token (a retry of an
// insert whose acknowledgement was lost), and a different role is
// storage.ErrConflict.
func (s *Store) AppendMessage(ctx context.Context, m storage.Message) (storage.Message, bool, error) {
	var missing []string
	for _, f := range []struct {
		name  string
		empty bool
	}{{"ID", m.ID == ""}, {"ConversationID", m.ConversationID == ""}, {"Role", m.Role == ""}, {"CreatedAt", m.CreatedAt.IsZero()}} {
		if f.empty {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return storage.Message{}, false, fmt.Errorf("pgstore: message without %v: %w", missing, storage.ErrInvalid)
	}
	parts, err := encodeParts(m.Parts)
	if err != nil {
		return storage.Message{}, false, err
	}
	writer := rand.Text()
	ins := s.sql(appendSQL)
	get := s.sql("SELECT " + msgColumns + ", writer FROM @.messages WHERE conversation_id = $1 AND id = $2")
	var (
		stored  storage.Message
		created bool
	)
	err = s.do(ctx, "append message", func(ctx context.Context) error {
		var n int
		err := s.pool.QueryRow(ctx, ins, m.ConversationID, m.ID, string(m.Role), m.Text, string(m.Status), m.FinishReason,
			m.Error, m.Model, m.ReplyTo, m.Usage.InputTokens, m.Usage.OutputTokens, m.CreatedAt, nullTime(m.UpdatedAt), writer,
			m.Usage.CachedInputTokens, m.Usage.ReasoningTokens, parts).Scan(&n)
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == "23503" { // foreign_key_violation: no such conversation
			return fmt.Errorf("conversation %q: %w", m.ConversationID, storage.ErrNotFound)
		}
		if err != nil {
			return err
		}
		if n == 1 {
			stored, created = m, true
			stored.Parts = slices.Clone(m.Parts) // the caller's slice stays theirs
			return nil
		}
		var by string
		stored, err = scanMessageWriter(s.pool.QueryRow(ctx, get, m.ConversationID, m.ID), &by)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("message %q vanished while appended: %w", m.ID, errRetry)
		}
		if err != nil {
			return err
		}
		created = by == writer
		if !created && stored.Role != m.Role {
			return fmt.Errorf("message %q of conversation %q is stored with role %q: %w", m.ID, m.ConversationID, stored.Role, storage.ErrConflict)
		}
		return nil
	})
	if err != nil {
		return storage.Message{}, false, err
	}
	if created {
		// What the row holds: times at the database's precision.
		stored.CreatedAt = stored.CreatedAt.Truncate(time.Microsecond).UTC()
		if !stored.UpdatedAt.IsZero() {
			stored.UpdatedAt = stored.UpdatedAt.Truncate(time.Microsecond).UTC()
		}
	}
	return stored, created, nil
}

// scanMessageWriter scans the columns of msgColumns and the writer token.
func scanMessageWriter(row pgx.Row, writer *string) (storage.Message, error) {
	return scanMessage(rowWithExtra{row, writer})
}

// rowWithExtra appends destinations to a Scan.
type rowWithExtra struct {
	pgx.Row
	extra *string
}

func (r rowWithExtra) Scan(dest ...any) error { return r.Row.Scan(append(dest, r.extra)...) }

// updateSQL replaces a message's mutable fields and, in the same
// statement, moves its conversation's figures by the difference the
// update made: the old row is read locked, so concurrent updates of one
// message apply one after the other and a repeated update adds nothing.
// An update taking the message from streaming or awaiting_approval to
// complete, with an UpdatedAt no earlier than its CreatedAt, records its
// response time on the message and counts it in the conversation: a
// reply that paused for approval and resumed counts once.
const updateSQL = `WITH old AS (
	SELECT conversation_id, id, status, input_tokens, output_tokens, cached_input_tokens, reasoning_tokens, created_at
	FROM @.messages WHERE conversation_id = $1 AND id = $2 FOR UPDATE
), rt AS (
	SELECT old.*, CASE WHEN old.status IN ('streaming', 'awaiting_approval') AND $4 = 'complete' AND $9::timestamptz >= old.created_at
		THEN (extract(epoch FROM $9::timestamptz - old.created_at) * 1000000)::bigint END AS us
	FROM old
), upd AS (
	UPDATE @.messages m SET text = $3, status = $4, finish_reason = $5, error = $6, model = $10,
		input_tokens = $7, output_tokens = $8, cached_input_tokens = $11, reasoning_tokens = $12, parts = $13,
		updated_at = $9, response_us = coalesce(rt.us, m.response_us)
	FROM rt WHERE m.conversation_id = rt.conversation_id AND m.id = rt.id
	RETURNING rt.input_tokens AS old_in, rt.output_tokens AS old_out,
		rt.cached_input_tokens AS old_cached, rt.reasoning_tokens AS old_reasoning, rt.us
), counted AS (
	UPDATE @.conversations c SET
		input_tokens = c.input_tokens + $7 - upd.old_in,
		output_tokens = c.output_tokens + $8 - upd.old_out,
		cached_input_tokens = c.cached_input_tokens + $11 - upd.old_cached,
		reasoning_tokens = c.reasoning_tokens + $12 - upd.old_reasoning,
		response_count = c.response_count + (upd.us IS NOT NULL)::int,
		response_us_total = c.response_us_total + coalesce(upd.us, 0),
		response_us_min = CASE WHEN upd.us IS NULL THEN c.response_us_min
			WHEN c.response_count = 0 THEN upd.us ELSE least(c.response_us_min, upd.us) END,
		response_us_max = greatest(c.response_us_max, coalesce(upd.us, 0))
	FROM upd WHERE c.id = $1 AND ($7 <> upd.old_in OR $8 <> upd.old_out OR $11 <> upd.old_cached
		OR $12 <> upd.old_reasoning OR upd.us IS NOT NULL)
	RETURNING 1
)
SELECT count(*) FROM upd`

// UpdateMessage implements storage.Store with one statement (see
// updateSQL): it replaces Text, Parts, Status, FinishReason, Error, Usage,
// Model and UpdatedAt.
func (s *Store) UpdateMessage(ctx context.Context, m storage.Message) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("pgstore: update message: %w", err)
	}
	if m.ID == "" || m.ConversationID == "" {
		return fmt.Errorf("pgstore: update of a message without ID or ConversationID: %w", storage.ErrInvalid)
	}
	parts, err := encodeParts(m.Parts)
	if err != nil {
		return err
	}
	q := s.sql(updateSQL)
	return s.do(ctx, "update message", func(ctx context.Context) error {
		var n int
		err := s.pool.QueryRow(ctx, q, m.ConversationID, m.ID, m.Text, string(m.Status), m.FinishReason, m.Error,
			m.Usage.InputTokens, m.Usage.OutputTokens, nullTime(m.UpdatedAt), m.Model,
			m.Usage.CachedInputTokens, m.Usage.ReasoningTokens, parts).Scan(&n)
		if err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("message %q of conversation %q: %w", m.ID, m.ConversationID, storage.ErrNotFound)
		}
		return nil
	})
}

// GetMessage implements storage.Store.
func (s *Store) GetMessage(ctx context.Context, conversationID, id string) (storage.Message, error) {
	if err := ctx.Err(); err != nil {
		return storage.Message{}, fmt.Errorf("pgstore: get message: %w", err)
	}
	if conversationID == "" || id == "" {
		return storage.Message{}, fmt.Errorf("pgstore: empty message or conversation id: %w", storage.ErrNotFound)
	}
	q := s.sql("SELECT " + msgColumns + " FROM @.messages WHERE conversation_id = $1 AND id = $2")
	var m storage.Message
	err := s.do(ctx, "get message", func(ctx context.Context) (err error) {
		m, err = scanMessage(s.pool.QueryRow(ctx, q, conversationID, id))
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("message %q of conversation %q: %w", id, conversationID, storage.ErrNotFound)
		}
		return err
	})
	return m, err
}

// ListMessages implements storage.Store: by (CreatedAt, ID) in q.Order,
// from the index on (conversation_id, created_at, id). The conversation is
// looked up only when the page is empty, to tell an unknown one
// (storage.ErrNotFound) from one without messages.
func (s *Store) ListMessages(ctx context.Context, q storage.MessageQuery) (storage.MessagePage, error) {
	if err := ctx.Err(); err != nil {
		return storage.MessagePage{}, fmt.Errorf("pgstore: list messages: %w", err)
	}
	if q.ConversationID == "" {
		return storage.MessagePage{}, fmt.Errorf("pgstore: list messages without ConversationID: %w", storage.ErrInvalid)
	}
	l := listing{kind: kindMessages, order: storage.Ascending}
	dir := "ASC"
	if q.Order == storage.Descending {
		l.order, dir = storage.Descending, "DESC"
	}
	where, args := "conversation_id = $1", []any{q.ConversationID}
	if q.Cursor != "" {
		p, err := decodeCursor(q.Cursor, l)
		if err != nil {
			return storage.MessagePage{}, err
		}
		var cond string
		cond, args = after(p, "created_at", "id", l.order, args)
		where += " AND " + cond
	}
	limit := storage.ClampLimit(q.Limit)
	args = append(args, limit+1)
	pageSQL := s.sql(fmt.Sprintf("SELECT %s FROM @.messages WHERE %s ORDER BY created_at %s, id %s LIMIT $%d",
		msgColumns, where, dir, dir, len(args)))
	existsSQL := s.sql("SELECT EXISTS (SELECT 1 FROM @.conversations WHERE id = $1)")
	var page storage.MessagePage
	err := s.do(ctx, "list messages", func(ctx context.Context) error {
		rows, err := s.pool.Query(ctx, pageSQL, args...)
		if err != nil {
			return err
		}
		page.Messages, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (storage.Message, error) { return scanMessage(r) })
		if err != nil || len(page.Messages) > 0 {
			return err
		}
		var exists bool
		if err := s.pool.QueryRow(ctx, existsSQL, q.ConversationID).Scan(&exists); err != nil {
			return err
		}
		if !exists {
			return fmt.Errorf("conversation %q: %w", q.ConversationID, storage.ErrNotFound)
		}
		return nil
	})
	if err != nil {
		return storage.MessagePage{}, err
	}
	if len(page.Messages) > limit {
		page.Messages = page.Messages[:limit]
		last := page.Messages[limit-1]
		page.NextCursor = encodeCursor(l, position{last.CreatedAt, last.ID})
	}
	if page.Messages == nil {
		page.Messages = []storage.Message{}
	}
	return page, nil
}
