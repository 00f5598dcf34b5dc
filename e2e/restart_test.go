package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chatboxsdk/chatbox/llm/scripted"
	"github.com/chatboxsdk/chatbox/storage"
	"github.com/chatboxsdk/chatbox/storage/memory"
)

const story = "Once upon a time a small server streamed a long story to a patient reader, " +
	"word after word, until the very last word of the story arrived."

func TestServerRestartDuringAReplyShowsTheCompleteAnswerOnce(t *testing.T) {
	store := memory.New()
	p1 := scripted.New(scripted.WithReplies(scripted.Reply{Deltas: scripted.Words(story), Delay: 40 * time.Millisecond}))
	first := startApp(t, appConfig{Store: store, Provider: p1})
	pg := openPage(t, first.URL+"/", "")
	pg.send("tell me a story")
	pg.waitJS(`(() => { const m = document.querySelector("#messages .msg-assistant");
		return m && m.dataset.status === "streaming" && m.textContent.includes("small server"); })()`)

	// The server vanishes mid-reply; the page notices and retries.
	first.crash()
	pg.waitJS(`document.body.dataset.state === "reconnecting"`)
	var partial string
	pg.eval(`document.querySelector("#messages .msg-assistant .body").textContent`, &partial)
	if partial == story {
		t.Fatal("the reply was complete before the restart; the test proves nothing")
	}
	// The old instance finishes the reply into the store as it drains;
	// a new instance then starts on the same address with the same store.
	first.stop(t, 20*time.Second)
	id := pg.conversationID()
	if stored := listMessages(t, first, id); len(stored) != 2 || stored[1].Text != story || stored[1].FinishReason != "stop" {
		t.Fatalf("store after the drain: %+v", stored)
	}
	p2 := scripted.New(scripted.WithReplies(scripted.Reply{Deltas: scripted.Words("glad you liked it")}))
	second := startApp(t, appConfig{Addr: first.Addr, Store: store, Provider: p2})

	pg.waitJS(`document.body.dataset.state === "open" &&
		document.querySelector("#messages .msg-assistant").dataset.status === "complete"`)
	msgs := pg.messages()
	if len(msgs) != 2 || msgs[0].Text != "tell me a story" || msgs[1].Text != story || msgs[1].Finish != "stop" {
		t.Fatalf("after the restart the page shows:\n%swant the story once, complete", textOf(msgs))
	}
	if got := pg.conversationID(); got != id {
		t.Fatalf("the page moved to conversation %s, want %s", got, id)
	}
	// The conversation goes on with the new instance.
	pg.send("thanks")
	pg.waitReplyDone(4)
	if got := textOf(pg.messages()); strings.Count(got, story) != 1 || !strings.HasSuffix(got, "assistant[complete/stop]: glad you liked it\n") {
		t.Fatalf("page shows:\n%s", got)
	}
	if n := len(listMessages(t, second, id)); n != 4 {
		t.Fatalf("store holds %d messages, want 4", n)
	}
}

// ackLosingStore stores the message with the given text, then holds the
// request (and so its acknowledgement) until released: the server "dies"
// after storing the message but before the client learns it was stored.
type ackLosingStore struct {
	storage.Store
	text     string
	stored   chan struct{}
	released chan struct{}
}

func (s *ackLosingStore) AppendMessage(ctx context.Context, m storage.Message) (storage.Message, bool, error) {
	stored, created, err := s.Store.AppendMessage(ctx, m)
	if m.Text == s.text && created {
		close(s.stored)
		select {
		case <-s.released:
		case <-ctx.Done():
		}
	}
	return stored, created, err
}

func TestAMessageWhoseAckWasLostIsResentAndStoredOnce(t *testing.T) {
	store := memory.New()
	lossy := &ackLosingStore{text: "did you get this?", stored: make(chan struct{}), released: make(chan struct{})}
	p1 := scripted.New(scripted.WithReplies(scripted.Reply{Deltas: scripted.Words("yes, I got it")}))
	first := startApp(t, appConfig{Store: store, Provider: p1, WrapStore: func(s storage.Store) storage.Store { lossy.Store = s; return lossy }})
	pg := openPage(t, first.URL+"/", "")
	pg.send("did you get this?")
	select {
	case <-lossy.stored:
	case <-time.After(10 * time.Second):
		t.Fatal("the message never reached the store")
	}
	first.crash()
	close(lossy.released)
	pg.waitJS(`document.body.dataset.state === "reconnecting" && document.querySelector("#messages .msg-user").dataset.status === "queued"`)
	first.stop(t, 20*time.Second)

	p2 := scripted.New(scripted.WithReplies(scripted.Reply{Deltas: scripted.Words("a second reply must not happen")}))
	second := startApp(t, appConfig{Addr: first.Addr, Store: store, Provider: p2})
	pg.waitJS(`document.body.dataset.state === "open"`)
	pg.waitReplyDone(2)
	msgs := pg.messages()
	if len(msgs) != 2 || msgs[0].Text != "did you get this?" || msgs[0].Status != "sent" || msgs[1].Text != "yes, I got it" {
		t.Fatalf("page shows:\n%s", textOf(msgs))
	}
	stored := listMessages(t, second, pg.conversationID())
	if len(stored) != 2 || stored[0].ID != msgs[0].ID {
		t.Fatalf("store holds %+v; want the message once, with the page's id %s", stored, msgs[0].ID)
	}
	if p2.Started() != 0 {
		t.Fatal("the resent message was answered a second time")
	}
}

func TestAMessageWrittenOfflineIsSentWhenTheServerIsBack(t *testing.T) {
	store := memory.New()
	echo := func(req llmRequest) scripted.Reply {
		return scripted.Reply{Deltas: scripted.Words("echo: " + lastUser(req))}
	}
	first := startApp(t, appConfig{Store: store, Provider: scripted.New(scripted.WithResponder(echo))})
	pg := openPage(t, first.URL+"/", "")
	pg.send("hello")
	pg.waitReplyDone(2)
	first.crash()
	first.stop(t, 0)
	pg.waitJS(`document.body.dataset.state === "reconnecting"`)

	pg.send("written while offline")
	pg.waitJS(`(() => { const m = document.querySelectorAll("#messages .msg-user")[1];
		return m && m.dataset.status === "queued" && m.textContent.includes("Waiting for the connection"); })()`)
	second := startApp(t, appConfig{Addr: first.Addr, Store: store, Provider: scripted.New(scripted.WithResponder(echo))})
	pg.waitReplyDone(4)
	want := "user[sent/]: hello\nassistant[complete/stop]: echo: hello\n" +
		"user[sent/]: written while offline\nassistant[complete/stop]: echo: written while offline\n"
	if got := textOf(pg.messages()); got != want {
		t.Fatalf("page shows:\n%swant:\n%s", got, want)
	}
	if n := len(listMessages(t, second, pg.conversationID())); n != 4 {
		t.Fatalf("store holds %d messages, want 4", n)
	}
}

func TestGracefulRestartDuringAReplyKeepsThePageWhole(t *testing.T) {
	store := memory.New()
	p1 := scripted.New(scripted.WithReplies(scripted.Reply{Deltas: scripted.Words(story), Delay: 20 * time.Millisecond}))
	first := startApp(t, appConfig{Store: store, Provider: p1})
	pg := openPage(t, first.URL+"/", "")
	pg.send("tell me a story")
	pg.waitJS(`document.querySelector("#messages .msg-assistant")?.dataset.status === "streaming"`)
	// A rolling restart: the old instance drains (the page sees the reply
	// finish, then close 1001), the new one takes over the address.
	first.stop(t, 20*time.Second)
	pg.waitJS(`document.body.dataset.state === "reconnecting"`)
	second := startApp(t, appConfig{Addr: first.Addr, Store: store, Provider: scripted.New()})
	pg.waitJS(`document.body.dataset.state === "open"`)
	pg.waitReplyDone(2)
	msgs := pg.messages()
	if len(msgs) != 2 || msgs[1].Text != story || msgs[1].Finish != "stop" {
		t.Fatalf("after a graceful restart the page shows:\n%s", textOf(msgs))
	}
	if n := len(listMessages(t, second, pg.conversationID())); n != 2 {
		t.Fatalf("store holds %d messages, want 2", n)
	}
}
