package mongostore

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/chatboxsdk/chatbox/storage"
)

// TestHundredThousandMessagesPageThroughInOrder seeds one conversation
// with 100,000 messages (in bulk, straight into the collection, with
// CreatedAt ties) and pages through it with the Store in both orders.
//
// FerretDB's SQLite backend sorts in memory after reading every document
// of the collection, so each page costs a full scan there (about 6s per
// page at this size on a 2-core machine): the test runs against it only
// with CHATBOX_TEST_LARGE=1. On MongoDB the index serves each page.
func TestHundredThousandMessagesPageThroughInOrder(t *testing.T) {
	uri := os.Getenv("CHATBOX_TEST_MONGODB_URI")
	if uri == "" || os.Getenv("CHATBOX_TEST_LARGE") != "1" {
		t.Skip("set CHATBOX_TEST_MONGODB_URI and CHATBOX_TEST_LARGE=1 to page 100,000 messages through the database")
	}
	const n = 100_000
	client, err := mongo.Connect(options.Client().ApplyURI(uri))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Disconnect(context.Background())
	db := fmt.Sprintf("chatbox_large_%d", time.Now().UnixNano())
	defer client.Database(db).Drop(context.Background())
	st, err := New(t.Context(), client, WithDatabase(db), WithOperationTimeout(5*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := st.CreateConversation(t.Context(), storage.Conversation{ID: "big", UserID: "u", CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	ids := make([]string, n)
	batch := make([]any, 0, 5000)
	for i := range n {
		ids[i] = fmt.Sprintf("m%06d", i)
		// Three messages share each millisecond.
		batch = append(batch, toMsgDoc(storage.Message{ID: ids[i], ConversationID: "big", Role: storage.RoleUser,
			Text: "x", CreatedAt: t0.Add(time.Duration(i/3) * time.Millisecond)}))
		if len(batch) == cap(batch) || i == n-1 {
			if _, err := st.msgs.InsertMany(t.Context(), batch); err != nil {
				t.Fatal(err)
			}
			batch = batch[:0]
		}
	}
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
		t.Logf("order %d: %d pages in %v", order, pages, time.Since(began))
	}
}
