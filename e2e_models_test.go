package chatbox_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/chatboxsdk/chatbox"
	"github.com/chatboxsdk/chatbox/chatboxtest"
	"github.com/chatboxsdk/chatbox/client"
	"github.com/chatboxsdk/chatbox/llm"
	"github.com/chatboxsdk/chatbox/llm/scripted"
	"github.com/chatboxsdk/chatbox/protocol"
)

func TestModelRegistryIsOrderedAndChoiceIsValidated(t *testing.T) {
	fast := scripted.New(scripted.WithResponder(func(llm.Request) scripted.Reply { return scripted.Reply{Deltas: []string{"fast"}} }))
	smart := scripted.New(scripted.WithResponder(func(llm.Request) scripted.Reply { return scripted.Reply{Deltas: []string{"smart"}} }))
	temp := 0.2
	h := chatboxtest.New(t, chatboxtest.Config{Provider: fast, Options: []chatbox.Option{
		chatbox.WithModel(chatbox.Model{ID: "smart", Name: "Smart", Provider: smart, Upstream: "smart-v2", MaxTokens: 777, Temperature: &temp}),
		chatbox.WithDefaultModel("smart"),
	}})
	ctx := testCtx(t)
	c := h.Dial(t, "alice")
	got := []string{}
	for _, m := range c.Ready.Models {
		got = append(got, m.ID)
	}
	if strings.Join(got, ",") != "default,smart" || c.Ready.DefaultModel != "smart" {
		t.Fatalf("models %v, default %q", got, c.Ready.DefaultModel)
	}
	if _, err := c.OpenNew(ctx, client.OpenOptions{Model: "nope"}); client.Code(err) != protocol.CodeInvalidField {
		t.Fatalf("unknown model: %v", err)
	}
	for _, tc := range []struct{ model, want string }{{"", "smart"}, {"default", "fast"}, {"smart", "smart"}} {
		opened, err := c.OpenNew(ctx, client.OpenOptions{Model: tc.model})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Send(ctx, opened.ConversationID, "m", "hi"); err != nil {
			t.Fatal(err)
		}
		r, _, err := c.ReadReply(ctx, opened.ConversationID, nil)
		if err != nil || r.Text != tc.want {
			t.Fatalf("model %q answered %q, %v", tc.model, r.Text, err)
		}
	}
	req := smart.Requests()[0]
	if req.Model != "smart-v2" || req.MaxTokens != 777 || req.Temperature == nil || *req.Temperature != 0.2 {
		t.Fatalf("smart request = %+v", req)
	}
}

func TestFallbackChainTriesTheNextModelBeforeTheFirstDelta(t *testing.T) {
	overloaded := scripted.New(scripted.WithResponder(func(llm.Request) scripted.Reply {
		return scripted.Reply{StartErr: &llm.Error{Kind: llm.KindOverloaded, Provider: "primary"}}
	}))
	refused := scripted.New(scripted.WithResponder(func(llm.Request) scripted.Reply {
		return scripted.Reply{StartErr: &llm.Error{Kind: llm.KindAuthentication, Provider: "primary"}}
	}))
	backup := scripted.New(scripted.WithResponder(func(llm.Request) scripted.Reply { return scripted.Reply{Deltas: []string{"from backup"}} }))
	h := chatboxtest.New(t, chatboxtest.Config{Provider: backup, Options: []chatbox.Option{
		chatbox.WithModel(chatbox.Model{ID: "primary", Provider: overloaded, Fallback: []string{"default"}}),
		chatbox.WithModel(chatbox.Model{ID: "strict", Provider: refused, Fallback: []string{"default"}}),
	}})
	ctx := testCtx(t)
	c := h.Dial(t, "alice")

	opened, _ := c.OpenNew(ctx, client.OpenOptions{Model: "primary"})
	if _, err := c.Send(ctx, opened.ConversationID, "m", "hi"); err != nil {
		t.Fatal(err)
	}
	r, skipped, err := c.ReadReply(ctx, opened.ConversationID, nil)
	if err != nil || r.Text != "from backup" || r.FinishReason != "stop" {
		t.Fatalf("fallback reply %v, %v", r, err)
	}
	_ = skipped
	page, _ := h.Store.ListMessages(ctx, storageQuery(opened.ConversationID))
	if m := page.Messages[1]; m.Model != "default" {
		t.Fatalf("stored reply model %q, want the fallback's id", m.Model)
	}

	// A non-retryable failure (bad credentials) does not fall back.
	opened, _ = c.OpenNew(ctx, client.OpenOptions{Model: "strict"})
	if _, err := c.Send(ctx, opened.ConversationID, "m", "hi"); err != nil {
		t.Fatal(err)
	}
	r, _, err = c.ReadReply(ctx, opened.ConversationID, nil)
	if err != nil || r.FinishReason != "error" || r.Error == nil || r.Error.Retryable {
		t.Fatalf("strict reply %v %+v, %v", r, r.Error, err)
	}
	if backup.Started() != 1 {
		t.Fatalf("backup started %d times, want 1", backup.Started())
	}
}

func TestModelOptionsAreValidated(t *testing.T) {
	p := scripted.New()
	_, err := chatbox.New(append(validBase(t),
		chatbox.WithModel(chatbox.Model{ID: "a", Provider: p, Fallback: []string{"missing", "a"}}),
		chatbox.WithModel(chatbox.Model{ID: "a", Provider: p}),
		chatbox.WithModel(chatbox.Model{ID: "bad id", Provider: nil}),
		chatbox.WithDefaultModel("ghost"),
	)...)
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{`fallback "missing"`, "falls back to itself", "registered twice", `id "bad id"`, "provider is nil", `WithDefaultModel: "ghost"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
	var target interface{ Unwrap() []error }
	if !errors.As(err, &target) {
		t.Fatal("errors are not joined")
	}
}
