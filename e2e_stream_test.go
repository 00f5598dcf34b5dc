package chatbox_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
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

func TestStopCancelsTheProviderAndStoresThePartialReply(t *testing.T) {
	p := scripted.New(scripted.WithReplies(scripted.Reply{Deltas: []string{"one ", "two ", "three ", "never"}, StallAfter: 3}))
	h := chatboxtest.New(t, chatboxtest.Config{Provider: p})
	ctx := testCtx(t)
	c := h.Dial(t, "alice")
	conv := openNew(t, c)
	if _, err := c.Send(ctx, conv, "m1", "count"); err != nil {
		t.Fatal(err)
	}
	// Deltas may be coalesced: wait for the text, not for a count of events.
	var text strings.Builder
	for text.String() != "one two three " {
		f, err := c.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if f.Type == protocol.TypeReplyDelta {
			text.WriteString(f.Text)
		}
	}
	if err := c.Stop(ctx, conv); err != nil {
		t.Fatal(err)
	}
	if err := p.WaitCancelled(ctx, 1); err != nil {
		t.Fatalf("the provider never saw the cancellation: %v", err)
	}
	r, _, err := c.ReadReply(ctx, conv, nil)
	if err != nil || r.FinishReason != string(llm.FinishAbort) {
		t.Fatalf("reply end %v, %v; want abort", r, err)
	}
	page, err := h.Store.ListMessages(ctx, storageQuery(conv))
	if err != nil {
		t.Fatal(err)
	}
	stored := page.Messages[len(page.Messages)-1]
	if stored.Text != "one two three " || stored.FinishReason != "abort" || stored.Status != "complete" {
		t.Fatalf("stored reply = %+v", stored)
	}
}

// A reply keeps streaming while its only client is away; the client comes
// back with its last sequence number and gets exactly what it missed.
func TestResumeMidReplyAssemblesTheExactAnswer(t *testing.T) {
	words := make([]string, 60)
	for i := range words {
		words[i] = "w" + string(rune('a'+i%26)) + " "
	}
	full := strings.Join(words, "")
	p := scripted.New(scripted.WithReplies(scripted.Reply{Deltas: words, Delay: 2 * time.Millisecond}))
	h := chatboxtest.New(t, chatboxtest.Config{Provider: p})
	ctx := testCtx(t)

	first := h.Dial(t, "alice")
	conv := openNew(t, first)
	if _, err := first.Send(ctx, conv, "m1", "talk"); err != nil {
		t.Fatal(err)
	}
	var got strings.Builder
	var seqs []int64
	replyID := ""
	for got.Len() < 10*3 { // about ten deltas, then the network drops
		f, err := first.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if f.ConversationID == conv && f.Seq > 0 {
			seqs = append(seqs, f.Seq)
		}
		if f.Type == protocol.TypeReplyStart {
			replyID = f.ReplyID
		}
		if f.Type == protocol.TypeReplyDelta {
			got.WriteString(f.Text)
		}
	}
	last := first.LastSeq(conv)
	first.CloseNow()

	second := h.Dial(t, "alice")
	if _, err := second.Resume(ctx, conv, last); err != nil {
		t.Fatal(err)
	}
	rest, _, err := second.ReadReply(ctx, conv, &client.Reply{ID: replyID, Text: got.String()})
	if err != nil {
		t.Fatal(err)
	}
	seqs = append(seqs, rest.Seqs...)
	if rest.Text != full {
		t.Fatalf("assembled %q\nwant      %q", rest.Text, full)
	}
	for i := 1; i < len(seqs); i++ {
		if seqs[i] != seqs[i-1]+1 {
			t.Fatalf("sequence gap or duplicate at %d: %d then %d", i, seqs[i-1], seqs[i])
		}
	}
}

func TestOpenDuringAReplyShowsItsTextSoFarThenTheRest(t *testing.T) {
	words := scripted.Words(strings.Repeat("streaming words keep coming ", 10))
	p := scripted.New(scripted.WithReplies(scripted.Reply{Deltas: words, Delay: 2 * time.Millisecond}))
	h := chatboxtest.New(t, chatboxtest.Config{Provider: p})
	ctx := testCtx(t)
	a := h.Dial(t, "alice")
	conv := openNew(t, a)
	if _, err := a.Send(ctx, conv, "m1", "go"); err != nil {
		t.Fatal(err)
	}
	for deltas := 0; deltas < 5; {
		f, err := a.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if f.Type == protocol.TypeReplyDelta {
			deltas++
		}
	}
	late := h.Dial(t, "alice")
	opened, err := late.Open(ctx, conv)
	if err != nil {
		t.Fatal(err)
	}
	if opened.Reply == nil || opened.Reply.Text == "" {
		t.Fatalf("opened without the streaming reply: %+v", opened)
	}
	r, _, err := late.ReadReply(ctx, conv, &client.Reply{ID: opened.Reply.ReplyID, Text: opened.Reply.Text})
	if err != nil || r.Text != strings.Join(words, "") {
		t.Fatalf("late socket assembled %q, %v", r.Text, err)
	}
}

func TestReplyContinuesAfterTheClientDisconnects(t *testing.T) {
	p := scripted.New(scripted.WithReplies(scripted.Reply{Deltas: scripted.Words("a reply nobody watches to the end"), Delay: 5 * time.Millisecond}))
	h := chatboxtest.New(t, chatboxtest.Config{Provider: p})
	ctx := testCtx(t)
	c := h.Dial(t, "alice")
	conv := openNew(t, c)
	if _, err := c.Send(ctx, conv, "m1", "hi"); err != nil {
		t.Fatal(err)
	}
	if err := p.WaitStarted(ctx, 1); err != nil {
		t.Fatal(err)
	}
	c.CloseNow()
	again := h.Dial(t, "alice")
	opened, err := again.Open(ctx, conv)
	if err != nil {
		t.Fatal(err)
	}
	var r client.Reply
	if opened.Reply != nil {
		r, _, err = again.ReadReply(ctx, conv, &client.Reply{ID: opened.Reply.ReplyID, Text: opened.Reply.Text})
	} else if n := len(opened.Messages); n > 0 && opened.Messages[n-1].Role == "assistant" && opened.Messages[n-1].Status == "" {
		r = client.Reply{Text: opened.Messages[n-1].Text, FinishReason: opened.Messages[n-1].FinishReason}
	} else {
		r, _, err = again.ReadReply(ctx, conv, nil)
	}
	if err != nil || r.Text != "a reply nobody watches to the end" || r.FinishReason != "stop" {
		t.Fatalf("reply after reconnect: %v, %v", r, err)
	}
	if p.Cancelled() != 0 {
		t.Fatal("the disconnect cancelled the generation")
	}
}

func TestProviderFailureEndsTheReplyWithErrorAndKeepsText(t *testing.T) {
	p := scripted.New(scripted.WithReplies(scripted.Reply{
		Deltas: []string{"partial ", "answer"},
		Err:    &llm.Error{Kind: llm.KindOverloaded, Provider: "scripted", Err: errors.New("upstream said: secret internal detail")},
	}))
	h := chatboxtest.New(t, chatboxtest.Config{Provider: p})
	ctx := testCtx(t)
	c := h.Dial(t, "alice")
	conv := openNew(t, c)
	if _, err := c.Send(ctx, conv, "m1", "hi"); err != nil {
		t.Fatal(err)
	}
	r, _, err := c.ReadReply(ctx, conv, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.FinishReason != "error" || r.Error == nil || r.Error.Code != protocol.CodeProviderError || r.Text != "partial answer" {
		t.Fatalf("reply = %v, error %+v", r, r.Error)
	}
	if strings.Contains(r.Error.Message, "secret") {
		t.Fatalf("provider detail leaked to the client: %q", r.Error.Message)
	}
	page, _ := h.Store.ListMessages(ctx, storageQuery(conv))
	if m := page.Messages[1]; m.Text != "partial answer" || m.FinishReason != "error" || m.Error != "provider_error" {
		t.Fatalf("stored %+v", m)
	}
}

func TestGenerationTimeoutEndsAStalledReply(t *testing.T) {
	p := scripted.New(scripted.WithReplies(scripted.Reply{Deltas: []string{"begin "}, StallAfter: 1}))
	h := chatboxtest.New(t, chatboxtest.Config{Provider: p, Options: []chatbox.Option{chatbox.WithGenerationTimeout(time.Second)}})
	ctx := testCtx(t)
	c := h.Dial(t, "alice")
	conv := openNew(t, c)
	if _, err := c.Send(ctx, conv, "m1", "hi"); err != nil {
		t.Fatal(err)
	}
	r, _, err := c.ReadReply(ctx, conv, nil)
	if err != nil || r.FinishReason != "timeout" || r.Text != "begin " || r.Error == nil || r.Error.Code != protocol.CodeTimeout {
		t.Fatalf("reply = %v, %v", r, err)
	}
}

func TestResumeFromTooOldASequenceAsksToReopen(t *testing.T) {
	h := chatboxtest.New(t, chatboxtest.Config{})
	ctx := testCtx(t)
	c := h.Dial(t, "alice")
	conv := openNew(t, c)
	again := h.Dial(t, "alice")
	if _, err := again.Resume(ctx, conv, 1); client.Code(err) != protocol.CodeReplayUnavailable {
		t.Fatalf("resume from an old epoch: %v", err)
	}
	ctx2, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	if _, err := again.List(ctx2, "", 1); err != nil {
		t.Fatalf("socket unusable after replay_unavailable: %v", err)
	}
}

type panickingProvider struct{}

func (panickingProvider) Stream(context.Context, llm.Request) (llm.Stream, error) {
	panic("provider bug")
}

func TestAPanickingProviderEndsTheReplyWithErrorAndTheServerLives(t *testing.T) {
	h := chatboxtest.New(t, chatboxtest.Config{Provider: panickingProvider{}})
	ctx := testCtx(t)
	c := h.Dial(t, "alice")
	conv := openNew(t, c)
	for i := range 2 { // the conversation is usable again after the failure
		if _, err := c.Send(ctx, conv, fmt.Sprintf("m%d", i), "boom?"); err != nil {
			t.Fatal(err)
		}
		r, _, err := c.ReadReply(ctx, conv, nil)
		if err != nil || r.FinishReason != "error" || r.Error == nil || strings.Contains(r.Error.Message, "provider bug") {
			t.Fatalf("reply %d: %v %+v %v", i, r, r.Error, err)
		}
	}
}

func TestAReplyLeftStreamingByACrashIsShownAndStoredAsInterrupted(t *testing.T) {
	h := chatboxtest.New(t, chatboxtest.Config{Options: []chatbox.Option{chatbox.WithGenerationTimeout(time.Second)}})
	ctx := testCtx(t)
	c := h.Dial(t, "alice")
	conv := openNew(t, c)
	// What a crashed server leaves behind: a reply started long ago.
	old := time.Now().Add(-time.Hour).UTC().Truncate(time.Millisecond)
	if _, _, err := h.Store.AppendMessage(ctx, storage.Message{ID: "r_lost", ConversationID: conv, Role: storage.RoleAssistant,
		Status: storage.MessageStreaming, Text: "half an ans", CreatedAt: old, UpdatedAt: old}); err != nil {
		t.Fatal(err)
	}
	opened, err := h.Dial(t, "alice").Open(ctx, conv)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(opened.Messages); n != 1 || opened.Messages[0].Status != "" || opened.Messages[0].FinishReason != "interrupted" {
		t.Fatalf("opened messages %+v", opened.Messages)
	}
	stored, _ := h.Store.GetMessage(ctx, conv, "r_lost")
	if stored.Status != storage.MessageComplete || stored.FinishReason != "interrupted" || stored.Text != "half an ans" {
		t.Fatalf("stored %+v", stored)
	}
}

func TestDeltasAreCoalescedWithinTheWindowWithoutChangingTheText(t *testing.T) {
	words := scripted.Words(strings.Repeat("quick brown fox ", 20))
	p := scripted.New(scripted.WithReplies(scripted.Reply{Deltas: words, Delay: time.Millisecond}))
	h := chatboxtest.New(t, chatboxtest.Config{Provider: p, Options: []chatbox.Option{chatbox.WithDeltaCoalesceInterval(50 * time.Millisecond)}})
	ctx := testCtx(t)
	c := h.Dial(t, "alice")
	conv := openNew(t, c)
	if _, err := c.Send(ctx, conv, "m1", "go"); err != nil {
		t.Fatal(err)
	}
	r, _, err := c.ReadReply(ctx, conv, nil)
	if err != nil || r.Text != strings.Join(words, "") {
		t.Fatalf("text %q, %v", r.Text, err)
	}
	deltas := len(r.Seqs) - 2 // minus reply.start and reply.end
	if deltas >= len(words)/2 {
		t.Fatalf("%d deltas for %d words: not coalesced", deltas, len(words))
	}
	t.Logf("%d words arrived in %d deltas", len(words), deltas)
}
