package mongostore

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/chatboxsdk/chatbox/storage"
)

// maxModeRechecks bounds how often ChangeMode retries a change that did
// not match but that the conversation, read just after, would allow: a
// concurrent change moved it in between.
const maxModeRechecks = 3

// ChangeMode implements storage.Store with one FindOneAndUpdate whose
// filter holds the whole rule of storage.ModeChange (not ended; stored
// mode among From and, when held, held by Operator; not already as asked),
// so the server decides atomically and two racing takeovers cannot both
// win. When nothing matched, the conversation is read: already as asked
// is a success that changed nothing; otherwise storage.ErrNotFound or
// storage.ErrConflict, returned with the stored conversation.
func (s *Store) ChangeMode(ctx context.Context, c storage.ModeChange) (storage.Conversation, bool, error) {
	if err := ctx.Err(); err != nil {
		return storage.Conversation{}, false, fmt.Errorf("mongostore: change mode: %w", err)
	}
	from, err := c.Validate()
	if err != nil {
		return storage.Conversation{}, false, fmt.Errorf("mongostore: change mode: %w", err)
	}
	to := c.To.Normalize()
	holder, name := "", ""
	if to == storage.ModeOperator {
		holder, name = c.Operator, c.OperatorName
	}
	filter := modeChangeFilter(c.ConversationID, from, to, c.Operator, holder)
	update := bson.D{{Key: "$set", Value: bson.D{
		{Key: fMode, Value: string(to)},
		{Key: fOperator, Value: holder},
		{Key: fOperatorName, Value: name},
		{Key: fModeChangedAt, Value: date(c.At)},
	}}}
	opts := options.FindOneAndUpdate().SetReturnDocument(options.After)
	var (
		d                convDoc
		changed, already bool
	)
	err = s.do(ctx, "change mode", func(ctx context.Context) error {
		for range maxModeRechecks {
			var after convDoc
			err := s.convs.FindOneAndUpdate(ctx, filter, update, opts).Decode(&after)
			if err == nil {
				d, changed = after, true
				return nil
			}
			if !errors.Is(err, mongo.ErrNoDocuments) {
				return err
			}
			if d, err = s.findConversation(ctx, c.ConversationID); err != nil {
				return err
			}
			if d.Status != string(storage.StatusEnded) && storage.Mode(d.Mode).Normalize() == to && d.Operator == holder {
				already = true // a retry, or the same change by another call
				return nil
			}
			if !modeChangeApplies(d, from, c.Operator) {
				return nil
			}
		}
		return nil
	})
	switch {
	case err != nil:
		return storage.Conversation{}, false, err
	case changed:
		return d.conversation(), true, nil
	case already:
		return d.conversation(), false, nil
	}
	return d.conversation(), false, fmt.Errorf("mongostore: change mode of %q: the conversation is %s in mode %q held by %q: %w",
		c.ConversationID, d.Status, storage.Mode(d.Mode).Normalize(), d.Operator, storage.ErrConflict)
}

// modeChangeFilter is the filter of the conversation id when the change
// from one of from to (to, holder) by operator applies to it and is not
// already made.
func modeChangeFilter(id string, from []storage.Mode, to storage.Mode, operator, holder string) bson.D {
	var free []any // stored forms of the modes no one holds
	anyOf := bson.A{}
	for _, m := range from {
		if m == storage.ModeOperator {
			anyOf = append(anyOf, bson.D{{Key: fMode, Value: string(m)}, {Key: fOperator, Value: operator}})
			continue
		}
		free = append(free, storedForms(m)...)
	}
	if len(free) > 0 {
		anyOf = append(anyOf, bson.D{{Key: fMode, Value: bson.D{{Key: "$in", Value: free}}}})
	}
	// Already made: the holder of a mode other than operator is empty, or
	// absent in a document that never changed mode.
	already := bson.D{{Key: fMode, Value: bson.D{{Key: "$in", Value: storedForms(to)}}}}
	if holder == "" {
		already = append(already, bson.E{Key: fOperator, Value: bson.D{{Key: "$in", Value: bson.A{"", nil}}}})
	} else {
		already = append(already, bson.E{Key: fOperator, Value: holder})
	}
	return bson.D{
		{Key: fID, Value: id},
		{Key: fStatus, Value: bson.D{{Key: "$ne", Value: string(storage.StatusEnded)}}},
		{Key: "$or", Value: anyOf},
		{Key: "$nor", Value: bson.A{already}},
	}
}

// storedForms returns the stored values that read as m.
func storedForms(m storage.Mode) []any {
	if m == storage.ModeAI {
		return []any{string(storage.ModeAI), "", nil}
	}
	return []any{string(m)}
}

// modeChangeApplies evaluates the rule of modeChangeFilter on d, the
// "not already made" part aside (the caller checks it first).
func modeChangeApplies(d convDoc, from []storage.Mode, operator string) bool {
	if d.Status == string(storage.StatusEnded) {
		return false
	}
	stored := storage.Mode(d.Mode).Normalize()
	return slices.Contains(from, stored) && (stored != storage.ModeOperator || d.Operator == operator)
}
