package pgstore

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/chatboxsdk/chatbox/storage"
)

// maxModeRechecks bounds how often ChangeMode runs its statement again
// when the change did not apply although the conversation, as the
// statement's snapshot showed it, would allow it: a concurrent change
// committed in between.
const maxModeRechecks = 3

// changeModeSQL is the whole rule of storage.ModeChange in one conditional
// update: not ended; the stored mode among From ($6) and, when it is
// operator, held by the caller ($7); not already as asked. PostgreSQL
// re-checks the condition on the latest row after waiting for a concurrent
// writer, so of several racing takeovers exactly one updates. When nothing
// is updated, the statement returns the stored row instead, and changed
// tells the two apart.
const changeModeSQL = `WITH upd AS (
	UPDATE @.conversations SET mode = $2, operator = $3, operator_name = $4, mode_changed_at = $5
	WHERE id = $1 AND status <> 'ended'
		AND ((mode <> 'operator' AND mode = ANY($6::text[])) OR (mode = 'operator' AND 'operator' = ANY($6::text[]) AND operator = $7))
		AND NOT (mode = $2 AND operator = $3)
	RETURNING ` + convColumns + `
)
SELECT true, * FROM upd
UNION ALL
SELECT false, ` + convColumns + ` FROM @.conversations WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM upd)`

// ChangeMode implements storage.Store with one conditional statement (see
// changeModeSQL). A conversation already in the mode and holder asked is
// a success that changed nothing; otherwise an unchanged conversation is
// storage.ErrConflict, returned with the stored conversation, and an
// unknown one storage.ErrNotFound.
func (s *Store) ChangeMode(ctx context.Context, c storage.ModeChange) (storage.Conversation, bool, error) {
	if err := ctx.Err(); err != nil {
		return storage.Conversation{}, false, fmt.Errorf("pgstore: change mode: %w", err)
	}
	from, err := c.Validate()
	if err != nil {
		return storage.Conversation{}, false, fmt.Errorf("pgstore: change mode: %w", err)
	}
	to := c.To.Normalize()
	holder, name := "", ""
	if to == storage.ModeOperator {
		holder, name = c.Operator, c.OperatorName
	}
	fromText := make([]string, len(from))
	for i, m := range from {
		fromText[i] = string(m)
	}
	q := s.sql(changeModeSQL)
	var (
		conv    storage.Conversation
		changed bool
	)
	err = s.do(ctx, "change mode", func(ctx context.Context) error {
		for range maxModeRechecks {
			var err error
			conv, err = scanConversation(rowWithBool{s.pool.QueryRow(ctx, q, c.ConversationID, string(to), holder, name, c.At,
				fromText, c.Operator), &changed})
			if errors.Is(err, pgx.ErrNoRows) {
				return fmt.Errorf("conversation %q: %w", c.ConversationID, storage.ErrNotFound)
			}
			if err != nil || changed || alreadyMade(conv, to, holder) || !modeChangeApplies(conv, from, c.Operator) {
				return err
			}
		}
		return nil
	})
	switch {
	case err != nil:
		return storage.Conversation{}, false, err
	case changed, alreadyMade(conv, to, holder):
		return conv, changed, nil
	}
	return conv, false, fmt.Errorf("pgstore: change mode of %q: the conversation is %s in mode %q held by %q: %w",
		c.ConversationID, conv.Status, conv.Mode, conv.Operator, storage.ErrConflict)
}

// alreadyMade reports whether c is already as the change asks: a retry,
// or the same change made by another call.
func alreadyMade(c storage.Conversation, to storage.Mode, holder string) bool {
	return c.Status != storage.StatusEnded && c.Mode == to && c.Operator == holder
}

// modeChangeApplies evaluates the rule of changeModeSQL on c, the "not
// already made" part aside.
func modeChangeApplies(c storage.Conversation, from []storage.Mode, operator string) bool {
	if c.Status == storage.StatusEnded {
		return false
	}
	return slices.Contains(from, c.Mode) && (c.Mode != storage.ModeOperator || c.Operator == operator)
}

// rowWithBool puts a leading boolean column before the destinations of a
// Scan.
type rowWithBool struct {
	pgx.Row
	first *bool
}

func (r rowWithBool) Scan(dest ...any) error { return r.Row.Scan(append([]any{r.first}, dest...)...) }
