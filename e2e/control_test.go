package e2e

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/chatboxsdk/chatbox/llm/scripted"
)

func TestStopEndsTheReplyAndThePageShowsItStopped(t *testing.T) {
	// The model writes three words, then would go on forever.
	p1 := scripted.New(scripted.WithReplies(
		scripted.Reply{Deltas: scripted.Words("one two three four five"), StallAfter: 3},
		scripted.Reply{Deltas: scripted.Words("a fresh answer")},
	))
	a := startApp(t, appConfig{Provider: p1})
	pg := openPage(t, a.URL+"/", "")
	pg.send("count for me")
	pg.waitJS(`(() => { const m = document.querySelector("#messages .msg-assistant");
		return m && m.dataset.status === "streaming" && m.querySelector(".body").textContent === "one two three"; })()`)

	var stopLabel string
	pg.eval(`document.getElementById("stop").getAttribute("aria-label")`, &stopLabel)
	if stopLabel != "Stop generating" {
		t.Fatalf("stop button label %q", stopLabel)
	}
	pg.do(chromedp.Click(chromedp.ID("stop")))
	pg.waitJS(`document.querySelector("#messages .msg-assistant").dataset.status === "complete"`)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p1.WaitCancelled(ctx, 1); err != nil {
		t.Fatal("the provider call was not cancelled")
	}
	msgs := pg.messages()
	if len(msgs) != 2 || msgs[1].Finish != "abort" || msgs[1].Text != "one two three" || !strings.Contains(msgs[1].Meta, "Stopped") {
		t.Fatalf("after stop the page shows:\n%s(meta %q)", textOf(msgs), msgs[len(msgs)-1].Meta)
	}
	var controls struct{ StopHidden, SendHidden, Typing bool }
	pg.eval(`({stopHidden: document.getElementById("stop").hidden, sendHidden: document.getElementById("send").hidden,
		typing: !document.getElementById("typing").hidden})`, &controls)
	if !controls.StopHidden || controls.SendHidden || controls.Typing {
		t.Fatalf("controls after stop: %+v", controls)
	}
	stored := listMessages(t, a, pg.conversationID())
	if len(stored) != 2 || stored[1].FinishReason != "abort" || stored[1].Text != "one two three" {
		t.Fatalf("store holds %+v", stored)
	}
	// The conversation goes on: the next message gets a reply.
	pg.send("again please")
	pg.waitReplyDone(4)
	if got := pg.messages()[3]; got.Text != "a fresh answer" || got.Finish != "stop" {
		t.Fatalf("next reply: %+v", got)
	}
}

func TestTwoBrowsersOfOneUserSeeTheConversationUpdate(t *testing.T) {
	p1 := scripted.New(scripted.WithResponder(func(req llmRequest) scripted.Reply {
		return scripted.Reply{Deltas: scripted.Words("reply to " + lastUser(req)), Delay: 10 * time.Millisecond}
	}))
	a := startApp(t, appConfig{Provider: p1})
	laptop := openPage(t, a.URL+"/", "")
	laptop.send("from the laptop")
	laptop.waitReplyDone(2)
	id := laptop.conversationID()

	// The phone opens the page later: it shows the user's latest
	// conversation with its history.
	phone := openPage(t, a.URL+"/", "")
	phone.waitReplyDone(2)
	if got := phone.conversationID(); got != id {
		t.Fatalf("phone shows conversation %s, laptop %s", got, id)
	}
	// Each device's message and the reply to it reach the other one live.
	laptop.send("second from the laptop")
	phone.waitReplyDone(4)
	phone.send("now from the phone")
	laptop.waitReplyDone(6)
	want := "user[sent/]: from the laptop\nassistant[complete/stop]: reply to from the laptop\n" +
		"user[sent/]: second from the laptop\nassistant[complete/stop]: reply to second from the laptop\n" +
		"user[sent/]: now from the phone\nassistant[complete/stop]: reply to now from the phone\n"
	phone.waitReplyDone(6)
	for name, pg := range map[string]*page{"laptop": laptop, "phone": phone} {
		if got := textOf(pg.messages()); got != want {
			t.Fatalf("%s shows:\n%swant:\n%s", name, got, want)
		}
	}
}

func TestBadTokenShowsAClearErrorNotABlankPage(t *testing.T) {
	p1 := scripted.New()
	t.Run("refused token", func(t *testing.T) {
		a := startApp(t, appConfig{Provider: p1, Token: "not-a-valid-token"})
		pg := openPage(t, a.URL+"/", "unauthorized")
		var shown struct {
			Banner, Status string
			Disabled       bool
			Visible        bool
		}
		pg.eval(`({banner: document.getElementById("banner").hidden ? "" : document.getElementById("banner-text").textContent,
			status: document.getElementById("status-text").textContent,
			disabled: document.getElementById("composer-text").disabled,
			visible: document.querySelector(".app").getBoundingClientRect().height > 0})`, &shown)
		if !strings.Contains(shown.Banner, "refused your access token") || shown.Status != "Signed out" || !shown.Disabled || !shown.Visible {
			t.Fatalf("page after a refused token: %+v", shown)
		}
		pg.screenshot("bad-token", 1280, 800, false, false)
	})
	t.Run("token service down", func(t *testing.T) {
		a := startApp(t, appConfig{Provider: p1, TokenStatus: http.StatusInternalServerError})
		pg := openPage(t, a.URL+"/", "reconnecting")
		pg.waitJS(`!document.getElementById("banner").hidden &&
			document.getElementById("banner-text").textContent.includes("Could not get a sign-in token (the sign-in service answered 500)")`)
	})
}
