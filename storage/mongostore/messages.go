package mongostore

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/chatboxsdk/chatbox/storage"
)

// AppendMessage implements storage.Store.
//
// The message's _id is derived from its ids, so an insert that already
// succeeded fails with a duplicate key on retry. Each call stamps its
// insert with a random token: finding its own token, a retry inside the
// same call knows the insert was its own and still reports created.
func (s *Store) AppendMessage(ctx context.Context, m storage.Message) (storage.Message, bool, error) {
	var missing []string
	for _, f := range []struct {
		name  string
		empty bool
	}{{"ID", m.ID == ""}, {"ConversationID", m.ConversationID == ""}, {"Role", m.Role == ""}, {"CreatedAt", m.CreatedAt.IsZero()}} {
		if f.empty {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return storage.Message{}, false, fmt.Errorf("mongostore: message without %v: %w", missing, storage.ErrInvalid)
	}
	doc := toMsgDoc(m)
	doc.Writer = rand.Text()
	var (
		stored  msgDoc
		created bool
	)
	err := s.do(ctx, "append message", func(ctx context.Context) error {
		if _, err := s.findConversation(ctx, m.ConversationID); err != nil {
			return err
		}
		_, err := s.msgs.InsertOne(ctx, doc)
		switch {
		case err == nil:
			stored, created = doc, true
		case mongo.IsDuplicateKeyError(err):
			if stored, err = s.findMessage(ctx, doc.Key); err != nil {
				return err
			}
			created = stored.Writer == doc.Writer
			if !created && stored.Role != doc.Role {
				return fmt.Errorf("message %q of conversation %q is stored with role %q: %w", m.ID, m.ConversationID, stored.Role, storage.ErrConflict)
			}
		default:
			return err
		}
		return s.countMessage(ctx, stored, created)
	})
	if err != nil {
		return storage.Message{}, false, err
	}
	return stored.message(), created, nil
}

// countMessage moves the conversation's UpdatedAt forward to the message's
// CreatedAt and, for a created message, updates the counters (message
// count, usage, operator assistance). For a
// message found already stored only UpdatedAt is (re)applied: $max makes
// that a no-op unless the call that created it failed before doing so.
func (s *Store) countMessage(ctx context.Context, d msgDoc, created bool) error {
	update := bson.D{{Key: "$max", Value: bson.D{{Key: fUpdatedAt, Value: d.CreatedAt}}}}
	if created {
		inc := usageInc(bson.D{{Key: fMessageCount, Value: 1}}, d.usage())
		update = append(update, bson.E{Key: "$inc", Value: inc})
		if d.Role == string(storage.RoleOperator) {
			update = append(update, bson.E{Key: "$set", Value: bson.D{{Key: fOperatorAssisted, Value: true}}})
		}
	}
	_, err := s.convs.UpdateOne(ctx, bson.D{{Key: fID, Value: d.ConversationID}}, update)
	return err
}

func (s *Store) findMessage(ctx context.Context, key string) (msgDoc, error) {
	var d msgDoc
	err := s.msgs.FindOne(ctx, bson.D{{Key: fID, Value: key}}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return msgDoc{}, fmt.Errorf("message: %w", storage.ErrNotFound)
	}
	return d, err
}

// GetMessage implements storage.Store.
func (s *Store) GetMessage(ctx context.Context, conversationID, id string) (storage.Message, error) {
	if err := ctx.Err(); err != nil {
		return storage.Message{}, fmt.Errorf("mongostore: get message: %w", err)
	}
	if conversationID == "" || id == "" {
		return storage.Message{}, fmt.Errorf("mongostore: empty message or conversation id: %w", storage.ErrNotFound)
	}
	var d msgDoc
	err := s.do(ctx, "get message", func(ctx context.Context) (err error) {
		d, err = s.findMessage(ctx, messageKey(conversationID, id))
		return err
	})
	if err != nil {
		return storage.Message{}, err
	}
	return d.message(), nil
}

// UpdateMessage implements storage.Store: it replaces Text, Parts,
// Status, FinishReason, Error, Usage, Model and UpdatedAt; a message
// updated without parts loses its parts array. The previous state comes
// back from the same atomic update, so the conversation's token and
// response-time figures grow by the difference it made, and a repeated
// update adds nothing. The update that completes a streaming (or paused)
// reply also records its response time on the message, for Aggregate.
func (s *Store) UpdateMessage(ctx context.Context, m storage.Message) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("mongostore: update message: %w", err)
	}
	if m.ID == "" || m.ConversationID == "" {
		return fmt.Errorf("mongostore: update of a message without ID or ConversationID: %w", storage.ErrInvalid)
	}
	set := bson.D{
		{Key: "text", Value: m.Text},
		{Key: fStatus, Value: string(m.Status)},
		{Key: "finish_reason", Value: m.FinishReason},
		{Key: "error", Value: m.Error},
		{Key: "model", Value: m.Model},
		{Key: fInputTokens, Value: m.Usage.InputTokens},
		{Key: fOutputTokens, Value: m.Usage.OutputTokens},
		{Key: fCachedTokens, Value: m.Usage.CachedInputTokens},
		{Key: fReasoningTokens, Value: m.Usage.ReasoningTokens},
		{Key: fUpdatedAt, Value: optDate(m.UpdatedAt)},
	}
	update := bson.D{{Key: "$set", Value: set}}
	if parts := toPartDocs(m.Parts); parts != nil {
		update[0].Value = append(set, bson.E{Key: fParts, Value: parts})
	} else {
		update = append(update, bson.E{Key: "$unset", Value: bson.D{{Key: fParts, Value: ""}}})
	}
	key := messageKey(m.ConversationID, m.ID)
	opts := options.FindOneAndUpdate().SetReturnDocument(options.Before)
	var before msgDoc
	err := s.do(ctx, "update message", func(ctx context.Context) error {
		err := s.msgs.FindOneAndUpdate(ctx, bson.D{{Key: fID, Value: key}}, update, opts).Decode(&before)
		if errors.Is(err, mongo.ErrNoDocuments) {
			return fmt.Errorf("message %q of conversation %q: %w", m.ID, m.ConversationID, storage.ErrNotFound)
		}
		return err
	})
	if err != nil {
		return err
	}
	if rt, ok := responseTime(before, m); ok {
		err := s.do(ctx, "record response time", func(ctx context.Context) error {
			_, err := s.msgs.UpdateOne(ctx, bson.D{{Key: fID, Value: key}}, bson.D{{Key: "$set", Value: bson.D{{Key: fResponseMS, Value: rt}}}})
			return err
		})
		if err != nil {
			return err
		}
	}
	stats := replyStats(before, m)
	if len(stats) == 0 {
		return nil
	}
	return s.do(ctx, "update conversation statistics", func(ctx context.Context) error {
		_, err := s.convs.UpdateOne(ctx, bson.D{{Key: fID, Value: m.ConversationID}}, stats)
		return err
	})
}

// ListMessages implements storage.Store: by (CreatedAt, ID) in q.Order.
func (s *Store) ListMessages(ctx context.Context, q storage.MessageQuery) (storage.MessagePage, error) {
	if err := ctx.Err(); err != nil {
		return storage.MessagePage{}, fmt.Errorf("mongostore: list messages: %w", err)
	}
	if q.ConversationID == "" {
		return storage.MessagePage{}, fmt.Errorf("mongostore: list messages without ConversationID: %w", storage.ErrInvalid)
	}
	order := storage.Ascending
	if q.Order == storage.Descending {
		order = storage.Descending
	}
	filter := bson.D{{Key: fConversationID, Value: q.ConversationID}}
	if q.Cursor != "" {
		p, err := decodeCursor(q.Cursor, listing{kind: kindMessages, order: order})
		if err != nil {
			return storage.MessagePage{}, err
		}
		filter = append(filter, after(p, fCreatedAt, fMsgID, order)...)
	}
	dir := 1
	if order == storage.Descending {
		dir = -1
	}
	limit := storage.ClampLimit(q.Limit)
	opts := options.Find().
		SetSort(bson.D{{Key: fCreatedAt, Value: dir}, {Key: fMsgID, Value: dir}}).
		SetLimit(int64(limit + 1))
	var docs []msgDoc
	err := s.do(ctx, "list messages", func(ctx context.Context) error {
		cur, err := s.msgs.Find(ctx, filter, opts)
		if err != nil {
			return err
		}
		docs = nil // a retry decodes into fresh documents
		if err := cur.All(ctx, &docs); err != nil {
			return err
		}
		if len(docs) == 0 {
			// Messages exist only in existing conversations: look the
			// conversation up only when the page is empty.
			_, err = s.findConversation(ctx, q.ConversationID)
		}
		return err
	})
	if err != nil {
		return storage.MessagePage{}, err
	}
	var page storage.MessagePage
	if len(docs) > limit {
		docs = docs[:limit]
		last := docs[limit-1]
		page.NextCursor = encodeCursor(listing{kind: kindMessages, order: order}, position{last.CreatedAt, last.ID})
	}
	page.Messages = make([]storage.Message, len(docs))
	for i, d := range docs {
		page.Messages[i] = d.message()
	}
	return page, nil
}
