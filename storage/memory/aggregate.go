package memory

import (
	"context"
	"slices"
	"time"

	"github.com/chatboxsdk/chatbox/storage"
)

// Aggregate computes the figures of [q.From, q.Before); a zero bound is
// open. It scans the conversations created in the range and, in every
// conversation, the messages created in the range, under a read lock; the
// response times of the range are copied and sorted for the percentiles.
func (s *Store) Aggregate(ctx context.Context, q storage.AggregateQuery) (storage.Aggregate, error) {
	if err := ctx.Err(); err != nil {
		return storage.Aggregate{}, err
	}
	var (
		agg   storage.Aggregate
		times []time.Duration
	)
	s.mu.RLock()
	for _, e := range inRange(s.all, q.From, q.Before, cmpConv) {
		agg.Conversations++
		if e.c.Stats.OperatorAssisted {
			agg.OperatorAssisted++
		}
	}
	for _, e := range s.all {
		for _, m := range inRange(e.msgs, q.From, q.Before, cmpMessage) {
			agg.Messages++
			addUsage(&agg.Usage, m.m.Usage, storage.Usage{})
			if m.responded {
				times = append(times, m.responseTime)
			}
		}
	}
	for _, e := range inRange(s.audit.entries, q.From, q.Before, cmpAudit) {
		if e.Action == storage.AuditHelpRequest {
			agg.HelpRequests++
		}
	}
	s.mu.RUnlock()

	slices.Sort(times)
	agg.Responses = int64(len(times))
	at := func(p int) time.Duration {
		if r := storage.PercentileRank(agg.Responses, p); r > 0 {
			return times[r-1]
		}
		return 0
	}
	agg.ResponseTimeP50, agg.ResponseTimeP90, agg.ResponseTimeP99 = at(50), at(90), at(99)
	return agg, nil
}

// inRange returns the records of list, sorted by (time, id), whose time is
// in [from, before); a zero bound is open.
func inRange[T any](list []T, from, before time.Time, cmp func(T, key) int) []T {
	if !before.IsZero() {
		i, _ := slices.BinarySearchFunc(list, key{at: before}, cmp)
		list = list[:i]
	}
	if !from.IsZero() {
		i, _ := slices.BinarySearchFunc(list, key{at: from}, cmp)
		list = list[i:]
	}
	return list
}
