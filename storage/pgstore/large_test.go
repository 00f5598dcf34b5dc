package pgstore_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/chatboxsdk/chatbox/storage"
)

// TestHundredThousandMessagesPageThroughInOrder seeds one conversation
// with 100,000 messages (in bulk, with COPY, three to a millisecond) and
// pages through it with the Store in both orders at the largest page
// size: every message once, in order, each page from the index.
func TestHundredThousandMessagesPageThroughInOrder(t *testing.T) {
	if testing.Short() {
		t.Skip("large conversation skipped in -short mode")
	}
	st, schema := newStoreSchema(t)
	const n = 100_000
	t0 := time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := st.CreateConversation(t.Context(), storage.Conversation{ID: "big", UserID: "u", CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	ids := make([]string, n)
	rows := make([][]any, n)
	for i := range n {
		ids[i] = fmt.Sprintf("m%06d", i)
		// Inserted in an order unrelated to the listing's.
		j := (i * 7919) % n
		rows[i] = []any{"big", fmt.Sprintf("m%06d", j), "user", "x", t0.Add(time.Duration(j/3) * time.Millisecond)}
	}
	began := time.Now()
	copied, err := pool(t).CopyFrom(t.Context(), pgx.Identifier{schema, "messages"},
		[]string{"conversation_id", "id", "role", "text", "created_at"}, pgx.CopyFromRows(rows))
	if err != nil || copied != n {
		t.Fatalf("COPY: %d rows, %v", copied, err)
	}
	if _, err := pool(t).Exec(t.Context(), "ANALYZE "+schema+".messages"); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d messages copied in %v", n, time.Since(began).Round(time.Millisecond))
	for _, order := range []storage.Order{storage.Ascending, storage.Descending} {
		began := time.Now()
		q := storage.MessageQuery{ConversationID: "big", Order: order, Limit: storage.MaxPageSize}
		i, pages := 0, 0
		for {
			page, err := st.ListMessages(t.Context(), q)
			if err != nil {
				t.Fatal(err)
			}
			pages++
			for _, m := range page.Messages {
				want := ids[i]
				if order == storage.Descending {
					want = ids[n-1-i]
				}
				if m.ID != want {
					t.Fatalf("order %d: message #%d is %s, want %s", order, i, m.ID, want)
				}
				i++
			}
			if page.NextCursor == "" {
				break
			}
			q.Cursor = page.NextCursor
		}
		if i != n || pages != n/storage.MaxPageSize {
			t.Fatalf("order %d: listed %d messages in %d pages, want %d in %d", order, i, pages, n, n/storage.MaxPageSize)
		}
		t.Logf("order %d: %d pages in %v", order, pages, time.Since(began).Round(time.Millisecond))
	}
}
