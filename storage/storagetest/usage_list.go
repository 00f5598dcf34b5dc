package storagetest

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/chatboxsdk/chatbox/storage"
)

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
