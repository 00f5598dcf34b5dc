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

// TestEveryUsageListingIsServedByAnIndex fills a schema with 30,000 usage
// rows and asks PostgreSQL for the plan of the first and of a later page
// of the usage listing, alone, for one user, one model, both, and over a
// range of days: each is an index scan in the listing's order whose index
// conditions hold every condition of the page, the cursor's included, so
// a page starts where the previous one ended, with no sort and no rows
// read and dropped.
func TestEveryUsageListingIsServedByAnIndex(t *testing.T) {
	st, schema := newStoreSchema(t)
	const users, models, days = 100, 3, 100
	rows := make([][]any, 0, users*models*days)
	for d := range days {
		for u := range users {
			for m := range models {
				rows = append(rows, []any{fmt.Sprintf("user-%03d", u), fmt.Sprintf("model-%d", m),
					time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, d), int64(1), int64(d + u + m)})
			}
		}
	}
	p := pool(t)
	if _, err := p.CopyFrom(t.Context(), pgx.Identifier{schema, "usage_rows"},
		[]string{"user_id", "model", "day", "replies", "input_tokens"}, pgx.CopyFromRows(rows)); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Exec(t.Context(), "ANALYZE "+schema+".usage_rows"); err != nil {
		t.Fatal(err)
	}
	from, before := time.Date(2031, 2, 1, 0, 0, 0, 0, time.UTC), time.Date(2031, 3, 1, 0, 0, 0, 0, time.UTC)
	for _, q := range []storage.UsageQuery{
		{},
		{UserID: "user-007"},
		{Model: "model-1"},
		{UserID: "user-007", Model: "model-1"},
		{From: from, Before: before},
		{UserID: "user-007", From: from, Before: before},
	} {
		q.Limit = 20
		first, err := st.ListUsage(t.Context(), q)
		if err != nil || first.NextCursor == "" {
			t.Fatalf("ListUsage(%+v): %v, cursor %q", q, err, first.NextCursor)
		}
		later := q
		later.Cursor = first.NextCursor
		for _, q := range []storage.UsageQuery{q, later} {
			sql, args, err := st.UsagePageSQL(q)
			if err != nil {
				t.Fatal(err)
			}
			var plan string
			if err := p.QueryRow(t.Context(), "EXPLAIN (FORMAT JSON) "+sql, args...).Scan(&plan); err != nil {
				t.Fatalf("EXPLAIN %s: %v", sql, err)
			}
			if !strings.Contains(plan, `"Index Scan`) || strings.Contains(plan, `"Node Type": "Sort"`) ||
				strings.Contains(plan, `"Node Type": "Incremental Sort"`) || strings.Contains(plan, `"Filter"`) {
				t.Errorf("usage listing %+v, cursor %v: not an ordered index scan:\n%s", q, q.Cursor != "", plan)
			}
		}
	}
}

// TestEveryBlobListingIsServedByAnIndex fills a schema with 30,000 blobs
// and asks PostgreSQL for the plan of the first and of a later page of
// the blob listing by conversation, by user and by creation alone: each
// is an index scan in the listing's order whose index conditions hold the
// cursor's, so a deep page costs what the first does. (Unsent filters
// the rows the index gives.)
func TestEveryBlobListingIsServedByAnIndex(t *testing.T) {
	st, schema := newStoreSchema(t)
	const n = 30_000
	t0 := time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)
	rows := make([][]any, n)
	for i := range n {
		rows[i] = []any{fmt.Sprintf("conv-%03d", i%300), fmt.Sprintf("f-%05d", i), fmt.Sprintf("user-%02d", i%30),
			"image/png", t0.Add(time.Duration(i/2) * time.Second)}
	}
	p := pool(t)
	if _, err := p.CopyFrom(t.Context(), pgx.Identifier{schema, "blobs"},
		[]string{"conversation_id", "id", "user_id", "media_type", "created_at"}, pgx.CopyFromRows(rows)); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Exec(t.Context(), "ANALYZE "+schema+".blobs"); err != nil {
		t.Fatal(err)
	}
	for _, q := range []storage.BlobQuery{
		{ConversationID: "conv-007"},
		{UserID: "user-07"},
		{CreatedBefore: t0.Add(10 * time.Hour)},
		{UserID: "user-07", CreatedBefore: t0.Add(10 * time.Hour)},
		{ConversationID: "conv-007", Unsent: true},
	} {
		q.Limit = 20
		first, err := st.ListBlobs(t.Context(), q)
		if err != nil || first.NextCursor == "" {
			t.Fatalf("ListBlobs(%+v): %v, cursor %q", q, err, first.NextCursor)
		}
		later := q
		later.Cursor = first.NextCursor
		for _, q := range []storage.BlobQuery{q, later} {
			sql, args, err := st.BlobPageSQL(q)
			if err != nil {
				t.Fatal(err)
			}
			var plan string
			if err := p.QueryRow(t.Context(), "EXPLAIN (FORMAT JSON) "+sql, args...).Scan(&plan); err != nil {
				t.Fatalf("EXPLAIN %s: %v", sql, err)
			}
			if !strings.Contains(plan, `"Index Scan`) || strings.Contains(plan, `"Node Type": "Sort"`) ||
				strings.Contains(plan, `"Node Type": "Incremental Sort"`) || (!q.Unsent && strings.Contains(plan, `"Filter"`)) {
				t.Errorf("blob listing %+v, cursor %v: not an ordered index scan:\n%s", q, q.Cursor != "", plan)
			}
		}
	}
}
