package pgstore_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/chatboxsdk/chatbox/storage"
)

// BenchmarkAppendMessage measures appending a new message: one statement
// inserting the row and counting it in its conversation.
func BenchmarkAppendMessage(b *testing.B) {
	st := newStore(b)
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
// the middle of a 10,000-message conversation through a cursor, as a
// client scrolling back through history does.
func BenchmarkListMessagesPage(b *testing.B) {
	st, schema := newStoreSchema(b)
	ctx := b.Context()
	start := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := st.CreateConversation(ctx, storage.Conversation{ID: "c1", UserID: "u", CreatedAt: start}); err != nil {
		b.Fatal(err)
	}
	const n = 10_000
	rows := make([][]any, n)
	for i := range n {
		rows[i] = []any{"c1", fmt.Sprint("m", i), "user", "hello there", start.Add(time.Duration(i) * time.Millisecond)}
	}
	if _, err := pool(b).CopyFrom(ctx, pgx.Identifier{schema, "messages"},
		[]string{"conversation_id", "id", "role", "text", "created_at"}, pgx.CopyFromRows(rows)); err != nil {
		b.Fatal(err)
	}
	if _, err := pool(b).Exec(ctx, "ANALYZE "+schema+".messages"); err != nil {
		b.Fatal(err)
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
// conditional update).
func BenchmarkChangeMode(b *testing.B) {
	st := newStore(b)
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
