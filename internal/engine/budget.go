package engine

import (
	"context"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/chatboxsdk/chatbox/llm"
	"github.com/chatboxsdk/chatbox/protocol"
	"github.com/chatboxsdk/chatbox/storage"
	"github.com/chatboxsdk/chatbox/usage"
)

// A reply of a user with a budget runs under a reservation: before it
// starts, what the user spent today and this month is read, the reply's
// max_tokens is capped to what is left (less an estimate of its input),
// and that most it may spend is reserved, atomically across instances.
// When it ends, what it spent is recorded and the reservation released.
// So replies started at once overspend by at most one reply's cap.

// defaultBudgetReplyTokens caps a reply under a budget when neither the
// model nor WithMaxTokens does.
const defaultBudgetReplyTokens = 4096

// minBudgetReplyTokens: with less left, a reply is not started.
const minBudgetReplyTokens = 16

// replyBudget is a reply's share of its user's budget.
type replyBudget struct {
	userID    string
	maxTokens int64 // the reply's cap, its max_tokens
	outChars  int64 // characters streamed, counted by the reply's goroutine
}

// errBudget cancels a reply that streamed past its cap.
var errBudget = fmt.Errorf("the user's usage budget is spent")

// reserveBudget checks the user's budget and reserves the reply's most. It
// sets g.budget when a budget applies.
func (s *socket) reserveBudget(ctx context.Context, c *conversation, g *generation, text string) *protocol.Error {
	e := s.e
	b := e.cfg.Budget
	if e.cfg.BudgetFunc != nil {
		own, err := e.cfg.BudgetFunc(ctx, s.identity)
		if err != nil {
			s.frameLog().Warn("budget not known", "err", err)
			return protocol.Errorf(protocol.CodeUnavailable, "the usage budget could not be read: try again")
		}
		if !own.IsZero() {
			b = own
		}
	}
	if b.IsZero() || e.cfg.Usage == nil {
		return nil
	}
	c.mu.Lock()
	model, known := c.model, c.contextTokens
	c.mu.Unlock()
	price, priced := e.cfg.Prices[model]
	now := e.cfg.Now().UTC()
	day := now.Truncate(24 * time.Hour)
	month := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	periods := []struct {
		from, before time.Time
		tokens       int64
		cost         float64
	}{{day, day.AddDate(0, 0, 1), b.DailyTokens, b.DailyCost}, {month, month.AddDate(0, 1, 0), b.MonthlyTokens, b.MonthlyCost}}

	left, resetAt := int64(-1), time.Time{}
	var limits []storage.UsageLimit
	for _, p := range periods {
		if p.tokens == 0 && (p.cost == 0 || !priced) {
			continue
		}
		spent, err := e.cfg.Usage.SumUsage(ctx, s.identity.UserID, p.from, p.before)
		if err != nil {
			return s.storeError(err, "sum usage")
		}
		lim := storage.UsageLimit{From: p.from, Before: p.before, MaxTokens: p.tokens}
		if p.tokens > 0 {
			if l := p.tokens - spent.Tokens(); left < 0 || l < left {
				left, resetAt = l, p.before
			}
		}
		if p.cost > 0 && priced {
			lim.MaxCostMicros = usage.CostMicros(p.cost)
			if n := price.OutputTokensFor(lim.MaxCostMicros - spent.CostMicros); n >= 0 && (left < 0 || n < left) {
				left, resetAt = n, p.before
			}
		}
		limits = append(limits, lim)
	}
	if len(limits) == 0 {
		return nil
	}
	input := usage.EstimateTokens(text) + known
	maxTokens := int64(e.replyCap(model))
	if left >= 0 {
		maxTokens = min(maxTokens, left-input)
	}
	if maxTokens < minBudgetReplyTokens {
		return budgetExceeded(now, resetAt)
	}
	r := storage.Reservation{
		ID: g.replyID, UserID: s.identity.UserID, Tokens: input + maxTokens,
		ExpiresAt: now.Add(e.cfg.GenerationTimeout + 2*e.cfg.StoreTimeout), Limits: limits,
	}
	if priced {
		r.CostMicros = price.CostMicros(input, 0, maxTokens)
	}
	granted, err := e.cfg.Usage.ReserveUsage(ctx, r)
	switch {
	case err != nil:
		return s.storeError(err, "reserve usage")
	case !granted:
		return budgetExceeded(now, resetAt) // replies running now hold the rest
	}
	g.budget = &replyBudget{userID: s.identity.UserID, maxTokens: maxTokens}
	return nil
}

func budgetExceeded(now, resetAt time.Time) *protocol.Error {
	perr := protocol.Errorf(protocol.CodeBudgetExceeded, "the usage budget is spent until %s", resetAt.Format(time.RFC3339))
	perr.RetryAfter = max(resetAt.Sub(now), time.Millisecond)
	return perr
}

// replyCap is a model's max_tokens: its own, or WithMaxTokens, or the
// budget default.
func (e *Engine) replyCap(model string) int {
	if m := e.models.entry(model); m != nil && m.model.MaxTokens > 0 {
		return m.model.MaxTokens
	}
	if e.cfg.MaxTokens > 0 {
		return e.cfg.MaxTokens
	}
	return defaultBudgetReplyTokens
}

// releaseBudget gives back a reservation whose reply never ran.
func (e *Engine) releaseBudget(g *generation) {
	if g.budget == nil {
		return
	}
	ctx, cancel := context.WithTimeout(e.base, e.cfg.StoreTimeout)
	defer cancel()
	if err := e.cfg.Usage.ReleaseReservation(ctx, g.budget.userID, g.replyID); err != nil {
		e.log.Warn("release a usage reservation", "reply", g.replyID, "err", err)
	}
}

// overBudget counts streamed text against the reply's cap; a reply past
// it is cancelled.
func (g *generation) overBudget(text string) bool {
	b := g.budget
	if b == nil {
		return false
	}
	b.outChars += int64(utf8.RuneCountInString(text))
	if (b.outChars+usage.CharsPerToken-1)/usage.CharsPerToken > b.maxTokens {
		g.cancel(errBudget)
		return true
	}
	return false
}

// settleUsage records what the reply's run spent, estimated when the
// provider said nothing, and releases its reservation. It runs before
// reply.end goes out, so a client that sends next is judged on it.
func (e *Engine) settleUsage(c *conversation, g *generation, reply storage.Message, out outcome, history []llm.Message) {
	if e.cfg.Usage == nil {
		return
	}
	u, estimated := out.usage, false
	if u.InputTokens == 0 && u.OutputTokens == 0 {
		estimated = true
		texts := make([]string, 0, len(history)+2)
		texts = append(texts, e.cfg.SystemPrompt)
		for _, m := range history {
			texts = append(texts, llm.MessageText(m))
		}
		u.InputTokens = usage.EstimateTokens(texts...)
		c.mu.Lock()
		u.OutputTokens = usage.EstimateTokens(g.text.String())
		c.mu.Unlock()
	}
	c.mu.Lock()
	c.contextTokens = u.InputTokens + u.OutputTokens
	c.mu.Unlock()
	id := g.replyID
	if g.resumed != nil { // a resumed run records apart from the runs before it
		id += "/" + strconv.Itoa(stepsTaken(g.resumed.Parts))
	}
	rec := storage.UsageRecord{
		ID: id, UserID: g.userID, Model: reply.Model, ConversationID: c.id, At: e.cfg.Now().UTC(),
		InputTokens: u.InputTokens, OutputTokens: u.OutputTokens, CachedInputTokens: u.CachedInputTokens,
		ReasoningTokens: u.ReasoningTokens, Estimated: estimated,
	}
	if p, ok := e.cfg.Prices[reply.Model]; ok {
		rec.CostMicros = p.CostMicros(u.InputTokens, u.CachedInputTokens, u.OutputTokens)
		e.cfg.Metrics.ReplyCost(reply.Model, rec.CostMicros)
	}
	ctx, cancel := e.persistCtx(g.ctx)
	defer cancel()
	if err := e.cfg.Usage.RecordUsage(ctx, rec); err != nil {
		e.replyLog(g).Error("record usage", "err", err)
	}
	e.releaseBudget(g)
}
