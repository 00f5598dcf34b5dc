package encrypted_test

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/chatboxsdk/chatbox/storage"
	"github.com/chatboxsdk/chatbox/storage/encrypted"
	"github.com/chatboxsdk/chatbox/storage/memory"
)

func Example() {
	ctx := context.Background()
	// In production: encrypted.ParseKey("k1", os.Getenv("CHATBOX_ENCRYPTION_KEY")),
	// with a key made by `openssl rand -base64 32`.
	key, err := encrypted.ParseKey("k1", "3q2+7wCZUt2hVK3h9CaLP1VyC7xV8m0Ro1kV4B8x0rU=")
	if err != nil {
		fmt.Println(err)
		return
	}
	inner := memory.New() // or a *mongostore.Store
	st, err := encrypted.New(inner, key)
	if err != nil {
		fmt.Println(err)
		return
	}
	at := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	_ = st.CreateConversation(ctx, storage.Conversation{ID: "c1", UserID: "alice", Title: "Travel plans", CreatedAt: at})
	_, _, _ = st.AppendMessage(ctx, storage.Message{ID: "m1", ConversationID: "c1", Role: storage.RoleUser, Text: "Book me a train to Lyon", CreatedAt: at})

	m, _ := st.GetMessage(ctx, "c1", "m1")
	fmt.Println("through the wrapper:", m.Text)
	raw, _ := inner.GetMessage(ctx, "c1", "m1")
	fmt.Println("in the inner store:", strings.HasPrefix(raw.Text, "v1:k1:"), strings.Contains(raw.Text, "Lyon"))

	_, err = encrypted.New(inner, encrypted.Key{ID: "k2", Secret: make([]byte, 32)})
	fmt.Println(err)
	// Output:
	// through the wrapper: Book me a train to Lyon
	// in the inner store: true false
	// encrypted: key "k2": secret is a repeated pattern, not random bytes
}
