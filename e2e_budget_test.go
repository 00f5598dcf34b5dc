package chatbox_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatboxsdk/chatbox"
	"github.com/chatboxsdk/chatbox/chatboxtest"
	"github.com/chatboxsdk/chatbox/client"
	"github.com/chatboxsdk/chatbox/llm"
	"github.com/chatboxsdk/chatbox/protocol"
	"github.com/chatboxsdk/chatbox/ratelimit"
	"github.com/chatboxsdk/chatbox/storage"
	"github.com/chatboxsdk/chatbox/usage"
)

// usedModel answers every request with text and reports usage, or none.
func usedModel(text string, u llm.Usage) *stepModel {
	return &stepModel{respond: func(int, llm.Request) []llm.Event {
		evs := []llm.Event{{Kind: llm.EventDelta, Text: text}}
		if u != (llm.Usage{}) {
			evs = append(evs, llm.Event{Kind: llm.EventUsage, Usage: u})
		}
		return append(evs, llm.Event{Kind: llm.EventFinish, FinishReason: llm.FinishStop})
	}}
}

func sumToday(t *testing.T, h *chatboxtest.Harness, user string) storage.UsageTotals {
	t.Helper()
	u, ok := h.Store.(storage.UsageStore)
	if !ok {
		t.Fatal("the store keeps no usage")
	}
	now := time.Now().UTC()
	totals, err := u.SumUsage(testCtx(t), user, now.Truncate(24*time.Hour), now.Truncate(24*time.Hour).AddDate(0, 0, 1))
	if err != nil {
		t.Fatal(err)
	}
	return totals
}

func TestAUserAtTheDailyBudgetIsRefusedBeforeAnyProviderCall(t *testing.T) {
	model := usedModel("ok", llm.Usage{InputTokens: 60, OutputTokens: 40})
	h := chatboxtest.New(t, chatboxtest.Config{Provider: model, Options: []chatbox.Option{chatbox.WithBudget(usage.Budget{DailyTokens: 100})}})
	ctx := testCtx(t)
	c := h.Dial(t, "alice")
	conv := openNew(t, c)
	if _, err := c.Send(ctx, conv, "m1", "hello"); err != nil {
		t.Fatal(err)
	}
	if r, _, err := c.ReadReply(ctx, conv, nil); err != nil || r.FinishReason != "stop" {
		t.Fatalf("first reply %v, %v", r, err)
	}
	_, err := c.Send(ctx, conv, "m2", "again")
	var se *client.ServerError
	if !errors.As(err, &se) || se.Body.Code != protocol.CodeBudgetExceeded {
		t.Fatalf("second send: %v, want budget_exceeded", err)
	}
	midnight := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, 1)
	if wait := time.Duration(se.Body.RetryAfterMS) * time.Millisecond; wait <= 0 || wait > time.Until(midnight)+time.Second || !se.Body.Retryable {
		t.Fatalf("retry after %v, until midnight %v", wait, time.Until(midnight))
	}
	if n := len(model.requests()); n != 1 {
		t.Fatalf("the provider was called %d times", n)
	}
	if got := sumToday(t, h, "alice"); got.Tokens() != 100 || got.Replies != 1 {
		t.Fatalf("recorded %+v", got)
	}
	// Another user has a budget of their own.
	bob := h.Dial(t, "bob")
	if _, err := bob.Send(ctx, openNew(t, bob), "m1", "hi"); err != nil {
		t.Fatalf("bob: %v", err)
	}
}

func TestMaxTokensIsCappedToWhatTheBudgetLeaves(t *testing.T) {
	model := usedModel("ok", llm.Usage{InputTokens: 100, OutputTokens: 100})
	h := chatboxtest.New(t, chatboxtest.Config{Provider: model, Options: []chatbox.Option{
		chatbox.WithBudget(usage.Budget{DailyTokens: 1000}), chatbox.WithMaxTokens(4000),
	}})
	ctx := testCtx(t)
	c := h.Dial(t, "alice")
	conv := openNew(t, c)
	// 1,000 left, less the message; then 800 left, less the conversation
	// so far (the last reply's 200 tokens) and the message.
	for i, want := range []struct{ lo, hi int }{{900, 1000}, {500, 700}} {
		if _, err := c.Send(ctx, conv, fmt.Sprint("m", i), "hello"); err != nil {
			t.Fatal(err)
		}
		if _, _, err := c.ReadReply(ctx, conv, nil); err != nil {
			t.Fatal(err)
		}
		reqs := model.requests()
		if got := reqs[len(reqs)-1].MaxTokens; got < want.lo || got >= want.hi {
			t.Fatalf("reply %d: max_tokens %d, want in [%d, %d)", i, got, want.lo, want.hi)
		}
	}
}

func TestAReplyThatCrossesTheBudgetMidStreamEndsWithFinishReasonBudget(t *testing.T) {
	// A provider that ignores max_tokens: 40 deltas of 40 characters.
	model := &stepModel{respond: func(int, llm.Request) []llm.Event {
		var evs []llm.Event
		for range 40 {
			evs = append(evs, llm.Event{Kind: llm.EventDelta, Text: strings.Repeat("abcd", 10)})
		}
		return append(evs, llm.Event{Kind: llm.EventFinish, FinishReason: llm.FinishStop})
	}}
	h := chatboxtest.New(t, chatboxtest.Config{Provider: model, Options: []chatbox.Option{chatbox.WithBudget(usage.Budget{DailyTokens: 100})}})
	ctx := testCtx(t)
	c := h.Dial(t, "alice")
	conv := openNew(t, c)
	if _, err := c.Send(ctx, conv, "m1", "go"); err != nil {
		t.Fatal(err)
	}
	r, _, err := c.ReadReply(ctx, conv, nil)
	if err != nil || r.FinishReason != "budget" {
		t.Fatalf("reply %v, %v; want finish reason budget", r, err)
	}
	m, err := h.Store.GetMessage(ctx, conv, r.ID)
	if err != nil || m.FinishReason != "budget" || len(m.Text) == 0 || len(m.Text) >= 1600 || m.Text != r.Text {
		t.Fatalf("stored %q (%d bytes), %v", m.FinishReason, len(m.Text), err)
	}
	// Its usage is an estimate (the provider said nothing), flagged as one.
	if got := sumToday(t, h, "alice"); got.EstimatedReplies != 1 || got.OutputTokens == 0 {
		t.Fatalf("recorded %+v", got)
	}
}

func TestConcurrentSendsAtTheEdgeOfABudgetOverspendByAtMostOneReply(t *testing.T) {
	const budget, cap = 1000, 100
	model := usedModel("ok", llm.Usage{InputTokens: 10, OutputTokens: cap - 10})
	h := chatboxtest.New(t, chatboxtest.Config{Provider: model, Options: append(generousRates(),
		chatbox.WithBudget(usage.Budget{DailyTokens: budget}), chatbox.WithMaxTokens(cap), chatbox.WithMaxGenerationsPerUser(1000),
		chatbox.WithMaxSocketsPerUser(1000), chatbox.WithMaxSocketsPerAddress(0), chatbox.WithConnectionRate(ratelimit.Limit{Rate: 1e6, Burst: 1e6}))})
	ctx := testCtx(t)
	// 100 sockets of one user, one conversation each: 100 sends at once.
	sockets := make([]*client.Client, 100)
	convs := make([]string, 100)
	for i := range sockets {
		sockets[i] = h.Dial(t, "alice")
		convs[i] = openNew(t, sockets[i])
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	answered, refused := 0, 0
	start := make(chan struct{})
	for i, c := range sockets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, err := c.Send(ctx, convs[i], "m1", "hi")
			if err == nil { // its reply ends, recorded before its end
				_, _, err = c.ReadReply(ctx, convs[i], nil)
			}
			mu.Lock()
			defer mu.Unlock()
			switch client.Code(err) {
			case "":
				answered++
			case protocol.CodeBudgetExceeded:
				refused++
			default:
				t.Errorf("send: %v", err)
			}
		}()
	}
	close(start)
	wg.Wait()
	got := sumToday(t, h, "alice")
	if got.Replies != int64(answered) || got.Tokens() > budget+cap || answered+refused != 100 || answered == 0 || refused == 0 {
		t.Fatalf("%d answered, %d refused; recorded %+v (budget %d, cap %d)", answered, refused, got, budget, cap)
	}
	t.Logf("%d answered, %d refused, %d tokens spent of %d", answered, refused, got.Tokens(), budget)
}

func TestUsageIsTheSameAfterARestartAndOnASecondInstance(t *testing.T) {
	store := chatboxtest.NewStore(t)
	model := usedModel("ok", llm.Usage{InputTokens: 60, OutputTokens: 40})
	opts := []chatbox.Option{chatbox.WithBudget(usage.Budget{DailyTokens: 110})}
	first := chatboxtest.New(t, chatboxtest.Config{Store: store, Provider: model, Options: opts})
	second := chatboxtest.New(t, chatboxtest.Config{Store: store, Provider: model, Options: opts})
	ctx := testCtx(t)
	c := first.Dial(t, "alice")
	conv := openNew(t, c)
	if _, err := c.Send(ctx, conv, "m1", "hello"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.ReadReply(ctx, conv, nil); err != nil {
		t.Fatal(err)
	}
	if err := first.Server.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	// The second instance sees what the first recorded: 100 of 110 spent,
	// too little left for a reply.
	c2 := second.Dial(t, "alice")
	if _, err := c2.Send(ctx, openNew(t, c2), "m1", "again"); client.Code(err) != protocol.CodeBudgetExceeded {
		t.Fatalf("send on the second instance: %v, want budget_exceeded", err)
	}
	// The operator API reports the same figures.
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, second.AdminURL+"usage?user=alice", nil)
	req.Header.Set("Authorization", "Bearer "+chatboxtest.Token("olivia"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var list struct {
		Rows   []struct{ UserID, Model, Day string } `json:"rows"`
		Totals struct {
			Replies      int64 `json:"replies"`
			InputTokens  int64 `json:"input_tokens"`
			OutputTokens int64 `json:"output_tokens"`
		} `json:"totals"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /usage: %d, %v", resp.StatusCode, err)
	}
	if len(list.Rows) != 1 || list.Totals.Replies != 1 || list.Totals.InputTokens != 60 || list.Totals.OutputTokens != 40 {
		t.Fatalf("GET /usage = %+v", list)
	}
}
