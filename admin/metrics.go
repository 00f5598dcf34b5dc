package admin

import (
	"context"
	"time"

	"github.com/chatboxsdk/chatbox/storage"
)

// DefaultMetricsRange is the range /metrics covers when neither from nor
// before is given: the last 24 hours.
const DefaultMetricsRange = 24 * time.Hour

// Metrics is the answer of GET /metrics: the figures of [From, Before).
// Response times are in milliseconds, rounded to the nearest; the
// percentiles use the nearest-rank method and are 0 while Responses is 0.
type Metrics struct {
	From   time.Time `json:"from"`
	Before time.Time `json:"before"`
	// Conversations created in the range.
	Conversations int64 `json:"conversations"`
	// ActiveNow is the number of conversations live right now, whatever
	// the range.
	ActiveNow int `json:"active_now"`
	// Messages created in the range, every role included.
	Messages     int64 `json:"messages"`
	InputTokens  int64 `json:"input_tokens"`
	OutputTokens int64 `json:"output_tokens"`
	// Responses counts the replies created in the range that completed.
	Responses     int64 `json:"responses"`
	ResponseMSP50 int64 `json:"response_ms_p50"`
	ResponseMSP90 int64 `json:"response_ms_p90"`
	ResponseMSP99 int64 `json:"response_ms_p99"`
	// OperatorAssisted counts the conversations created in the range that
	// an operator wrote in.
	OperatorAssisted int64 `json:"operator_assisted"`
	// HelpRequests counts the requests for a person made in the range.
	HelpRequests int64 `json:"help_requests"`
}

// metrics serves GET /metrics.
func (h *Handler) metrics(rq *request) (any, *apiError) {
	q := parseQuery(rq.r.URL.RawQuery, "from", "before")
	from, before := q.timeRange("from", "before")
	if q.err != nil {
		return nil, q.err
	}
	switch {
	case from.IsZero() && before.IsZero():
		before = h.now()
		from = before.Add(-DefaultMetricsRange)
	case from.IsZero():
		from = before.Add(-DefaultMetricsRange)
	case before.IsZero():
		before = h.now()
		if !before.After(from) {
			return nil, badField("from", "from must be in the past")
		}
	}
	if !before.After(from) {
		return nil, badField("before", "before must be after from")
	}

	ctx, cancel := context.WithTimeout(rq.r.Context(), h.storeTimeout)
	a, err := h.store.Aggregate(ctx, storage.AggregateQuery{From: from, Before: before})
	cancel()
	if err != nil {
		return nil, rq.storeError(err, "aggregate", "from")
	}
	return Metrics{
		From:             from.UTC(),
		Before:           before.UTC(),
		Conversations:    a.Conversations,
		ActiveNow:        h.active(),
		Messages:         a.Messages,
		InputTokens:      a.Usage.InputTokens,
		OutputTokens:     a.Usage.OutputTokens,
		Responses:        a.Responses,
		ResponseMSP50:    ms(a.ResponseTimeP50),
		ResponseMSP90:    ms(a.ResponseTimeP90),
		ResponseMSP99:    ms(a.ResponseTimeP99),
		OperatorAssisted: a.OperatorAssisted,
		HelpRequests:     a.HelpRequests,
	}, nil
}
