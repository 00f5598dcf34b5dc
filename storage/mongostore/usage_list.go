package mongostore

import (
	"context"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/chatboxsdk/chatbox/storage"
)

// ListUsage implements storage.UsageStore. The page is one query sorted by
// (day descending, user_id, model), which an index serves on MongoDB,
// after the cursor's row by a condition on those three fields.
func (s *Store) ListUsage(ctx context.Context, q storage.UsageQuery) (storage.UsagePage, error) {
	if err := ctx.Err(); err != nil {
		return storage.UsagePage{}, fmt.Errorf("mongostore: list usage: %w", err)
	}
	filter := bson.D{}
	if q.UserID != "" {
		filter = append(filter, bson.E{Key: fUserID, Value: q.UserID})
	}
	if q.Model != "" {
		filter = append(filter, bson.E{Key: fModel, Value: q.Model})
	}
	if r := dateRange(storage.UsagePeriod(q.From, q.Before)); r != nil {
		filter = append(filter, bson.E{Key: fDay, Value: r})
	}
	if q.Cursor != "" {
		c, err := decodeUsageCursor(q.Cursor)
		if err != nil {
			return storage.UsagePage{}, err
		}
		if (q.UserID != "" && c.UserID != q.UserID) || (q.Model != "" && c.Model != q.Model) {
			return storage.UsagePage{}, fmt.Errorf("mongostore: cursor of another usage listing: %w", storage.ErrInvalid)
		}
		d := date(c.Day)
		filter = append(filter, bson.E{Key: "$or", Value: bson.A{
			bson.D{{Key: fDay, Value: bson.D{{Key: "$lt", Value: d}}}},
			bson.D{{Key: fDay, Value: d}, {Key: fUserID, Value: bson.D{{Key: "$gt", Value: c.UserID}}}},
			bson.D{{Key: fDay, Value: d}, {Key: fUserID, Value: c.UserID}, {Key: fModel, Value: bson.D{{Key: "$gt", Value: c.Model}}}},
		}})
	}
	limit := storage.ClampLimit(q.Limit)
	opts := options.Find().
		SetSort(bson.D{{Key: fDay, Value: -1}, {Key: fUserID, Value: 1}, {Key: fModel, Value: 1}}).
		SetProjection(bson.D{{Key: fCounted, Value: 0}}).
		SetLimit(int64(limit + 1))
	docs, err := findAll[usageRowDoc](ctx, s, "list usage", s.usageRows, filter, opts)
	if err != nil {
		return storage.UsagePage{}, err
	}
	page := storage.UsagePage{Rows: make([]storage.UsageRow, 0, min(len(docs), limit))}
	for i, d := range docs {
		if i == limit {
			page.NextCursor = usageCursor(page.Rows[limit-1])
			break
		}
		page.Rows = append(page.Rows, d.row())
	}
	return page, nil
}

// kindUsage marks usage cursors. Their key is the row's day and their id
// the row's user id, preceded by its length as a uvarint, followed by its
// model.
const kindUsage = 'u'

func usageCursor(r storage.UsageRow) string {
	return encodeCursor(listing{kind: kindUsage}, position{key: date(r.Day), id: pairID(r.UserID, r.Model)})
}

// decodeUsageCursor returns the row position a usage cursor holds; every
// problem wraps storage.ErrInvalid.
func decodeUsageCursor(c string) (storage.UsageRow, error) {
	p, err := decodeCursor(c, listing{kind: kindUsage})
	if err != nil {
		return storage.UsageRow{}, err
	}
	user, model, ok := splitPair(p.id)
	if !ok {
		return storage.UsageRow{}, fmt.Errorf("mongostore: malformed cursor: %w", storage.ErrInvalid)
	}
	return storage.UsageRow{Day: p.key.(bson.DateTime).Time().UTC(), UserID: user, Model: model}, nil
}
