package memory

import (
	"cmp"
	"container/heap"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/chatboxsdk/chatbox/storage"
)

var _ storage.UsageStore = (*Store)(nil)

// usageState holds the usage rows, the ids of the records counted in them
// and the live reservations, under a lock of its own: usage calls never
// wait for conversation writes, nor these for them.
//
// Rows and recorded ids grow with the usage recorded, as messages do with
// the conversation: they are the data. Reservations never outlive their
// expiry: every ReserveUsage and ReleaseReservation first drops the
// reservations whose ExpiresAt has passed (soonest first, from a heap),
// so they number no more than the reservations live at once.
type usageState struct {
	mu       sync.Mutex
	recorded map[string]struct{}
	rows     map[usageKey]*storage.UsageRow
	// byUser holds each user's rows, for sums and limits.
	byUser map[string][]*storage.UsageRow
	// sorted holds every row in listing order; rows created since the
	// last listing wait in unsorted and are merged in by the next one.
	sorted   []*storage.UsageRow
	unsorted []*storage.UsageRow
	// holds are the live reservations by user and id; expiries orders
	// them all by ExpiresAt.
	holds    map[string]map[string]*hold
	expiries holdHeap
	now      func() time.Time
}

type usageKey struct {
	user, model string
	day         int64 // unix seconds of the UTC midnight
}

func newUsageState() usageState {
	return usageState{
		recorded: make(map[string]struct{}),
		rows:     make(map[usageKey]*storage.UsageRow),
		byUser:   make(map[string][]*storage.UsageRow),
		holds:    make(map[string]map[string]*hold),
		now:      time.Now,
	}
}

// compareRows orders rows as listings do: newest day first, then UserID,
// then Model.
func compareRows(a, b *storage.UsageRow) int {
	return cmp.Or(b.Day.Compare(a.Day), strings.Compare(a.UserID, b.UserID), strings.Compare(a.Model, b.Model))
}

// RecordUsage implements storage.UsageStore. The first record of an ID
// is counted; later ones change nothing.
func (s *Store) RecordUsage(ctx context.Context, r storage.UsageRecord) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := r.Validate(); err != nil {
		return fmt.Errorf("memory: %w", err)
	}
	day := storage.UsageDay(r.At)
	u := &s.usage
	u.mu.Lock()
	defer u.mu.Unlock()
	if _, ok := u.recorded[r.ID]; ok {
		return nil
	}
	u.recorded[r.ID] = struct{}{}
	k := usageKey{r.UserID, r.Model, day.Unix()}
	row := u.rows[k]
	if row == nil {
		row = &storage.UsageRow{UserID: r.UserID, Model: r.Model, Day: day}
		u.rows[k] = row
		u.byUser[r.UserID] = append(u.byUser[r.UserID], row)
		u.unsorted = append(u.unsorted, row)
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
	return nil
}

// ListUsage implements storage.UsageStore. Rows are kept in listing
// order (rows created since the previous listing are sorted and merged
// in first), so a page is a binary search to its start and a walk over
// the rows that follow, skipping those the filters leave out. A cursor
// naming another user or model than the filters is one of another
// listing (storage.ErrInvalid).
func (s *Store) ListUsage(ctx context.Context, q storage.UsageQuery) (storage.UsagePage, error) {
	if err := ctx.Err(); err != nil {
		return storage.UsagePage{}, err
	}
	l := listing{kind: kindUsage}
	var from *storage.UsageRow
	if q.Cursor != "" {
		k, err := decodeCursor(q.Cursor, l)
		if err != nil {
			return storage.UsagePage{}, fmt.Errorf("memory: list usage: %w", err)
		}
		if k.n < 0 || k.n > int64(len(k.id)) {
			return storage.UsagePage{}, fmt.Errorf("memory: list usage: malformed cursor: %w", storage.ErrInvalid)
		}
		from = &storage.UsageRow{Day: k.at, UserID: k.id[:k.n], Model: k.id[k.n:]}
		if (q.UserID != "" && from.UserID != q.UserID) || (q.Model != "" && from.Model != q.Model) {
			return storage.UsagePage{}, fmt.Errorf("memory: list usage: cursor of another usage listing: %w", storage.ErrInvalid)
		}
	}
	since, before := storage.UsagePeriod(q.From, q.Before)
	limit := storage.ClampLimit(q.Limit)
	page := storage.UsagePage{Rows: []storage.UsageRow{}}

	u := &s.usage
	u.mu.Lock()
	defer u.mu.Unlock()
	u.mergeUnsorted()
	rows := u.sorted
	if from != nil {
		i, found := slices.BinarySearchFunc(rows, from, compareRows)
		if found {
			i++
		}
		rows = rows[i:]
	}
	if !before.IsZero() {
		// Skip the days at or after before: they come first.
		i, _ := slices.BinarySearchFunc(rows, before, func(r *storage.UsageRow, t time.Time) int {
			if r.Day.Before(t) {
				return 1
			}
			return -1
		})
		rows = rows[i:]
	}
	for _, r := range rows {
		if !since.IsZero() && r.Day.Before(since) {
			break
		}
		if (q.UserID != "" && r.UserID != q.UserID) || (q.Model != "" && r.Model != q.Model) {
			continue
		}
		if len(page.Rows) == limit {
			last := page.Rows[limit-1]
			page.NextCursor = encodeCursor(l, key{at: last.Day, n: int64(len(last.UserID)), id: last.UserID + last.Model})
			break
		}
		page.Rows = append(page.Rows, *r)
	}
	return page, nil
}

// mergeUnsorted sorts the rows created since the last listing into
// u.sorted.
func (u *usageState) mergeUnsorted() {
	if len(u.unsorted) == 0 {
		return
	}
	slices.SortFunc(u.unsorted, compareRows)
	merged := make([]*storage.UsageRow, 0, len(u.sorted)+len(u.unsorted))
	a, b := u.sorted, u.unsorted
	for len(a) > 0 && len(b) > 0 {
		if compareRows(a[0], b[0]) <= 0 {
			merged, a = append(merged, a[0]), a[1:]
		} else {
			merged, b = append(merged, b[0]), b[1:]
		}
	}
	merged = append(append(merged, a...), b...)
	u.sorted = merged
	clear(u.unsorted)
	u.unsorted = u.unsorted[:0]
}

// SumUsage implements storage.UsageStore over the user's rows.
func (s *Store) SumUsage(ctx context.Context, userID string, from, before time.Time) (storage.UsageTotals, error) {
	if err := ctx.Err(); err != nil {
		return storage.UsageTotals{}, err
	}
	if userID == "" {
		return storage.UsageTotals{}, fmt.Errorf("memory: sum usage: empty user id: %w", storage.ErrInvalid)
	}
	from, before = storage.UsagePeriod(from, before)
	var t storage.UsageTotals
	u := &s.usage
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, r := range u.byUser[userID] {
		if inPeriod(r.Day, from, before) {
			t.Replies += r.Replies
			t.EstimatedReplies += r.EstimatedReplies
			t.InputTokens += r.InputTokens
			t.OutputTokens += r.OutputTokens
			t.CachedInputTokens += r.CachedInputTokens
			t.ReasoningTokens += r.ReasoningTokens
			t.CostMicros += r.CostMicros
		}
	}
	return t, nil
}

// inPeriod reports whether day is in [from, before), a zero bound open.
func inPeriod(day, from, before time.Time) bool {
	return (from.IsZero() || !day.Before(from)) && (before.IsZero() || day.Before(before))
}

// ReserveUsage implements storage.UsageStore: the check and the addition
// happen under the usage lock, so they are atomic for every caller of
// this Store (the memory store serves one process).
func (s *Store) ReserveUsage(ctx context.Context, r storage.Reservation) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	if err := r.Validate(); err != nil {
		return false, fmt.Errorf("memory: %w", err)
	}
	u := &s.usage
	u.mu.Lock()
	defer u.mu.Unlock()
	now := u.now()
	u.dropExpired(now)
	held := u.holds[r.UserID]
	if _, ok := held[r.ID]; ok {
		return true, nil
	}
	var heldTokens, heldCost int64
	for _, h := range held {
		heldTokens += h.tokens
		heldCost += h.cost
	}
	for _, l := range r.Limits {
		from, before := storage.UsagePeriod(l.From, l.Before)
		var tokens, cost int64
		for _, row := range u.byUser[r.UserID] {
			if inPeriod(row.Day, from, before) {
				tokens += row.InputTokens + row.OutputTokens
				cost += row.CostMicros
			}
		}
		if !l.Allows(tokens+heldTokens+r.Tokens, cost+heldCost+r.CostMicros) {
			return false, nil
		}
	}
	if !now.Before(r.ExpiresAt) {
		return true, nil // granted, and over at once: nothing to hold
	}
	if held == nil {
		held = make(map[string]*hold)
		u.holds[r.UserID] = held
	}
	h := &hold{user: r.UserID, id: r.ID, tokens: r.Tokens, cost: r.CostMicros, expires: r.ExpiresAt}
	held[r.ID] = h
	heap.Push(&u.expiries, h)
	return true, nil
}

// ReleaseReservation implements storage.UsageStore.
func (s *Store) ReleaseReservation(ctx context.Context, userID, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if userID == "" || id == "" {
		return fmt.Errorf("memory: release reservation %q of user %q: empty id: %w", id, userID, storage.ErrInvalid)
	}
	u := &s.usage
	u.mu.Lock()
	defer u.mu.Unlock()
	u.dropExpired(u.now())
	if h, ok := u.holds[userID][id]; ok {
		heap.Remove(&u.expiries, h.index)
		u.forget(h)
	}
	return nil
}

// dropExpired forgets the reservations whose ExpiresAt is not after now.
func (u *usageState) dropExpired(now time.Time) {
	for len(u.expiries) > 0 && !now.Before(u.expiries[0].expires) {
		u.forget(heap.Pop(&u.expiries).(*hold))
	}
}

// forget removes h, already out of the heap, from its user's holds.
func (u *usageState) forget(h *hold) {
	held := u.holds[h.user]
	delete(held, h.id)
	if len(held) == 0 {
		delete(u.holds, h.user)
	}
}

// hold is a live reservation; index is its place in the expiry heap.
type hold struct {
	user, id     string
	tokens, cost int64
	expires      time.Time
	index        int
}

// holdHeap orders reservations by ExpiresAt, soonest first.
type holdHeap []*hold

func (h holdHeap) Len() int           { return len(h) }
func (h holdHeap) Less(i, j int) bool { return h[i].expires.Before(h[j].expires) }
func (h holdHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *holdHeap) Push(x any) {
	e := x.(*hold)
	e.index = len(*h)
	*h = append(*h, e)
}
func (h *holdHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return e
}
