package mongostore

import (
	"context"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/chatboxsdk/chatbox/storage"
)

// kindBlobs marks blob cursors; their id is the conversation id,
// preceded by its length as a uvarint, followed by the blob's id.
const kindBlobs = 'b'

func blobCursor(b storage.Blob) string {
	return encodeCursor(listing{kind: kindBlobs}, position{key: date(b.CreatedAt), id: pairID(b.ConversationID, b.ID)})
}

// decodeBlobCursor returns the position a blob cursor holds: the
// created_at, conversation id and id of a blob. Every problem wraps
// storage.ErrInvalid.
func decodeBlobCursor(c string) (bson.DateTime, string, string, error) {
	p, err := decodeCursor(c, listing{kind: kindBlobs})
	if err != nil {
		return 0, "", "", err
	}
	conv, id, ok := splitPair(p.id)
	if !ok || !storable(conv, id) {
		return 0, "", "", fmt.Errorf("mongostore: malformed cursor: %w", storage.ErrInvalid)
	}
	return p.key.(bson.DateTime), conv, id, nil
}

// ListBlobs implements storage.BlobStore: one query of the stored blobs
// sorted by (created_at, conversation_id, id), after the cursor's blob by
// a condition on those three fields, which the index of the filter
// (conversation, user, or creation alone) serves on MongoDB.
func (s *Store) ListBlobs(ctx context.Context, q storage.BlobQuery) (storage.BlobPage, error) {
	if err := ctx.Err(); err != nil {
		return storage.BlobPage{}, fmt.Errorf("mongostore: list blobs: %w", err)
	}
	if err := q.Validate(); err != nil {
		return storage.BlobPage{}, fmt.Errorf("mongostore: list blobs: %w", err)
	}
	filter := bson.D{}
	if q.ConversationID != "" {
		filter = append(filter, bson.E{Key: fConversationID, Value: q.ConversationID})
	}
	if q.UserID != "" {
		filter = append(filter, bson.E{Key: fUserID, Value: q.UserID})
	}
	filter = append(filter, bson.E{Key: fState, Value: blobStored})
	if q.Unsent {
		filter = append(filter, bson.E{Key: fSentAt, Value: bson.D{{Key: "$exists", Value: false}}})
	}
	if !q.CreatedBefore.IsZero() {
		filter = append(filter, bson.E{Key: fCreatedAt, Value: bson.D{{Key: "$lt", Value: date(q.CreatedBefore)}}})
	}
	if q.Cursor != "" {
		at, conv, id, err := decodeBlobCursor(q.Cursor)
		if err != nil {
			return storage.BlobPage{}, err
		}
		filter = append(filter, bson.E{Key: "$or", Value: bson.A{
			bson.D{{Key: fCreatedAt, Value: bson.D{{Key: "$gt", Value: at}}}},
			bson.D{{Key: fCreatedAt, Value: at}, {Key: fConversationID, Value: bson.D{{Key: "$gt", Value: conv}}}},
			bson.D{{Key: fCreatedAt, Value: at}, {Key: fConversationID, Value: conv}, {Key: fMsgID, Value: bson.D{{Key: "$gt", Value: id}}}},
		}})
	}
	if !storable(q.ConversationID, q.UserID) {
		return storage.BlobPage{Blobs: []storage.Blob{}}, nil // no blob has such an id
	}
	limit := storage.ClampLimit(q.Limit)
	opts := options.Find().
		SetSort(bson.D{{Key: fCreatedAt, Value: 1}, {Key: fConversationID, Value: 1}, {Key: fMsgID, Value: 1}}).
		SetLimit(int64(limit + 1))
	docs, err := findAll[blobDoc](ctx, s, "list blobs", s.blobs, filter, opts)
	if err != nil {
		return storage.BlobPage{}, err
	}
	page := storage.BlobPage{Blobs: make([]storage.Blob, 0, min(len(docs), limit))}
	for i, d := range docs {
		if i == limit {
			page.NextCursor = blobCursor(page.Blobs[limit-1])
			break
		}
		page.Blobs = append(page.Blobs, d.blob())
	}
	return page, nil
}
