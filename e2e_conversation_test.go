package chatbox_test

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/chatboxsdk/chatbox"
	"github.com/chatboxsdk/chatbox/chatboxtest"
	"github.com/chatboxsdk/chatbox/client"
	"github.com/chatboxsdk/chatbox/llm"
	"github.com/chatboxsdk/chatbox/llm/scripted"
	"github.com/chatboxsdk/chatbox/protocol"
	"github.com/chatboxsdk/chatbox/storage"
)

func TestProviderReceivesWholeHistoryAndSystemPrompt(t *testing.T) {
	p := scripted.New(scripted.WithResponder(chatboxtest.Echo()))
	h := chatboxtest.New(t, chatboxtest.Config{Provider: p, Options: systemPrompt("Be brief.")})
	ctx := testCtx(t)
	c := h.Dial(t, "alice")
	conv := openNew(t, c)
	turns := []string{"first question", "second question", "third question"}
	for i, text := range turns {
		if _, err := c.Send(ctx, conv, fmt.Sprintf("m%d", i), text); err != nil {
			t.Fatal(err)
		}
		if r, _, err := c.ReadReply(ctx, conv, nil); err != nil || r.FinishReason != "stop" {
			t.Fatalf("reply %d: %v %v", i, r, err)
		}
	}
	reqs := p.Requests()
	if len(reqs) != 3 {
		t.Fatalf("provider got %d requests, want 3", len(reqs))
	}
	last := reqs[2]
	want := []llm.Message{
		{Role: llm.RoleUser, Text: "first question"}, {Role: llm.RoleAssistant, Text: "echo: first question"},
		{Role: llm.RoleUser, Text: "second question"}, {Role: llm.RoleAssistant, Text: "echo: second question"},
		{Role: llm.RoleUser, Text: "third question"},
	}
	if len(last.Messages) != len(want) {
		t.Fatalf("history = %+v, want %+v", last.Messages, want)
	}
	for i := range want {
		if !reflect.DeepEqual(last.Messages[i], want[i]) {
			t.Fatalf("history[%d] = %+v, want %+v", i, last.Messages[i], want[i])
		}
	}
	if last.System != "Be brief." || last.User != "alice" || last.ConversationID != conv {
		t.Fatalf("request = %+v", last)
	}
}

func TestResendingAMessageIDNeverDuplicates(t *testing.T) {
	p := scripted.New(scripted.WithResponder(chatboxtest.Echo()))
	h := chatboxtest.New(t, chatboxtest.Config{Provider: p})
	ctx := testCtx(t)
	c := h.Dial(t, "alice")
	conv := openNew(t, c)
	if _, err := c.Send(ctx, conv, "same-id", "hello"); err != nil {
		t.Fatal(err)
	}
	// Resent while the reply may still stream, and again after it ended.
	ack, err := c.Send(ctx, conv, "same-id", "hello")
	if err != nil || !ack.Duplicate {
		t.Fatalf("second send: ack %+v, err %v", ack, err)
	}
	if _, _, err := c.ReadReply(ctx, conv, nil); err != nil {
		t.Fatal(err)
	}
	ack, err = c.Send(ctx, conv, "same-id", "hello")
	if err != nil || !ack.Duplicate {
		t.Fatalf("third send: ack %+v, err %v", ack, err)
	}
	// A different message afterwards proves no second reply was queued.
	if _, err := c.Send(ctx, conv, "other-id", "next"); err != nil {
		t.Fatal(err)
	}
	if r, _, err := c.ReadReply(ctx, conv, nil); err != nil || r.Text != "echo: next" {
		t.Fatalf("next reply %v %v", r, err)
	}
	page, err := h.Store.ListMessages(ctx, storageQuery(conv))
	if err != nil {
		t.Fatal(err)
	}
	if got := len(page.Messages); got != 4 {
		t.Fatalf("stored %d messages, want 4 (2 user + 2 replies): %+v", got, page.Messages)
	}
	if p.Started() != 2 {
		t.Fatalf("provider started %d generations, want 2", p.Started())
	}
}

func TestEverySocketOfAUserReceivesTheReply(t *testing.T) {
	h := chatboxtest.New(t, chatboxtest.Config{})
	ctx := testCtx(t)
	phone := h.Dial(t, "alice")
	laptop := h.Dial(t, "alice")
	conv := openNew(t, phone)
	if _, err := laptop.Open(ctx, conv); err != nil {
		t.Fatal(err)
	}
	if _, err := phone.Send(ctx, conv, "m1", "from the phone"); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]*client.Client{"phone": phone, "laptop": laptop} {
		r, skipped, err := c.ReadReply(ctx, conv, nil)
		if err != nil || r.Text != "echo: from the phone" || r.FinishReason != "stop" {
			t.Fatalf("%s: reply %v, err %v", name, r, err)
		}
		if !hasUserMessage(skipped, "m1") {
			t.Fatalf("%s did not see the user message event: %+v", name, skipped)
		}
	}
}

func TestAnotherUsersConversationIsRefused(t *testing.T) {
	h := chatboxtest.New(t, chatboxtest.Config{})
	ctx := testCtx(t)
	alice := h.Dial(t, "alice")
	conv := openNew(t, alice)
	if _, err := alice.Send(ctx, conv, "secret", "my secret"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := alice.ReadReply(ctx, conv, nil); err != nil {
		t.Fatal(err)
	}
	bob := h.Dial(t, "bob")
	attempts := map[string]func() error{
		"open":    func() error { _, err := bob.Open(ctx, conv); return err },
		"resume":  func() error { _, err := bob.Resume(ctx, conv, 0); return err },
		"history": func() error { _, err := bob.History(ctx, conv, "", 10); return err },
	}
	for name, try := range attempts {
		if code := client.Code(try()); code != protocol.CodeNotFound {
			t.Errorf("bob %s alice's conversation: code %q, want not_found", name, code)
		}
	}
	for name, try := range map[string]func() error{
		"send": func() error { _, err := bob.Send(ctx, conv, "x", "hijack"); return err },
		"stop": func() error { return bob.Stop(ctx, conv) },
		"end":  func() error { return bob.End(ctx, conv) },
	} {
		if code := client.Code(try()); code != protocol.CodeNotOpen {
			t.Errorf("bob %s: code %q, want not_open", name, code)
		}
	}
	list, err := bob.List(ctx, "", 50)
	if err != nil || len(list.Conversations) != 0 {
		t.Fatalf("bob's list shows %+v (err %v)", list.Conversations, err)
	}
	// Alice's conversation is untouched.
	page, _ := h.Store.ListMessages(ctx, storageQuery(conv))
	if len(page.Messages) != 2 {
		t.Fatalf("alice's conversation changed: %+v", page.Messages)
	}
}

func TestOpenReturnsHistoryPagesAndList(t *testing.T) {
	h := chatboxtest.New(t, chatboxtest.Config{Options: generousRates()})
	ctx := testCtx(t)
	c := h.Dial(t, "alice")
	conv := openNew(t, c)
	for i := range 6 {
		if _, err := c.Send(ctx, conv, fmt.Sprintf("m%d", i), fmt.Sprintf("question %d", i)); err != nil {
			t.Fatal(err)
		}
		if _, _, err := c.ReadReply(ctx, conv, nil); err != nil {
			t.Fatal(err)
		}
	}
	other := h.Dial(t, "alice")
	opened, err := other.Request(ctx, protocol.ClientFrame{Type: protocol.TypeOpen, ConversationID: conv, Limit: 5})
	if err != nil {
		t.Fatal(err)
	}
	if len(opened.Messages) != 5 || opened.Messages[4].Text != "echo: question 5" || opened.Cursor == "" {
		t.Fatalf("opened page = %d messages, cursor %q", len(opened.Messages), opened.Cursor)
	}
	var all []protocol.Message
	all = append(all, opened.Messages...)
	for cursor := opened.Cursor; cursor != ""; {
		page, err := other.History(ctx, conv, cursor, 5)
		if err != nil {
			t.Fatal(err)
		}
		all = append(page.Messages, all...)
		cursor = page.Cursor
	}
	if len(all) != 12 || all[0].Text != "question 0" || all[11].Text != "echo: question 5" {
		t.Fatalf("paged history has %d messages: first %q", len(all), all[0].Text)
	}
	list, err := other.List(ctx, "", 10)
	if err != nil || len(list.Conversations) != 1 || list.Conversations[0].ID != conv || list.Conversations[0].Title != "test" {
		t.Fatalf("list = %+v, %v", list.Conversations, err)
	}
}

func TestEndedConversationRefusesMessages(t *testing.T) {
	h := chatboxtest.New(t, chatboxtest.Config{})
	ctx := testCtx(t)
	a, b := h.Dial(t, "alice"), h.Dial(t, "alice")
	conv := openNew(t, a)
	if _, err := b.Open(ctx, conv); err != nil {
		t.Fatal(err)
	}
	if err := a.End(ctx, conv); err != nil {
		t.Fatal(err)
	}
	f, err := b.Next(ctx)
	if err != nil || f.Type != protocol.TypeEnded || f.Seq == 0 {
		t.Fatalf("other socket got %+v, %v; want conversation.ended", f, err)
	}
	if _, err := a.Send(ctx, conv, "late", "anyone?"); client.Code(err) != protocol.CodeConversationEnded {
		t.Fatalf("send after end: %v", err)
	}
	stored, err := h.Store.GetConversation(ctx, conv)
	if err != nil || stored.Status != "ended" {
		t.Fatalf("stored conversation %+v, %v", stored, err)
	}
}

func TestBusyWhileAReplyStreams(t *testing.T) {
	p := scripted.New(scripted.WithReplies(scripted.Reply{Deltas: []string{"a", "b", "c"}, StallAfter: 1}))
	h := chatboxtest.New(t, chatboxtest.Config{Provider: p})
	ctx := testCtx(t)
	c := h.Dial(t, "alice")
	conv := openNew(t, c)
	if _, err := c.Send(ctx, conv, "m1", "first"); err != nil {
		t.Fatal(err)
	}
	if err := p.WaitStarted(ctx, 1); err != nil {
		t.Fatal(err)
	}
	_, err := c.Send(ctx, conv, "m2", "second")
	var se *client.ServerError
	if !errors.As(err, &se) || se.Body.Code != protocol.CodeBusy || !se.Body.Retryable {
		t.Fatalf("send while streaming: %v", err)
	}
}

func TestRateLimitedMessagesCarryRetryAfter(t *testing.T) {
	h := chatboxtest.New(t, chatboxtest.Config{Options: messageRate(1, 2)})
	ctx := testCtx(t)
	c := h.Dial(t, "alice")
	conv := openNew(t, c)
	var limited *client.ServerError
	for i := range 5 {
		_, err := c.Send(ctx, conv, fmt.Sprintf("m%d", i), "hi")
		if errors.As(err, &limited) && limited.Body.Code == protocol.CodeRateLimited {
			break
		}
		limited = nil
		if err == nil {
			if _, _, err := c.ReadReply(ctx, conv, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	if limited == nil || !limited.Body.Retryable || limited.Body.RetryAfterMS <= 0 {
		t.Fatalf("no rate_limited error with retry_after_ms: %+v", limited)
	}
	// The socket survives the denial.
	if _, err := c.List(ctx, "", 1); err != nil {
		t.Fatal(err)
	}
}

func hasUserMessage(frames []protocol.ServerFrame, id string) bool {
	for _, f := range frames {
		if f.Type == protocol.TypeMessage && f.Message != nil && f.Message.ID == id && f.Message.Role == "user" {
			return true
		}
	}
	return false
}

func TestTypingReachesTheOtherSocketsWithoutASequenceNumber(t *testing.T) {
	h := chatboxtest.New(t, chatboxtest.Config{})
	ctx := testCtx(t)
	a, b := h.Dial(t, "alice"), h.Dial(t, "alice")
	conv := openNew(t, a)
	if _, err := b.Open(ctx, conv); err != nil {
		t.Fatal(err)
	}
	if err := a.Typing(ctx, conv, true); err != nil {
		t.Fatal(err)
	}
	f, err := b.Next(ctx)
	if err != nil || f.Type != protocol.TypeTyping || f.Active == nil || !*f.Active || f.Seq != 0 || f.Role != "user" {
		t.Fatalf("other socket got %+v, %v", f, err)
	}
	// A third socket resuming from before the signal does not get it replayed.
	c := h.Dial(t, "alice")
	if _, err := c.Resume(ctx, conv, b.LastSeq(conv)); err != nil {
		t.Fatal(err)
	}
	if err := a.End(ctx, conv); err != nil {
		t.Fatal(err)
	}
	if f, err := c.Next(ctx); err != nil || f.Type != protocol.TypeEnded {
		t.Fatalf("after resume got %+v, %v; want conversation.ended only", f, err)
	}
}

func TestAStoredUnansweredMessageIsAnsweredOnceTheUserHasASlot(t *testing.T) {
	p := scripted.New(scripted.WithReplies(scripted.Reply{Deltas: []string{"hold "}, StallAfter: 1}), scripted.WithResponder(chatboxtest.Echo()))
	h := chatboxtest.New(t, chatboxtest.Config{Provider: p, Options: []chatbox.Option{chatbox.WithMaxGenerationsPerUser(1)}})
	ctx := testCtx(t)
	c := h.Dial(t, "alice")
	busyConv, waitingConv := openNew(t, c), openNew(t, c)
	// What a server that stopped between storing and answering leaves behind.
	at := time.Now().UTC().Truncate(time.Millisecond)
	if _, _, err := h.Store.AppendMessage(ctx, storage.Message{ID: "m-lost", ConversationID: waitingConv, Role: storage.RoleUser,
		Text: "are you there?", Status: storage.MessageComplete, CreatedAt: at, UpdatedAt: at}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Send(ctx, busyConv, "m1", "hold the slot"); err != nil {
		t.Fatal(err)
	}
	if err := p.WaitStarted(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Send(ctx, waitingConv, "m-lost", "are you there?"); client.Code(err) != protocol.CodeBusy {
		t.Fatalf("resend at the cap: %v, want busy", err)
	}
	if err := c.Stop(ctx, busyConv); err != nil {
		t.Fatal(err)
	}
	if r, _, err := c.ReadReply(ctx, busyConv, nil); err != nil || r.FinishReason != "abort" {
		t.Fatalf("%v %v", r, err)
	}
	ack, err := c.Send(ctx, waitingConv, "m-lost", "are you there?")
	if err != nil || !ack.Duplicate {
		t.Fatalf("resend with a free slot: %+v %v", ack, err)
	}
	if r, _, err := c.ReadReply(ctx, waitingConv, nil); err != nil || r.Text != "echo: are you there?" {
		t.Fatalf("the stored message was not answered: %v %v", r, err)
	}
}
