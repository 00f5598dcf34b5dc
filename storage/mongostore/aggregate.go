package mongostore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/chatboxsdk/chatbox/storage"
)

// Aggregate implements storage.Store with counts, $group pipelines for the
// token sums and, for each percentile, one sorted query that skips to its
// rank and reads a single value: memory stays bounded whatever the size of
// the range. The figures come from several queries,
// not one snapshot, so writes landing meanwhile may be counted by some and
// not others.
func (s *Store) Aggregate(ctx context.Context, q storage.AggregateQuery) (storage.Aggregate, error) {
	if err := ctx.Err(); err != nil {
		return storage.Aggregate{}, fmt.Errorf("mongostore: aggregate: %w", err)
	}
	created := bson.D{}
	if r := dateRange(q.From, q.Before); r != nil {
		created = bson.D{{Key: fCreatedAt, Value: r}}
	}
	responded := append(created[:len(created):len(created)], bson.E{Key: fResponseMS, Value: bson.D{{Key: "$exists", Value: true}}})
	help := bson.D{{Key: fAction, Value: string(storage.AuditHelpRequest)}}
	if r := dateRange(q.From, q.Before); r != nil {
		help = append(help, bson.E{Key: fAt, Value: r})
	}
	var agg storage.Aggregate
	err := s.do(ctx, "aggregate", func(ctx context.Context) (err error) {
		agg = storage.Aggregate{}
		if agg.Conversations, err = s.convs.CountDocuments(ctx, created); err != nil {
			return err
		}
		assisted := append(created[:len(created):len(created)], bson.E{Key: fOperatorAssisted, Value: true})
		if agg.OperatorAssisted, err = s.convs.CountDocuments(ctx, assisted); err != nil {
			return err
		}
		if err := s.messageFigures(ctx, created, &agg); err != nil {
			return err
		}
		if agg.HelpRequests, err = s.audit.CountDocuments(ctx, help); err != nil {
			return err
		}
		if agg.Responses, err = s.msgs.CountDocuments(ctx, responded); err != nil {
			return err
		}
		for _, p := range []struct {
			pct int
			out *time.Duration
		}{{50, &agg.ResponseTimeP50}, {90, &agg.ResponseTimeP90}, {99, &agg.ResponseTimeP99}} {
			if *p.out, err = s.responseAtRank(ctx, responded, storage.PercentileRank(agg.Responses, p.pct)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return storage.Aggregate{}, err
	}
	return agg, nil
}

// messageFigures counts the messages filter matches and sums their usage,
// with one $group pipeline per sum: FerretDB 1.x computes only the first
// accumulator of a $group (the others come back as 0).
func (s *Store) messageFigures(ctx context.Context, filter bson.D, agg *storage.Aggregate) (err error) {
	if agg.Messages, err = s.msgs.CountDocuments(ctx, filter); err != nil {
		return err
	}
	for _, f := range []struct {
		field string
		out   *int64
	}{
		{fInputTokens, &agg.Usage.InputTokens},
		{fOutputTokens, &agg.Usage.OutputTokens},
		{fCachedTokens, &agg.Usage.CachedInputTokens},
		{fReasoningTokens, &agg.Usage.ReasoningTokens},
	} {
		if *f.out, err = s.sum(ctx, s.msgs, filter, f.field); err != nil {
			return err
		}
	}
	return nil
}

// sum returns the sum of field over the documents of coll filter matches;
// documents without the field count as 0.
func (s *Store) sum(ctx context.Context, coll *mongo.Collection, filter bson.D, field string) (int64, error) {
	pipeline := mongo.Pipeline{
		{{Key: "$match", Value: filter}},
		{{Key: "$group", Value: bson.D{{Key: "_id", Value: nil}, {Key: "sum", Value: bson.D{{Key: "$sum", Value: "$" + field}}}}}},
	}
	cur, err := coll.Aggregate(ctx, pipeline)
	if err != nil {
		return 0, err
	}
	var rows []struct {
		Sum int64 `bson:"sum"`
	}
	if err := cur.All(ctx, &rows); err != nil {
		return 0, err
	}
	if len(rows) == 0 {
		return 0, nil
	}
	return rows[0].Sum, nil
}

// responseAtRank returns the rank-th smallest response time (1-based) of
// the messages filter matches, or 0 for rank 0 or past the last.
func (s *Store) responseAtRank(ctx context.Context, filter bson.D, rank int64) (time.Duration, error) {
	if rank <= 0 {
		return 0, nil
	}
	opts := options.FindOne().
		SetSort(bson.D{{Key: fResponseMS, Value: 1}, {Key: fID, Value: 1}}).
		SetSkip(rank - 1).
		SetProjection(bson.D{{Key: fResponseMS, Value: 1}})
	var d struct {
		MS int64 `bson:"response_ms"`
	}
	err := s.msgs.FindOne(ctx, filter, opts).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return time.Duration(d.MS) * time.Millisecond, nil
}
