package mongostore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/chatboxsdk/chatbox/storage"
)

var _ storage.BlobStore = (*Store)(nil)

// blobChunkSize is the size of every chunk of a blob but its last.
const blobChunkSize = 256 << 10

// The states of a blob document. Only stored blobs exist for the
// BlobStore's callers; the others are a put or a delete under way, or
// left half done by a process that stopped (see SweepBlobs).
const (
	blobWriting  = "writing"
	blobStored   = "stored"
	blobDeleting = "deleting"
)

// Blob document fields.
const (
	fState  = "state"
	fUpload = "upload"
	fSize   = "size"
	fSentAt = "sent_at"
	fSince  = "since"
)

// blobDoc is a blob's document. Its _id is made of its conversation id and
// id (messageKey); Upload is the random token of the put that wrote it,
// which names its chunks.
type blobDoc struct {
	Key            string         `bson:"_id"`
	ConversationID string         `bson:"conversation_id"`
	ID             string         `bson:"id"`
	UserID         string         `bson:"user_id"`
	Name           string         `bson:"name,omitempty"`
	MediaType      string         `bson:"media_type"`
	Size           int64          `bson:"size"`
	CreatedAt      bson.DateTime  `bson:"created_at"`
	SentAt         *bson.DateTime `bson:"sent_at,omitempty"`
	State          string         `bson:"state"`
	Upload         string         `bson:"upload"`
	// Since is when the document entered its state (by the clock of the
	// process that wrote it); SweepBlobs reads it.
	Since bson.DateTime `bson:"since"`
}

func (d blobDoc) blob() storage.Blob {
	return storage.Blob{ID: d.ID, ConversationID: d.ConversationID, UserID: d.UserID, Name: d.Name, MediaType: d.MediaType,
		Size: d.Size, CreatedAt: fromDate(d.CreatedAt), SentAt: fromOptDate(d.SentAt)}
}

// chunkDoc is one chunk of a blob.
type chunkDoc struct {
	ID   string `bson:"_id"`
	Data []byte `bson:"data"`
}

// chunkID is the _id of chunk n of an upload: the token, then n in nine
// digits, so an upload's chunks are a range of _id.
func chunkID(upload string, n int) string { return fmt.Sprintf("%s/%09d", upload, n) }

// newUpload returns a random upload token.
func newUpload() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}

// storable reports whether every string of ss is valid UTF-8 without
// NUL. storage.Blob.Validate refuses blobs whose ids are not, so no
// stored blob has such an id.
func storable(ss ...string) bool {
	for _, s := range ss {
		if !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 {
			return false
		}
	}
	return true
}

func blobNotFound(conversationID, id string) error {
	return fmt.Errorf("mongostore: blob %q of conversation %q: %w", id, conversationID, storage.ErrNotFound)
}

// PutBlob implements storage.BlobStore without transactions: it inserts
// the blob's document in the state "writing" (an _id that exists is
// storage.ErrConflict, found before a byte is read), then one chunk
// document per 256 KiB as the bytes are read, then sets the document's
// size and state "stored" in one update: the blob exists from that
// update on. A put that fails removes its chunks and document; one
// stopped by a crash leaves them for SweepBlobs. Every step is retried
// as every call of the Store is (a retried insert recognises its own
// document or chunk by the put's random token).
func (s *Store) PutBlob(ctx context.Context, b storage.Blob, r io.Reader, maxBytes int64) (storage.Blob, error) {
	if err := ctx.Err(); err != nil {
		return storage.Blob{}, fmt.Errorf("mongostore: put blob: %w", err)
	}
	if err := b.Validate(); err != nil {
		return storage.Blob{}, fmt.Errorf("mongostore: put blob: %w", err)
	}
	lr, err := storage.LimitBlob(ctx, r, maxBytes)
	if err != nil {
		return storage.Blob{}, fmt.Errorf("mongostore: put blob %q: %w", b.ID, err)
	}
	op := fmt.Sprintf("put blob %q of conversation %q", b.ID, b.ConversationID)
	doc := blobDoc{Key: messageKey(b.ConversationID, b.ID), ConversationID: b.ConversationID, ID: b.ID, UserID: b.UserID,
		Name: b.Name, MediaType: b.MediaType, CreatedAt: date(b.CreatedAt), State: blobWriting, Upload: newUpload(),
		Since: date(time.Now())}
	conflict := false
	err = s.do(ctx, op, func(ctx context.Context) error {
		_, err := s.blobs.InsertOne(ctx, doc)
		if !mongo.IsDuplicateKeyError(err) {
			return err
		}
		// Our own insert, acknowledged too late, or another blob's.
		var held blobDoc
		if err := s.blobs.FindOne(ctx, bson.D{{Key: fID, Value: doc.Key}}).Decode(&held); err != nil {
			return err
		}
		conflict = held.Upload != doc.Upload
		return nil
	})
	if err != nil {
		return storage.Blob{}, err
	}
	if conflict {
		return storage.Blob{}, fmt.Errorf("mongostore: %s: already stored: %w", op, storage.ErrConflict)
	}
	chunks := 0
	fail := func(err error) (storage.Blob, error) {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.operationTimeout)
		defer cancel()
		return storage.Blob{}, errors.Join(fmt.Errorf("mongostore: %s: %w", op, err), s.removeUpload(cctx, doc, chunks))
	}
	buf := make([]byte, blobChunkSize)
	for {
		k, err := io.ReadFull(lr, buf)
		end := err == io.EOF || err == io.ErrUnexpectedEOF
		if err != nil && !end {
			return fail(err)
		}
		if k > 0 {
			chunk := chunkDoc{ID: chunkID(doc.Upload, chunks), Data: buf[:k]}
			err := s.do(ctx, op, func(ctx context.Context) error {
				if _, err := s.chunks.InsertOne(ctx, chunk); err != nil && !mongo.IsDuplicateKeyError(err) {
					return err // a duplicate is this very chunk, inserted by an earlier attempt
				}
				return nil
			})
			chunks++ // it may be stored even if the insert failed
			if err != nil {
				return fail(err)
			}
			doc.Size += int64(k)
		}
		if end {
			break
		}
	}
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	stored := false
	err = s.do(ctx, op, func(ctx context.Context) error {
		res, err := s.blobs.UpdateOne(ctx, bson.D{{Key: fID, Value: doc.Key}, {Key: fUpload, Value: doc.Upload}, {Key: fState, Value: blobWriting}},
			bson.D{{Key: "$set", Value: bson.D{{Key: fState, Value: blobStored}, {Key: fSize, Value: doc.Size},
				{Key: fSince, Value: date(time.Now())}}}})
		if err != nil || res.MatchedCount == 1 {
			stored = err == nil
			return err
		}
		// Stored by an earlier attempt whose answer was lost, or swept.
		n, err := s.blobs.CountDocuments(ctx, bson.D{{Key: fID, Value: doc.Key}, {Key: fUpload, Value: doc.Upload}, {Key: fState, Value: blobStored}})
		stored = n == 1
		return err
	})
	if err == nil && !stored {
		err = errors.New("the put was swept away before it ended (see SweepBlobs)")
	}
	if err != nil {
		return fail(err)
	}
	return doc.blob(), nil
}

// removeUpload removes the chunks of an upload that wrote n chunks, then
// its document if it is still the upload's.
func (s *Store) removeUpload(ctx context.Context, doc blobDoc, n int) error {
	return s.do(ctx, "remove blob", func(ctx context.Context) error {
		for first := 0; first < n; first += 100 {
			ids := bson.A{}
			for i := first; i < min(n, first+100); i++ {
				ids = append(ids, chunkID(doc.Upload, i))
			}
			if _, err := s.chunks.DeleteMany(ctx, bson.D{{Key: fID, Value: bson.D{{Key: "$in", Value: ids}}}}); err != nil {
				return err
			}
		}
		_, err := s.blobs.DeleteOne(ctx, bson.D{{Key: fID, Value: doc.Key}, {Key: fUpload, Value: doc.Upload}})
		return err
	})
}

// storedBlob reads the document of a stored blob; ok is false when there
// is none.
func (s *Store) storedBlob(ctx context.Context, op, conversationID, id string) (doc blobDoc, ok bool, err error) {
	if !storable(conversationID, id) {
		return blobDoc{}, false, nil
	}
	err = s.do(ctx, op, func(ctx context.Context) error {
		err := s.blobs.FindOne(ctx, bson.D{{Key: fID, Value: messageKey(conversationID, id)}, {Key: fState, Value: blobStored}}).Decode(&doc)
		ok = err == nil
		if errors.Is(err, mongo.ErrNoDocuments) {
			err = nil
		}
		return err
	})
	return doc, ok, err
}

// MarkBlobSent implements storage.BlobStore with one update conditional
// on sent_at being absent; when it changes nothing, a read tells an
// unknown blob from one marked before.
func (s *Store) MarkBlobSent(ctx context.Context, conversationID, id string, at time.Time) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("mongostore: mark blob sent: %w", err)
	}
	if at.IsZero() {
		return fmt.Errorf("mongostore: mark blob %q sent at a zero time: %w", id, storage.ErrInvalid)
	}
	if !storable(conversationID, id) {
		return blobNotFound(conversationID, id)
	}
	matched := false
	err := s.do(ctx, "mark blob sent", func(ctx context.Context) error {
		res, err := s.blobs.UpdateOne(ctx,
			bson.D{{Key: fID, Value: messageKey(conversationID, id)}, {Key: fState, Value: blobStored}, {Key: fSentAt, Value: bson.D{{Key: "$exists", Value: false}}}},
			bson.D{{Key: "$set", Value: bson.D{{Key: fSentAt, Value: date(at)}}}})
		if err == nil {
			matched = res.MatchedCount == 1
		}
		return err
	})
	if err != nil || matched {
		return err
	}
	if _, ok, err := s.storedBlob(ctx, "mark blob sent", conversationID, id); err != nil || ok {
		return err
	}
	return blobNotFound(conversationID, id)
}

// DeleteBlob implements storage.BlobStore: one update sets the document's
// state to "deleting" (the blob is gone from that instant), then its
// chunks are deleted, then the document. A delete stopped half way is
// finished by the next DeleteBlob of the blob, or by SweepBlobs.
func (s *Store) DeleteBlob(ctx context.Context, conversationID, id string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("mongostore: delete blob: %w", err)
	}
	if !storable(conversationID, id) {
		return nil
	}
	var (
		doc   blobDoc
		found bool
	)
	err := s.do(ctx, "delete blob", func(ctx context.Context) error {
		err := s.blobs.FindOneAndUpdate(ctx,
			bson.D{{Key: fID, Value: messageKey(conversationID, id)}, {Key: fState, Value: bson.D{{Key: "$in", Value: bson.A{blobStored, blobDeleting}}}}},
			bson.D{{Key: "$set", Value: bson.D{{Key: fState, Value: blobDeleting}, {Key: fSince, Value: date(time.Now())}}}},
		).Decode(&doc)
		found = err == nil
		if errors.Is(err, mongo.ErrNoDocuments) {
			err = nil
		}
		return err
	})
	if err != nil || !found {
		return err
	}
	if err := s.removeUpload(ctx, doc, int((doc.Size+blobChunkSize-1)/blobChunkSize)); err != nil {
		return fmt.Errorf("mongostore: delete blob %q of conversation %q: deleted, but: %w", id, conversationID, err)
	}
	return nil
}

// SweepBlobs removes what puts and deletes stopped half way by a crash
// or a lost server left: blob documents still "writing" or "deleting"
// that entered that state before olderThan, by the clock of the process
// that wrote them, and their chunks. Pass a time well before any put
// still running began (an hour ago, say): a put SweepBlobs removes
// fails. It returns how many blob documents it removed. It reads the
// chunks of each by a range of _id, which FerretDB 1.x serves by reading
// the whole chunk collection.
func (s *Store) SweepBlobs(ctx context.Context, olderThan time.Time) (int, error) {
	var docs []blobDoc
	err := s.do(ctx, "sweep blobs", func(ctx context.Context) error {
		cur, err := s.blobs.Find(ctx, bson.D{
			{Key: fState, Value: bson.D{{Key: "$in", Value: bson.A{blobWriting, blobDeleting}}}},
			{Key: fSince, Value: bson.D{{Key: "$lt", Value: date(olderThan)}}},
		}, options.Find().SetProjection(bson.D{{Key: fID, Value: 1}, {Key: fUpload, Value: 1}}).SetLimit(1000))
		if err != nil {
			return err
		}
		docs = nil
		return cur.All(ctx, &docs)
	})
	if err != nil {
		return 0, err
	}
	removed := 0
	for _, d := range docs {
		err := s.do(ctx, "sweep blobs", func(ctx context.Context) error {
			// Claim the document first: a put that ends meanwhile finds
			// it no longer "writing" and fails rather than store a blob
			// whose chunks are being removed.
			res, err := s.blobs.UpdateOne(ctx, bson.D{{Key: fID, Value: d.Key}, {Key: fUpload, Value: d.Upload},
				{Key: fState, Value: bson.D{{Key: "$in", Value: bson.A{blobWriting, blobDeleting}}}},
				{Key: fSince, Value: bson.D{{Key: "$lt", Value: date(olderThan)}}}},
				bson.D{{Key: "$set", Value: bson.D{{Key: fState, Value: blobDeleting}}}})
			if err != nil || res.MatchedCount == 0 {
				return err
			}
			// An upload's chunks are the _id range between upload+"/" and
			// upload+"0": '0' follows '/'.
			if _, err := s.chunks.DeleteMany(ctx, bson.D{{Key: fID, Value: bson.D{
				{Key: "$gt", Value: d.Upload + "/"}, {Key: "$lt", Value: d.Upload + "0"}}}}); err != nil {
				return err
			}
			del, err := s.blobs.DeleteOne(ctx, bson.D{{Key: fID, Value: d.Key}, {Key: fUpload, Value: d.Upload}, {Key: fState, Value: blobDeleting}})
			if err == nil {
				removed += int(del.DeletedCount)
			}
			return err
		})
		if err != nil {
			return removed, err
		}
	}
	return removed, nil
}
