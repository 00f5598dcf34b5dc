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

// entry returns a complete audit entry at(ms).
func entry(id string, ms int, actor string, action storage.AuditAction, convID string) storage.AuditEntry {
	return storage.AuditEntry{ID: id, At: at(ms), Actor: actor, Action: action, ConversationID: convID, Detail: "detail of " + id}
}

func mustAudit(t *testing.T, st storage.Store, es ...storage.AuditEntry) {
	t.Helper()
	for _, e := range es {
		if err := st.AppendAudit(t.Context(), e); err != nil {
			t.Fatalf("AppendAudit(%q): %v", e.ID, err)
		}
	}
}

// auditView is a comparable rendering of an audit entry.
type auditView struct {
	storage.AuditEntry
	At string
}

func viewAudit(e storage.AuditEntry) auditView {
	v := auditView{AuditEntry: e, At: ms(e.At)}
	v.AuditEntry.At = time.Time{}
	return v
}

// newestAuditFirst returns the ids of es in listing order.
func newestAuditFirst(es []storage.AuditEntry) []string {
	sorted := slices.Clone(es)
	slices.SortFunc(sorted, func(a, b storage.AuditEntry) int {
		return cmp.Or(b.At.Compare(a.At), strings.Compare(b.ID, a.ID))
	})
	ids := make([]string, len(sorted))
	for i, e := range sorted {
		ids[i] = e.ID
	}
	return ids
}

// listAuditPages walks every page of q, returning the ids of each page and
// every entry listed.
func listAuditPages(t *testing.T, st storage.Store, q storage.AuditQuery, maxPages int) ([][]string, []storage.AuditEntry) {
	t.Helper()
	var (
		pages [][]string
		all   []storage.AuditEntry
	)
	for range maxPages {
		page, err := st.ListAudit(t.Context(), q)
		if err != nil {
			t.Fatalf("ListAudit(%+v) after %d pages: %v", q, len(pages), err)
		}
		ids := make([]string, len(page.Entries))
		for i, e := range page.Entries {
			ids[i] = e.ID
		}
		pages = append(pages, ids)
		all = append(all, page.Entries...)
		if page.NextCursor == "" {
			return pages, all
		}
		q.Cursor = page.NextCursor
	}
	t.Fatalf("ListAudit(%+v): still returning a cursor after %d pages", q, maxPages)
	return nil, nil
}

// auditFixture returns 90 entries by three actors, of every action, on
// three conversations (and none), with times tied in threes and ids whose
// byte order differs from their numeric order.
func auditFixture() []storage.AuditEntry {
	actions := []storage.AuditAction{storage.AuditTakeover, storage.AuditRelease, storage.AuditEnd, storage.AuditHelpRequest}
	convs := []string{"conv-1", "conv-2", "conv-3", ""}
	var es []storage.AuditEntry
	for i := range 90 {
		es = append(es, entry(fmt.Sprintf("e-%d", i), (i/3)*10, fmt.Sprintf("op-%d", i%3), actions[i%4], convs[i%7%4]))
	}
	return es
}

func (s suite) testAudit(t *testing.T) {
	t.Run("MissingRequiredFieldOrLongDetailIsInvalidAndNotStored", func(t *testing.T) {
		st := s.store(t)
		cases := []struct {
			name   string
			mutate func(*storage.AuditEntry)
		}{
			{"ID", func(e *storage.AuditEntry) { e.ID = "" }},
			{"Action", func(e *storage.AuditEntry) { e.Action = "" }},
			{"Actor", func(e *storage.AuditEntry) { e.Actor = "" }},
			{"At", func(e *storage.AuditEntry) { e.At = time.Time{} }},
			{"a detail over MaxAuditDetailBytes", func(e *storage.AuditEntry) { e.Detail = strings.Repeat("é", storage.MaxAuditDetailBytes/2) + "x" }},
		}
		for _, tc := range cases {
			e := entry("bad-"+strings.Fields(tc.name)[0], 10, "op-1", storage.AuditTakeover, "conv-1")
			tc.mutate(&e)
			wantIs(t, st.AppendAudit(t.Context(), e), storage.ErrInvalid, "AppendAudit without "+tc.name)
		}
		pages, _ := listAuditPages(t, st, storage.AuditQuery{}, 5)
		checkPages(t, "ListAudit after rejected appends", pages, nil, 0)

		full := entry("full", 10, "op-1", storage.AuditEnd, "")
		full.Detail = strings.Repeat("d", storage.MaxAuditDetailBytes)
		minimal := storage.AuditEntry{ID: "minimal", At: at(20), Actor: "op-2", Action: storage.AuditHelpRequest}
		mustAudit(t, st, full, minimal)
		_, got := listAuditPages(t, st, storage.AuditQuery{}, 5)
		if len(got) != 2 || viewAudit(got[0]) != viewAudit(minimal) || viewAudit(got[1]) != viewAudit(full) {
			t.Errorf("ListAudit = %+v\nwant [%+v %+v]", got, minimal, full)
		}
	})

	t.Run("AppendIsIdempotentByID", func(t *testing.T) {
		st := s.store(t)
		orig := entry("e-1", 10, "op-1", storage.AuditTakeover, "conv-1")
		mustAudit(t, st, orig, orig)
		other := entry("e-1", 99, "op-2", storage.AuditRelease, "conv-2")
		mustAudit(t, st, other)
		_, got := listAuditPages(t, st, storage.AuditQuery{}, 5)
		if len(got) != 1 || viewAudit(got[0]) != viewAudit(orig) {
			t.Errorf("ListAudit after appending e-1 three times = %+v, want only the first %+v", got, orig)
		}
	})

	t.Run("NewestFirstWithEveryFilter", func(t *testing.T) {
		st := s.store(t)
		es := auditFixture()
		mustAudit(t, st, shuffled(es, 11)...)
		var qs []storage.AuditQuery
		for _, c := range []string{"", "conv-1", "conv-3", "none"} {
			for _, a := range []string{"", "op-1"} {
				for _, act := range []storage.AuditAction{"", storage.AuditHelpRequest} {
					qs = append(qs, storage.AuditQuery{ConversationID: c, Actor: a, Action: act})
				}
			}
		}
		for _, r := range [][2]time.Time{{at(100), time.Time{}}, {time.Time{}, at(200)}, {at(100), at(200)}, {at(105), at(205)}, {at(200), at(100)}} {
			qs = append(qs, storage.AuditQuery{From: r[0], Before: r[1]}, storage.AuditQuery{From: r[0], Before: r[1], Actor: "op-2", ConversationID: "conv-2"})
		}
		for i, q := range qs {
			var want []storage.AuditEntry
			for _, e := range es {
				if (q.ConversationID == "" || e.ConversationID == q.ConversationID) && (q.Actor == "" || e.Actor == q.Actor) &&
					(q.Action == "" || e.Action == q.Action) && (q.From.IsZero() || !e.At.Before(q.From)) &&
					(q.Before.IsZero() || e.At.Before(q.Before)) {
					want = append(want, e)
				}
			}
			q.Limit = []int{0, 4, 13}[i%3]
			pages, got := listAuditPages(t, st, q, 100)
			checkPages(t, fmt.Sprintf("ListAudit(%+v)", q), pages, newestAuditFirst(want), q.Limit)
			byID := make(map[string]storage.AuditEntry)
			for _, e := range es {
				byID[e.ID] = e
			}
			for _, e := range got {
				if viewAudit(e) != viewAudit(byID[e.ID]) {
					t.Errorf("listed entry %+v, want %+v", e, byID[e.ID])
				}
			}
		}
	})

	t.Run("PaginationWithoutGapsOrDuplicates", func(t *testing.T) {
		st := s.store(t)
		es := auditFixture()
		mustAudit(t, st, es...)
		want := newestAuditFirst(es)
		for _, limit := range []int{1, 7, 30, 89, 90, 91, storage.MaxPageSize + 1} {
			pages, _ := listAuditPages(t, st, storage.AuditQuery{Limit: limit}, 100)
			checkPages(t, fmt.Sprintf("ListAudit limit %d", limit), pages, want, limit)
		}
		// Entries appended after a page was served never shift later pages.
		first, err := st.ListAudit(t.Context(), storage.AuditQuery{Limit: 10})
		if err != nil || first.NextCursor == "" {
			t.Fatalf("first page: cursor %q, %v", first.NextCursor, err)
		}
		older, newer := entry("older", -5, "op-1", storage.AuditEnd, ""), entry("newer", 10_000, "op-1", storage.AuditEnd, "")
		mustAudit(t, st, older, newer)
		pages, _ := listAuditPages(t, st, storage.AuditQuery{Limit: 10, Cursor: first.NextCursor}, 100)
		checkPages(t, "pages after the cursor", pages, append(slices.Clone(want[10:]), "older"), 10)
	})

	t.Run("MalformedCursorIsInvalid", func(t *testing.T) {
		st := s.store(t)
		mustAudit(t, st, auditFixture()[:5]...)
		for _, cur := range badCursors() {
			_, err := st.ListAudit(t.Context(), storage.AuditQuery{Cursor: cur})
			wantIs(t, err, storage.ErrInvalid, fmt.Sprintf("ListAudit(cursor %q)", cur))
		}
	})
}
