package mongostore

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/chatboxsdk/chatbox/storage"
)

// sortField is the document field a conversation listing sorts by.
func sortField(s storage.ConversationSort) string {
	switch s {
	case storage.SortByUpdated:
		return fUpdatedAt
	case storage.SortByMessages:
		return fMessageCount
	case storage.SortByTokens:
		return fTotalTokens
	default:
		return fCreatedAt
	}
}

// sortKey returns d's key in a listing by s.
func sortKey(d convDoc, s storage.ConversationSort) any {
	switch s {
	case storage.SortByUpdated:
		if d.UpdatedAt == nil {
			return nil
		}
		return *d.UpdatedAt
	case storage.SortByMessages:
		return d.Stats.MessageCount
	case storage.SortByTokens:
		return d.Stats.TotalTokens
	default:
		return d.CreatedAt
	}
}

// modeFilter matches the stored modes that read as m: storage.ModeAI is
// also stored as "" or, in documents written without the field, absent.
func modeFilter(m storage.Mode) any {
	return bson.D{{Key: "$in", Value: storedForms(m.Normalize())}}
}

// conversationFilter returns the filter of q's conditions, cursor aside.
func conversationFilter(q storage.ConversationQuery) bson.D {
	filter := bson.D{}
	if q.UserID != "" {
		filter = append(filter, bson.E{Key: fUserID, Value: q.UserID})
	}
	if q.Status != "" {
		filter = append(filter, bson.E{Key: fStatus, Value: string(q.Status)})
	}
	if q.Mode != "" {
		filter = append(filter, bson.E{Key: fMode, Value: modeFilter(q.Mode)})
	}
	if q.Model != "" {
		filter = append(filter, bson.E{Key: fModel, Value: q.Model})
	}
	if q.OperatorAssisted != nil {
		if *q.OperatorAssisted {
			filter = append(filter, bson.E{Key: fOperatorAssisted, Value: true})
		} else {
			filter = append(filter, bson.E{Key: fOperatorAssisted, Value: bson.D{{Key: "$ne", Value: true}}})
		}
	}
	if r := dateRange(q.CreatedFrom, q.CreatedBefore); r != nil {
		filter = append(filter, bson.E{Key: fCreatedAt, Value: r})
	}
	return filter
}

// ListConversations implements storage.Store. Each sort key has an index
// (with _id), so MongoDB serves a page from it; a query with WithTotal
// also counts the matches. An unknown Sort or Mode, or a cursor of another
// sort or direction, gives storage.ErrInvalid.
func (s *Store) ListConversations(ctx context.Context, q storage.ConversationQuery) (storage.ConversationPage, error) {
	if err := ctx.Err(); err != nil {
		return storage.ConversationPage{}, fmt.Errorf("mongostore: list conversations: %w", err)
	}
	if q.Sort < storage.SortByCreated || q.Sort > storage.SortByTokens {
		return storage.ConversationPage{}, fmt.Errorf("mongostore: list conversations: unknown sort %d: %w", q.Sort, storage.ErrInvalid)
	}
	if q.Mode != "" && !q.Mode.Valid() {
		return storage.ConversationPage{}, fmt.Errorf("mongostore: list conversations: unknown mode %q: %w", q.Mode, storage.ErrInvalid)
	}
	l := listing{kind: kindConversations, order: storage.Descending, sort: q.Sort}
	dir := -1
	if q.Ascending {
		l.order, dir = storage.Ascending, 1
	}
	filter := conversationFilter(q)
	counted := filter
	field := sortField(q.Sort)
	if q.Cursor != "" {
		p, err := decodeCursor(q.Cursor, l)
		if err != nil {
			return storage.ConversationPage{}, err
		}
		filter = append(filter[:len(filter):len(filter)], after(p, field, fID, l.order)...)
	}
	limit := storage.ClampLimit(q.Limit)
	opts := options.Find().
		SetSort(bson.D{{Key: field, Value: dir}, {Key: fID, Value: dir}}).
		SetLimit(int64(limit + 1))
	var docs []convDoc
	page := storage.ConversationPage{Total: -1}
	err := s.do(ctx, "list conversations", func(ctx context.Context) error {
		cur, err := s.convs.Find(ctx, filter, opts)
		if err != nil {
			return err
		}
		docs = nil // a retry decodes into fresh documents
		if err := cur.All(ctx, &docs); err != nil {
			return err
		}
		if q.WithTotal {
			page.Total, err = s.convs.CountDocuments(ctx, counted)
		}
		return err
	})
	if err != nil {
		return storage.ConversationPage{}, err
	}
	if len(docs) > limit {
		docs = docs[:limit]
		last := docs[limit-1]
		page.NextCursor = encodeCursor(l, position{sortKey(last, q.Sort), last.ID})
	}
	page.Conversations = make([]storage.Conversation, len(docs))
	for i, d := range docs {
		page.Conversations[i] = d.conversation()
	}
	return page, nil
}

// dateRange returns the condition of [from, before) on a date field, or
// nil when both bounds are open.
func dateRange(from, before time.Time) bson.D {
	var r bson.D
	if !from.IsZero() {
		r = append(r, bson.E{Key: "$gte", Value: date(from)})
	}
	if !before.IsZero() {
		r = append(r, bson.E{Key: "$lt", Value: date(before)})
	}
	return r
}
