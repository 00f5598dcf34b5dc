package storagetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/chatboxsdk/chatbox/storage"
)

// UsageOption adjusts RunUsage.
type UsageOption func(*usageSuite)

// SecondInstance gives RunUsage another instance over the data of a store
// newStore returned, as a second process sharing the backend opens it:
// the concurrency subtests spread their calls over both, so the atomicity
// they check is the backend's, not one instance's. Without it they call
// the one store.
func SecondInstance(open func(t *testing.T, st storage.UsageStore) storage.UsageStore) UsageOption {
	return func(s *usageSuite) { s.reopen = open }
}

// UsageRows sets how many rows the LargeListing subtest records and pages
// through (default DefaultUsageRows); 0 skips it. A backend whose test
// server reads a whole collection for every page may skip it (see
// storage/mongostore's tests); those whose test servers page from an
// index should keep the default, so the full size runs somewhere.
func UsageRows(n int) UsageOption {
	return func(s *usageSuite) { s.rows = n }
}

// DefaultUsageRows is UsageRows' default.
const DefaultUsageRows = 100_000

// RunUsage runs the conformance suite of storage.UsageStore as subtests
// of t, calling newStore for a fresh, empty store in each subtest that
// needs one. As with Run, subtests run one after another. Every store of
// this module runs it beside Run:
//
//	func TestUsageConformance(t *testing.T) {
//		storagetest.RunUsage(t, func(t *testing.T) storage.UsageStore { return mybackend.Open(...) })
//	}
//
// Besides the doc comments of package storage, the suite holds every
// UsageStore to these rules:
//
//   - A row's Day is midnight UTC of the records' UTC day, whatever the
//     time zone of their At; the suite compares it with time.Time.Equal.
//     Every count of a row is the sum of its records', Replies counts
//     them and EstimatedReplies those marked Estimated.
//   - Listings order rows by Day, newest first, then UserID, then Model,
//     in byte order. Filters combine with AND; From and Before are
//     truncated to their UTC day, and From not before Before matches
//     nothing. Pages are full, NextCursor is set exactly when rows
//     follow, cursors are positions (a row created after a page was
//     served appears on a later page if it sorts after that page, and
//     no row is listed twice), and a malformed cursor, one of another
//     listing of the same store, or one at a row of another user or model
//     than the query's filters, gives storage.ErrInvalid.
//   - A reservation stops counting once the store's clock passes its
//     ExpiresAt; the suite takes the store's clock to be the test
//     process's and allows it a few milliseconds either way.
//   - Invalid input gives storage.ErrInvalid and changes nothing.
//   - A context that is already cancelled or past its deadline makes
//     every method return an error satisfying errors.Is(err, ctx.Err()).
//   - Under concurrency, through one instance or two: an ID recorded by
//     many callers at once counts once, records of distinct IDs all
//     count, and of many reservations racing for a budget that fits N of
//     them exactly N are granted.
func RunUsage(t *testing.T, newStore func(t *testing.T) storage.UsageStore, opts ...UsageOption) {
	t.Helper()
	if newStore == nil {
		t.Fatal("storagetest.RunUsage: newStore is nil")
	}
	s := usageSuite{newStore: newStore, rows: DefaultUsageRows}
	for _, o := range opts {
		o(&s)
	}
	if s.rows < 0 {
		t.Fatalf("storagetest.RunUsage: UsageRows(%d) is negative", s.rows)
	}
	t.Run("Record", s.testRecord)
	t.Run("ListUsage", s.testListUsage)
	t.Run("SumUsage", s.testSumUsage)
	t.Run("Reserve", s.testReserve)
	t.Run("Concurrency", s.testUsageConcurrency)
	t.Run("InvalidInput", s.testUsageInvalid)
	t.Run("Context", s.testUsageContext)
	t.Run("LargeListing", s.testUsageLargeListing)
}

type usageSuite struct {
	newStore func(t *testing.T) storage.UsageStore
	reopen   func(t *testing.T, st storage.UsageStore) storage.UsageStore
	rows     int
}

// store returns a fresh store for t.
func (s usageSuite) store(t *testing.T) storage.UsageStore {
	t.Helper()
	st := s.newStore(t)
	if st == nil {
		t.Fatal("newStore returned nil")
	}
	return st
}

// instances returns a fresh store and a second instance over its data,
// or the store twice without SecondInstance.
func (s usageSuite) instances(t *testing.T) [2]storage.UsageStore {
	t.Helper()
	st := s.store(t)
	if s.reopen == nil {
		return [2]storage.UsageStore{st, st}
	}
	other := s.reopen(t, st)
	if other == nil {
		t.Fatal("SecondInstance returned nil")
	}
	return [2]storage.UsageStore{st, other}
}

func (s usageSuite) testRecord(t *testing.T) {
	t.Run("RoundTripKeepsEveryField", func(t *testing.T) {
		st := s.store(t)
		rs := []storage.UsageRecord{
			{ID: "r1", UserID: "alice", Model: "model-a", ConversationID: "c1", At: day(0).Add(10 * time.Hour),
				InputTokens: 1200, OutputTokens: 340, CachedInputTokens: 1000, ReasoningTokens: 120, CostMicros: 4567},
			{ID: "r2", UserID: "alice", Model: "model-a", ConversationID: "c2", At: day(1).Add(-time.Millisecond),
				InputTokens: 7, OutputTokens: 3, CachedInputTokens: 1, ReasoningTokens: 2, CostMicros: 11, Estimated: true},
			{ID: "r3", UserID: "alice", Model: "model-b", ConversationID: "c1", At: day(0),
				InputTokens: 50, OutputTokens: 60, Estimated: true},
			{ID: "r4", UserID: "alice", Model: "model-a", ConversationID: "c1", At: day(1),
				InputTokens: 1, OutputTokens: 1, CostMicros: 1},
			{ID: "r5", UserID: "bob", Model: "model-a", ConversationID: "c3", At: day(0).Add(23 * time.Hour),
				InputTokens: 9, OutputTokens: 8, CachedInputTokens: 7, ReasoningTokens: 6, CostMicros: 5},
		}
		mustRecord(t, st, rs...)
		want := []storage.UsageRow{
			{UserID: "alice", Model: "model-a", Day: day(1), Replies: 1, InputTokens: 1, OutputTokens: 1, CostMicros: 1},
			{UserID: "alice", Model: "model-a", Day: day(0), Replies: 2, EstimatedReplies: 1, InputTokens: 1207, OutputTokens: 343,
				CachedInputTokens: 1001, ReasoningTokens: 122, CostMicros: 4578},
			{UserID: "alice", Model: "model-b", Day: day(0), Replies: 1, EstimatedReplies: 1, InputTokens: 50, OutputTokens: 60},
			{UserID: "bob", Model: "model-a", Day: day(0), Replies: 1, InputTokens: 9, OutputTokens: 8, CachedInputTokens: 7,
				ReasoningTokens: 6, CostMicros: 5},
		}
		if rows := rowsOf(rs); !slices.EqualFunc(rows, want, func(a, b storage.UsageRow) bool { return viewRow(a) == viewRow(b) }) {
			t.Fatalf("the suite's own sums are wrong: %+v", rows)
		}
		checkUsageListing(t, "ListUsage of everything", st, storage.UsageQuery{}, want)
		got, err := st.SumUsage(t.Context(), "alice", day(0), day(2))
		if w := totalsOf(want[:3]); err != nil || got != w {
			t.Errorf("SumUsage(alice, both days) = %+v, %v; want %+v", got, err, w)
		}
		got, err = st.SumUsage(t.Context(), "alice", day(0), day(1))
		if w := totalsOf(want[1:3]); err != nil || got != w {
			t.Errorf("SumUsage(alice, first day) = %+v, %v; want %+v", got, err, w)
		}
		if w := int64(1207 + 343 + 50 + 60); got.Tokens() != w {
			t.Errorf("Tokens() of %+v = %d, want input plus output, %d", got, got.Tokens(), w)
		}
	})

	t.Run("SameIDCountsOnce", func(t *testing.T) {
		st := s.store(t)
		r := record("r1", "alice", "model-a", day(0).Add(time.Hour), 1)
		mustRecord(t, st, r, r)
		// A retry carrying other figures, another day or another model is
		// still the same reply: the first record stands.
		again := record("r1", "alice", "model-b", day(5), 7)
		again.Estimated = true
		mustRecord(t, st, again)
		checkUsageListing(t, "rows after recording r1 three times", st, storage.UsageQuery{}, rowsOf([]storage.UsageRecord{r}))
		got, err := st.SumUsage(t.Context(), "alice", time.Time{}, time.Time{})
		if w := totalsOf(rowsOf([]storage.UsageRecord{r})); err != nil || got != w {
			t.Errorf("SumUsage = %+v, %v; want the first record only, %+v", got, err, w)
		}
	})

	t.Run("DaysAreUTC", func(t *testing.T) {
		st := s.store(t)
		east := time.FixedZone("UTC+2", 2*3600)
		west := time.FixedZone("UTC-5", -5*3600)
		rs := []storage.UsageRecord{
			// 23:30 on day 0 in UTC-5 is 04:30 on day 1 in UTC.
			record("west", "alice", "model-a", time.Date(2031, time.March, 4, 23, 30, 0, 0, west), 1),
			// 00:30 on day 1 in UTC+2 is 22:30 on day 0 in UTC.
			record("east", "alice", "model-a", time.Date(2031, time.March, 5, 0, 30, 0, 0, east), 2),
			record("last-ms", "alice", "model-a", day(1).Add(-time.Millisecond), 4),
			record("midnight", "alice", "model-a", day(1), 8),
		}
		mustRecord(t, st, rs...)
		want := []storage.UsageRow{
			{UserID: "alice", Model: "model-a", Day: day(1), Replies: 2, InputTokens: 900, OutputTokens: 90,
				CachedInputTokens: 27, ReasoningTokens: 18, CostMicros: 9000},
			{UserID: "alice", Model: "model-a", Day: day(0), Replies: 2, InputTokens: 600, OutputTokens: 60,
				CachedInputTokens: 18, ReasoningTokens: 12, CostMicros: 6000},
		}
		checkUsageListing(t, "rows by UTC day", st, storage.UsageQuery{}, want)
		page, err := st.ListUsage(t.Context(), storage.UsageQuery{})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page.Rows {
			if u := r.Day.UTC(); u.Hour() != 0 || u.Minute() != 0 || u.Second() != 0 || u.Nanosecond() != 0 {
				t.Errorf("row %s: Day %v is not midnight UTC", rowID(r), r.Day)
			}
		}
	})

	t.Run("RejectedRecordsAreNotStored", func(t *testing.T) {
		st := s.store(t)
		for _, r := range invalidRecords() {
			wantIs(t, st.RecordUsage(t.Context(), r), storage.ErrInvalid, fmt.Sprintf("RecordUsage(%+v)", r))
		}
		page, err := st.ListUsage(t.Context(), storage.UsageQuery{})
		if err != nil || len(page.Rows) != 0 {
			t.Errorf("ListUsage after invalid records = %d rows, %v; want none", len(page.Rows), err)
		}
		// An ID whose record was refused is still free.
		r := record("r1", "alice", "model-a", day(0), 1)
		mustRecord(t, st, r)
		checkUsageListing(t, "rows", st, storage.UsageQuery{}, rowsOf([]storage.UsageRecord{r}))
	})

	t.Run("ReturnedRowsAreCopies", func(t *testing.T) {
		st := s.store(t)
		r := record("r1", "alice", "model-a", day(0), 1)
		mustRecord(t, st, r)
		page, err := st.ListUsage(t.Context(), storage.UsageQuery{})
		if err != nil || len(page.Rows) != 1 {
			t.Fatalf("ListUsage = %+v, %v", page, err)
		}
		page.Rows[0].InputTokens, page.Rows[0].UserID = -1, "mallory"
		checkUsageListing(t, "rows after the caller changed a page", st, storage.UsageQuery{}, rowsOf([]storage.UsageRecord{r}))
	})
}

// invalidRecords returns records every UsageStore refuses, each with ID
// "r1" (but the one without an ID).
func invalidRecords() []storage.UsageRecord {
	ok := record("r1", "alice", "model-a", day(0), 1)
	var rs []storage.UsageRecord
	for _, f := range []func(*storage.UsageRecord){
		func(r *storage.UsageRecord) { r.ID = "" },
		func(r *storage.UsageRecord) { r.UserID = "" },
		func(r *storage.UsageRecord) { r.Model = "" },
		func(r *storage.UsageRecord) { r.At = time.Time{} },
		func(r *storage.UsageRecord) { r.InputTokens = -1 },
		func(r *storage.UsageRecord) { r.OutputTokens = -1 },
		func(r *storage.UsageRecord) { r.CachedInputTokens = -1 },
		func(r *storage.UsageRecord) { r.ReasoningTokens = -1 },
		func(r *storage.UsageRecord) { r.CostMicros = -1 },
	} {
		r := ok
		f(&r)
		rs = append(rs, r)
	}
	return rs
}
