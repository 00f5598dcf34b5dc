package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/chatboxsdk/chatbox/llm/scripted"
	"github.com/chatboxsdk/chatbox/widget"
)

// axeSource is axe-core, installed with the widget's JavaScript dev tools
// (make js-test, or npm ci in widget/jstest).
func axeSource(t *testing.T) string {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("..", "widget", "jstest", "node_modules", "axe-core", "axe.min.js"))
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("axe-core is missing (make js-test installs it): %v", err)
		}
		t.Skipf("axe-core is missing (run make js-test): %v", err)
	}
	return string(src)
}

type axeViolation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		Target  []any  `json:"target"`
		Summary string `json:"failureSummary"`
	} `json:"nodes"`
}

// checkAccessibility runs axe-core on the page in the given colour scheme
// and fails on every serious or critical violation.
func (p *page) checkAccessibility(axe, name, scheme string) {
	p.t.Helper()
	p.do(func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		_, err := cdp.Call(ctx, tg, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}, {Name: "prefers-reduced-motion", Value: "reduce"}},
		})
		return chromedp.Void{}, err
	})
	var loaded bool
	p.eval(`(() => { if (!window.axe) { (0, eval)(`+jsString(axe)+`); } return !!window.axe; })()`, &loaded)
	if !loaded {
		p.t.Fatal("axe-core did not load")
	}
	ctx, cancel := context.WithTimeout(p.ctx, 60*time.Second)
	defer cancel()
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[string](`axe.run(document, {resultTypes: ["violations"]}).then(r => JSON.stringify(r.violations))`, chromedp.EvalAwaitPromise))
	if err != nil {
		p.t.Fatalf("axe on %s (%s): %v", name, scheme, err)
	}
	var violations []axeViolation
	if err := json.Unmarshal([]byte(raw), &violations); err != nil {
		p.t.Fatal(err)
	}
	var bad []string
	for _, v := range violations {
		line := fmt.Sprintf("%s [%s] %s", v.ID, v.Impact, v.Help)
		for _, n := range v.Nodes {
			line += fmt.Sprintf("\n\t%v: %s", n.Target, strings.ReplaceAll(n.Summary, "\n", " "))
		}
		if v.Impact == "serious" || v.Impact == "critical" {
			bad = append(bad, line)
		} else {
			p.t.Logf("%s (%s), minor: %s", name, scheme, line)
		}
	}
	if len(bad) > 0 {
		p.t.Errorf("%s in %s has serious accessibility problems:\n%s", name, scheme, strings.Join(bad, "\n"))
	}
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func TestChatPageAndConsoleHaveNoSeriousAccessibilityProblems(t *testing.T) {
	needBrowser(t)
	axe := axeSource(t)
	p1 := scripted.New(scripted.WithReplies(
		scripted.Reply{Deltas: scripted.Words(richReply)},
		scripted.Reply{Deltas: scripted.Words("Cut"), Err: fmt.Errorf("boom")},
	))
	a := startApp(t, appConfig{Provider: p1})
	user := openPage(t, a.URL+"/", "")
	user.send("Plan three days in Lisbon")
	user.waitReplyDone(2)
	user.send("and a fourth?")
	user.waitReplyDone(4)
	user.do(chromedp.Click(chromedp.ID("help")))
	user.waitJS(`document.getElementById("mode-banner").textContent.includes("You asked to talk to a person")`)
	id := user.conversationID()
	for _, scheme := range []string{"light", "dark"} {
		user.checkAccessibility(axe, "the chat page", scheme)
	}

	op := openConsole(t, a, operatorToken)
	row := fmt.Sprintf(`#queue .row[data-id=%s]`, js(id))
	op.waitJS(`document.body.dataset.state === "open" && !!document.querySelector(` + js(row) + `)`)
	op.do(chromedp.Click(chromedp.CSS(row)))
	op.waitJS(`document.querySelectorAll("#messages .msg").length === 4`)
	for _, scheme := range []string{"light", "dark"} {
		op.checkAccessibility(axe, "the operator console", scheme)
	}
}

// The host's theme settings reach the page: a forced dark theme whatever
// the browser prefers, the accent colour with readable text on it, the
// logo and the welcome text; and the themed page stays accessible.
func TestThemeSettingsStyleThePage(t *testing.T) {
	needBrowser(t)
	axe := axeSource(t)
	a := startApp(t, appConfig{Provider: scripted.New(), Widget: func(c *widget.Config) {
		c.Theme, c.AccentColor, c.LogoURL, c.WelcomeText = "dark", "#ffd400", "/brand/logo.svg", "Ask Acme anything"
	}})
	pg := openPage(t, a.URL+"/", "")
	pg.do(chromedp.SendKeys(chromedp.ID("composer-text"), "x"))
	var got struct {
		Theme, Background, Send, SendText, Welcome, Logo string
	}
	pg.eval(`(() => { const s = getComputedStyle(document.getElementById("send"));
		return {theme: document.documentElement.dataset.theme, background: getComputedStyle(document.body).backgroundColor,
		send: s.backgroundColor, sendText: s.color, welcome: document.getElementById("welcome").textContent,
		logo: document.querySelector(".topbar img.logo")?.getAttribute("src") || ""}; })()`, &got)
	if got.Theme != "dark" || got.Background != "rgb(20, 22, 26)" || got.Send != "rgb(255, 212, 0)" || got.SendText != "rgb(0, 0, 0)" ||
		got.Welcome != "Ask Acme anything" || got.Logo != "/brand/logo.svg" {
		t.Fatalf("themed page: %+v", got)
	}
	pg.checkAccessibility(axe, "the themed chat page", "light")
}

// While an operator holds a conversation, the pages show what they show
// only then: the console's "You are answering" chip and its list badges,
// the operator's avatar beside their messages. These pass the check too.
func TestPagesWhileAnOperatorAnswersHaveNoSeriousAccessibilityProblems(t *testing.T) {
	needBrowser(t)
	axe := axeSource(t)
	a := startApp(t, appConfig{Provider: scripted.New(scripted.WithReplies(scripted.Reply{Deltas: scripted.Words("Hello! How can I help?")}))})
	user := openPage(t, a.URL+"/", "")
	user.send("I need a person")
	user.waitReplyDone(2)
	id := user.conversationID()
	op := openConsoleAt(t, a, id, operatorToken)
	op.waitJS(`document.body.dataset.state === "open" && !document.getElementById("takeover").disabled`)
	op.do(chromedp.Click(chromedp.ID("takeover")))
	op.waitJS(`document.getElementById("d-mode").textContent === "You are answering"`)
	op.send("Hi, this is Olivia.")
	user.waitJS(`!!document.querySelector("#messages .msg-operator .avatar")`)
	op.waitJS(`!!document.querySelector("#messages .msg-operator[data-status=complete]") &&
		!!document.querySelector(` + js(fmt.Sprintf(`.row[data-id=%s] .badge[data-kind="operator"]`, js(id))) + `)`)
	for _, scheme := range []string{"light", "dark"} {
		user.checkAccessibility(axe, "the chat page with an operator", scheme)
		op.checkAccessibility(axe, "the operator console while answering", scheme)
	}
}
