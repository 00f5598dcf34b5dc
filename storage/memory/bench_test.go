package memory_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/chatboxsdk/chatbox/storage"
	"github.com/chatboxsdk/chatbox/storage/memory"
)

// BenchmarkAppendMessage measures appending a new message to a conversation,
// the write made for every accepted user message and every reply start.
func BenchmarkAppendMessage(b *testing.B) {
	ctx := b.Context()
	s := memory.New()
	start := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := s.CreateConversation(ctx, storage.Conversation{ID: "c1", UserID: "u", CreatedAt: start}); err != nil {
		b.Fatal(err)
	}
	m := storage.Message{ConversationID: "c1", Role: storage.RoleUser, Text: "hello there", Status: storage.MessageComplete}
	i := 0
	for b.Loop() {
		m.ID = fmt.Sprint("m", i)
		m.CreatedAt = start.Add(time.Duration(i) * time.Millisecond)
		if _, created, err := s.AppendMessage(ctx, m); err != nil || !created {
			b.Fatal(created, err)
		}
		i++
	}
}

// BenchmarkListMessagesPage measures reading one page of 50 messages from
// the middle of a 10,000-message conversation through a cursor, as a client
// scrolling back through history does.
func BenchmarkListMessagesPage(b *testing.B) {
	ctx := b.Context()
	s := memory.New()
	start := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := s.CreateConversation(ctx, storage.Conversation{ID: "c1", UserID: "u", CreatedAt: start}); err != nil {
		b.Fatal(err)
	}
	const n = 10_000
	for i := range n {
		m := storage.Message{ID: fmt.Sprint("m", i), ConversationID: "c1", Role: storage.RoleUser, CreatedAt: start.Add(time.Duration(i) * time.Millisecond)}
		if _, _, err := s.AppendMessage(ctx, m); err != nil {
			b.Fatal(err)
		}
	}
	q := storage.MessageQuery{ConversationID: "c1", Order: storage.Descending, Limit: storage.MaxPageSize}
	for range n / 2 / storage.MaxPageSize {
		page, err := s.ListMessages(ctx, q)
		if err != nil || page.NextCursor == "" {
			b.Fatal(err)
		}
		q.Cursor = page.NextCursor
	}
	q.Limit = storage.DefaultPageSize
	for b.Loop() {
		page, err := s.ListMessages(ctx, q)
		if err != nil || len(page.Messages) != storage.DefaultPageSize {
			b.Fatal(len(page.Messages), err)
		}
	}
}

// BenchmarkChangeMode measures an operator's takeover or release of a
// conversation, alternately, so every call changes the mode.
func BenchmarkChangeMode(b *testing.B) {
	ctx := b.Context()
	s := memory.New()
	start := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := s.CreateConversation(ctx, storage.Conversation{ID: "c1", UserID: "u", CreatedAt: start}); err != nil {
		b.Fatal(err)
	}
	i := 0
	for b.Loop() {
		c := storage.ModeChange{ConversationID: "c1", From: []storage.Mode{storage.ModeAI}, To: storage.ModeOperator,
			Operator: "op-1", At: start.Add(time.Duration(i) * time.Millisecond)}
		if i%2 == 1 {
			c.From, c.To = []storage.Mode{storage.ModeOperator}, storage.ModeAI
		}
		if _, changed, err := s.ChangeMode(ctx, c); err != nil || !changed {
			b.Fatal(changed, err)
		}
		i++
	}
}
