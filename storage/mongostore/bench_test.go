package mongostore_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/chatboxsdk/chatbox/storage"
)

// BenchmarkAppendMessage measures appending a new message (conversation
// check, insert, conversation update: three round trips).
func BenchmarkAppendMessage(b *testing.B) {
	st, _ := newStore(b)
	ctx := b.Context()
	start := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := st.CreateConversation(ctx, storage.Conversation{ID: "c1", UserID: "u", CreatedAt: start}); err != nil {
		b.Fatal(err)
	}
	m := storage.Message{ConversationID: "c1", Role: storage.RoleUser, Text: "hello there", Status: storage.MessageComplete}
	i := 0
	for b.Loop() {
		m.ID = fmt.Sprint("m", i)
		m.CreatedAt = start.Add(time.Duration(i) * time.Millisecond)
		if _, created, err := st.AppendMessage(ctx, m); err != nil || !created {
			b.Fatal(created, err)
		}
		i++
	}
}

// BenchmarkListMessagesPage measures reading a page of 50 messages from
// the middle of a 1,000-message conversation through a cursor. FerretDB's
// SQLite backend scans and sorts the whole collection for every page, so
// the figure grows with the collection there; MongoDB uses the index.
func BenchmarkListMessagesPage(b *testing.B) {
	st, _ := newStore(b)
	ctx := b.Context()
	start := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := st.CreateConversation(ctx, storage.Conversation{ID: "c1", UserID: "u", CreatedAt: start}); err != nil {
		b.Fatal(err)
	}
	const n = 1_000
	for i := range n {
		m := storage.Message{ID: fmt.Sprint("m", i), ConversationID: "c1", Role: storage.RoleUser, Text: "hello there",
			CreatedAt: start.Add(time.Duration(i) * time.Millisecond)}
		if _, _, err := st.AppendMessage(ctx, m); err != nil {
			b.Fatal(err)
		}
	}
	q := storage.MessageQuery{ConversationID: "c1", Order: storage.Descending, Limit: n / 2}
	page, err := st.ListMessages(ctx, q)
	if err != nil || page.NextCursor == "" {
		b.Fatal(err)
	}
	q.Cursor, q.Limit = page.NextCursor, storage.DefaultPageSize
	for b.Loop() {
		page, err := st.ListMessages(ctx, q)
		if err != nil || len(page.Messages) != storage.DefaultPageSize {
			b.Fatal(len(page.Messages), err)
		}
	}
}

// BenchmarkChangeMode measures an operator's takeover or release of a
// conversation, alternately, so every call changes the mode (one
// conditional FindOneAndUpdate).
func BenchmarkChangeMode(b *testing.B) {
	st, _ := newStore(b)
	ctx := b.Context()
	start := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := st.CreateConversation(ctx, storage.Conversation{ID: "c1", UserID: "u", CreatedAt: start}); err != nil {
		b.Fatal(err)
	}
	i := 0
	for b.Loop() {
		c := storage.ModeChange{ConversationID: "c1", From: []storage.Mode{storage.ModeAI}, To: storage.ModeOperator,
			Operator: "op-1", At: start.Add(time.Duration(i) * time.Millisecond)}
		if i%2 == 1 {
			c.From, c.To = []storage.Mode{storage.ModeOperator}, storage.ModeAI
		}
		if _, changed, err := st.ChangeMode(ctx, c); err != nil || !changed {
			b.Fatal(changed, err)
		}
		i++
	}
}
