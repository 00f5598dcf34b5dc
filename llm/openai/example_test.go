package openai_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"

	"github.com/chatboxsdk/chatbox/llm"
	"github.com/chatboxsdk/chatbox/llm/openai"
)

// A stream from a local server replaying a recorded reply.
func ExampleNew() {
	recorded, _ := os.ReadFile("testdata/reply.sse")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = w.Write(recorded)
	}))
	defer srv.Close()

	p, err := openai.New(openai.WithBaseURL(srv.URL+"/v1"), openai.WithAPIKey("sk-example"), openai.WithModel("gpt-4o-mini"))
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
	// usage 31 17
	// 6 deltas, finish stop
}

// A streamed tool call from a local server replaying a recorded reply.
func ExampleProvider_Stream_toolCall() {
	recorded, _ := os.ReadFile("testdata/tool_call.sse")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = w.Write(recorded)
	}))
	defer srv.Close()

	p, err := openai.New(openai.WithBaseURL(srv.URL+"/v1"), openai.WithModel("gpt-4o-mini"))
	if err != nil {
		fmt.Println(err)
		return
	}
	s, err := p.Stream(context.Background(), llm.Request{
		Tools: []llm.ToolDef{{
			Name:        "lookup_order",
			Description: "Looks an order up by its id.",
			InputSchema: []byte(`{"type":"object","properties":{"order_id":{"type":"string"}},"required":["order_id"]}`),
		}},
		Messages: []llm.Message{{Role: llm.RoleUser, Text: "Where is order 1234?"}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()
	pieces := 0
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
		case llm.EventToolCallStart:
			fmt.Println("call starts:", ev.Call.Name)
		case llm.EventToolCallDelta:
			pieces++
		case llm.EventToolCall:
			fmt.Println("call:", ev.Call.Name, "in", pieces, "pieces:", ev.Call.Arguments)
		case llm.EventUsage:
			fmt.Println("usage", ev.Usage.InputTokens, ev.Usage.OutputTokens, "cached", ev.Usage.CachedInputTokens)
		case llm.EventFinish:
			fmt.Println("finish", ev.FinishReason)
		}
	}
	// Output:
	// call starts: lookup_order
	// call: lookup_order in 5 pieces: {"order_id":"1234","note":"ünïcödé, \"quoted\", a \\ backslash"}
	// usage 88 24 cached 64
	// finish tool_calls
}

// A provider for an Ollama vision model: it declares images and text
// files, so a PDF is refused before any request is made.
func ExampleWithFileTypes() {
	p, err := openai.New(
		openai.WithBaseURL("http://localhost:11434/v1"),
		openai.WithModel("llava"),
		openai.WithFileTypes("image/*", "text/*"),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, mt := range []string{"image/jpeg", "text/markdown", "application/pdf"} {
		fmt.Println(mt, llm.AcceptsFile(p, mt))
	}
	err = llm.CheckFiles(p, llm.Request{Messages: []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{
		{Kind: llm.PartText, Text: "Summarise it."},
		{Kind: llm.PartFile, File: &llm.File{Name: "contract.pdf", MediaType: "application/pdf", Data: []byte("%PDF-1.7")}},
	}}}})
	fmt.Println(err)
	// Output:
	// image/jpeg true
	// text/markdown true
	// application/pdf false
	// llm: openai: invalid_request: file "contract.pdf": files of type "application/pdf" are not accepted by this model
}
