package scripted_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/chatboxsdk/chatbox/llm"
	"github.com/chatboxsdk/chatbox/llm/scripted"
)

// show streams req from p and prints each event.
func show(p llm.Provider, req llm.Request) {
	s, err := p.Stream(context.Background(), req)
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	defer s.Close()
	for {
		ev, err := s.Recv()
		if err == io.EOF {
			return
		}
		if err != nil {
			fmt.Println("error:", err)
			return
		}
		switch ev.Kind {
		case llm.EventDelta:
			fmt.Printf("delta %q\n", ev.Text)
		case llm.EventUsage:
			fmt.Printf("usage in=%d out=%d\n", ev.Usage.InputTokens, ev.Usage.OutputTokens)
		case llm.EventFinish:
			fmt.Println("finish", ev.FinishReason)
		}
	}
}

func ExampleNew() {
	p := scripted.New(scripted.WithReplies(
		scripted.Reply{Deltas: scripted.Words("Hello, world!"), Usage: llm.Usage{InputTokens: 3, OutputTokens: 2}},
		scripted.Reply{Deltas: []string{"Too"}, Err: &llm.Error{Kind: llm.KindOverloaded, Provider: "scripted"}},
	))
	req := llm.Request{Messages: []llm.Message{{Role: llm.RoleUser, Text: "Hi"}}}
	show(p, req)
	show(p, req)
	show(p, req)
	fmt.Println(len(p.Requests()), "requests received")
	// Output:
	// delta "Hello,"
	// delta " world!"
	// usage in=3 out=2
	// finish stop
	// delta "Too"
	// error: llm: scripted: overloaded
	// error: scripted: no scripted reply left
	// 3 requests received
}

func ExampleWithResponder() {
	echo := func(req llm.Request) scripted.Reply {
		last := req.Messages[len(req.Messages)-1].Text
		return scripted.Reply{Deltas: scripted.Words("You said: " + strings.ToUpper(last))}
	}
	p := scripted.New(scripted.WithResponder(echo))
	show(p, llm.Request{Messages: []llm.Message{{Role: llm.RoleUser, Text: "good morning"}}})
	// Output:
	// delta "You"
	// delta " said:"
	// delta " GOOD"
	// delta " MORNING"
	// finish stop
}

func ExampleDemo() {
	demo := scripted.Demo()
	reply := demo(llm.Request{Messages: []llm.Message{
		{Role: llm.RoleUser, Text: "Hello"},
		{Role: llm.RoleAssistant, Text: "Hi! How can I help?"},
		{Role: llm.RoleUser, Text: "Tell me a joke."},
	}})
	fmt.Println(strings.Join(reply.Deltas, ""))
	fmt.Println(len(reply.Deltas), "deltas,", reply.Delay, "apart")
	// Output:
	// You wrote: “Tell me a joke.”
	//
	// Our conversation has 3 messages so far, 2 messages from you, so the whole history reaches me.
	//
	// What this demo shows:
	//
	// - the answer **streams** word by word, and *Stop* ends it;
	// - every turn of the conversation reaches the model;
	// - Markdown is drawn safely: lists, `code`, tables.
	//
	// | Turns | Count |
	// |---|---|
	// | all messages | 3 |
	// | yours | 2 |
	// | words so far | 10 |
	//
	// I am a scripted model; plug in a real provider to get real answers:
	//
	// ```go
	// srv, err := chatbox.New(chatbox.WithLLM(provider), chatbox.WithAuthenticator(authn))
	// ```
	// 100 deltas, 30ms apart
}

func ExampleWords() {
	fmt.Printf("%q\n", scripted.Words("Streams arrive\nword by word."))
	// Output:
	// ["Streams" " arrive" "\nword" " by" " word."]
}

// A test stops a stalled reply and checks the provider saw it.
func ExampleProvider_WaitCancelled() {
	p := scripted.New(scripted.WithReplies(scripted.Reply{Deltas: []string{"thinking", "..."}, StallAfter: 1}))
	ctx, stop := context.WithCancel(context.Background())
	s, _ := p.Stream(ctx, llm.Request{})
	defer s.Close()
	ev, _ := s.Recv()
	fmt.Println("got", ev.Text)

	stop() // as a user's stop button would
	_ = p.WaitCancelled(context.Background(), 1)
	_, err := s.Recv()
	fmt.Println("cancelled:", p.Cancelled(), errors.Is(err, context.Canceled))
	// Output:
	// got thinking
	// cancelled: 1 true
}
