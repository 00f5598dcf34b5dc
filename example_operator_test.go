package chatbox_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"

	"github.com/chatboxsdk/chatbox"
	"github.com/chatboxsdk/chatbox/auth"
	"github.com/chatboxsdk/chatbox/client"
	"github.com/chatboxsdk/chatbox/llm/scripted"
	"github.com/chatboxsdk/chatbox/protocol"
)

// An operator (an identity with the "operator" role) watches a user's
// conversation, takes it over, writes to the user and hands it back.
func Example_operatorTakeover() {
	authn, _ := auth.NewStaticTokens(map[string]auth.Identity{
		"token-ana":  {UserID: "ana"},
		"token-olga": {UserID: "olga", Name: "Olga", Roles: []string{chatbox.DefaultOperatorRole}},
	})
	chat, err := chatbox.New(chatbox.WithLLM(scripted.New()), chatbox.WithAuthenticator(authn))
	if err != nil {
		fmt.Println(err)
		return
	}
	hs := httptest.NewServer(chat)
	defer hs.Close()
	defer chat.Shutdown(context.Background())
	ctx := context.Background()
	dial := func(token string) *client.Client {
		c, err := client.Dial(ctx, "ws"+strings.TrimPrefix(hs.URL, "http")+"/ws", client.Options{Token: token})
		if err != nil {
			panic(err)
		}
		return c
	}
	user, operator := dial("token-ana"), dial("token-olga")
	defer user.Close()
	defer operator.Close()

	opened, _ := user.OpenNew(ctx, client.OpenOptions{})
	conv := opened.ConversationID
	_ = user.Help(ctx, conv) // ask for a person
	watched, _ := operator.Watch(ctx, conv)
	fmt.Println("watching", watched.Conversation.UserID+"'s conversation, mode", watched.Conversation.Mode)
	_ = operator.Takeover(ctx, conv)
	_, _ = operator.Send(ctx, conv, "op1", "Hello Ana, Olga here.")
	_ = operator.Release(ctx, conv)

	for {
		f, err := user.Next(ctx)
		if err != nil {
			fmt.Println(err)
			return
		}
		switch {
		case f.Type == protocol.TypeModeChanged && f.Operator != nil:
			fmt.Println("user sees mode", f.Mode, "with", f.Operator.Name)
		case f.Type == protocol.TypeModeChanged:
			fmt.Println("user sees mode", f.Mode)
		case f.Type == protocol.TypeMessage:
			fmt.Println("user sees", f.Message.Role+":", f.Message.Text)
		}
		if f.Type == protocol.TypeModeChanged && f.Mode == protocol.ModeAI {
			return
		}
	}
	// Output:
	// watching ana's conversation, mode waiting
	// user sees mode waiting
	// user sees mode operator with Olga
	// user sees operator: Hello Ana, Olga here.
	// user sees mode ai with Olga
}
