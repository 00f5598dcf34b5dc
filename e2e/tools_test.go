package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/chatboxsdk/chatbox"
	"github.com/chatboxsdk/chatbox/llm"
	"github.com/chatboxsdk/chatbox/llm/scripted"
	"github.com/chatboxsdk/chatbox/llm/tools"
	"github.com/chatboxsdk/chatbox/storage"
)

// The tools of these tests, over one fake order: lookup_order runs at
// once, refund_order waits for a person's approval. Each records who it
// ran for.

type orderQuery struct {
	OrderID string `json:"order_id" jsonschema:"the order's number, such as 1234"`
}

type orderInfo struct {
	OrderID string `json:"order_id"`
	Status  string `json:"status"`
	Total   string `json:"total"`
}

var testOrder = orderInfo{OrderID: "1234", Status: "shipped, arriving Friday", Total: "$39.00"}

// toolRuns records the runs of the test's tools: the caller of each.
type toolRuns struct {
	mu   sync.Mutex
	runs []tools.Caller
}

func (r *toolRuns) record(ctx context.Context) {
	c, _ := tools.CallerFrom(ctx)
	r.mu.Lock()
	r.runs = append(r.runs, c)
	r.mu.Unlock()
}

func (r *toolRuns) all() []tools.Caller {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]tools.Caller(nil), r.runs...)
}

func lookupTool(t *testing.T, runs *toolRuns) tools.Tool {
	t.Helper()
	tool, err := tools.New("lookup_order", "Looks up one of the user's orders by its number.",
		func(ctx context.Context, q orderQuery) (orderInfo, error) {
			runs.record(ctx)
			if q.OrderID != testOrder.OrderID {
				return orderInfo{}, fmt.Errorf("no order %s for this user", q.OrderID)
			}
			return testOrder, nil
		})
	if err != nil {
		t.Fatal(err)
	}
	return tool
}

func refundTool(t *testing.T, runs *toolRuns) tools.Tool {
	t.Helper()
	tool, err := tools.New("refund_order", "Refunds one of the user's orders. A person must approve it.",
		func(ctx context.Context, q orderQuery) (string, error) {
			runs.record(ctx)
			return fmt.Sprintf("refunded %s for order %s", testOrder.Total, q.OrderID), nil
		}, tools.WithApproval())
	if err != nil {
		t.Fatal(err)
	}
	return tool
}

// callThenAnswer is a model that says say and calls tool with
// {"order_id":"1234"}, then, given the call's result, answers with
// answer(result). A second step that finds no result says so, which the
// test then sees in the page.
func callThenAnswer(say, tool string, answer func(llm.Part) string) scripted.Option {
	return scripted.WithSteps(
		func(llm.Request) scripted.Reply {
			return scripted.Reply{
				Deltas:    scripted.Words(say),
				ToolCalls: []llm.ToolCall{{Name: tool, Arguments: `{"order_id":"1234"}`}},
				Delay:     2 * time.Millisecond,
			}
		},
		func(req llm.Request) scripted.Reply {
			results := scripted.ToolResults(req)
			if len(results) != 1 {
				return scripted.Reply{Deltas: []string{fmt.Sprintf("(the model got %d tool results)", len(results))}}
			}
			return scripted.Reply{Deltas: scripted.Words(answer(results[0])), Delay: 2 * time.Millisecond}
		},
	)
}

// shownCard is a tool call card as a page shows it.
type shownCard struct {
	CallID        string `json:"callId"`
	Status        string `json:"status"`
	Name          string `json:"name"`
	StatusText    string `json:"statusText"`
	Args          string `json:"args"`
	ResultLabel   string `json:"resultLabel"`
	Result        string `json:"result"`
	DetailsOpen   bool   `json:"detailsOpen"`
	ResultVisible bool   `json:"resultVisible"`
	ArgsVisible   bool   `json:"argsVisible"`
	Approval      bool   `json:"approval"`
	Group         string `json:"group"`
	Question      string `json:"question"`
	Expiry        string `json:"expiry"`
	ActionsShown  bool   `json:"actionsShown"`
	Approve       string `json:"approve"`
	Deny          string `json:"deny"`
	Note          string `json:"note"`
	Outcome       string `json:"outcome"`
	OutcomeText   string `json:"outcomeText"`
	IconHidden    string `json:"iconHidden"`
}

// card returns the tool call card the CSS selector sel finds.
func (p *page) card(sel string) shownCard {
	p.t.Helper()
	var c *shownCard
	p.eval(`(() => { const c = document.querySelector(`+js(sel)+`); if (!c) return null;
		const q = (s) => c.querySelector(s); const vis = (s) => !!q(s)?.checkVisibility();
		return {callId: c.dataset.callId, status: c.dataset.status, name: q(".tool-name")?.textContent,
		statusText: q(".tool-status")?.textContent, args: q(".tool-args")?.textContent,
		resultLabel: q(".tool-result")?.previousElementSibling?.textContent, result: q(".tool-result")?.textContent,
		detailsOpen: !!q(".tool-details")?.open, resultVisible: vis(".tool-result"), argsVisible: vis(".tool-args"),
		approval: !!q(".tool-approval"), group: q(".tool-approval")?.getAttribute("aria-label") || "",
		question: q(".tool-question")?.textContent || "", expiry: vis(".tool-expiry") ? q(".tool-expiry").textContent : "",
		actionsShown: vis(".tool-actions"),
		approve: q("button.tool-approve")?.getAttribute("aria-label") || "", deny: q("button.tool-deny")?.getAttribute("aria-label") || "",
		note: q(".tool-answer")?.textContent || "",
		outcome: q(".tool-outcome")?.dataset.outcome || "", outcomeText: q(".tool-outcome")?.textContent || "",
		iconHidden: q(".tool-icon")?.getAttribute("aria-hidden") || ""}; })()`, &c)
	if c == nil {
		p.t.Fatalf("no tool card %s\npage state: %s", sel, p.describe())
	}
	return *c
}

// lastMessageParts returns the kinds of the parts of the last message,
// in order, and the text of each.
func (p *page) lastMessageParts() (kinds []string, texts []string) {
	p.t.Helper()
	var parts []struct {
		Kind string `json:"kind"`
		Text string `json:"text"`
	}
	p.eval(`[...[...document.querySelectorAll("#messages .msg")].pop().querySelectorAll(".body > .part")].map(e => ({kind: e.dataset.kind, text: e.textContent}))`, &parts)
	for _, part := range parts {
		kinds = append(kinds, part.Kind)
		texts = append(texts, part.Text)
	}
	return kinds, texts
}

// storedCall returns the stored tool call part (and its result part) of
// the last message of a conversation.
func storedCall(t *testing.T, a *app, id string) (storage.Message, storage.Part, storage.Part) {
	t.Helper()
	msgs := listMessages(t, a, id)
	if len(msgs) == 0 {
		t.Fatal("the store holds no messages")
	}
	last := msgs[len(msgs)-1]
	var call, result storage.Part
	for _, p := range last.Parts {
		switch p.Kind {
		case storage.PartToolCall:
			call = p
		case storage.PartToolResult:
			result = p
		}
	}
	return last, call, result
}

const (
	lookupSay    = "Let me look up order #1234."
	lookupAnswer = "Order #1234 is shipped, arriving Friday."
)

// lookupAnswerFrom answers from lookup_order's result, so the answer shows
// that the model got it.
func lookupAnswerFrom(res llm.Part) string {
	var o orderInfo
	if res.IsError || json.Unmarshal([]byte(res.Text), &o) != nil {
		return "The lookup failed: " + res.Text
	}
	return fmt.Sprintf("Order #%s is %s.", o.OrderID, o.Status)
}

func TestToolCardShowsTheCallItsResultAndTheAnswerAfterIt(t *testing.T) {
	var runs toolRuns
	a := startApp(t, appConfig{
		Provider: scripted.New(callThenAnswer(lookupSay, "lookup_order", lookupAnswerFrom)),
		Options:  []chatbox.Option{chatbox.WithTools(lookupTool(t, &runs))},
	})
	pg := openPage(t, a.URL+"/", "")
	pg.send("Where is order #1234?")
	pg.waitReplyDone(2)
	id := pg.conversationID()

	// One card, between the text before the call and the answer after it.
	kinds, texts := pg.lastMessageParts()
	if strings.Join(kinds, ",") != "text,tool,text" || texts[0] != lookupSay || texts[2] != lookupAnswer {
		t.Fatalf("the reply shows parts %q: %q", kinds, texts)
	}
	const sel = "#messages .msg-assistant .part.tool"
	c := pg.card(sel)
	if c.Name != "lookup_order" || c.Status != "done" || c.StatusText != "Done" || c.CallID == "" || c.IconHidden != "true" {
		t.Fatalf("tool card: %+v", c)
	}
	// A call that needed no approval has no prompt and no outcome, and
	// its details are folded away.
	if c.Approval || c.Outcome != "" || c.DetailsOpen || c.ResultVisible {
		t.Fatalf("tool card of a call without approval: %+v", c)
	}
	pg.do(chromedp.Click(chromedp.CSS(sel + " details.tool-details > summary")))
	pg.waitJS(`document.querySelector(` + js(sel+" details.tool-details") + `).open`)
	c = pg.card(sel)
	var shown orderInfo
	if !c.ResultVisible || !c.ArgsVisible || c.ResultLabel != "Result" || json.Unmarshal([]byte(c.Result), &shown) != nil || shown != testOrder {
		t.Fatalf("opened tool card: %+v", c)
	}
	if c.Args != "{\n  \"order_id\": \"1234\"\n}" {
		t.Fatalf("arguments shown as %q", c.Args)
	}

	// The tool ran once, for Alice, in this conversation and call.
	ran := runs.all()
	if len(ran) != 1 || ran[0].UserID != "alice" || ran[0].ConversationID != id || ran[0].CallID != c.CallID {
		t.Fatalf("tool runs: %+v (want one for alice, call %s)", ran, c.CallID)
	}
	// The page shows what the store holds.
	last, call, result := storedCall(t, a, id)
	if last.FinishReason != "stop" || call.CallID != c.CallID || call.Name != "lookup_order" || result.CallID != c.CallID || result.Text != c.Result {
		t.Fatalf("store holds reply %+v", last)
	}
}

const (
	refundSay = "I will refund order #1234."
	// approvalWait is the prompt of a waiting call whose buttons the
	// viewer has.
	approvalWait = `.part.tool[data-status="awaiting_approval"] .tool-approval .tool-actions:not([hidden]) button.tool-approve`
)

// refundAnswerFrom answers from refund_order's result: its text, or the
// refusal.
func refundAnswerFrom(res llm.Part) string {
	if res.IsError {
		return "I did not refund order #1234: " + res.Text + "."
	}
	return "Done: " + res.Text + "."
}

// startRefund starts an app with the refund tool, opens the chat page,
// asks for a refund and waits for the approval prompt.
func startRefund(t *testing.T, runs *toolRuns) (*app, *page, *scripted.Provider) {
	t.Helper()
	model := scripted.New(callThenAnswer(refundSay, "refund_order", refundAnswerFrom))
	a := startApp(t, appConfig{
		Provider: model,
		Options:  []chatbox.Option{chatbox.WithTools(refundTool(t, runs))},
	})
	pg := openPage(t, a.URL+"/", "")
	pg.send("Please refund order #1234")
	pg.waitJS(`!!document.querySelector(` + js("#messages .msg-assistant "+approvalWait) + `)`)
	return a, pg, model
}

// checkPrompt checks the approval prompt of a waiting refund_order call.
func checkPrompt(t *testing.T, c shownCard) {
	t.Helper()
	if c.Name != "refund_order" || c.StatusText != "Needs approval" || !c.Approval || c.Group != "Approval needed: refund_order" ||
		c.Question != "The assistant wants to run refund_order. Allow it?" || !strings.HasPrefix(c.Expiry, "Answer by ") ||
		c.Approve != "Approve refund_order" || c.Deny != "Deny refund_order" || c.Outcome != "" {
		t.Fatalf("approval prompt: %+v", c)
	}
	// What is to be approved is shown with the question.
	if !c.DetailsOpen || !c.ArgsVisible || !strings.Contains(c.Args, `"order_id": "1234"`) {
		t.Fatalf("the prompt does not show the call's arguments: %+v", c)
	}
}

func TestApprovalPromptApprovedWithTheKeyboardRunsTheToolAndTheReplyGoesOn(t *testing.T) {
	var runs toolRuns
	a, pg, model := startRefund(t, &runs)
	const sel = "#messages .msg-assistant .part.tool"
	c := pg.card(sel)
	checkPrompt(t, c)
	var streaming string
	pg.eval(`document.querySelector("#messages .msg-assistant").dataset.status`, &streaming)
	if streaming != "streaming" || len(runs.all()) != 0 || model.Started() != 1 {
		t.Fatalf("while the prompt waits: reply %q, tool ran %d times, model asked %d times", streaming, len(runs.all()), model.Started())
	}
	id := pg.conversationID()
	if last, call, _ := storedCall(t, a, id); last.Status != storage.MessageAwaitingApproval || call.Approval != storage.ApprovalPending {
		t.Fatalf("store holds reply %+v", last)
	}

	// With the keyboard: the button takes the focus, Enter approves, and
	// the focus stays in the card (on the outcome that replaces the
	// buttons), not lost to the page.
	approve := sel + " button.tool-approve"
	pg.do(chromedp.Focus(chromedp.CSS(approve)))
	pg.waitJS(`document.activeElement === document.querySelector(` + js(approve) + `)`)
	pg.do(chromedp.KeyEvent("\r"))
	pg.waitJS(`document.querySelector(` + js(sel+" .tool-outcome") + `)?.dataset.outcome === "approved"`)
	pg.waitReplyDone(2)

	c = pg.card(sel)
	if c.Status != "done" || c.StatusText != "Done" || c.Approval || c.Outcome != "approved" || c.OutcomeText != "Approved." ||
		c.ResultLabel != "Result" || c.Result != "refunded $39.00 for order 1234" {
		t.Fatalf("card after the approval: %+v", c)
	}
	var focused bool
	pg.eval(`document.activeElement === document.querySelector(`+js(sel+" .tool-outcome")+`)`, &focused)
	if !focused {
		var where string
		pg.eval(`document.activeElement?.outerHTML.slice(0, 80) || "none"`, &where)
		t.Errorf("after the approval the focus is on %s, want the outcome", where)
	}
	kinds, texts := pg.lastMessageParts()
	want := "Done: refunded $39.00 for order 1234."
	if strings.Join(kinds, ",") != "text,tool,text" || texts[0] != refundSay || texts[2] != want {
		t.Fatalf("the reply shows parts %q: %q", kinds, texts)
	}
	if ran := runs.all(); len(ran) != 1 || ran[0].UserID != "alice" {
		t.Fatalf("tool runs: %+v, want one for alice", ran)
	}
	last, call, _ := storedCall(t, a, id)
	if last.FinishReason != "stop" || call.Approval != storage.ApprovalApproved || call.ApprovedBy != "alice" {
		t.Fatalf("store holds reply %+v", last)
	}
}

func TestApprovalPromptComesBackAfterAReloadAndDeniedTheToolDoesNotRun(t *testing.T) {
	var runs toolRuns
	a, pg, _ := startRefund(t, &runs)
	const sel = "#messages .msg-assistant .part.tool"
	checkPrompt(t, pg.card(sel))
	// The request waits on the server, not in the page: after a reload
	// the prompt is shown again, with its buttons.
	pg.do(chromedp.Reload())
	pg.waitJS(`document.body.dataset.state === "open" && !!document.querySelector(` + js("#messages .msg-assistant "+approvalWait) + `)`)
	checkPrompt(t, pg.card(sel))
	pg.do(chromedp.Click(chromedp.CSS(sel + " button.tool-deny")))
	pg.waitJS(`document.querySelector(` + js(sel) + `).dataset.status === "denied"`)
	pg.waitReplyDone(2)

	c := pg.card(sel)
	if c.StatusText != "Denied" || c.Approval || c.Outcome != "denied" || c.OutcomeText != "Denied." || c.ResultLabel != "Error" || c.Result == "" {
		t.Fatalf("card after the denial: %+v", c)
	}
	// The model was told, with the refusal as the call's result, and
	// answered.
	kinds, texts := pg.lastMessageParts()
	want := "I did not refund order #1234: " + c.Result + "."
	if strings.Join(kinds, ",") != "text,tool,text" || texts[2] != want {
		t.Fatalf("the reply shows parts %q: %q (want the answer %q)", kinds, texts, want)
	}
	if n := len(runs.all()); n != 0 {
		t.Fatalf("the denied tool ran %d times", n)
	}
	last, call, result := storedCall(t, a, pg.conversationID())
	if last.FinishReason != "stop" || call.Approval != storage.ApprovalDenied || call.ApprovedBy != "alice" || !result.IsError || result.ErrorCode != "denied" {
		t.Fatalf("store holds reply %+v", last)
	}
}

func TestReasoningIsCollapsedAndOpensOnClick(t *testing.T) {
	const (
		reasoning = "The user asks how long delivery takes. Standard delivery is three days."
		answer    = "Delivery takes **three days**."
	)
	model := scripted.New(scripted.WithReplies(scripted.Reply{
		Reasoning: scripted.Words(reasoning), ReasoningSignature: "c2lnbmF0dXJl",
		Deltas: scripted.Words(answer), Delay: 2 * time.Millisecond,
	}))
	a := startApp(t, appConfig{Provider: model})
	pg := openPage(t, a.URL+"/", "")
	pg.send("How long does delivery take?")
	pg.waitReplyDone(2)

	type shownReasoning struct {
		Count   int    `json:"count"`
		Open    bool   `json:"open"`
		Summary string `json:"summary"`
		Text    string `json:"text"`
		Visible bool   `json:"visible"`
	}
	const sel = "#messages .msg-assistant details.part.reasoning"
	read := func() shownReasoning {
		var r shownReasoning
		pg.eval(`(() => { const d = document.querySelectorAll(`+js(sel)+`); const t = d[0]?.querySelector(".reasoning-text");
			return {count: d.length, open: !!d[0]?.hasAttribute("open"), summary: d[0]?.querySelector("summary")?.textContent,
			text: t?.textContent, visible: !!t?.checkVisibility()}; })()`, &r)
		return r
	}
	r := read()
	if r.Count != 1 || r.Open || r.Summary != "Reasoning" || r.Text != reasoning || r.Visible {
		t.Fatalf("reasoning before it is opened: %+v (want one, closed, its text hidden)", r)
	}
	// The answer is a part of its own after the reasoning, without it.
	kinds, texts := pg.lastMessageParts()
	if strings.Join(kinds, ",") != "reasoning,text" || texts[1] != "Delivery takes three days." {
		t.Fatalf("the reply shows parts %q: %q", kinds, texts)
	}
	var strong string
	pg.eval(`document.querySelector("#messages .msg-assistant .part[data-kind=text] strong")?.textContent`, &strong)
	if strong != "three days" {
		t.Fatalf("the answer is not drawn as Markdown: <strong> holds %q", strong)
	}

	pg.do(chromedp.Click(chromedp.CSS(sel + " > summary")))
	pg.waitJS(`document.querySelector(` + js(sel) + `).hasAttribute("open")`)
	if r := read(); !r.Visible || r.Text != reasoning {
		t.Fatalf("reasoning after a click on its summary: %+v", r)
	}

	// The reply's text, as stored, is the answer alone; the reasoning is
	// a part of its own.
	stored := listMessages(t, a, pg.conversationID())
	if len(stored) != 2 || stored[1].Text != answer || len(stored[1].Parts) == 0 || stored[1].Parts[0].Kind != storage.PartReasoning || stored[1].Parts[0].Text != reasoning {
		t.Fatalf("store holds %+v", stored)
	}
}

func TestOperatorConsoleShowsTheToolCardOfAWatchedConversation(t *testing.T) {
	var runs toolRuns
	first := func(llm.Request) scripted.Reply {
		return scripted.Reply{Deltas: scripted.Words("Hello! How can I help?")}
	}
	model := scripted.New(scripted.WithSteps(first), callThenAnswer(lookupSay, "lookup_order", lookupAnswerFrom))
	a := startApp(t, appConfig{Provider: model, Options: []chatbox.Option{chatbox.WithTools(lookupTool(t, &runs))}})
	user := openPage(t, a.URL+"/", "")
	user.send("Hello")
	user.waitReplyDone(2)
	id := user.conversationID()

	// The console watches the conversation; the call comes live.
	op := openConsoleAt(t, a, id, operatorToken)
	op.waitJS(`document.body.dataset.state === "open" && document.querySelectorAll("#messages .msg").length === 2`)
	user.send("Where is order #1234?")
	user.waitReplyDone(4)
	op.waitReplyDone(4)

	const sel = "#messages .msg-assistant .part.tool"
	c := op.card(sel)
	if c.Name != "lookup_order" || c.Status != "done" || c.StatusText != "Done" || c.Approval || c.DetailsOpen {
		t.Fatalf("console's tool card: %+v", c)
	}
	op.do(chromedp.Click(chromedp.CSS(sel + " details.tool-details > summary")))
	op.waitJS(`document.querySelector(` + js(sel+" details.tool-details") + `).open`)
	c = op.card(sel)
	var shown orderInfo
	if !c.ResultVisible || json.Unmarshal([]byte(c.Result), &shown) != nil || shown != testOrder {
		t.Fatalf("console's opened tool card: %+v", c)
	}
	kinds, texts := op.lastMessageParts()
	if strings.Join(kinds, ",") != "text,tool,text" || texts[2] != lookupAnswer {
		t.Fatalf("console shows the reply's parts %q: %q", kinds, texts)
	}
	// The user's page shows the same call.
	if uc := user.card(sel); uc.CallID != c.CallID || uc.Status != "done" {
		t.Fatalf("user's tool card %+v, console's %+v", uc, c)
	}
}

func TestOperatorWhoTookOverAnswersAnApprovalInTheConsole(t *testing.T) {
	var runs toolRuns
	a, user, model := startRefund(t, &runs)
	id := user.conversationID()
	const sel = "#messages .msg-assistant .part.tool"

	// Watching only, the operator sees the prompt without its buttons and
	// is told how to answer.
	op := openConsoleAt(t, a, id, operatorToken)
	op.waitJS(`document.body.dataset.state === "open" && !!document.querySelector(` + js(sel+`[data-status="awaiting_approval"] .tool-approval`) + `)`)
	c := op.card(sel)
	if c.ActionsShown || c.Note != "Waiting for the user to answer. Take the conversation over to answer it yourself." || c.Group != "Approval needed: refund_order" {
		t.Fatalf("console's prompt before the takeover: %+v", c)
	}

	op.do(chromedp.Click(chromedp.ID("takeover")))
	op.waitJS(`document.getElementById("d-mode").textContent === "You are answering" && !!document.querySelector(` + js(approvalWait) + `)`)
	c = op.card(sel)
	checkPrompt(t, c)
	if c.Note != "" {
		t.Fatalf("console's prompt after the takeover still says %q", c.Note)
	}
	user.waitJS(`document.getElementById("mode-banner").textContent.includes("Olivia joined the conversation")`)

	op.do(chromedp.Click(chromedp.CSS(sel + " button.tool-approve")))
	op.waitJS(`(() => { const c = document.querySelector(` + js(sel) + `);
		return c.dataset.status === "done" && c.querySelector(".tool-outcome")?.dataset.outcome === "approved"; })()`)
	// The tool ran for the conversation's user; with a person holding
	// the conversation the model is not asked again: the reply ends,
	// handed off.
	op.waitJS(`(() => { const m = document.querySelector("#messages .msg-assistant");
		return m.dataset.status === "complete" && m.dataset.finish === "handoff"; })()`)
	user.waitJS(`(() => { const m = document.querySelector("#messages .msg-assistant");
		return m.dataset.status === "complete" && m.dataset.finish === "handoff"; })()`)
	uc := user.card(sel)
	if uc.Status != "done" || uc.Approval || uc.Outcome != "approved" || uc.Result != "refunded $39.00 for order 1234" {
		t.Fatalf("user's card after the operator approved: %+v", uc)
	}
	if ran := runs.all(); len(ran) != 1 || ran[0].UserID != "alice" || ran[0].ConversationID != id {
		t.Fatalf("tool runs: %+v, want one for alice", ran)
	}
	if n := model.Started(); n != 1 {
		t.Fatalf("the model was asked %d times, want once (before the takeover)", n)
	}
	last, call, _ := storedCall(t, a, id)
	if last.FinishReason != "handoff" || call.Approval != storage.ApprovalApproved || call.ApprovedBy != "olivia" {
		t.Fatalf("store holds reply %+v", last)
	}
}

// The chat page and the console with a finished tool card, reasoning and
// a waiting approval prompt pass the same accessibility check as the rest
// of the pages. The model is the scripted demo with its tools.
func TestToolCardsAndApprovalPromptHaveNoSeriousAccessibilityProblems(t *testing.T) {
	needBrowser(t)
	axe := axeSource(t)
	var runs toolRuns
	a := startApp(t, appConfig{
		Provider: scripted.New(scripted.WithResponder(scripted.DemoWithDelay(0))),
		Options:  []chatbox.Option{chatbox.WithTools(lookupTool(t, &runs), refundTool(t, &runs))},
	})
	user := openPage(t, a.URL+"/", "")
	user.send("Where is order #1234?")
	user.waitReplyDone(2)
	user.send("Please refund order #1234")
	user.waitJS(`!!document.querySelector(` + js("#messages "+approvalWait) + `)`)
	var shown struct {
		Cards, Reasoning int
	}
	user.eval(`({cards: document.querySelectorAll("#messages .part.tool").length, reasoning: document.querySelectorAll("#messages details.part.reasoning").length})`, &shown)
	if shown.Cards != 2 || shown.Reasoning != 2 {
		t.Fatalf("the page shows %+v, want two tool cards and two reasonings", shown)
	}
	t.Logf("saved %s", user.screenshot("chat-tools", 1280, 800, false, false))
	// One card opened, to check its details too.
	user.do(chromedp.Click(chromedp.CSS("#messages .part.tool[data-status=done] details.tool-details > summary")))
	for _, scheme := range []string{"light", "dark"} {
		user.checkAccessibility(axe, "the chat page with tool cards", scheme)
	}

	op := openConsoleAt(t, a, user.conversationID(), operatorToken)
	op.waitJS(`document.body.dataset.state === "open" && !document.getElementById("takeover").disabled`)
	op.do(chromedp.Click(chromedp.ID("takeover")))
	op.waitJS(`!!document.querySelector(` + js("#messages "+approvalWait) + `)`)
	for _, scheme := range []string{"light", "dark"} {
		op.checkAccessibility(axe, "the operator console with tool cards", scheme)
	}
	t.Logf("saved %s", op.screenshot("operator-console-tools", 1280, 800, false, false))
	// The user's page while the operator holds the conversation: the
	// prompt stays, under the operator's banner.
	user.waitJS(`document.getElementById("mode-banner").textContent.includes("Olivia joined the conversation") && !!document.querySelector(` + js("#messages "+approvalWait) + `)`)
	for _, scheme := range []string{"light", "dark"} {
		user.checkAccessibility(axe, "the chat page with tool cards, held by an operator", scheme)
	}
}
