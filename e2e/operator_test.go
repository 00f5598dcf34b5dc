package e2e

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/chatboxsdk/chatbox"
	"github.com/chatboxsdk/chatbox/auth"
	"github.com/chatboxsdk/chatbox/llm"
	"github.com/chatboxsdk/chatbox/llm/scripted"
	"github.com/chatboxsdk/chatbox/ratelimit"
	"github.com/chatboxsdk/chatbox/storage"
	"github.com/chatboxsdk/chatbox/storage/memory"
	"github.com/chatboxsdk/chatbox/usage"
)

// openConsole opens the operator console in a new browser context and
// signs in by pasting token, as an operator without single sign-on does.
func openConsole(t *testing.T, a *app, token string) *page {
	t.Helper()
	p := openTab(t, a.URL+"/operator")
	p.waitJS(`!document.getElementById("signin").hidden && document.activeElement === document.getElementById("signin-token")`)
	p.do(
		chromedp.SendKeys(chromedp.ID("signin-token"), token),
		chromedp.Click(chromedp.CSS(`#signin button[type="submit"]`)),
	)
	return p
}

// js quotes s as a JavaScript string literal.
func js(s string) string { return fmt.Sprintf("%q", s) }

// requests records what the model was asked.
type requests struct {
	mu  sync.Mutex
	all []llm.Request
}

func (r *requests) last() llm.Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.all[len(r.all)-1]
}

func TestOperatorTakesOverInTheConsoleWritesAndTheUserPageShowsIt(t *testing.T) {
	var asked requests
	p1 := scripted.New(scripted.WithResponder(func(req llmRequest) scripted.Reply {
		asked.mu.Lock()
		asked.all = append(asked.all, req)
		asked.mu.Unlock()
		return scripted.Reply{Deltas: scripted.Words("The assistant answers: " + lastUser(req)), Delay: 5 * time.Millisecond}
	}))
	a := startApp(t, appConfig{Provider: p1})
	user := openPage(t, a.URL+"/", "")
	user.send("I want to change my delivery address")
	user.waitReplyDone(2)
	id := user.conversationID()

	// The user asks for a person: the page says so, and the conversation
	// enters the console's needs-help queue.
	var helpLabel string
	user.eval(`document.getElementById("help").textContent.trim()`, &helpLabel)
	if helpLabel != "Talk to a person" {
		t.Fatalf("help button reads %q", helpLabel)
	}
	user.do(chromedp.Click(chromedp.ID("help")))
	user.waitJS(`document.getElementById("mode-banner").textContent.includes("You asked to talk to a person") && document.getElementById("help").hidden`)

	op := openConsole(t, a, operatorToken)
	op.waitJS(`document.body.dataset.state === "open" && document.getElementById("me").textContent === "Signed in as Olivia"`)
	queued := fmt.Sprintf(`#queue .row[data-id=%s]`, js(id))
	op.waitJS(`!!document.querySelector(` + js(queued) + `) && document.getElementById("queue-count").textContent === "1"`)
	op.do(chromedp.Click(chromedp.CSS(queued)))
	// The live view shows the conversation so far, who it belongs to and
	// that its user waits for a person.
	op.waitJS(`document.querySelectorAll("#messages .msg").length === 2 &&
		document.getElementById("d-mode").textContent.startsWith("Waiting for a person") &&
		document.getElementById("d-sub").textContent.includes("User alice") && !document.getElementById("takeover").disabled`)
	var before struct {
		Composer bool   `json:"composer"`
		Who      string `json:"who"`
	}
	op.eval(`({composer: document.getElementById("composer-text").disabled,
		who: [...document.querySelectorAll("#messages .msg-who")].map(w => w.textContent).join("|")})`, &before)
	if !before.Composer || before.Who != "alice|Assistant" {
		t.Fatalf("console before the takeover: %+v (want the composer disabled and alice|Assistant)", before)
	}
	t.Logf("saved %s", op.screenshot("operator-console-queue", 1280, 800, false, false))

	op.do(chromedp.Click(chromedp.ID("takeover")))
	op.waitJS(`document.getElementById("d-mode").textContent === "You are answering" &&
		!document.getElementById("composer-text").disabled && !document.getElementById("release").hidden &&
		document.getElementById("takeover").hidden && document.activeElement === document.getElementById("composer-text")`)
	user.waitJS(`document.getElementById("mode-banner").textContent.includes("Olivia joined the conversation")`)

	const hello = "Hi, this is Olivia. I can change the address for you."
	op.send(hello)
	user.waitJS(`[...document.querySelectorAll("#messages .msg-operator .body")].some(b => b.textContent === ` + js(hello) + `)`)
	want := "user[sent/]: I want to change my delivery address\n" +
		"assistant[complete/stop]: The assistant answers: I want to change my delivery address\n" +
		"operator[complete/]: " + hello + "\n"
	if got := textOf(user.messages()); got != want {
		t.Fatalf("user page shows:\n%swant:\n%s", got, want)
	}
	var shown struct {
		Banner, Hint, Label string
		HelpHidden          bool
	}
	user.eval(`({banner: document.getElementById("mode-banner").textContent, hint: document.getElementById("hint-who").textContent,
		label: document.querySelector("#messages .msg-operator .who").textContent, helpHidden: document.getElementById("help").hidden})`, &shown)
	if !strings.Contains(shown.Banner, "Olivia joined the conversation") || shown.Hint != "You are talking to Olivia." || shown.Label != "Olivia" || !shown.HelpHidden {
		t.Fatalf("user page while Olivia holds the conversation: %+v", shown)
	}
	op.waitJS(`(() => { const m = [...document.querySelectorAll("#messages .msg")].pop();
		return m.classList.contains("msg-operator") && m.querySelector(".msg-who").textContent === "You (Olivia)"; })()`)

	// While Olivia holds it, the user's messages reach her live and the
	// model does not answer.
	const address = "The new address is 5 Rua Augusta, Lisbon"
	user.send(address)
	op.waitJS(`(() => { const m = [...document.querySelectorAll("#messages .msg")].pop();
		return m.classList.contains("msg-user") && m.querySelector(".body").textContent === ` + js(address) + `; })()`)
	user.waitJS(`document.querySelector("#messages .msg-user:last-of-type")?.dataset.status === "sent"`)
	if n := p1.Started(); n != 1 {
		t.Fatalf("the model was asked %d times while an operator held the conversation, want once (before)", n)
	}

	t.Logf("saved %s", op.screenshot("operator-console", 1280, 800, false, false))
	t.Logf("saved %s", op.screenshot("operator-console-dark", 1280, 800, false, true))
	t.Logf("saved %s", op.screenshot("operator-console-phone", 390, 844, true, false))
	var overflow bool
	op.eval(`document.documentElement.scrollWidth > innerWidth`, &overflow)
	if overflow {
		t.Fatal("the console scrolls sideways at phone width")
	}
	op.screenshot("operator-console", 1280, 800, false, false) // back to the desktop layout
	t.Logf("saved %s", user.screenshot("chat-operator-joined", 1280, 800, false, false))
	t.Logf("saved %s", user.screenshot("chat-operator-joined-phone", 390, 844, true, false))

	// Olivia hands the conversation back: the user is told, and the next
	// message gets the model's answer, live in the console too.
	op.do(chromedp.Click(chromedp.ID("release")))
	op.waitJS(`document.getElementById("d-mode").textContent === "The assistant is answering" && document.getElementById("composer-text").disabled`)
	user.waitJS(`document.getElementById("mode-banner").textContent.includes("Olivia left; the assistant is back") && !document.getElementById("help").hidden`)
	user.send("Thanks! Can you confirm it?")
	user.waitReplyDone(6)
	if got := user.messages()[5]; got.Text != "The assistant answers: Thanks! Can you confirm it?" || got.Finish != "stop" {
		t.Fatalf("reply after the release: %+v", got)
	}
	op.waitJS(`(() => { const m = document.querySelectorAll("#messages .msg");
		return m.length === 6 && m[5].classList.contains("msg-assistant") && m[5].dataset.status === "complete"; })()`)

	// The store holds the operator's message as an operator's, and the
	// model saw it as an operator turn, not as its own.
	stored := listMessages(t, a, id)
	roles := make([]string, len(stored))
	for i, m := range stored {
		roles[i] = string(m.Role)
	}
	if strings.Join(roles, ",") != "user,assistant,operator,user,user,assistant" || stored[2].Text != hello || stored[2].Role != storage.RoleOperator {
		t.Fatalf("store holds roles %v", roles)
	}
	sawOperator := false
	for _, m := range asked.last().Messages {
		sawOperator = sawOperator || (m.Role == llm.RoleOperator && m.Text == hello)
	}
	if !sawOperator {
		t.Fatalf("the model was not given the operator's turn: %+v", asked.last().Messages)
	}
}

// A second operator, for the tests where two of them meet.
const (
	secondOperatorToken = "token-oscar-0123456789"
	secondOperatorName  = "Oscar"
)

// withSecondOperator returns an option that signs in the app's user and
// operator as usual, and Oscar as a second operator.
func withSecondOperator(t *testing.T) chatbox.Option {
	t.Helper()
	authn, err := auth.NewStaticTokens(map[string]auth.Identity{
		userToken:           {UserID: "alice", Name: userName},
		operatorToken:       {UserID: "olivia", Name: operatorName, Roles: []string{"operator"}},
		secondOperatorToken: {UserID: "oscar", Name: secondOperatorName, Roles: []string{"operator"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return chatbox.WithAuthenticator(authn)
}

// openConsoleAt opens the console on one conversation (named in its
// address) and signs in with token.
func openConsoleAt(t *testing.T, a *app, id, token string) *page {
	t.Helper()
	p := openTab(t, a.URL+"/operator#"+id)
	p.waitJS(`!document.getElementById("signin").hidden && document.activeElement === document.getElementById("signin-token")`)
	p.do(chromedp.SendKeys(chromedp.ID("signin-token"), token), chromedp.Click(chromedp.CSS(`#signin button[type="submit"]`)))
	return p
}

func TestASecondOperatorTakesOverAConversationAnotherOperatorHolds(t *testing.T) {
	a := startApp(t, appConfig{
		Provider: scripted.New(scripted.WithResponder(func(req llmRequest) scripted.Reply {
			return scripted.Reply{Deltas: scripted.Words("echo: " + lastUser(req))}
		})),
		Options: []chatbox.Option{withSecondOperator(t)},
	})
	user := openPage(t, a.URL+"/", "")
	user.send("Is anyone there?")
	user.waitReplyDone(2)
	id := user.conversationID()

	// Olivia takes the conversation over, and keeps it.
	olivia := openConsoleAt(t, a, id, operatorToken)
	olivia.waitJS(`document.querySelectorAll("#messages .msg").length === 2 && !document.getElementById("takeover").disabled`)
	olivia.do(chromedp.Click(chromedp.ID("takeover")))
	olivia.waitJS(`document.getElementById("d-mode").textContent === "You are answering" && !document.getElementById("composer-text").disabled`)
	user.waitJS(`document.getElementById("mode-banner").textContent.includes("Olivia joined the conversation")`)

	// Oscar sees her holding it (by her display name, which the opened
	// conversation carries): the ordinary takeover is not offered, the
	// forced one is, and it waits for a confirmation.
	oscar := openConsoleAt(t, a, id, secondOperatorToken)
	oscar.waitJS(`document.getElementById("me").textContent === "Signed in as Oscar" &&
		document.querySelectorAll("#messages .msg").length === 2 &&
		document.getElementById("d-mode").textContent === "Olivia is answering" &&
		!document.getElementById("force").hidden && !document.getElementById("force").disabled`)
	var held struct {
		Take, Composer bool
		Force, Why     string
	}
	oscar.eval(`({take: document.getElementById("takeover").disabled, composer: document.getElementById("composer-text").disabled,
		force: document.getElementById("force").textContent, why: document.getElementById("composer-text").placeholder})`, &held)
	if !held.Take || !held.Composer || held.Force != "Take over anyway" || held.Why != "Olivia holds this conversation." {
		t.Fatalf("Oscar's console while Olivia holds the conversation: %+v", held)
	}
	// With the keyboard: the first Enter asks for a confirmation, the
	// second takes the conversation.
	oscar.do(chromedp.Focus(chromedp.ID("force")), chromedp.KeyEvent("\r"))
	oscar.waitJS(`document.getElementById("force").textContent === "Click again to take it over" &&
		document.getElementById("force").classList.contains("armed") && document.activeElement === document.getElementById("force") &&
		document.getElementById("d-mode").textContent === "Olivia is answering"`)
	oscar.do(chromedp.KeyEvent("\r"))
	oscar.waitJS(`document.getElementById("d-mode").textContent === "You are answering" && document.getElementById("force").hidden &&
		!document.getElementById("composer-text").disabled && document.activeElement === document.getElementById("composer-text")`)

	// The user is told Oscar joined; Olivia's console says she no longer
	// holds the conversation.
	user.waitJS(`document.getElementById("mode-banner").textContent.includes("Oscar joined the conversation") &&
		document.getElementById("hint-who").textContent === "You are talking to Oscar."`)
	olivia.waitJS(`document.getElementById("d-mode").textContent === "Oscar is answering" &&
		document.getElementById("composer-text").disabled && !document.getElementById("force").hidden`)

	// Oscar writes, and the user reads it.
	const hello = "Hi, Oscar here. Olivia had to leave; how can I help?"
	oscar.send(hello)
	user.waitJS(`[...document.querySelectorAll("#messages .msg-operator .body")].some(b => b.textContent === ` + js(hello) + `)`)
	oscar.waitJS(`(() => { const m = [...document.querySelectorAll("#messages .msg")].pop();
		return m.classList.contains("msg-operator") && m.dataset.status === "complete" && m.querySelector(".msg-who").textContent === "You (Oscar)"; })()`)
	stored := listMessages(t, a, id)
	if last := stored[len(stored)-1]; len(stored) != 3 || last.Role != storage.RoleOperator || last.Text != hello {
		t.Fatalf("store holds %+v", stored)
	}
	audit, err := a.Store.ListAudit(context.Background(), storage.AuditQuery{ConversationID: id, Action: storage.AuditTakeover})
	if err != nil {
		t.Fatal(err)
	}
	if len(audit.Entries) != 2 || audit.Entries[0].Actor != "oscar" || audit.Entries[0].Detail != "taken from olivia" {
		t.Fatalf("audit log of the takeovers: %+v", audit.Entries)
	}
}

func TestConsoleTellsAUserWhoIsNotAnOperator(t *testing.T) {
	a := startApp(t, appConfig{Provider: scripted.New()})
	op := openConsole(t, a, userToken)
	op.waitJS(`!document.getElementById("signin").hidden &&
		document.getElementById("signin-error").textContent.includes("This account is not an operator")`)
	var shown struct {
		Panes  bool   `json:"panes"`
		Status string `json:"status"`
	}
	op.eval(`({panes: !document.getElementById("panes").hidden, status: document.getElementById("status-text").textContent})`, &shown)
	if shown.Panes || shown.Status != "Offline" {
		t.Fatalf("console after a refused operator: %+v", shown)
	}
	// Signing in again with an operator's token works.
	op.do(chromedp.SendKeys(chromedp.ID("signin-token"), operatorToken), chromedp.Click(chromedp.CSS(`#signin button[type="submit"]`)))
	op.waitJS(`document.body.dataset.state === "open" && !document.getElementById("panes").hidden && document.getElementById("queue-empty").hidden === false`)
}

func TestConsoleSlowsDownWhenTheAPIRateLimitsIt(t *testing.T) {
	// One admin request per hour: the queue loads, the list is refused.
	a := startApp(t, appConfig{Provider: scripted.New(), Options: []chatbox.Option{chatbox.WithAdminRate(ratelimit.Limit{Rate: 1.0 / 3600, Burst: 1})}})
	op := openConsole(t, a, operatorToken)
	op.waitJS(`!document.getElementById("banner").hidden &&
		/Too many requests: the console waits \d+ s before refreshing again/.test(document.getElementById("banner-text").textContent)`)
	var state string
	op.eval(`document.body.dataset.state`, &state)
	if state != "open" {
		t.Fatalf("the socket should stay open while the API is rate limited; state %q", state)
	}
}

func TestConsoleFollowsAConversationAcrossAServerRestart(t *testing.T) {
	store := memory.New()
	echo := func(req llmRequest) scripted.Reply {
		return scripted.Reply{Deltas: scripted.Words("echo: " + lastUser(req))}
	}
	first := startApp(t, appConfig{Store: store, Provider: scripted.New(scripted.WithResponder(echo))})
	user := openPage(t, first.URL+"/", "")
	user.send("hello")
	user.waitReplyDone(2)
	id := user.conversationID()

	// The console opens the conversation named in its address.
	op := openTab(t, first.URL+"/operator#"+id)
	op.waitJS(`!document.getElementById("signin").hidden`)
	op.do(chromedp.SendKeys(chromedp.ID("signin-token"), operatorToken), chromedp.Click(chromedp.CSS(`#signin button[type="submit"]`)))
	op.waitJS(`document.querySelectorAll("#messages .msg").length === 2 && document.getElementById("d-mode").textContent === "The assistant is answering"`)

	first.crash()
	op.waitJS(`document.body.dataset.state === "reconnecting" && !document.getElementById("banner").hidden`)
	first.stop(t, 0)
	second := startApp(t, appConfig{Addr: first.Addr, Store: store, Provider: scripted.New(scripted.WithResponder(echo))})
	op.waitJS(`document.body.dataset.state === "open"`)
	user.waitJS(`document.body.dataset.state === "open"`)

	// The watch was resumed: what the user writes now reaches the console
	// live, and nothing is shown twice.
	user.send("after the restart")
	user.waitReplyDone(4)
	op.waitReplyDone(4)
	want := "user[sent/]: hello\nassistant[complete/stop]: echo: hello\n" +
		"user[sent/]: after the restart\nassistant[complete/stop]: echo: after the restart\n"
	if got := textOf(op.messages()); got != want {
		t.Fatalf("console shows:\n%swant:\n%s", got, want)
	}
	if n := len(listMessages(t, second, id)); n != 4 {
		t.Fatalf("store holds %d messages, want 4", n)
	}

	// Ending takes a second click; then both pages show the end.
	op.do(chromedp.Click(chromedp.ID("end")))
	op.waitJS(`document.getElementById("end").textContent === "Click again to end it"`)
	op.do(chromedp.Click(chromedp.ID("end")))
	op.waitJS(`document.getElementById("d-mode").textContent === "Ended" && document.getElementById("end").hidden && document.getElementById("takeover").hidden`)
	user.waitJS(`document.getElementById("composer-text").disabled && document.getElementById("composer-text").placeholder.includes("has ended")`)
}

func TestAskingForAPersonFromANewChatStartsAConversationThatWaits(t *testing.T) {
	a := startApp(t, appConfig{Provider: scripted.New()})
	user := openPage(t, a.URL+"/", "")
	user.waitJS(`!document.getElementById("help").hidden && !document.getElementById("help").disabled`)
	user.do(chromedp.Click(chromedp.ID("help")))
	user.waitJS(`document.getElementById("mode-banner").textContent.includes("You asked to talk to a person") &&
		document.getElementById("conv-title").textContent === "Talk to a person" && location.hash.length > 1`)
	conv, err := a.Store.GetConversation(context.Background(), user.conversationID())
	if err != nil || conv.Mode != storage.ModeWaiting {
		t.Fatalf("stored conversation %+v, %v; want mode waiting", conv, err)
	}
	user.waitJS(`document.querySelector("#conv-list .conv[aria-current] .conv-when")?.textContent.endsWith("· person requested")`)
}

// figure is a JavaScript expression: the text of the console's figure
// labelled label, or null.
func figure(label string) string {
	return `([...document.querySelectorAll("#d-stats div")].find(d => d.querySelector("dt").textContent === ` + js(label) + `)?.querySelector("dd").textContent ?? null)`
}

func TestConsoleShowsTheConversationsCostAndItsUsersUsageThisMonth(t *testing.T) {
	// Per million tokens: 1000 for input, 2000 for output; the first reply
	// costs 1200*1000/1e6 + 300*2000/1e6 = 1.8.
	prices := chatbox.WithPrices(map[string]usage.Price{chatbox.DefaultModel: {InputPerMillion: 1000, OutputPerMillion: 2000}})
	replies := func() llm.Provider {
		return scripted.New(scripted.WithReplies(
			scripted.Reply{Deltas: scripted.Words("Happy to help."), Usage: llm.Usage{InputTokens: 1200, OutputTokens: 300}},
			scripted.Reply{Deltas: scripted.Words("Anything else?")}, // no usage reported: the server estimates it
		))
	}
	a := startApp(t, appConfig{Provider: replies(), Options: []chatbox.Option{prices}}) // its memory store keeps usage
	user := openPage(t, a.URL+"/", "")
	user.send("What does my plan cost?")
	user.waitReplyDone(2)
	id := user.conversationID()

	op := openConsoleAt(t, a, id, operatorToken)
	// Amounts in the browser's own number format: 1.80 and 1,500 in English.
	const amount = `(n => n.toLocaleString(undefined, {minimumFractionDigits: 2, maximumFractionDigits: 2}))`
	op.waitJS(figure("Cost") + ` === ` + amount + `(1.8) &&
		` + figure("This month (user)") + ` === (1500).toLocaleString() + " tokens · " + ` + amount + `(1.8)`)
	var labels []string
	op.eval(`[...document.querySelectorAll("#d-stats dt")].map(d => d.textContent)`, &labels)
	// The cost follows the tokens; the user's month comes after the
	// conversation's own figures.
	if got := strings.Join(labels, "|"); !strings.Contains(got, "|Tokens|Cost|") || !strings.HasSuffix(got, "|Last activity|This month (user)") {
		t.Fatalf("figures %s", got)
	}

	// A reply whose provider reported no usage is counted with the server's
	// estimate: the month's line, loaded again when the reply ends, says so.
	user.send("Thanks")
	user.waitReplyDone(4)
	op.waitJS(`(m => !!m && m.endsWith(" (some estimated)") && !m.startsWith((1500).toLocaleString() + " "))(` + figure("This month (user)") + `)`)

	// A store that keeps no usage (/usage answers 501): the cost is still
	// shown, the month's line is not, and the console carries on.
	bare := startApp(t, appConfig{Provider: replies(), WrapStore: func(s storage.Store) storage.Store { return struct{ storage.Store }{s} },
		Options: []chatbox.Option{prices}})
	user = openPage(t, bare.URL+"/", "")
	user.send("What does my plan cost?")
	user.waitReplyDone(2)
	op = openConsoleAt(t, bare, user.conversationID(), operatorToken)
	op.waitJS(figure("Cost") + ` === ` + amount + `(1.8) && document.getElementById("banner").hidden`)
	user.send("Thanks")
	user.waitReplyDone(4)
	// The figures loaded again after the reply ended (the month's usage is
	// asked for then too).
	op.waitJS(figure("Messages") + ` === "4" && document.getElementById("banner").hidden`)
	var month *string
	op.eval(figure("This month (user)"), &month)
	if month != nil {
		t.Fatalf("a store without usage shows the month's line %q", *month)
	}
}
