package chatbox

import (
	"context"
	"errors"
	"fmt"

	"github.com/chatboxsdk/chatbox/auth"
	"github.com/chatboxsdk/chatbox/storage"
	"github.com/chatboxsdk/chatbox/usage"
)

// WithPrices gives the price of each model, by model id (see WithModel),
// so that recorded usage has a cost and budgets may be set in money. A
// model without a price costs nothing. Default: no prices.
func WithPrices(prices map[string]usage.Price) Option {
	return func(c *config) error {
		var errs []error
		for id, p := range prices {
			if err := p.Validate(); err != nil {
				errs = append(errs, fmt.Errorf("WithPrices %q: %w", id, err))
			}
		}
		if c.Prices == nil {
			c.Prices = make(map[string]usage.Price, len(prices))
		}
		for id, p := range prices {
			c.Prices[id] = p
		}
		return errors.Join(errs...)
	}
}

// WithBudget caps every user's usage per UTC day and per UTC month, in
// tokens (input plus output) or in cost (which needs WithPrices). Before a
// reply starts its user's usage is checked: a user whose budget is spent
// is refused with budget_exceeded and the time it resets, and the model is
// not called. The reply's max_tokens is capped to what the budget has
// left, and a reply that streams past it ends with finish reason "budget"
// (its text so far is kept). Replies started at once reserve their most
// before they run, so together they overspend by at most one reply's cap,
// across instances too. Needs a store that implements storage.UsageStore
// (every store of this module does). Default: no budget.
func WithBudget(b usage.Budget) Option {
	return func(c *config) error {
		if err := b.Validate(); err != nil {
			return fmt.Errorf("WithBudget: %w", err)
		}
		c.Budget = b
		return nil
	}
}

// WithBudgetFunc gives each user's budget (a plan, a tier) instead of the
// one of WithBudget, which still applies to a user the function gives a
// zero Budget. It is called before every reply, with the user's identity,
// and must be quick and safe for concurrent use; an error refuses the
// reply with unavailable (retryable). Default: none.
func WithBudgetFunc(fn func(ctx context.Context, user auth.Identity) (usage.Budget, error)) Option {
	return func(c *config) error {
		if fn == nil {
			return errors.New("WithBudgetFunc: function is nil")
		}
		c.BudgetFunc = fn
		return nil
	}
}

// checkUsage cross-checks prices and budgets with the models.
func checkUsage(c *config) []error {
	var errs []error
	for id := range c.Prices {
		found := false
		for _, m := range c.Models {
			found = found || m.ID == id
		}
		if !found {
			errs = append(errs, fmt.Errorf("WithPrices: no model %q (see WithModel)", id))
		}
	}
	if (c.Budget.DailyCost > 0 || c.Budget.MonthlyCost > 0) && len(c.Prices) == 0 {
		errs = append(errs, errors.New("WithBudget: a cost limit needs WithPrices"))
	}
	return errs
}

// conversationCost prices a conversation's tokens for the operator API.
func conversationCost(prices map[string]usage.Price) func(string, storage.Usage) (float64, bool) {
	if len(prices) == 0 {
		return nil
	}
	return func(model string, u storage.Usage) (float64, bool) {
		p, ok := prices[model]
		if !ok {
			return 0, false
		}
		return float64(p.CostMicros(u.InputTokens, u.CachedInputTokens, u.OutputTokens)) / 1e6, true
	}
}
