package admin

import (
	"context"
	"net/http"
	"time"

	"github.com/chatboxsdk/chatbox/protocol"
	"github.com/chatboxsdk/chatbox/storage"
)

// UsageList is the answer of GET /usage: usage rows by user, model and
// UTC day, newest day first, and, when the query names a user, that
// user's totals over the query's days.
type UsageList struct {
	Rows []UsageRow `json:"rows"`
	// Totals sums every row the query matches (not only this page) when
	// the query names a user; absent otherwise.
	Totals *UsageTotals `json:"totals,omitempty"`
	// NextCursor continues the listing; absent on the last page.
	NextCursor string `json:"next_cursor,omitempty"`
}

// UsageRow is the usage of one user with one model on one UTC day. Cost is
// in the price table's currency unit (see chatbox.WithPrices).
type UsageRow struct {
	UserID string `json:"user_id"`
	Model  string `json:"model"`
	// Day is the UTC day, as YYYY-MM-DD.
	Day string `json:"day"`
	UsageTotals
}

// UsageTotals are token counts and cost. EstimatedReplies counts replies
// whose provider reported no usage, counted with the server's estimate.
type UsageTotals struct {
	Replies           int64   `json:"replies"`
	EstimatedReplies  int64   `json:"estimated_replies,omitempty"`
	InputTokens       int64   `json:"input_tokens"`
	OutputTokens      int64   `json:"output_tokens"`
	CachedInputTokens int64   `json:"cached_input_tokens,omitempty"`
	ReasoningTokens   int64   `json:"reasoning_tokens,omitempty"`
	Cost              float64 `json:"cost"`
}

// listUsage serves GET /usage?user=&model=&from=&before=&limit=&cursor=.
func (h *Handler) listUsage(rq *request) (any, *apiError) {
	if h.usage == nil {
		return nil, &apiError{http.StatusNotImplemented, protocol.Errorf(protocol.CodeUnavailable, "this server's store keeps no usage")}
	}
	q := parseQuery(rq.r.URL.RawQuery, "user", "model", "from", "before", "limit", "cursor")
	uq := storage.UsageQuery{UserID: q.str("user"), Model: q.str("model"), Limit: q.limit(), Cursor: q.str("cursor")}
	uq.From, uq.Before = q.timeRange("from", "before")
	if q.err != nil {
		return nil, q.err
	}
	ctx, cancel := context.WithTimeout(rq.r.Context(), h.storeTimeout)
	defer cancel()
	page, err := h.usage.ListUsage(ctx, uq)
	if err != nil {
		return nil, rq.storeError(err, "list usage", "cursor")
	}
	out := UsageList{Rows: make([]UsageRow, 0, len(page.Rows)), NextCursor: page.NextCursor}
	for _, r := range page.Rows {
		out.Rows = append(out.Rows, UsageRow{UserID: r.UserID, Model: r.Model, Day: r.Day.UTC().Format(time.DateOnly), UsageTotals: UsageTotals{
			Replies: r.Replies, EstimatedReplies: r.EstimatedReplies, InputTokens: r.InputTokens, OutputTokens: r.OutputTokens,
			CachedInputTokens: r.CachedInputTokens, ReasoningTokens: r.ReasoningTokens, Cost: float64(r.CostMicros) / 1e6,
		}})
	}
	if uq.UserID != "" && uq.Model == "" {
		before := uq.Before
		if before.IsZero() {
			before = h.now().UTC().AddDate(0, 0, 1)
		}
		t, err := h.usage.SumUsage(ctx, uq.UserID, uq.From, before)
		if err != nil {
			return nil, rq.storeError(err, "sum usage", "")
		}
		out.Totals = &UsageTotals{Replies: t.Replies, EstimatedReplies: t.EstimatedReplies, InputTokens: t.InputTokens,
			OutputTokens: t.OutputTokens, CachedInputTokens: t.CachedInputTokens, ReasoningTokens: t.ReasoningTokens, Cost: float64(t.CostMicros) / 1e6}
	}
	return out, nil
}
