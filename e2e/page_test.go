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
)

// page is one browser tab in its own browser context (its own storage and
// cookies: another device, as far as the server can tell).
type page struct {
	t   *testing.T
	ctx context.Context
}

// openPage opens url in a new browser context and waits until the page is
// connected (or, with wantState, until body[data-state] is that state).
func openPage(t *testing.T, url string, wantState string) *page {
	t.Helper()
	p := openTab(t, url)
	if wantState == "" {
		wantState = "open"
	}
	p.waitJS(fmt.Sprintf(`document.body.dataset.state === %q`, wantState))
	return p
}

// openTab opens url in a new browser context.
func openTab(t *testing.T, url string) *page {
	t.Helper()
	needBrowser(t)
	ctx, cancel := chromedp.NewContext(browser.root, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	p := &page{t: t, ctx: ctx}
	// The first action creates the tab, which lives as long as the context
	// of that call: run it without the time limit of later actions.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("open a tab: %v", err)
	}
	p.do(chromedp.Navigate(url))
	return p
}

// do runs actions with a time limit, failing the test on error.
func (p *page) do(actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		p.t.Fatalf("browser: %v\npage state: %s", err, p.describe())
	}
}

// eval evaluates a JavaScript expression and decodes its value into out.
func (p *page) eval(expr string, out any) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
	defer cancel()
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[json.RawMessage](`JSON.stringify(`+expr+`)`+` ?? "null"`))
	if err != nil {
		p.t.Fatalf("evaluate %s: %v", expr, err)
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		p.t.Fatalf("evaluate %s: %v", expr, err)
	}
	if err := json.Unmarshal([]byte(s), out); err != nil {
		p.t.Fatalf("evaluate %s: decode %s: %v", expr, s, err)
	}
}

// waitJS waits until the JavaScript predicate is true.
func (p *page) waitJS(predicate string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 20*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](predicate, chromedp.WithPollingInterval(20*time.Millisecond))); err != nil {
		p.t.Fatalf("waiting for %s: %v\npage state: %s", predicate, err, p.describe())
	}
}

// describe returns what the page shows, for failure messages.
func (p *page) describe() string {
	ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`JSON.stringify({state: document.body.dataset.state,
		status: document.getElementById("status-text")?.textContent,
		banner: document.getElementById("banner")?.hidden ? "" : document.getElementById("banner-text")?.textContent,
		mode: document.getElementById("mode-banner")?.textContent || document.getElementById("d-mode")?.textContent,
		messages: [...document.querySelectorAll("#messages .msg")].map(m => [m.className, m.dataset.status, m.dataset.finish, m.querySelector(".body").textContent])})`))
	if err != nil {
		return err.Error()
	}
	return s
}

// shownMessage is one message as the page shows it.
type shownMessage struct {
	ID     string `json:"id"`
	Role   string `json:"role"`
	Status string `json:"status"`
	Finish string `json:"finish"`
	Text   string `json:"text"`
	Meta   string `json:"meta"`
}

func (p *page) messages() []shownMessage {
	p.t.Helper()
	var out []shownMessage
	p.eval(`[...document.querySelectorAll("#messages .msg")].map(m => ({
		id: m.dataset.id, role: m.className.replace(/.*msg-(\w+).*/, "$1"), status: m.dataset.status,
		finish: m.dataset.finish, text: m.querySelector(".body").textContent, meta: m.querySelector(".meta").textContent}))`, &out)
	return out
}

// send types text into the message box and clicks the send button.
func (p *page) send(text string) {
	p.t.Helper()
	p.do(
		chromedp.WaitEnabled(chromedp.CSS("#composer-text")),
		chromedp.SendKeys(chromedp.CSS("#composer-text"), text),
		chromedp.Click(chromedp.CSS("#send")),
	)
}

// sendWithEnter types text into the message box and presses Enter.
func (p *page) sendWithEnter(text string) {
	p.t.Helper()
	p.do(
		chromedp.WaitEnabled(chromedp.CSS("#composer-text")),
		chromedp.SendKeys(chromedp.CSS("#composer-text"), text+"\r"),
	)
}

// waitReplyDone waits until the page shows n messages and the last one is a
// finished assistant reply.
func (p *page) waitReplyDone(n int) {
	p.t.Helper()
	p.waitJS(fmt.Sprintf(`(() => { const m = document.querySelectorAll("#messages .msg");
		return m.length === %d && m[m.length-1].classList.contains("msg-assistant") && m[m.length-1].dataset.status === "complete"; })()`, n))
}

// screenshot saves a PNG of the page under e2e/build/ at the given viewport
// size; dark emulates prefers-color-scheme: dark.
func (p *page) screenshot(name string, width, height int64, mobile, dark bool) string {
	p.t.Helper()
	scheme := "light"
	if dark {
		scheme = "dark"
	}
	opts := []chromedp.EmulateViewportOption{}
	if mobile {
		opts = append(opts, chromedp.EmulateScale(2), chromedp.EmulateMobile)
	}
	ctx, cancel := context.WithTimeout(p.ctx, 20*time.Second)
	defer cancel()
	err := chromedp.Do(ctx,
		chromedp.EmulateViewport(width, height, opts...),
		func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
			_, err := cdp.Call(ctx, t, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
				Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}},
			})
			return chromedp.Void{}, err
		},
		// Let the layout settle for the new size, and finite transitions
		// end, before capturing.
		chromedp.Poll[chromedp.Void](`new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))`),
		chromedp.Poll[chromedp.Void](`document.getAnimations().every(a => a.playState !== "running" || a.effect.getTiming().iterations === Infinity)`),
	)
	var png []byte
	if err == nil {
		png, err = chromedp.Run(ctx, chromedp.CaptureScreenshot())
	}
	if err != nil {
		p.t.Fatalf("screenshot %s: %v", name, err)
	}
	dir := "build"
	if err := os.MkdirAll(dir, 0o755); err != nil {
		p.t.Fatal(err)
	}
	path := filepath.Join(dir, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		p.t.Fatal(err)
	}
	return path
}

// textOf returns the texts of the messages, for comparisons.
func textOf(msgs []shownMessage) string {
	var b strings.Builder
	for _, m := range msgs {
		fmt.Fprintf(&b, "%s[%s/%s]: %s\n", m.Role, m.Status, m.Finish, m.Text)
	}
	return b.String()
}
