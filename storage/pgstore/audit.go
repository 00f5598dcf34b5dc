package pgstore

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/chatboxsdk/chatbox/storage"
)

// AppendAudit implements storage.Store: one insert that does nothing when
// the id is stored already.
func (s *Store) AppendAudit(ctx context.Context, e storage.AuditEntry) error {
	if err := e.Validate(); err != nil {
		return fmt.Errorf("pgstore: append audit entry: %w", err)
	}
	q := s.sql(`INSERT INTO @.audit (id, at, actor, action, conversation_id, detail) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (id) DO NOTHING`)
	return s.do(ctx, "append audit entry", func(ctx context.Context) error {
		_, err := s.pool.Exec(ctx, q, e.ID, e.At, e.Actor, string(e.Action), e.ConversationID, e.Detail)
		return err
	})
}

// ListAudit implements storage.Store: newest first by (At, ID), with
// keyset paging over the index on (at, id), or the one led by the
// conversation or the actor when the query filters on it.
func (s *Store) ListAudit(ctx context.Context, q storage.AuditQuery) (storage.AuditPage, error) {
	if err := ctx.Err(); err != nil {
		return storage.AuditPage{}, fmt.Errorf("pgstore: list audit: %w", err)
	}
	l := listing{kind: kindAudit, order: storage.Descending}
	var (
		conds []string
		args  []any
	)
	add := func(cond string, v any) {
		args = append(args, v)
		conds = append(conds, fmt.Sprintf(cond, len(args)))
	}
	if q.ConversationID != "" {
		add("conversation_id = $%d", q.ConversationID)
	}
	if q.Actor != "" {
		add("actor = $%d", q.Actor)
	}
	if q.Action != "" {
		add("action = $%d", string(q.Action))
	}
	if !q.From.IsZero() {
		add("at >= $%d", q.From)
	}
	if !q.Before.IsZero() {
		add("at < $%d", q.Before)
	}
	if q.Cursor != "" {
		p, err := decodeCursor(q.Cursor, l)
		if err != nil {
			return storage.AuditPage{}, err
		}
		var cond string
		cond, args = after(p, "at", "id", l.order, args)
		conds = append(conds, cond)
	}
	where := "TRUE"
	if len(conds) > 0 {
		where = strings.Join(conds, " AND ")
	}
	limit := storage.ClampLimit(q.Limit)
	args = append(args, limit+1)
	pageSQL := s.sql(fmt.Sprintf(`SELECT id, at, actor, action, conversation_id, detail FROM @.audit
		WHERE %s ORDER BY at DESC, id DESC LIMIT $%d`, where, len(args)))
	var page storage.AuditPage
	err := s.do(ctx, "list audit", func(ctx context.Context) error {
		rows, err := s.pool.Query(ctx, pageSQL, args...)
		if err != nil {
			return err
		}
		page.Entries, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (storage.AuditEntry, error) {
			var (
				e      storage.AuditEntry
				at     time.Time
				action string
			)
			err := r.Scan(&e.ID, &at, &e.Actor, &action, &e.ConversationID, &e.Detail)
			e.At, e.Action = at.UTC(), storage.AuditAction(action)
			return e, err
		})
		return err
	})
	if err != nil {
		return storage.AuditPage{}, err
	}
	if len(page.Entries) > limit {
		page.Entries = page.Entries[:limit]
		last := page.Entries[limit-1]
		page.NextCursor = encodeCursor(l, position{last.At, last.ID})
	}
	return page, nil
}
