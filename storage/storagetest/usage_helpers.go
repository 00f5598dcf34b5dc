package storagetest

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chatboxsdk/chatbox/storage"
)

// Building usage fixtures and what a store must list for them.

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
