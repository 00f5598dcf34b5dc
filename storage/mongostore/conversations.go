package mongostore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/chatboxsdk/chatbox/storage"
)

// CreateConversation implements storage.Store. A duplicate key means the
// id is taken: by the same user it is a retried create (nil), by another
// it is storage.ErrConflict. Mode, Operator, ModeChangedAt and Stats are
// ignored: a conversation starts in storage.ModeAI with zero figures. A
// zero UpdatedAt is stored as CreatedAt.
func (s *Store) CreateConversation(ctx context.Context, c storage.Conversation) error {
	var missing []string
	if c.ID == "" {
		missing = append(missing, "ID")
	}
	if c.UserID == "" {
		missing = append(missing, "UserID")
	}
	if c.CreatedAt.IsZero() {
		missing = append(missing, "CreatedAt")
	}
	if len(missing) > 0 {
		return fmt.Errorf("mongostore: conversation without %v: %w", missing, storage.ErrInvalid)
	}
	doc := toConvDoc(c)
	return s.do(ctx, "create conversation", func(ctx context.Context) error {
		_, err := s.convs.InsertOne(ctx, doc)
		if err == nil || !mongo.IsDuplicateKeyError(err) {
			return err
		}
		stored, err := s.findConversation(ctx, c.ID)
		if err != nil {
			return err
		}
		if stored.UserID != c.UserID {
			return fmt.Errorf("conversation %q belongs to another user: %w", c.ID, storage.ErrConflict)
		}
		return nil
	})
}

// findConversation reads one conversation document; a missing one is
// storage.ErrNotFound.
func (s *Store) findConversation(ctx context.Context, id string) (convDoc, error) {
	var d convDoc
	err := s.convs.FindOne(ctx, bson.D{{Key: fID, Value: id}}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return convDoc{}, fmt.Errorf("conversation %q: %w", id, storage.ErrNotFound)
	}
	return d, err
}

// GetConversation implements storage.Store.
func (s *Store) GetConversation(ctx context.Context, id string) (storage.Conversation, error) {
	if err := ctx.Err(); err != nil {
		return storage.Conversation{}, fmt.Errorf("mongostore: get conversation: %w", err)
	}
	if id == "" {
		return storage.Conversation{}, fmt.Errorf("mongostore: empty conversation id: %w", storage.ErrNotFound)
	}
	var d convDoc
	err := s.do(ctx, "get conversation", func(ctx context.Context) (err error) {
		d, err = s.findConversation(ctx, id)
		return err
	})
	if err != nil {
		return storage.Conversation{}, err
	}
	return d.conversation(), nil
}

// EndConversation implements storage.Store. The first end wins: the update
// only matches a conversation that is not ended yet.
func (s *Store) EndConversation(ctx context.Context, id string, at time.Time) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("mongostore: end conversation: %w", err)
	}
	if id == "" {
		return fmt.Errorf("mongostore: empty conversation id: %w", storage.ErrNotFound)
	}
	filter := bson.D{{Key: fID, Value: id}, {Key: fStatus, Value: bson.D{{Key: "$ne", Value: string(storage.StatusEnded)}}}}
	update := bson.D{{Key: "$set", Value: bson.D{
		{Key: fStatus, Value: string(storage.StatusEnded)},
		{Key: fEndedAt, Value: optDate(at)},
	}}}
	return s.do(ctx, "end conversation", func(ctx context.Context) error {
		res, err := s.convs.UpdateOne(ctx, filter, update)
		if err != nil {
			return err
		}
		if res.MatchedCount == 1 {
			return nil
		}
		_, err = s.findConversation(ctx, id)
		return err
	})
}
