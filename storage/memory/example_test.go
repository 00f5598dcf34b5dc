package memory_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/chatboxsdk/chatbox/storage"
	"github.com/chatboxsdk/chatbox/storage/memory"
)

func Example() {
	ctx := context.Background()
	s := memory.New()
	start := time.Date(2030, 1, 1, 9, 0, 0, 0, time.UTC)

	err := s.CreateConversation(ctx, storage.Conversation{
		ID: "conv-1", UserID: "alice", Title: "Opening hours", CreatedAt: start,
	})
	if err != nil {
		panic(err)
	}
	for i, m := range []storage.Message{
		{ID: "q1", Role: storage.RoleUser, Text: "When do you open?"},
		{ID: "a1", Role: storage.RoleAssistant, Text: "At nine.", ReplyTo: "q1"},
		{ID: "q1", Role: storage.RoleUser, Text: "When do you open?"}, // a retry
	} {
		m.ConversationID = "conv-1"
		m.Status = storage.MessageComplete
		m.CreatedAt = start.Add(time.Duration(i+1) * time.Second)
		_, created, err := s.AppendMessage(ctx, m)
		if err != nil {
			panic(err)
		}
		fmt.Printf("append %s: created=%v\n", m.ID, created)
	}

	page, err := s.ListMessages(ctx, storage.MessageQuery{ConversationID: "conv-1"})
	if err != nil {
		panic(err)
	}
	for _, m := range page.Messages {
		fmt.Printf("%s: %s\n", m.Role, m.Text)
	}
	convs, err := s.ListConversations(ctx, storage.ConversationQuery{UserID: "alice"})
	if err != nil {
		panic(err)
	}
	fmt.Println(convs.Conversations[0].Title, convs.Conversations[0].UpdatedAt.Format(time.TimeOnly))
	// Output:
	// append q1: created=true
	// append a1: created=true
	// append q1: created=false
	// user: When do you open?
	// assistant: At nine.
	// Opening hours 09:00:02
}

// An operator takes a conversation over from the model; a second operator
// arriving at the same time is refused and told who holds it.
func ExampleStore_ChangeMode() {
	ctx := context.Background()
	s := memory.New()
	start := time.Date(2030, 1, 1, 9, 0, 0, 0, time.UTC)
	if err := s.CreateConversation(ctx, storage.Conversation{ID: "conv-1", UserID: "alice", CreatedAt: start}); err != nil {
		panic(err)
	}
	help := storage.ModeChange{ConversationID: "conv-1", From: []storage.Mode{storage.ModeAI}, To: storage.ModeWaiting, At: start.Add(time.Minute)}
	if _, _, err := s.ChangeMode(ctx, help); err != nil {
		panic(err)
	}
	waiting, _ := s.ListConversations(ctx, storage.ConversationQuery{Mode: storage.ModeWaiting, WithTotal: true})
	fmt.Println("waiting for a person:", waiting.Total)

	takeover := func(operator string) {
		c, changed, err := s.ChangeMode(ctx, storage.ModeChange{ConversationID: "conv-1", From: []storage.Mode{storage.ModeAI, storage.ModeWaiting},
			To: storage.ModeOperator, Operator: operator, At: start.Add(2 * time.Minute)})
		fmt.Printf("%s: changed=%v conflict=%v, held by %s\n", operator, changed, errors.Is(err, storage.ErrConflict), c.Operator)
	}
	takeover("bob")
	takeover("carol")
	takeover("bob") // a retry: accepted, nothing changes
	// Output:
	// waiting for a person: 1
	// bob: changed=true conflict=false, held by bob
	// carol: changed=false conflict=true, held by bob
	// bob: changed=false conflict=false, held by bob
}
