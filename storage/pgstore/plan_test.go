package pgstore_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/chatboxsdk/chatbox/storage"
)

// TestEveryListingIsServedByAnIndex fills a schema with 20,000
// conversations and asks PostgreSQL for the plan of the first and of a
// later page of every sort, in both directions, alone and for one owner
// by creation or activity: each is an index scan in the listing's order,
// with no sort of the matches.
func TestEveryListingIsServedByAnIndex(t *testing.T) {
	st, schema := newStoreSchema(t)
	const n = 20_000
	t0 := time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)
	rows := make([][]any, n)
	for i := range n {
		created := t0.Add(time.Duration(i) * time.Second)
		rows[i] = []any{fmt.Sprintf("c-%05d", i), fmt.Sprintf("user-%d", i%50), "active", created, created.Add(time.Duration(i%97) * time.Minute),
			int64(i % 31), int64(i % 17 * 10), int64(i % 7)}
	}
	p := pool(t)
	if _, err := p.CopyFrom(t.Context(), pgx.Identifier{schema, "conversations"},
		[]string{"id", "user_id", "status", "created_at", "updated_at", "message_count", "input_tokens", "output_tokens"},
		pgx.CopyFromRows(rows)); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Exec(t.Context(), "ANALYZE "+schema+".conversations"); err != nil {
		t.Fatal(err)
	}
	var qs []storage.ConversationQuery
	for _, sort := range []storage.ConversationSort{storage.SortByCreated, storage.SortByUpdated, storage.SortByMessages, storage.SortByTokens} {
		for _, asc := range []bool{false, true} {
			qs = append(qs, storage.ConversationQuery{Sort: sort, Ascending: asc})
			if sort == storage.SortByCreated || sort == storage.SortByUpdated {
				qs = append(qs, storage.ConversationQuery{UserID: "user-7", Sort: sort, Ascending: asc})
			}
		}
	}
	for _, q := range qs {
		first, err := st.ListConversations(t.Context(), q)
		if err != nil || first.NextCursor == "" {
			t.Fatalf("ListConversations(%+v): %v, cursor %q", q, err, first.NextCursor)
		}
		later := q
		later.Cursor = first.NextCursor
		for _, q := range []storage.ConversationQuery{q, later} {
			sql, args, err := st.ConversationPageSQL(q)
			if err != nil {
				t.Fatal(err)
			}
			var plan string
			if err := p.QueryRow(t.Context(), "EXPLAIN (FORMAT JSON) "+sql, args...).Scan(&plan); err != nil {
				t.Fatalf("EXPLAIN %s: %v", sql, err)
			}
			if !strings.Contains(plan, `"Index Scan`) || strings.Contains(plan, `"Node Type": "Sort"`) ||
				strings.Contains(plan, `"Node Type": "Incremental Sort"`) {
				t.Errorf("sort %d, ascending %v, user %q, cursor %v: not an ordered index scan:\n%s",
					q.Sort, q.Ascending, q.UserID, q.Cursor != "", plan)
			}
		}
	}
}
