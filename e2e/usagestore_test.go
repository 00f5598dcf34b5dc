package e2e

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/chatboxsdk/chatbox/storage"
)

// usageStore adds usage records, kept in memory, to the store it wraps, so
// that a test depends on the storage.UsageStore contract only, whatever
// the wrapped store keeps. It has no budget reservations: the tests using
// it set no budget.
type usageStore struct {
	storage.Store
	mu   sync.Mutex
	recs map[string]storage.UsageRecord // by reply id
}

func withUsage(s storage.Store) storage.Store {
	return &usageStore{Store: s, recs: map[string]storage.UsageRecord{}}
}

var _ storage.UsageStore = (*usageStore)(nil)

func (u *usageStore) RecordUsage(_ context.Context, r storage.UsageRecord) error {
	if r.ID == "" || r.UserID == "" || r.Model == "" || r.At.IsZero() {
		return storage.ErrInvalid
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if _, ok := u.recs[r.ID]; !ok {
		u.recs[r.ID] = r
	}
	return nil
}

func day(t time.Time) time.Time { return t.UTC().Truncate(24 * time.Hour) }

// rows sums the records of user (all users when "") and model (all when
// "") on the days of [from, before), zero bounds open, by user, model and day.
func (u *usageStore) rows(user, model string, from, before time.Time) []storage.UsageRow {
	u.mu.Lock()
	defer u.mu.Unlock()
	type key struct {
		user, model string
		day         time.Time
	}
	sums := map[key]*storage.UsageRow{}
	for _, r := range u.recs {
		d := day(r.At)
		if (user != "" && r.UserID != user) || (model != "" && r.Model != model) ||
			(!from.IsZero() && d.Before(day(from))) || (!before.IsZero() && !d.Before(day(before))) {
			continue
		}
		k := key{r.UserID, r.Model, d}
		row := sums[k]
		if row == nil {
			row = &storage.UsageRow{UserID: r.UserID, Model: r.Model, Day: d}
			sums[k] = row
		}
		row.Replies++
		if r.Estimated {
			row.EstimatedReplies++
		}
		row.InputTokens += r.InputTokens
		row.OutputTokens += r.OutputTokens
		row.CachedInputTokens += r.CachedInputTokens
		row.ReasoningTokens += r.ReasoningTokens
		row.CostMicros += r.CostMicros
	}
	out := make([]storage.UsageRow, 0, len(sums))
	for _, r := range sums {
		out = append(out, *r)
	}
	slices.SortFunc(out, func(a, b storage.UsageRow) int {
		return cmp.Or(b.Day.Compare(a.Day), cmp.Compare(a.UserID, b.UserID), cmp.Compare(a.Model, b.Model))
	})
	return out
}

// ListUsage returns the first page only: the tests read no further.
func (u *usageStore) ListUsage(_ context.Context, q storage.UsageQuery) (storage.UsagePage, error) {
	if q.Cursor != "" {
		return storage.UsagePage{}, storage.ErrInvalid
	}
	rows := u.rows(q.UserID, q.Model, q.From, q.Before)
	if q.Limit > 0 && len(rows) > q.Limit {
		rows = rows[:q.Limit]
	}
	return storage.UsagePage{Rows: rows}, nil
}

func (u *usageStore) SumUsage(_ context.Context, user string, from, before time.Time) (storage.UsageTotals, error) {
	var t storage.UsageTotals
	for _, r := range u.rows(user, "", from, before) {
		t.Replies += r.Replies
		t.EstimatedReplies += r.EstimatedReplies
		t.InputTokens += r.InputTokens
		t.OutputTokens += r.OutputTokens
		t.CachedInputTokens += r.CachedInputTokens
		t.ReasoningTokens += r.ReasoningTokens
		t.CostMicros += r.CostMicros
	}
	return t, nil
}

var errNoBudgets = errors.New("usageStore: no budget reservations in these tests")

func (u *usageStore) ReserveUsage(context.Context, storage.Reservation) (bool, error) {
	return false, errNoBudgets
}

func (u *usageStore) ReleaseReservation(context.Context, string, string) error { return nil }
