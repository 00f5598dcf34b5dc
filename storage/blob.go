package storage

import (
	"context"
	"errors"
	"io"
	"time"
)

// ErrTooLarge: a blob is larger than the limit its writer gave.
var ErrTooLarge = errors.New("storage: too large")

// Blob describes a file attached to a conversation.
type Blob struct {
	// ID is chosen by the writer and unique within its conversation.
	ID             string
	ConversationID string
	// UserID is who uploaded it (the conversation's owner).
	UserID string
	// Name is a display name (never a path); MediaType is the type the
	// server decided by reading the content.
	Name      string
	MediaType string
	// Size is the number of bytes; PutBlob sets it.
	Size      int64
	CreatedAt time.Time
	// SentAt is when a message first referenced the blob; zero while it
	// was never sent.
	SentAt time.Time
}

// BlobQuery selects blobs, oldest first by (CreatedAt, ConversationID,
// ID). The filters combine with AND; at least one of ConversationID and
// UserID, or CreatedBefore, is required (ErrInvalid).
type BlobQuery struct {
	ConversationID string
	UserID         string
	// Unsent keeps only blobs no message referenced.
	Unsent bool
	// CreatedBefore keeps only blobs created before it; zero: no bound.
	CreatedBefore time.Time
	Limit         int // 0 means DefaultPageSize; clamped to MaxPageSize
	Cursor        string
}

// BlobPage is one page of blobs.
type BlobPage struct {
	Blobs      []Blob
	NextCursor string
}

// BlobStore keeps the files attached to conversations. A blob's bytes are
// streamed in and out: no method holds a whole file in memory (the
// in-memory store aside). Methods are safe for concurrent use.
type BlobStore interface {
	// PutBlob stores the bytes read from r as b and returns b with its
	// Size. It reads at most maxBytes: a longer stream gives ErrTooLarge
	// and stores nothing. ID, ConversationID, UserID, MediaType and
	// CreatedAt are required (ErrInvalid); an existing (ConversationID, ID)
	// gives ErrConflict. A failed or cancelled put leaves nothing behind.
	PutBlob(ctx context.Context, b Blob, r io.Reader, maxBytes int64) (Blob, error)

	// OpenBlob returns a blob and a reader of its bytes, which the caller
	// must close; ErrNotFound when there is no such blob.
	OpenBlob(ctx context.Context, conversationID, id string) (Blob, io.ReadCloser, error)

	// MarkBlobSent records that a message referenced the blob at at; only
	// the first call changes SentAt. ErrNotFound when there is no such
	// blob.
	MarkBlobSent(ctx context.Context, conversationID, id string, at time.Time) error

	// DeleteBlob deletes a blob; deleting one that does not exist is a
	// no-op returning nil.
	DeleteBlob(ctx context.Context, conversationID, id string) error

	// ListBlobs returns a page of blobs.
	ListBlobs(ctx context.Context, q BlobQuery) (BlobPage, error)
}

// DeleteBlobs deletes every blob q selects (its Limit and Cursor are
// ignored) and returns how many it deleted.
func DeleteBlobs(ctx context.Context, blobs BlobStore, q BlobQuery) (int, error) {
	n := 0
	q.Limit, q.Cursor = MaxPageSize, ""
	for {
		page, err := blobs.ListBlobs(ctx, q)
		if err != nil {
			return n, err
		}
		for _, b := range page.Blobs {
			if err := blobs.DeleteBlob(ctx, b.ConversationID, b.ID); err != nil {
				return n, err
			}
			n++
		}
		if page.NextCursor == "" || len(page.Blobs) == 0 {
			return n, nil
		}
		// What was deleted is gone from the listing: start it again
		// rather than continue after a deleted blob.
	}
}
