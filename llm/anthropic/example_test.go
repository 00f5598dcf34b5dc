package anthropic_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"

	"github.com/chatboxsdk/chatbox/llm"
	"github.com/chatboxsdk/chatbox/llm/anthropic"
)

// A stream from a local server replaying a recorded reply.
func ExampleNew() {
	recorded, _ := os.ReadFile("testdata/reply.sse")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = w.Write(recorded)
	}))
	defer srv.Close()

	p, err := anthropic.New(anthropic.WithBaseURL(srv.URL), anthropic.WithAPIKey("sk-ant-example"), anthropic.WithModel("claude-sonnet-4-5"))
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
	// usage 31 1
	// usage 31 17
	// 6 deltas, finish stop
}

// Extended thinking streams as reasoning, apart from the answer.
func ExampleWithThinking() {
	recorded, _ := os.ReadFile("testdata/thinking.sse")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = w.Write(recorded)
	}))
	defer srv.Close()

	p, err := anthropic.New(anthropic.WithBaseURL(srv.URL), anthropic.WithAPIKey("sk-ant-example"),
		anthropic.WithModel("claude-sonnet-4-5"), anthropic.WithThinking(2048))
	if err != nil {
		fmt.Println(err)
		return
	}
	s, err := p.Stream(context.Background(), llm.Request{Messages: []llm.Message{{Role: llm.RoleUser, Text: "What is the answer?"}}})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()
	var reasoning, answer string
	signed := false
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
		case llm.EventReasoning:
			reasoning += ev.Text
			signed = signed || ev.Signature != ""
		case llm.EventDelta:
			answer += ev.Text
		case llm.EventUsage:
			if ev.Usage.ReasoningTokens > 0 {
				fmt.Println("reasoning tokens", ev.Usage.ReasoningTokens, "of", ev.Usage.OutputTokens)
			}
		}
	}
	fmt.Printf("reasoning %q, signed: %v\n", reasoning, signed)
	fmt.Printf("answer %q\n", answer)
	// Output:
	// reasoning tokens 84 of 90
	// reasoning "The user wants the conformance answer.\nThinking about “it”: ünïcödé.", signed: true
	// answer "The answer is 42."
}
