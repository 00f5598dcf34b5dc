package storagetest

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"sync"
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

// day returns midnight UTC n days after the suite's first day.
func day(n int) time.Time {
	return time.Date(2031, time.March, 4, 0, 0, 0, 0, time.UTC).AddDate(0, 0, n)
}

// record returns a usage record of user with model at t, with figures
// derived from n so that records differ in every count.
func record(id, user, model string, t time.Time, n int64) storage.UsageRecord {
	return storage.UsageRecord{ID: id, UserID: user, Model: model, ConversationID: "conv-" + user, At: t,
		InputTokens: 100 * n, OutputTokens: 10 * n, CachedInputTokens: 3 * n, ReasoningTokens: 2 * n, CostMicros: 1000 * n}
}

func mustRecord(t *testing.T, st storage.UsageStore, rs ...storage.UsageRecord) {
	t.Helper()
	for _, r := range rs {
		if err := st.RecordUsage(t.Context(), r); err != nil {
			t.Fatalf("RecordUsage(%q): %v", r.ID, err)
		}
	}
}

// usageRowView is a comparable rendering of a row, its day to the
// millisecond in UTC.
type usageRowView struct {
	storage.UsageRow
	Day string
}

func viewRow(r storage.UsageRow) usageRowView {
	v := usageRowView{UsageRow: r, Day: ms(r.Day)}
	v.UsageRow.Day = time.Time{}
	return v
}

// rowID names a row by its listing key, for checkPages.
func rowID(r storage.UsageRow) string {
	return fmt.Sprintf("%s|%q|%q", r.Day.UTC().Format(time.DateOnly), r.UserID, r.Model)
}

// compareUsageRows orders rows as listings do.
func compareUsageRows(a, b storage.UsageRow) int {
	return cmp.Or(b.Day.Compare(a.Day), strings.Compare(a.UserID, b.UserID), strings.Compare(a.Model, b.Model))
}

// rowsOf sums records into rows, in listing order: what a store must
// hold after recording them (each ID once).
func rowsOf(rs []storage.UsageRecord) []storage.UsageRow {
	type key struct {
		user, model string
		day         int64
	}
	byKey := map[key]*storage.UsageRow{}
	seen := map[string]bool{}
	for _, r := range rs {
		if seen[r.ID] {
			continue
		}
		seen[r.ID] = true
		d := storage.UsageDay(r.At)
		k := key{r.UserID, r.Model, d.Unix()}
		row := byKey[k]
		if row == nil {
			row = &storage.UsageRow{UserID: r.UserID, Model: r.Model, Day: d}
			byKey[k] = row
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
	rows := make([]storage.UsageRow, 0, len(byKey))
	for _, r := range byKey {
		rows = append(rows, *r)
	}
	slices.SortFunc(rows, compareUsageRows)
	return rows
}

// totalsOf sums rows.
func totalsOf(rows []storage.UsageRow) storage.UsageTotals {
	var t storage.UsageTotals
	for _, r := range rows {
		t.Replies += r.Replies
		t.EstimatedReplies += r.EstimatedReplies
		t.InputTokens += r.InputTokens
		t.OutputTokens += r.OutputTokens
		t.CachedInputTokens += r.CachedInputTokens
		t.ReasoningTokens += r.ReasoningTokens
		t.CostMicros += r.CostMicros
	}
	return t
}

// matching returns the rows q's filters select, cursor and limit aside.
func matching(rows []storage.UsageRow, q storage.UsageQuery) []storage.UsageRow {
	from, before := storage.UsagePeriod(q.From, q.Before)
	var out []storage.UsageRow
	for _, r := range rows {
		if (q.UserID == "" || r.UserID == q.UserID) && (q.Model == "" || r.Model == q.Model) &&
			(from.IsZero() || !r.Day.Before(from)) && (before.IsZero() || r.Day.Before(before)) {
			out = append(out, r)
		}
	}
	return out
}

// listUsagePages walks every page of q, returning the rows of each page.
// It gives up after maxPages pages so a cursor that never ends fails the
// test instead of hanging it.
func listUsagePages(t *testing.T, st storage.UsageStore, q storage.UsageQuery, maxPages int) [][]storage.UsageRow {
	t.Helper()
	var pages [][]storage.UsageRow
	for range maxPages {
		page, err := st.ListUsage(t.Context(), q)
		if err != nil {
			t.Fatalf("ListUsage(%+v) after %d pages: %v", q, len(pages), err)
		}
		pages = append(pages, page.Rows)
		if page.NextCursor == "" {
			return pages
		}
		q.Cursor = page.NextCursor
	}
	t.Fatalf("ListUsage(%+v): still returning a cursor after %d pages", q, maxPages)
	return nil
}

// checkUsageListing lists q page by page and compares the pages with
// want (the matching rows in listing order) split at q's limit, and every
// row's fields with want's.
func checkUsageListing(t *testing.T, what string, st storage.UsageStore, q storage.UsageQuery, want []storage.UsageRow) {
	t.Helper()
	pages := listUsagePages(t, st, q, len(want)+3)
	gotIDs := make([][]string, len(pages))
	byID := map[string]storage.UsageRow{}
	for i, p := range pages {
		gotIDs[i] = []string{}
		for _, r := range p {
			gotIDs[i] = append(gotIDs[i], rowID(r))
			byID[rowID(r)] = r
		}
	}
	wantIDs := make([]string, len(want))
	for i, r := range want {
		wantIDs[i] = rowID(r)
	}
	checkPages(t, what, gotIDs, wantIDs, q.Limit)
	reported := 0
	for _, w := range want {
		g, ok := byID[rowID(w)]
		if ok && viewRow(g) != viewRow(w) {
			if reported++; reported > 5 {
				t.Errorf("%s: more rows differ", what)
				return
			}
			t.Errorf("%s: row %s:\n got %+v\nwant %+v", what, rowID(w), viewRow(g), viewRow(w))
		}
	}
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

// usageFixture records, on days 0 to 6, rows of users and models whose
// ids sort in byte order differently from other orders ("B" before "a",
// "u1" before "u10" before "u2") and hold characters a key encoding
// might trip on; not every user has every model every day. It returns
// the records.
func usageFixture(t *testing.T, st storage.UsageStore) []storage.UsageRecord {
	t.Helper()
	users := []string{"u1", "u10", "u2", "B", "a", "a|b", "a:1|b"}
	models := []string{"m/1", "m.2", "$m3"}
	var rs []storage.UsageRecord
	n := 0
	for d := range 7 {
		for ui, u := range users {
			for mi, m := range models {
				if (d+ui+mi)%3 == 0 {
					continue
				}
				n++
				// Some rows get two records, one of them estimated.
				for k := range 1 + n%2 {
					r := record(fmt.Sprintf("r-%d-%d", n, k), u, m, day(d).Add(time.Duration(n%24)*time.Hour), int64(n+k))
					r.Estimated = k == 1
					rs = append(rs, r)
				}
			}
		}
	}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := w; i < len(rs); i += 4 {
				if err := st.RecordUsage(t.Context(), rs[i]); err != nil {
					t.Errorf("RecordUsage(%q): %v", rs[i].ID, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	return rs
}

func (s usageSuite) testListUsage(t *testing.T) {
	t.Run("FiltersAndOrder", func(t *testing.T) {
		st := s.store(t)
		all := rowsOf(usageFixture(t, st))
		noon := 12 * time.Hour
		for _, q := range []storage.UsageQuery{
			{},
			{UserID: "a"},
			{UserID: "u1"},
			{UserID: "nobody"},
			{Model: "m.2"},
			{Model: "$m3"},
			{From: day(5)},
			{Before: day(2)},
			{From: day(2), Before: day(4)},
			// Bounds inside a day stand for the whole day: From keeps its
			// day, Before drops its day.
			{From: day(2).Add(noon), Before: day(4).Add(noon)},
			{From: day(3).Add(-time.Millisecond), Before: day(3).Add(time.Millisecond)},
			{From: day(4), Before: day(4)},
			{From: day(5), Before: day(2)},
			{UserID: "a|b", Model: "m/1"},
			{UserID: "u10", Model: "m.2", From: day(1), Before: day(6)},
			{From: time.Date(2031, time.March, 7, 1, 0, 0, 0, time.FixedZone("UTC+3", 3*3600))}, // 22:00 on day 2 in UTC
		} {
			want := matching(all, q)
			if q == (storage.UsageQuery{}) && len(want) < 80 {
				t.Fatalf("the fixture holds only %d rows", len(want))
			}
			checkUsageListing(t, fmt.Sprintf("ListUsage(%+v)", q), st, q, want)
		}
	})

	t.Run("PagingWithoutGapsOrRepeats", func(t *testing.T) {
		st := s.store(t)
		all := rowsOf(usageFixture(t, st))
		n := len(all)
		for _, limit := range []int{1, 2, 7, n / 2, n - 1, n, n + 1, 0, storage.MaxPageSize + 1} {
			q := storage.UsageQuery{Limit: limit}
			checkUsageListing(t, fmt.Sprintf("ListUsage, limit %d", limit), st, q, all)
		}
		for _, q := range []storage.UsageQuery{
			{UserID: "u10", Limit: 3},
			{Model: "m/1", Limit: 4},
			{From: day(1), Before: day(5), Limit: 5},
			{UserID: "a:1|b", Model: "$m3", Limit: 1},
		} {
			checkUsageListing(t, fmt.Sprintf("ListUsage(%+v)", q), st, q, matching(all, q))
		}
	})

	t.Run("CursorIsAPosition", func(t *testing.T) {
		st := s.store(t)
		rs := []storage.UsageRecord{
			record("r1", "u1", "model-a", day(3), 1),
			record("r2", "u2", "model-a", day(3), 1),
			record("r3", "u1", "model-a", day(2), 1),
			record("r4", "u2", "model-a", day(2), 1),
			record("r5", "u1", "model-a", day(1), 1),
		}
		mustRecord(t, st, rs...)
		first, err := st.ListUsage(t.Context(), storage.UsageQuery{Limit: 3})
		if err != nil || len(first.Rows) != 3 || first.NextCursor == "" {
			t.Fatalf("first page = %+v, %v; want 3 rows and a cursor", first, err)
		}
		// After the first page was served: a row before its end, a row
		// after it, and more usage on a row of each.
		more := []storage.UsageRecord{
			record("r6", "u0", "model-a", day(3), 1), // before the cursor
			record("r7", "u0", "model-a", day(2), 1), // after the cursor, in its day
			record("r8", "u3", "model-a", day(0), 1), // after, on a day of its own
			record("r9", "u1", "model-a", day(3), 5), // adds to a row already listed
			record("r10", "u2", "model-a", day(2), 5),
		}
		mustRecord(t, st, more...)
		pages := listUsagePages(t, st, storage.UsageQuery{Limit: 3, Cursor: first.NextCursor}, 10)
		var got []string
		for _, p := range pages {
			for _, r := range p {
				got = append(got, rowID(r))
			}
		}
		all := rowsOf(append(slices.Clone(rs), more...))
		var want []string
		for _, r := range all {
			if compareUsageRows(r, first.Rows[2]) > 0 {
				want = append(want, rowID(r))
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("rows after the first page = %v, want %v", got, want)
		}
	})

	t.Run("MalformedCursorIsInvalid", func(t *testing.T) {
		st := s.store(t)
		mustRecord(t, st, record("r1", "u1", "model-a", day(0), 1), record("r2", "u2", "model-a", day(0), 1))
		for _, c := range badCursors() {
			_, err := st.ListUsage(t.Context(), storage.UsageQuery{Cursor: c})
			wantIs(t, err, storage.ErrInvalid, fmt.Sprintf("ListUsage with cursor %q", c))
		}
		page, err := st.ListUsage(t.Context(), storage.UsageQuery{Limit: 1})
		if err != nil || page.NextCursor == "" {
			t.Fatalf("ListUsage(Limit 1) = %+v, %v", page, err)
		}
		_, err = st.ListUsage(t.Context(), storage.UsageQuery{Cursor: page.NextCursor[:len(page.NextCursor)/2]})
		wantIs(t, err, storage.ErrInvalid, "ListUsage with a truncated cursor")
		// The cursor's row is u1's with model-a: a listing of another user
		// or model did not issue it.
		_, err = st.ListUsage(t.Context(), storage.UsageQuery{UserID: "u2", Cursor: page.NextCursor})
		wantIs(t, err, storage.ErrInvalid, "ListUsage of u2 with a cursor at u1's row")
		_, err = st.ListUsage(t.Context(), storage.UsageQuery{Model: "model-b", Cursor: page.NextCursor})
		wantIs(t, err, storage.ErrInvalid, "ListUsage of model-b with a cursor at a row of model-a")
		// Cursors of the store's other listings are not usage cursors, nor
		// the other way round.
		cs, ok := st.(storage.Store)
		if !ok {
			return
		}
		mustCreate(t, cs, conv("c1", "u1", 1), conv("c2", "u1", 2))
		convPage, err := cs.ListConversations(t.Context(), storage.ConversationQuery{Limit: 1})
		if err != nil || convPage.NextCursor == "" {
			t.Fatalf("ListConversations(Limit 1) = %v, cursor %q", err, convPage.NextCursor)
		}
		_, err = st.ListUsage(t.Context(), storage.UsageQuery{Cursor: convPage.NextCursor})
		wantIs(t, err, storage.ErrInvalid, "ListUsage with a conversation cursor")
		_, err = cs.ListConversations(t.Context(), storage.ConversationQuery{Cursor: page.NextCursor})
		wantIs(t, err, storage.ErrInvalid, "ListConversations with a usage cursor")
	})
}

func (s usageSuite) testSumUsage(t *testing.T) {
	t.Run("PeriodsAndUsers", func(t *testing.T) {
		st := s.store(t)
		all := rowsOf(usageFixture(t, st))
		noon := 12 * time.Hour
		for _, tc := range []struct {
			user         string
			from, before time.Time
		}{
			{"u1", day(0), day(7)},
			{"u1", day(2), day(3)},
			{"a|b", day(2).Add(noon), day(4).Add(noon)},
			{"u10", time.Time{}, day(3)},
			{"u2", day(3), time.Time{}},
			{"B", time.Time{}, time.Time{}},
			{"B", day(3), day(3)},
			{"B", day(4), day(1)},
			{"nobody", time.Time{}, time.Time{}},
		} {
			got, err := st.SumUsage(t.Context(), tc.user, tc.from, tc.before)
			want := totalsOf(matching(all, storage.UsageQuery{UserID: tc.user, From: tc.from, Before: tc.before}))
			if err != nil || got != want {
				t.Errorf("SumUsage(%q, %s, %s) = %+v, %v; want %+v", tc.user, ms(tc.from), ms(tc.before), got, err, want)
			}
		}
	})

	t.Run("EmptyUserIsInvalid", func(t *testing.T) {
		st := s.store(t)
		_, err := st.SumUsage(t.Context(), "", day(0), day(1))
		wantIs(t, err, storage.ErrInvalid, "SumUsage of an empty user id")
	})
}

// testUsageLargeListing records s.rows rows (one record each), from
// concurrent writers in an order unrelated to the listing's, and pages
// through them at the largest page size: every row once, in order, with
// its figures, in full pages; then one user's rows over a range of days
// at a small page size.
func (s usageSuite) testUsageLargeListing(t *testing.T) {
	if s.rows == 0 {
		t.Skip("UsageRows(0): the large usage listing is not run on this backend")
	}
	n := s.rows
	st := s.store(t)
	const users, models = 100, 5
	// Row i: day i/(users*models) counted back from day 0, user and model
	// from its remainder; all distinct.
	rec := func(i int) storage.UsageRecord {
		d := i / (users * models)
		u, m := (i/models)%users, i%models
		return record(fmt.Sprintf("big-%d", i), fmt.Sprintf("user-%03d", u), fmt.Sprintf("model-%d", m),
			day(-d).Add(time.Duration(i%86400)*time.Second), int64(i%1000+1))
	}
	began := time.Now()
	const writers = 8
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for k := w; k < n; k += writers {
				r := rec((k * 7919) % n) // a permutation: 7919 is prime
				if err := st.RecordUsage(t.Context(), r); err != nil {
					t.Errorf("RecordUsage(%q): %v", r.ID, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	t.Logf("%d rows recorded in %v", n, time.Since(began).Round(time.Millisecond))

	began = time.Now()
	q := storage.UsageQuery{Limit: storage.MaxPageSize}
	seen := make(map[string]bool, n)
	var last *storage.UsageRow
	pages := 0
	for {
		if pages > n/storage.MaxPageSize+1 {
			t.Fatalf("still returning a cursor after %d pages", pages)
		}
		page, err := st.ListUsage(t.Context(), q)
		if err != nil {
			t.Fatalf("page %d: %v", pages+1, err)
		}
		pages++
		if page.NextCursor != "" && len(page.Rows) != storage.MaxPageSize {
			t.Fatalf("page %d holds %d rows and has a cursor, want full pages", pages, len(page.Rows))
		}
		for i := range page.Rows {
			r := &page.Rows[i]
			id := rowID(*r)
			if seen[id] {
				t.Fatalf("row %s listed twice (page %d)", id, pages)
			}
			seen[id] = true
			if last != nil && compareUsageRows(*last, *r) >= 0 {
				t.Fatalf("row %s listed after %s, out of order (page %d)", id, rowID(*last), pages)
			}
			last = r
			if r.Replies != 1 || r.InputTokens%100 != 0 || r.InputTokens != r.CostMicros/10 || r.OutputTokens*10 != r.InputTokens {
				t.Fatalf("row %s holds %+v, not the one record written to it", id, *r)
			}
		}
		if page.NextCursor == "" {
			break
		}
		q.Cursor = page.NextCursor
	}
	if len(seen) != n {
		t.Fatalf("listed %d distinct rows, want %d", len(seen), n)
	}
	t.Logf("%d rows listed in %d pages in %v", n, pages, time.Since(began).Round(time.Millisecond))

	// One user's rows over some days, at a small page size.
	days := max(n/(users*models), 1)
	q = storage.UsageQuery{UserID: "user-042", From: day(-days * 3 / 4), Before: day(-days / 4), Limit: 37}
	var wantRows []storage.UsageRow
	for i := range n {
		r := rec(i)
		row := storage.UsageRow{UserID: r.UserID, Model: r.Model, Day: storage.UsageDay(r.At)}
		if r.UserID == q.UserID && len(matching([]storage.UsageRow{row}, q)) == 1 {
			wantRows = append(wantRows, rowsOf([]storage.UsageRecord{r})...)
		}
	}
	slices.SortFunc(wantRows, compareUsageRows)
	checkUsageListing(t, fmt.Sprintf("ListUsage(%+v)", q), st, q, wantRows)
}
