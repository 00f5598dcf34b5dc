package mongostore

import (
	"context"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/chatboxsdk/chatbox/storage"
)

// Fields of an audit document.
const (
	fAt     = "at"
	fActor  = "actor"
	fAction = "action"
)

// auditDoc is an audit entry; its _id is the entry's id, so a retried
// append hits a duplicate key.
type auditDoc struct {
	ID             string        `bson:"_id"`
	At             bson.DateTime `bson:"at"`
	Actor          string        `bson:"actor"`
	Action         string        `bson:"action"`
	ConversationID string        `bson:"conversation_id,omitempty"`
	Detail         string        `bson:"detail,omitempty"`
}

// AppendAudit implements storage.Store: one insert; a duplicate key is an
// entry already stored, and the append a no-op.
func (s *Store) AppendAudit(ctx context.Context, e storage.AuditEntry) error {
	if err := e.Validate(); err != nil {
		return fmt.Errorf("mongostore: append audit entry: %w", err)
	}
	doc := auditDoc{ID: e.ID, At: date(e.At), Actor: e.Actor, Action: string(e.Action), ConversationID: e.ConversationID, Detail: e.Detail}
	return s.do(ctx, "append audit entry", func(ctx context.Context) error {
		_, err := s.audit.InsertOne(ctx, doc)
		if mongo.IsDuplicateKeyError(err) {
			return nil
		}
		return err
	})
}

// ListAudit implements storage.Store: newest first by (At, ID).
func (s *Store) ListAudit(ctx context.Context, q storage.AuditQuery) (storage.AuditPage, error) {
	if err := ctx.Err(); err != nil {
		return storage.AuditPage{}, fmt.Errorf("mongostore: list audit: %w", err)
	}
	l := listing{kind: kindAudit, order: storage.Descending}
	filter := bson.D{}
	if q.ConversationID != "" {
		filter = append(filter, bson.E{Key: fConversationID, Value: q.ConversationID})
	}
	if q.Actor != "" {
		filter = append(filter, bson.E{Key: fActor, Value: q.Actor})
	}
	if q.Action != "" {
		filter = append(filter, bson.E{Key: fAction, Value: string(q.Action)})
	}
	if r := dateRange(q.From, q.Before); r != nil {
		filter = append(filter, bson.E{Key: fAt, Value: r})
	}
	if q.Cursor != "" {
		p, err := decodeCursor(q.Cursor, l)
		if err != nil {
			return storage.AuditPage{}, err
		}
		filter = append(filter, after(p, fAt, fID, l.order)...)
	}
	limit := storage.ClampLimit(q.Limit)
	opts := options.Find().SetSort(bson.D{{Key: fAt, Value: -1}, {Key: fID, Value: -1}}).SetLimit(int64(limit + 1))
	docs, err := findAll[auditDoc](ctx, s, "list audit", s.audit, filter, opts)
	if err != nil {
		return storage.AuditPage{}, err
	}
	var page storage.AuditPage
	if len(docs) > limit {
		docs = docs[:limit]
		last := docs[limit-1]
		page.NextCursor = encodeCursor(l, position{last.At, last.ID})
	}
	page.Entries = make([]storage.AuditEntry, len(docs))
	for i, d := range docs {
		page.Entries[i] = storage.AuditEntry{ID: d.ID, At: fromDate(d.At), Actor: d.Actor, Action: storage.AuditAction(d.Action),
			ConversationID: d.ConversationID, Detail: d.Detail}
	}
	return page, nil
}
