package pgstore

import (
	"context"
	"fmt"
	"time"

	"github.com/chatboxsdk/chatbox/storage"
)

// percentiles are the fractions Aggregate asks percentile_disc for. For
// n values, percentile_disc(f) is the value of rank ⌈f·n⌉ in ascending
// order (the first whose cumulative share reaches f), at least 1: the
// nearest-rank method of storage.PercentileRank, which the tests check
// for every n up to a few thousand.
var percentiles = []float64{0.50, 0.90, 0.99}

// aggregateSQL computes every figure of a range in one statement, so they
// come from one snapshot; the database computes the percentiles with an
// ordered-set aggregate and returns three values, whatever the size of
// the range. $1 and $2 bound the range; NULL is open.
const aggregateSQL = `SELECT
	(SELECT count(*) FROM @.conversations WHERE ($1::timestamptz IS NULL OR created_at >= $1) AND ($2::timestamptz IS NULL OR created_at < $2)),
	(SELECT count(*) FROM @.conversations WHERE operator_assisted
		AND ($1::timestamptz IS NULL OR created_at >= $1) AND ($2::timestamptz IS NULL OR created_at < $2)),
	(SELECT count(*) FROM @.audit WHERE action = $3
		AND ($1::timestamptz IS NULL OR at >= $1) AND ($2::timestamptz IS NULL OR at < $2)),
	m.n, m.input_tokens, m.output_tokens, m.cached_input_tokens, m.reasoning_tokens, m.responses, m.pct
FROM (
	SELECT count(*) AS n, coalesce(sum(input_tokens), 0)::bigint AS input_tokens, coalesce(sum(output_tokens), 0)::bigint AS output_tokens,
		coalesce(sum(cached_input_tokens), 0)::bigint AS cached_input_tokens, coalesce(sum(reasoning_tokens), 0)::bigint AS reasoning_tokens,
		count(response_us) AS responses,
		percentile_disc($4::float8[]) WITHIN GROUP (ORDER BY response_us) AS pct
	FROM @.messages WHERE ($1::timestamptz IS NULL OR created_at >= $1) AND ($2::timestamptz IS NULL OR created_at < $2)
) m`

// Aggregate implements storage.Store with one statement (see
// aggregateSQL). A range whose From is after its Before matches nothing.
func (s *Store) Aggregate(ctx context.Context, q storage.AggregateQuery) (storage.Aggregate, error) {
	if err := ctx.Err(); err != nil {
		return storage.Aggregate{}, fmt.Errorf("pgstore: aggregate: %w", err)
	}
	sql := s.sql(aggregateSQL)
	var agg storage.Aggregate
	err := s.do(ctx, "aggregate", func(ctx context.Context) error {
		agg = storage.Aggregate{}
		var pct []*int64
		err := s.pool.QueryRow(ctx, sql, nullTime(q.From), nullTime(q.Before), string(storage.AuditHelpRequest), percentiles).Scan(
			&agg.Conversations, &agg.OperatorAssisted, &agg.HelpRequests,
			&agg.Messages, &agg.Usage.InputTokens, &agg.Usage.OutputTokens, &agg.Usage.CachedInputTokens, &agg.Usage.ReasoningTokens,
			&agg.Responses, &pct)
		if err != nil {
			return err
		}
		for i, out := range []*time.Duration{&agg.ResponseTimeP50, &agg.ResponseTimeP90, &agg.ResponseTimeP99} {
			if i < len(pct) && pct[i] != nil {
				*out = time.Duration(*pct[i]) * time.Microsecond
			}
		}
		return nil
	})
	if err != nil {
		return storage.Aggregate{}, err
	}
	return agg, nil
}
