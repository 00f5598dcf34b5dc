package e2e

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/chatboxsdk/chatbox/llm/scripted"
)

const richReply = "Here is a plan for **three days in Lisbon**:\n\n" +
	"1. **Alfama**: walk up to the *Miradouro de Santa Luzia* early.\n" +
	"2. **Belém**: the tower, the monastery and a `pastel de nata`.\n" +
	"3. **Sintra**: take the train from Rossio.\n\n" +
	"| Day | Area | Budget |\n|---|---|---|\n| 1 | Alfama | €40 |\n| 2 | Belém | €55 |\n| 3 | Sintra | €70 |\n\n" +
	"To check train times from a script:\n\n" +
	"```python\nimport requests\nprint(requests.get(\"https://example.com/trains\").json())\n```\n\n" +
	"More in the [official guide](https://www.visitlisboa.com/)."

func TestChatPageScreenshotsOnDesktopAndPhone(t *testing.T) {
	p1 := scripted.New(scripted.WithReplies(
		scripted.Reply{Deltas: scripted.Words("Mild and mostly sunny: 15 to 22 °C, with the odd shower.")},
		scripted.Reply{Deltas: scripted.Words("Happy to help! Are you after sights, food or day trips?")},
		scripted.Reply{Deltas: scripted.Words(richReply), Delay: time.Millisecond},
	))
	a := startApp(t, appConfig{Provider: p1})
	pg := openPage(t, a.URL+"/", "")
	// A second, older conversation so that the list has two entries.
	pg.send("What is the weather like in Porto in May?")
	pg.waitReplyDone(2)
	pg.do(chromedp.Click(chromedp.ID("new-chat")))
	pg.waitJS(`document.querySelectorAll("#messages .msg").length === 0 && !document.getElementById("empty").hidden`)
	pg.send("I have three days in Lisbon. What should I see?")
	pg.waitReplyDone(2)
	pg.send("Sights and a day trip, please, with a rough budget.")
	pg.waitReplyDone(4)
	pg.waitJS(`document.querySelectorAll("#conv-list .conv").length === 2`)

	t.Logf("saved %s", pg.screenshot("chat-desktop", 1280, 800, false, false))
	t.Logf("saved %s", pg.screenshot("chat-desktop-dark", 1280, 800, false, true))
	t.Logf("saved %s", pg.screenshot("chat-phone", 390, 844, true, false))

	// At phone width the page fits: no sideways scrolling, the message box
	// is on screen, and the conversation list hides behind the menu button.
	var phone struct {
		Overflow       bool
		ComposerInView bool
		MenuShown      bool
		SidebarHidden  bool
	}
	pg.eval(`(() => { const r = document.getElementById("composer-text").getBoundingClientRect();
		const s = document.getElementById("sidebar").getBoundingClientRect();
		return {overflow: document.documentElement.scrollWidth > innerWidth,
		composerInView: r.bottom <= innerHeight && r.top >= 0 && r.width > 200,
		menuShown: getComputedStyle(document.getElementById("menu")).display !== "none",
		sidebarHidden: s.right <= 0}; })()`, &phone)
	if phone.Overflow || !phone.ComposerInView || !phone.MenuShown || !phone.SidebarHidden {
		t.Fatalf("phone layout: %+v", phone)
	}
	pg.do(chromedp.Click(chromedp.ID("menu")))
	pg.waitJS(`document.getElementById("menu").getAttribute("aria-expanded") === "true" &&
		document.getElementById("sidebar").getBoundingClientRect().left === 0`)
	t.Logf("saved %s", pg.screenshot("chat-phone-menu", 390, 844, true, false))
	// Escape closes the list (the list now covers the menu button).
	pg.do(chromedp.KeyEvent(kb.Escape))
	pg.waitJS(`document.getElementById("menu").getAttribute("aria-expanded") === "false"`)
	t.Logf("saved %s", pg.screenshot("chat-phone-dark", 390, 844, true, true))
	var shown int
	pg.eval(`document.querySelectorAll("#messages .msg").length`, &shown)
	if shown != 4 {
		t.Fatalf("after closing the list the page shows %d messages, want the same 4", shown)
	}
}
