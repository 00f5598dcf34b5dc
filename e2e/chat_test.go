package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/chatboxsdk/chatbox/llm/scripted"
	"github.com/chatboxsdk/chatbox/storage"
)

func listMessages(t *testing.T, a *app, conversationID string) []storage.Message {
	t.Helper()
	page, err := a.Store.ListMessages(context.Background(), storage.MessageQuery{ConversationID: conversationID, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	return page.Messages
}

func (p *page) conversationID() string {
	p.t.Helper()
	var id string
	p.eval(`location.hash.slice(1)`, &id)
	if id == "" {
		p.t.Fatal("the page shows no conversation")
	}
	return id
}

func TestUserSeesTheReplyStreamAndRenderedAsMarkdown(t *testing.T) {
	reply := "Here is **bold** advice.\n\n- first point\n- second point\n\n```go\nfmt.Println(\"hi\")\n```\n"
	p1 := scripted.New(scripted.WithReplies(scripted.Reply{Deltas: scripted.Words(reply), Delay: 40 * time.Millisecond}))
	a := startApp(t, appConfig{Provider: p1})
	pg := openPage(t, a.URL+"/", "")

	pg.sendWithEnter("How do I print in Go?")
	// The reply is seen while it streams: partial text, marked streaming,
	// with the stop button offered.
	pg.waitJS(`(() => { const m = document.querySelector("#messages .msg-assistant");
		return m && m.dataset.status === "streaming" && m.textContent.includes("bold") && !document.getElementById("stop").hidden; })()`)
	pg.waitReplyDone(2)

	msgs := pg.messages()
	if len(msgs) != 2 || msgs[0].Role != "user" || msgs[0].Text != "How do I print in Go?" || msgs[1].Finish != "stop" {
		t.Fatalf("page shows:\n%s", textOf(msgs))
	}
	var rendered struct {
		Strong, Items, Code, Copy string
		StopHidden, SendShown     bool
		Title, Listed             string
	}
	pg.eval(`(() => { const a = document.querySelector("#messages .msg-assistant .body");
		return {strong: a.querySelector("strong")?.textContent, items: [...a.querySelectorAll("ul > li")].map(l => l.textContent).join("|"),
		code: a.querySelector(".code pre code")?.textContent, copy: a.querySelector(".code button.copy")?.getAttribute("aria-label"),
		stopHidden: document.getElementById("stop").hidden, sendShown: !document.getElementById("send").hidden,
		title: document.getElementById("conv-title").textContent,
		listed: document.querySelector("#conv-list .conv[aria-current] .conv-name")?.textContent}; })()`, &rendered)
	if rendered.Strong != "bold" || rendered.Items != "first point|second point" || rendered.Code != `fmt.Println("hi")` ||
		rendered.Copy != "Copy code (go)" || !rendered.StopHidden || !rendered.SendShown {
		t.Fatalf("rendered reply: %+v", rendered)
	}
	if rendered.Title != "How do I print in Go?" || rendered.Listed != "How do I print in Go?" {
		t.Fatalf("conversation title %q, listed as %q", rendered.Title, rendered.Listed)
	}
	// The page shows what the store holds.
	stored := listMessages(t, a, pg.conversationID())
	if len(stored) != 2 || stored[1].Text != reply || stored[1].FinishReason != "stop" {
		t.Fatalf("store holds %+v", stored)
	}
}

func TestRepliesWithHTMLAndScriptLinksRenderInert(t *testing.T) {
	reply := `Look <img src=x onerror="window.__pwned=1"> here <script>window.__pwned=2</script> and ` +
		`[click me](javascript:window.__pwned=3) or [this](JaVaScRiPt:alert(1)) or [data](data:text/html,hi) ` +
		`<a href="javascript:window.__pwned=4" onclick="window.__pwned=5">raw</a> ` +
		"![pic](https://example.com/x.png) and [the docs](https://example.com/docs?a=1&b=2)."
	p1 := scripted.New(scripted.WithReplies(scripted.Reply{Deltas: scripted.Words(reply)}))
	a := startApp(t, appConfig{Provider: p1})
	pg := openPage(t, a.URL+"/", "")
	pg.send(`<b>hi</b><img src=y onerror="window.__pwned=6">`)
	pg.waitReplyDone(2)

	var dom struct {
		Dangerous  int      `json:"dangerous"`
		Handlers   []string `json:"handlers"`
		Hrefs      []string `json:"hrefs"`
		Pwned      bool     `json:"pwned"`
		Reply      string   `json:"reply"`
		User       string   `json:"user"`
		Blocked    []string `json:"blocked"`
		SafeRel    string   `json:"safeRel"`
		UserBolded bool     `json:"userBolded"`
	}
	pg.eval(`(() => { const root = document.getElementById("messages"); const all = [...root.querySelectorAll("*")];
		return {dangerous: root.querySelectorAll("img, script, iframe, object, embed, svg, style, link, meta, form").length,
		handlers: all.flatMap(e => [...e.attributes].map(a => a.name)).filter(n => n.startsWith("on")),
		hrefs: [...root.querySelectorAll("[href], [src], [action], [formaction]")].map(e => e.getAttribute("href") || e.getAttribute("src") || "?"),
		pwned: window.__pwned !== undefined,
		reply: root.querySelector(".msg-assistant .body").textContent,
		user: root.querySelector(".msg-user .body").textContent,
		blocked: [...root.querySelectorAll(".link-blocked")].map(e => e.textContent),
		safeRel: root.querySelector(".msg-assistant a")?.rel,
		userBolded: !!root.querySelector(".msg-user b")}; })()`, &dom)
	if dom.Dangerous != 0 || len(dom.Handlers) != 0 || dom.Pwned || dom.UserBolded {
		t.Fatalf("markup from the model or the user reached the DOM: %+v", dom)
	}
	if len(dom.Hrefs) != 2 || dom.Hrefs[0] != "https://example.com/x.png" || dom.Hrefs[1] != "https://example.com/docs?a=1&b=2" {
		t.Fatalf("links in the reply: %q (want only the two https links)", dom.Hrefs)
	}
	if dom.SafeRel != "noopener noreferrer nofollow" {
		t.Fatalf("link rel = %q", dom.SafeRel)
	}
	if strings.Join(dom.Blocked, "|") != "click me|this|data" {
		t.Fatalf("blocked links shown as %q", dom.Blocked)
	}
	// The markup is shown as the characters it is made of.
	for _, want := range []string{`<img src=x onerror="window.__pwned=1">`, "<script>window.__pwned=2</script>", `onclick="window.__pwned=5">raw</a>`} {
		if !strings.Contains(dom.Reply, want) {
			t.Fatalf("reply text %q lacks %q", dom.Reply, want)
		}
	}
	if dom.User != `<b>hi</b><img src=y onerror="window.__pwned=6">` {
		t.Fatalf("user message shown as %q", dom.User)
	}
	// Clicking a neutralised link goes nowhere.
	pg.do(chromedp.Click(chromedp.CSS(`.link-blocked`)))
	var href string
	pg.eval(`location.href`, &href)
	if !strings.HasPrefix(href, a.URL) {
		t.Fatalf("a blocked link navigated to %s", href)
	}
}
