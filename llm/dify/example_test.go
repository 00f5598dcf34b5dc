package dify_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"

	"github.com/chatboxsdk/chatbox/llm"
	"github.com/chatboxsdk/chatbox/llm/dify"
)

// A stream from a local server replaying a recorded reply.
func ExampleNew() {
	recorded, _ := os.ReadFile("testdata/reply.sse")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = w.Write(recorded)
	}))
	defer srv.Close()

	p, err := dify.New(dify.WithBaseURL(srv.URL+"/v1"), dify.WithAPIKey("app-example"))
	if err != nil {
		fmt.Println(err)
		return
	}
	s, err := p.Stream(context.Background(), llm.Request{
		System:   "Be brief.",
		Messages: []llm.Message{{Role: llm.RoleUser, Text: "Please reply with the conformance text."}},
		User:     "user-1", ConversationID: "conversation-1",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()
	deltas := 0
	for {
		ev, err := s.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			fmt.Println(err)
			return
		}
		switch ev.Kind {
		case llm.EventDelta:
			deltas++
		case llm.EventUsage:
			fmt.Println("usage", ev.Usage.InputTokens, ev.Usage.OutputTokens)
		case llm.EventFinish:
			fmt.Println(deltas, "deltas, finish", ev.FinishReason)
		}
	}
	// Output:
	// usage 1033 135
	// 6 deltas, finish stop
}
