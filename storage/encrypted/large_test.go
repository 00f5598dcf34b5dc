package encrypted_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/chatboxsdk/chatbox/storage"
	"github.com/chatboxsdk/chatbox/storage/memory"
)

// TestHundredThousandMessagesPageThroughInOrder appends 100,000 messages,
// tied in CreatedAt by threes, through the encrypting wrapper and pages
// through them in both orders: complete, in order, no duplicates, every
// text decrypted. Under the race detector, which makes it 25 times
// slower, it uses 20,000 messages; run it without -race for the full size.
func TestHundredThousandMessagesPageThroughInOrder(t *testing.T) {
	if testing.Short() {
		t.Skip("large conversation skipped in -short mode")
	}
	n := 100_000
	if raceEnabled {
		n = 20_000
	}
	s := wrap(t, memory.New(), newKey(t, "k1"))
	t0 := time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := s.CreateConversation(t.Context(), storage.Conversation{ID: "big", UserID: "u", CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	ids := make([]string, n)
	for i := range n {
		ids[i] = fmt.Sprintf("m%06d", i)
	}
	// Append in an order unrelated to the listing order.
	for k := range n {
		i := (k * 7919) % n
		m := storage.Message{ID: ids[i], ConversationID: "big", Role: storage.RoleUser, Text: "text " + ids[i],
			CreatedAt: t0.Add(time.Duration(i/3) * time.Millisecond)}
		if _, created, err := s.AppendMessage(t.Context(), m); err != nil || !created {
			t.Fatalf("append %s: created %v, %v", m.ID, created, err)
		}
	}
	for _, order := range []storage.Order{storage.Ascending, storage.Descending} {
		q := storage.MessageQuery{ConversationID: "big", Order: order, Limit: storage.MaxPageSize}
		i := 0
		for {
			page, err := s.ListMessages(t.Context(), q)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range page.Messages {
				want := ids[i]
				if order == storage.Descending {
					want = ids[n-1-i]
				}
				if m.ID != want || m.Text != "text "+want {
					t.Fatalf("order %d: message #%d is %s %q, want %s", order, i, m.ID, m.Text, want)
				}
				i++
			}
			if page.NextCursor == "" {
				break
			}
			q.Cursor = page.NextCursor
		}
		if i != n {
			t.Fatalf("order %d: listed %d messages, want %d", order, i, n)
		}
	}
}
