package e2e

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/chatboxsdk/chatbox/llm"
	"github.com/chatboxsdk/chatbox/llm/scripted"
	"github.com/chatboxsdk/chatbox/widget"
)

// A user the host's sign-in service does not know (401) is told they are
// signed out, with a link to the host's sign-in page, and the page stops
// asking for tokens.
func TestSignedOutUserSeesALinkToSignInNotEndlessRetries(t *testing.T) {
	a := startApp(t, appConfig{Provider: scripted.New(), TokenStatus: http.StatusUnauthorized,
		Widget: func(c *widget.Config) { c.SignInURL = "/login?next=/" }})
	pg := openPage(t, a.URL+"/", "signedout")
	var shown struct {
		Status, Banner, Link string
		LinkShown, Disabled  bool
	}
	pg.eval(`({status: document.getElementById("status-text").textContent, banner: document.getElementById("banner-text").textContent,
		link: document.getElementById("banner-link").getAttribute("href"), linkShown: !document.getElementById("banner-link").hidden,
		disabled: document.getElementById("composer-text").disabled})`, &shown)
	if shown.Status != "Signed out" || !strings.Contains(shown.Banner, "You are signed out") || strings.Contains(shown.Banner, "Retrying") ||
		shown.Link != "/login?next=/" || !shown.LinkShown || !shown.Disabled {
		t.Fatalf("signed-out page: %+v", shown)
	}
	var state string
	pg.eval(`window.chatbox.state`, &state)
	if state != "closed" {
		t.Fatalf("the client is %q after a 401 from the sign-in service, want closed (no retries)", state)
	}
}

// While the paste-token form waits, the page does not claim to connect.
func TestPasteTokenFormIsNotShownAsConnecting(t *testing.T) {
	a := startApp(t, appConfig{Provider: scripted.New(), Widget: func(c *widget.Config) { c.TokenURL = "" }})
	pg := openTab(t, a.URL+"/")
	pg.waitJS(`!document.getElementById("signin").hidden`)
	var status string
	pg.eval(`document.getElementById("status-text").textContent`, &status)
	if status != "Sign-in needed" {
		t.Fatalf("status while the token form is shown: %q", status)
	}
	pg.do(chromedp.SendKeys(chromedp.ID("signin-token"), userToken), chromedp.Click(chromedp.CSS(`#signin button[type="submit"]`)))
	pg.waitJS(`document.body.dataset.state === "open"`)
}

// When the chat server cannot be reached, the page says so (not a sign-in
// problem) and counts down to the next attempt.
func TestServerOutageShowsALiveCountdown(t *testing.T) {
	a := startApp(t, appConfig{Provider: scripted.New()})
	pg := openPage(t, a.URL+"/", "")
	// Long waits between attempts, so the countdown has seconds to show.
	pg.eval(`(window.chatbox._minDelay = 8000, window.chatbox._maxDelay = 8000, true)`, new(bool))
	a.crash()
	pg.waitJS(`document.body.dataset.state === "reconnecting" && document.body.dataset.problem === "outage" &&
		/Reconnecting in \d+ s/.test(document.getElementById("banner-text").textContent)`)
	var first, banner string
	pg.eval(`document.getElementById("status-text").textContent`, &first)
	pg.eval(`document.getElementById("banner-text").textContent`, &banner)
	if !strings.Contains(banner, "Cannot reach the chat server") || strings.Contains(banner, "sign-in") {
		t.Fatalf("outage banner: %q", banner)
	}
	// The same attempt's countdown moves on by itself.
	pg.waitJS(fmt.Sprintf(`(() => { const m = /in (\d+) s/.exec(document.getElementById("status-text").textContent);
		return m && +m[1] < +(/in (\d+) s/.exec(%q) || [0, 0])[1]; })()`, first))
}

// Offline, a first message (no conversation yet) is kept and shown as
// waiting, then sent once the connection is back.
func TestFirstMessageWrittenOfflineIsQueuedThenSent(t *testing.T) {
	p1 := scripted.New(scripted.WithReplies(scripted.Reply{Deltas: scripted.Words("got it")}))
	a := startApp(t, appConfig{Provider: p1})
	pg := openPage(t, a.URL+"/", "")
	pg.eval(`(window.chatbox._minDelay = 200, window.chatbox._maxDelay = 400, true)`, new(bool))
	addr := a.Addr
	store := a.Store
	a.crash()
	a.stop(t, 0)
	pg.waitJS(`document.body.dataset.state === "reconnecting"`)
	pg.sendWithEnter("hello from a train")
	var shown struct {
		Box   string
		Draft bool
		Note  string
	}
	pg.eval(`({box: document.getElementById("composer-text").value, draft: !document.getElementById("draft").hidden,
		note: document.querySelector("#draft .note").textContent})`, &shown)
	if shown.Box != "" || !shown.Draft || !strings.Contains(shown.Note, "will be sent when the connection is back") {
		t.Fatalf("after Enter offline: %+v", shown)
	}
	startApp(t, appConfig{Addr: addr, Store: store, Provider: p1})
	pg.waitReplyDone(2)
	if got := pg.messages(); got[0].Text != "hello from a train" || got[1].Text != "got it" {
		t.Fatalf("after reconnecting: %s", textOf(got))
	}
	var draftHidden bool
	pg.eval(`document.getElementById("draft").hidden`, &draftHidden)
	if !draftHidden {
		t.Fatal("the queued message is still shown as waiting")
	}
}

// A failed reply says what happened in a sentence, and still does after a
// reload (from the stored finish reason and error code).
func TestFailedReplyIsExplainedAndStaysExplainedAfterAReload(t *testing.T) {
	p1 := scripted.New(scripted.WithReplies(scripted.Reply{Deltas: scripted.Words("Let me"), Err: &llm.Error{Kind: llm.KindRateLimited, Provider: "scripted"}}))
	a := startApp(t, appConfig{Provider: p1})
	pg := openPage(t, a.URL+"/", "")
	pg.send("what is up")
	pg.waitReplyDone(2)
	const want = "The assistant could not answer just now. Try again in a moment."
	check := func(when string) {
		m := pg.messages()[1]
		if m.Finish != "error" || !strings.Contains(m.Meta, want) || strings.Contains(m.Meta, "rate_limited") || strings.Contains(m.Meta, "failed to answer") {
			t.Fatalf("%s the failed reply shows %+v", when, m)
		}
	}
	check("live,")
	pg.do(chromedp.Reload())
	pg.waitJS(`document.body.dataset.state === "open"`)
	pg.waitReplyDone(2)
	check("after a reload,")
}

// While a reply streams, the blocks already complete keep their DOM: only
// the last block is drawn again.
func TestStreamingKeepsCompletedBlocks(t *testing.T) {
	reply := "First paragraph of the answer.\n\nSecond paragraph, which goes on for a while, word after word after word."
	p1 := scripted.New(scripted.WithReplies(scripted.Reply{Deltas: scripted.Words(reply), Delay: 30 * time.Millisecond}))
	a := startApp(t, appConfig{Provider: p1})
	pg := openPage(t, a.URL+"/", "")
	pg.send("go")
	pg.waitJS(`(() => { const m = document.querySelector("#messages .msg-assistant");
		const ps = m ? m.querySelectorAll(".body p") : [];
		if (ps.length === 2 && m.dataset.status === "streaming") { window.__first = ps[0]; return true; } return false; })()`)
	pg.waitReplyDone(2)
	var same bool
	pg.eval(`document.querySelector("#messages .msg-assistant .body p") === window.__first`, &same)
	if !same {
		t.Fatal("the first paragraph was drawn again while the second streamed")
	}
}

// The operator's live view follows a long streaming reply to its end, with
// smooth scrolling allowed and with reduced motion.
func TestConsoleLiveViewFollowsNewMessages(t *testing.T) {
	for _, motion := range []string{"no-preference", "reduce"} {
		t.Run(motion, func(t *testing.T) {
			var lines []string
			for i := range 60 {
				lines = append(lines, fmt.Sprintf("Line %d of a long answer that fills the view.\n", i))
			}
			p1 := scripted.New(scripted.WithReplies(
				scripted.Reply{Deltas: scripted.Words("hello")},
				scripted.Reply{Deltas: lines, Delay: 25 * time.Millisecond},
			))
			a := startApp(t, appConfig{Provider: p1})
			user := openPage(t, a.URL+"/", "")
			user.send("first")
			user.waitReplyDone(2)
			id := user.conversationID()
			op := openConsole(t, a, operatorToken)
			op.do(func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
				_, err := cdp.Call(ctx, tg, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
					Features: []*emulation.MediaFeature{{Name: "prefers-reduced-motion", Value: motion}},
				})
				return chromedp.Void{}, err
			})
			row := fmt.Sprintf(`#list .row[data-id=%s]`, js(id))
			op.waitJS(`document.body.dataset.state === "open" && !!document.querySelector(` + js(row) + `)`)
			op.do(chromedp.Click(chromedp.CSS(row)))
			op.waitJS(`document.querySelectorAll("#messages .msg").length === 2`)
			user.send("tell me more")
			op.waitJS(`(() => { const m = [...document.querySelectorAll("#messages .msg")].pop();
				return m && m.classList.contains("msg-assistant") && m.dataset.status === "complete" && m.textContent.includes("Line 59"); })()`)
			// Give a running scroll its frames, then measure.
			op.waitJS(`new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))`)
			var gap float64
			op.eval(`(() => { const t = document.getElementById("thread"); return t.scrollHeight - t.scrollTop - t.clientHeight; })()`, &gap)
			if gap > 2 {
				t.Fatalf("the live view stopped %.0f px short of the newest message", gap)
			}
		})
	}
}

// On a phone, a table wider than the message scrolls sideways and keeps
// its words whole.
func TestTablesScrollOnAPhoneInsteadOfBreakingWords(t *testing.T) {
	reply := "| Destination | Notes | Price |\n|---|---|---|\n| Lisbon | Supercalifragilisticexpialidocious | 1200 |\n| Porto | Extraordinarilylongwordwithnohyphens | 900 |\n"
	p1 := scripted.New(scripted.WithReplies(scripted.Reply{Deltas: scripted.Words(reply)}))
	a := startApp(t, appConfig{Provider: p1})
	pg := openPage(t, a.URL+"/", "")
	pg.send("table please")
	pg.waitReplyDone(2)
	pg.screenshot("chat-table-phone", 390, 844, true, false)
	var got struct {
		Scrolls bool
		Broken  []string
	}
	pg.eval(`(() => { const w = document.querySelector("#messages .table-wrap");
		const broken = [...w.querySelectorAll("td, th")].filter(c => { const r = document.createRange(); r.selectNodeContents(c);
			return !/\s/.test(c.textContent.trim()) && r.getClientRects().length > 1; }).map(c => c.textContent);
		return {scrolls: w.scrollWidth > w.clientWidth, broken}; })()`, &got)
	if len(got.Broken) != 0 || !got.Scrolls {
		t.Fatalf("table at phone width: %+v (want it to scroll and no word broken)", got)
	}
}
