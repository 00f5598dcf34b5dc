package chatbox_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/chatboxsdk/chatbox"
	"github.com/chatboxsdk/chatbox/auth"
	"github.com/chatboxsdk/chatbox/client"
	"github.com/chatboxsdk/chatbox/llm/scripted"
)

// A host mounts the Server under a prefix; a client says hello, opens a
// conversation, sends a message and reads the streamed reply.
func Example() {
	authn, _ := auth.NewStaticTokens(map[string]auth.Identity{"token-ana": {UserID: "ana"}})
	model := scripted.New(scripted.WithReplies(scripted.Reply{Deltas: []string{"Hello", ", ", "Ana", "!"}}))
	chat, err := chatbox.New(chatbox.WithLLM(model), chatbox.WithAuthenticator(authn))
	if err != nil {
		fmt.Println(err)
		return
	}
	mux := http.NewServeMux()
	mux.Handle("/chat/", http.StripPrefix("/chat", chat))
	hs := httptest.NewServer(mux)
	defer hs.Close()
	defer chat.Shutdown(context.Background())

	ctx := context.Background()
	c, err := client.Dial(ctx, "ws"+strings.TrimPrefix(hs.URL, "http")+"/chat/ws", client.Options{Token: "token-ana"})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	opened, _ := c.OpenNew(ctx, client.OpenOptions{Title: "greeting"})
	ack, _ := c.Send(ctx, opened.ConversationID, "m1", "Hi!")
	reply, _, _ := c.ReadReply(ctx, opened.ConversationID, nil)
	fmt.Println("acknowledged:", ack.MessageID)
	fmt.Println("reply:", reply.Text)
	fmt.Println("finish:", reply.FinishReason)
	// Output:
	// acknowledged: m1
	// reply: Hello, Ana!
	// finish: stop
}

// New reports every invalid option at once, each by name.
func ExampleNew_invalidOptions() {
	_, err := chatbox.New(chatbox.WithMaxFrameBytes(10), chatbox.WithLLM(nil))
	fmt.Println(err)
	// Output:
	// chatbox: invalid options: WithMaxFrameBytes: must be between 1024 and 16777216, got 10
	// WithLLM: provider is nil
	// WithLLM: a model provider is required (WithLLM or WithModel)
	// WithAuthenticator: an authenticator is required (WithAuthenticator, WithJWT or WithRequestAuthenticator)
}
