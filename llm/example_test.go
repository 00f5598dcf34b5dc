package llm_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/chatboxsdk/chatbox/llm"
	"github.com/chatboxsdk/chatbox/llm/scripted"
)

// A rate-limited first attempt is retried; the reply then streams.
func ExampleWithRetry() {
	p := scripted.New(scripted.WithReplies(
		scripted.Reply{StartErr: &llm.Error{Kind: llm.KindRateLimited, Provider: "scripted", RetryAfter: 10 * time.Millisecond}},
		scripted.Reply{Deltas: []string{"Hello", " again"}},
	))
	s, err := llm.WithRetry(p, llm.RetryPolicy{MaxAttempts: 3}).Stream(context.Background(), llm.Request{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()
	text, err := collect(s)
	fmt.Printf("%q after %d attempts (%v)\n", text, len(p.Requests()), err)
	// Output:
	// "Hello again" after 2 attempts (EOF)
}

// An overloaded primary model hands the reply to the next one before
// anything was streamed.
func ExampleFallback() {
	primary := scripted.New(scripted.WithReplies(scripted.Reply{StartErr: &llm.Error{Kind: llm.KindOverloaded, Provider: "scripted"}}))
	backup := scripted.New(scripted.WithResponder(func(req llm.Request) scripted.Reply {
		return scripted.Reply{Deltas: []string{"answered by ", req.Model}}
	}))
	p := llm.Fallback(llm.WithModel(primary, "large"), llm.WithModel(backup, "small"))
	s, err := p.Stream(context.Background(), llm.Request{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()
	text, _ := collect(s)
	fmt.Println(text)
	// Output:
	// answered by small
}

func ExampleKindForStatus() {
	fmt.Println(llm.KindForStatus(429), llm.KindForStatus(529), llm.KindForStatus(401))
	// Output:
	// rate_limited overloaded authentication
}

// A server checks a message's attachments against the model before it
// calls it: this model takes images but no PDFs, so the PDF is refused,
// named, and the provider is never called.
func ExampleCheckFiles() {
	model := scripted.New(scripted.WithFileTypes("image/*", "text/*"))
	req := llm.Request{Messages: []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{
		{Kind: llm.PartText, Text: "What do these say?"},
		{Kind: llm.PartFile, File: &llm.File{Name: "scan.png", MediaType: "image/png", Data: []byte("\x89PNG...")}},
		{Kind: llm.PartFile, File: &llm.File{Name: "contract.pdf", MediaType: "application/pdf", Data: []byte("%PDF-1.7...")}},
	}}}}
	err := llm.CheckFiles(model, req)
	var refused *llm.FileTypeError
	if errors.As(err, &refused) {
		fmt.Printf("%s: %s refused (%s)\n", llm.KindOf(err), refused.Name, refused.MediaType)
	}
	fmt.Println("requests made:", len(model.Requests()))
	fmt.Println("text files everywhere:", llm.AcceptsFile(model, "text/markdown"))
	// Output:
	// invalid_request: contract.pdf refused (application/pdf)
	// requests made: 0
	// text files everywhere: true
}
