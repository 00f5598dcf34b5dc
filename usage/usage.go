// Package usage holds what a host configures about the cost of replies:
// prices per model, the budgets that cap a user's spending, and the
// character-based estimate used when a provider reports no token counts.
//
// The Server records every reply's usage per user, model and day through
// the store (storage.UsageStore), checks a user's budget before a reply
// starts, caps the reply's max_tokens to what the budget has left and ends
// a reply that crosses it. See chatbox.WithPrices, chatbox.WithBudget and
// chatbox.WithBudgetFunc.
package usage

import (
	"errors"
	"fmt"
	"math"
	"unicode/utf8"
)

// Price is what a model costs, in a currency unit of the host's choice
// (dollars, euros...) per million tokens. A zero CachedInputPerMillion
// charges cached input tokens at InputPerMillion.
type Price struct {
	InputPerMillion       float64
	CachedInputPerMillion float64
	OutputPerMillion      float64
}

// Validate reports a negative or non-finite price.
func (p Price) Validate() error {
	var errs []error
	for _, f := range [...]struct {
		name string
		v    float64
	}{{"InputPerMillion", p.InputPerMillion}, {"CachedInputPerMillion", p.CachedInputPerMillion}, {"OutputPerMillion", p.OutputPerMillion}} {
		if f.v < 0 || math.IsNaN(f.v) || math.IsInf(f.v, 0) {
			errs = append(errs, fmt.Errorf("%s must be a finite number, not negative, got %v", f.name, f.v))
		}
	}
	return errors.Join(errs...)
}

// CostMicros is the cost of a reply's tokens in millionths of the
// currency unit, rounded up. cached is the part of input read from a cache.
func (p Price) CostMicros(input, cached, output int64) int64 {
	cached = min(max(cached, 0), input)
	cachedPrice := p.CachedInputPerMillion
	if cachedPrice == 0 {
		cachedPrice = p.InputPerMillion
	}
	// A price per million tokens is a price in micro-units per token.
	c := float64(input-cached)*p.InputPerMillion + float64(cached)*cachedPrice + float64(output)*p.OutputPerMillion
	return int64(math.Ceil(c))
}

// OutputTokensFor is how many output tokens cost fit in costMicros; -1
// when output is free.
func (p Price) OutputTokensFor(costMicros int64) int64 {
	if p.OutputPerMillion <= 0 {
		return -1
	}
	return int64(math.Floor(float64(costMicros) / p.OutputPerMillion))
}

// Budget caps a user's usage per UTC day and per UTC calendar month. A
// token limit counts input plus output tokens; a cost limit needs prices
// (in the prices' currency unit). Zero means no limit.
type Budget struct {
	DailyTokens   int64
	MonthlyTokens int64
	DailyCost     float64
	MonthlyCost   float64
}

// IsZero reports a budget without any limit.
func (b Budget) IsZero() bool { return b == Budget{} }

// Validate reports negative or non-finite limits.
func (b Budget) Validate() error {
	var errs []error
	if b.DailyTokens < 0 || b.MonthlyTokens < 0 {
		errs = append(errs, errors.New("token limits must not be negative"))
	}
	for _, v := range [...]float64{b.DailyCost, b.MonthlyCost} {
		if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
			errs = append(errs, fmt.Errorf("cost limits must be finite and not negative, got %v", v))
		}
	}
	return errors.Join(errs...)
}

// CostMicros converts a cost in currency units to micro-units.
func CostMicros(cost float64) int64 { return int64(math.Round(cost * 1e6)) }

// CharsPerToken is the estimate's ratio: a provider that reports no usage
// is counted as one token per four characters (Unicode code points) of
// the text it read and wrote, rounded up, the common rule of thumb for
// English text with current tokenizers.
const CharsPerToken = 4

// EstimateTokens estimates the tokens of texts.
func EstimateTokens(texts ...string) int64 {
	n := 0
	for _, s := range texts {
		n += utf8.RuneCountInString(s)
	}
	return int64((n + CharsPerToken - 1) / CharsPerToken)
}
