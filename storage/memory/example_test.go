package memory_test

import (
	"context"
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
