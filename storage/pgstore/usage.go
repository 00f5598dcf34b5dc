package pgstore

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/chatboxsdk/chatbox/storage"
)

var _ storage.UsageStore = (*Store)(nil)

// kindUsage marks usage cursors. Their key is the row's day (midnight
// UTC) and their id the row's user id, preceded by its length as a
// uvarint, followed by its model.
const kindUsage = 'u'

// reservationPurgeGrace is how long past its expiry a reservation of
// another user may be deleted by a release: well past any clock skew
// between instances, so no instance still counts it.
const reservationPurgeGrace = time.Minute

// reservationPurgeBatch bounds the expired reservations one release
// deletes besides its own.
const reservationPurgeBatch = 100

// negDay returns the neg_day column of a row of day: the days from day to
// 1970-01-01, so that newer days are smaller.
func negDay(day time.Time) int64 {
	return -storage.UsageDay(day).Unix() / 86400
}

// recordUsageSQL inserts the reply's id unless it is recorded and, in the
// same statement, adds the reply to its row only if the id was inserted:
// the id and the figures are written together or not at all, so a retry
// or a second call with the id adds nothing. A concurrent call with the
// same id waits on the id's unique index until this one commits, then
// inserts nothing.
const recordUsageSQL = `WITH counted AS (
	INSERT INTO @.usage_replies (id, user_id, model, conversation_id, at)
	VALUES ($1, $2, $3, $4, $5)
	ON CONFLICT (id) DO NOTHING
	RETURNING id
)
INSERT INTO @.usage_rows AS r (user_id, model, day, replies, estimated_replies, input_tokens, output_tokens,
	cached_input_tokens, reasoning_tokens, cost_micros)
SELECT $2, $3, $6::date, 1, $7, $8, $9, $10, $11, $12 FROM counted
ON CONFLICT (user_id, model, day) DO UPDATE SET
	replies = r.replies + 1,
	estimated_replies = r.estimated_replies + EXCLUDED.estimated_replies,
	input_tokens = r.input_tokens + EXCLUDED.input_tokens,
	output_tokens = r.output_tokens + EXCLUDED.output_tokens,
	cached_input_tokens = r.cached_input_tokens + EXCLUDED.cached_input_tokens,
	reasoning_tokens = r.reasoning_tokens + EXCLUDED.reasoning_tokens,
	cost_micros = r.cost_micros + EXCLUDED.cost_micros`

// RecordUsage implements storage.UsageStore with one statement (see
// recordUsageSQL).
func (s *Store) RecordUsage(ctx context.Context, r storage.UsageRecord) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("pgstore: record usage: %w", err)
	}
	if err := r.Validate(); err != nil {
		return fmt.Errorf("pgstore: %w", err)
	}
	estimated := 0
	if r.Estimated {
		estimated = 1
	}
	q := s.sql(recordUsageSQL)
	return s.do(ctx, "record usage", func(ctx context.Context) error {
		_, err := s.pool.Exec(ctx, q, r.ID, r.UserID, r.Model, r.ConversationID, r.At, storage.UsageDay(r.At),
			estimated, r.InputTokens, r.OutputTokens, r.CachedInputTokens, r.ReasoningTokens, r.CostMicros)
		return err
	})
}

// usageColumns are the columns of a usage row, in the order scanUsageRow
// reads them.
const usageColumns = `user_id, model, day, replies, estimated_replies, input_tokens, output_tokens,
	cached_input_tokens, reasoning_tokens, cost_micros`

func scanUsageRow(row pgx.CollectableRow) (storage.UsageRow, error) {
	var r storage.UsageRow
	err := row.Scan(&r.UserID, &r.Model, &r.Day, &r.Replies, &r.EstimatedReplies, &r.InputTokens, &r.OutputTokens,
		&r.CachedInputTokens, &r.ReasoningTokens, &r.CostMicros)
	r.Day = storage.UsageDay(r.Day)
	return r, err
}

// usageCursor encodes the position of row r in the usage listing.
func usageCursor(r storage.UsageRow) string {
	return encodeCursor(listing{kind: kindUsage}, position{key: r.Day, id: pairID(r.UserID, r.Model)})
}

// decodeUsageCursor returns the row position a usage cursor holds. Every
// problem wraps storage.ErrInvalid.
func decodeUsageCursor(c string) (storage.UsageRow, error) {
	p, err := decodeCursor(c, listing{kind: kindUsage})
	if err != nil {
		return storage.UsageRow{}, err
	}
	user, model, ok := splitPairID(p.id)
	if !ok {
		return storage.UsageRow{}, fmt.Errorf("pgstore: malformed cursor: %w", storage.ErrInvalid)
	}
	return storage.UsageRow{Day: storage.UsageDay(p.key.(time.Time)), UserID: user, Model: model}, nil
}

// pageQuery is a statement and its arguments.
type usagePageQuery struct {
	sql   string
	args  []any
	limit int
}

// usagePage returns the statement of the page q asks for: the filters as
// conditions on the columns of one of the listing indexes (the day as
// neg_day), and the cursor as a row comparison on the columns that index
// orders by after the filtered ones, so each page is a range scan of the
// index in its order. A cursor naming another user or model than the
// filters is one of another listing.
func (s *Store) usagePage(q storage.UsageQuery) (usagePageQuery, error) {
	var (
		conds []string
		args  []any
	)
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	if q.UserID != "" {
		conds = append(conds, "user_id = "+arg(q.UserID))
	}
	if q.Model != "" {
		conds = append(conds, "model = "+arg(q.Model))
	}
	from, before := storage.UsagePeriod(q.From, q.Before)
	if !from.IsZero() {
		conds = append(conds, "neg_day <= "+arg(negDay(from)))
	}
	if !before.IsZero() {
		conds = append(conds, "neg_day > "+arg(negDay(before)))
	}
	if q.Cursor != "" {
		c, err := decodeUsageCursor(q.Cursor)
		if err != nil {
			return usagePageQuery{}, err
		}
		if (q.UserID != "" && c.UserID != q.UserID) || (q.Model != "" && c.Model != q.Model) {
			return usagePageQuery{}, fmt.Errorf("pgstore: cursor of another usage listing: %w", storage.ErrInvalid)
		}
		cols, vals := []string{"neg_day"}, []string{arg(negDay(c.Day))}
		if q.UserID == "" {
			cols, vals = append(cols, "user_id"), append(vals, arg(c.UserID))
		}
		if q.Model == "" {
			cols, vals = append(cols, "model"), append(vals, arg(c.Model))
		}
		conds = append(conds, fmt.Sprintf("(%s) > (%s)", strings.Join(cols, ", "), strings.Join(vals, ", ")))
	}
	where := "TRUE"
	if len(conds) > 0 {
		where = strings.Join(conds, " AND ")
	}
	limit := storage.ClampLimit(q.Limit)
	sql := s.sql(fmt.Sprintf("SELECT %s FROM @.usage_rows WHERE %s ORDER BY neg_day, user_id, model LIMIT %s",
		usageColumns, where, arg(limit+1)))
	return usagePageQuery{sql: sql, args: args, limit: limit}, nil
}

// ListUsage implements storage.UsageStore by keyset from the listing
// indexes (see usagePage).
func (s *Store) ListUsage(ctx context.Context, q storage.UsageQuery) (storage.UsagePage, error) {
	if err := ctx.Err(); err != nil {
		return storage.UsagePage{}, fmt.Errorf("pgstore: list usage: %w", err)
	}
	pq, err := s.usagePage(q)
	if err != nil {
		return storage.UsagePage{}, err
	}
	var rows []storage.UsageRow
	err = s.do(ctx, "list usage", func(ctx context.Context) error {
		res, err := s.pool.Query(ctx, pq.sql, pq.args...)
		if err != nil {
			return err
		}
		rows, err = pgx.CollectRows(res, scanUsageRow)
		return err
	})
	if err != nil {
		return storage.UsagePage{}, err
	}
	page := storage.UsagePage{Rows: rows}
	if len(rows) > pq.limit {
		page.Rows = rows[:pq.limit]
		page.NextCursor = usageCursor(page.Rows[pq.limit-1])
	}
	if page.Rows == nil {
		page.Rows = []storage.UsageRow{}
	}
	return page, nil
}

// periodCondition returns the condition on neg_day of the days of [from,
// before) ("TRUE" when both are open), its arguments numbered from
// len(args)+1 and appended to args.
func periodCondition(from, before time.Time, args []any) (string, []any) {
	from, before = storage.UsagePeriod(from, before)
	var conds []string
	if !from.IsZero() {
		args = append(args, negDay(from))
		conds = append(conds, fmt.Sprintf("neg_day <= $%d", len(args)))
	}
	if !before.IsZero() {
		args = append(args, negDay(before))
		conds = append(conds, fmt.Sprintf("neg_day > $%d", len(args)))
	}
	if len(conds) == 0 {
		return "TRUE", args
	}
	return strings.Join(conds, " AND "), args
}

// SumUsage implements storage.UsageStore with one statement over the
// user's rows of the period, from the index on (user_id, neg_day).
func (s *Store) SumUsage(ctx context.Context, userID string, from, before time.Time) (storage.UsageTotals, error) {
	if err := ctx.Err(); err != nil {
		return storage.UsageTotals{}, fmt.Errorf("pgstore: sum usage: %w", err)
	}
	if userID == "" {
		return storage.UsageTotals{}, fmt.Errorf("pgstore: sum usage: empty user id: %w", storage.ErrInvalid)
	}
	cond, args := periodCondition(from, before, []any{userID})
	q := s.sql(`SELECT coalesce(sum(replies), 0)::bigint, coalesce(sum(estimated_replies), 0)::bigint,
		coalesce(sum(input_tokens), 0)::bigint, coalesce(sum(output_tokens), 0)::bigint,
		coalesce(sum(cached_input_tokens), 0)::bigint, coalesce(sum(reasoning_tokens), 0)::bigint,
		coalesce(sum(cost_micros), 0)::bigint
		FROM @.usage_rows WHERE user_id = $1 AND ` + cond)
	var t storage.UsageTotals
	err := s.do(ctx, "sum usage", func(ctx context.Context) error {
		return s.pool.QueryRow(ctx, q, args...).Scan(&t.Replies, &t.EstimatedReplies, &t.InputTokens, &t.OutputTokens,
			&t.CachedInputTokens, &t.ReasoningTokens, &t.CostMicros)
	})
	return t, err
}

// usageLockKey is the advisory lock serializing the reservations of one
// user of one schema across processes. Two users whose keys collide only
// wait for each other.
func usageLockKey(schema, userID string) int64 {
	h := fnv.New64a()
	h.Write([]byte("chatbox/pgstore/usage/" + schema + "/"))
	h.Write([]byte(userID))
	return int64(h.Sum64())
}

// reserveCheckSQL returns the statement ReserveUsage runs under the
// user's lock, and its arguments: it deletes the user's expired
// reservations and reads whether r's id is held, what the user's live
// reservations hold, and, for each limit, the tokens and cost recorded in
// its period. The deletion is not visible to the statement itself, so it
// reads live reservations by their expiry too.
func (s *Store) reserveCheckSQL(r storage.Reservation, now time.Time) (string, []any) {
	args := []any{r.UserID, now, r.ID}
	var sums []string
	for _, l := range r.Limits {
		cond, a := periodCondition(l.From, l.Before, args)
		args = a
		sums = append(sums, fmt.Sprintf("coalesce(sum(input_tokens + output_tokens) FILTER (WHERE %s), 0)::bigint, "+
			"coalesce(sum(cost_micros) FILTER (WHERE %s), 0)::bigint", cond, cond))
	}
	rowSums := ""
	if len(sums) > 0 {
		rowSums = ", " + strings.Join(sums, ", ")
	}
	// Only the rows of the days some limit counts are read.
	var span []string
	if from, ok := earliest(r.Limits); ok {
		args = append(args, negDay(from))
		span = append(span, fmt.Sprintf(" AND neg_day <= $%d", len(args)))
	}
	if before, ok := latest(r.Limits); ok {
		args = append(args, negDay(before))
		span = append(span, fmt.Sprintf(" AND neg_day > $%d", len(args)))
	}
	return s.sql(`WITH purged AS (
		DELETE FROM @.usage_reservations WHERE user_id = $1 AND expires_at <= $2
	)
	SELECT
		EXISTS (SELECT 1 FROM @.usage_reservations WHERE user_id = $1 AND id = $3 AND expires_at > $2),
		coalesce((SELECT sum(tokens) FROM @.usage_reservations WHERE user_id = $1 AND expires_at > $2), 0)::bigint,
		coalesce((SELECT sum(cost_micros) FROM @.usage_reservations WHERE user_id = $1 AND expires_at > $2), 0)::bigint` +
		rowSums + `
	FROM @.usage_rows WHERE user_id = $1` + strings.Join(span, "")), args
}

// earliest returns the earliest From of limits, and false if there are
// no limits or one is open towards the past.
func earliest(limits []storage.UsageLimit) (time.Time, bool) {
	var first time.Time
	for i, l := range limits {
		if l.From.IsZero() {
			return time.Time{}, false
		}
		if i == 0 || l.From.Before(first) {
			first = l.From
		}
	}
	return first, len(limits) > 0
}

// latest returns the latest Before of limits, and false if there are no
// limits or one is open towards the future.
func latest(limits []storage.UsageLimit) (time.Time, bool) {
	var last time.Time
	for i, l := range limits {
		if l.Before.IsZero() {
			return time.Time{}, false
		}
		if i == 0 || l.Before.After(last) {
			last = l.Before
		}
	}
	return last, len(limits) > 0
}

// ReserveUsage implements storage.UsageStore in one transaction that
// first takes a transaction-level advisory lock on the user (see
// usageLockKey): the reservations of one user, through any number of
// processes, are checked and added one after the other, each reading
// what the ones before it committed. Under the lock, one statement drops
// the user's expired reservations and reads the held ones and the usage
// recorded in each limit's period (see reserveCheckSQL); if r's id is
// held, or every limit allows r, it is granted, and inserted unless it
// has already expired. The store's clock is the process's.
func (s *Store) ReserveUsage(ctx context.Context, r storage.Reservation) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, fmt.Errorf("pgstore: reserve usage: %w", err)
	}
	if err := r.Validate(); err != nil {
		return false, fmt.Errorf("pgstore: %w", err)
	}
	lock := usageLockKey(s.cfg.schema, r.UserID)
	insert := s.sql(`INSERT INTO @.usage_reservations (user_id, id, tokens, cost_micros, expires_at)
		VALUES ($1, $2, $3, $4, $5) ON CONFLICT (user_id, id) DO NOTHING`)
	var granted bool
	err := s.do(ctx, "reserve usage", func(ctx context.Context) error {
		granted = false
		return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", lock); err != nil {
				return err
			}
			now := time.Now()
			check, args := s.reserveCheckSQL(r, now)
			var (
				held                bool
				heldTokens, heldCst int64
			)
			sums := make([]int64, 2*len(r.Limits))
			dest := []any{&held, &heldTokens, &heldCst}
			for i := range sums {
				dest = append(dest, &sums[i])
			}
			if err := tx.QueryRow(ctx, check, args...).Scan(dest...); err != nil {
				return err
			}
			if held {
				granted = true
				return nil
			}
			for i, l := range r.Limits {
				if !l.Allows(sums[2*i]+heldTokens+r.Tokens, sums[2*i+1]+heldCst+r.CostMicros) {
					return nil
				}
			}
			granted = true
			if !now.Before(r.ExpiresAt) {
				return nil // granted, and over at once: nothing to hold
			}
			_, err := tx.Exec(ctx, insert, r.UserID, r.ID, r.Tokens, r.CostMicros, r.ExpiresAt)
			return err
		})
	})
	if err != nil {
		return false, err
	}
	return granted, nil
}

// ReleaseReservation implements storage.UsageStore with one statement
// that deletes the reservation and, so that the reservations of
// processes that stopped without releasing them do not pile up, up to
// reservationPurgeBatch others that expired more than
// reservationPurgeGrace ago, skipping any another transaction holds.
func (s *Store) ReleaseReservation(ctx context.Context, userID, id string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("pgstore: release reservation: %w", err)
	}
	if userID == "" || id == "" {
		return fmt.Errorf("pgstore: release reservation %q of user %q: empty id: %w", id, userID, storage.ErrInvalid)
	}
	q := s.sql(fmt.Sprintf(`WITH expired AS (
		SELECT user_id, id FROM @.usage_reservations
		WHERE expires_at <= $3 AND NOT (user_id = $1 AND id = $2)
		ORDER BY expires_at LIMIT %d FOR UPDATE SKIP LOCKED
	), purged AS (
		DELETE FROM @.usage_reservations r USING expired e WHERE r.user_id = e.user_id AND r.id = e.id
	)
	DELETE FROM @.usage_reservations WHERE user_id = $1 AND id = $2`, reservationPurgeBatch))
	return s.do(ctx, "release reservation", func(ctx context.Context) error {
		_, err := s.pool.Exec(ctx, q, userID, id, time.Now().Add(-reservationPurgeGrace))
		return err
	})
}

// pairID joins two strings into one cursor id, the first prefixed by its
// length, so that splitPairID takes them apart whatever they hold.
func pairID(a, b string) string {
	id := binary.AppendUvarint(nil, uint64(len(a)))
	return string(append(append(id, a...), b...))
}

// splitPairID undoes pairID; ok is false for an id it did not make (or
// whose first string is empty).
func splitPairID(id string) (a, b string, ok bool) {
	n, k := binary.Uvarint([]byte(id))
	if k <= 0 || n == 0 || n >= uint64(len(id)-k) {
		return "", "", false
	}
	rest := id[k:]
	return rest[:n], rest[n:], true
}
