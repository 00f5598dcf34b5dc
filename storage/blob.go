package storage

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"
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
	// CreatedAt are required (ErrInvalid, see Blob.Validate), as is a
	// maxBytes of zero or more; b's Size and SentAt are ignored (a new
	// blob is unsent). An existing (ConversationID, ID) gives ErrConflict.
	// A failed or cancelled put leaves nothing behind.
	PutBlob(ctx context.Context, b Blob, r io.Reader, maxBytes int64) (Blob, error)

	// OpenBlob returns a blob and a reader of its bytes, which the caller
	// must close; ErrNotFound when there is no such blob. The reader gives
	// the bytes the blob was put with even if the blob is deleted, or
	// deleted and put again, while it is read, or it fails; it never mixes
	// the bytes of two puts. A store may read under ctx: keep it live
	// until the reader is closed.
	OpenBlob(ctx context.Context, conversationID, id string) (Blob, io.ReadCloser, error)

	// MarkBlobSent records that a message referenced the blob at at; only
	// the first call changes SentAt. ErrNotFound when there is no such
	// blob; a zero at gives ErrInvalid.
	MarkBlobSent(ctx context.Context, conversationID, id string, at time.Time) error

	// DeleteBlob deletes a blob; deleting one that does not exist is a
	// no-op returning nil.
	DeleteBlob(ctx context.Context, conversationID, id string) error

	// ListBlobs returns a page of blobs. Pages are full (every page but
	// the last holds ClampLimit(q.Limit) blobs), NextCursor is set exactly
	// when more blobs follow, and a cursor is a position: a blob put after
	// a page was served appears on a later page if it sorts after that
	// page, and none is listed twice. A malformed cursor, or a query
	// without a filter (see BlobQuery.Validate), gives ErrInvalid.
	ListBlobs(ctx context.Context, q BlobQuery) (BlobPage, error)
}

// maxBlobField bounds the ids and media type of a blob, maxBlobName its
// name (room for a name sealed by a wrapper such as storage/encrypted),
// in bytes.
const (
	maxBlobField = 1024
	maxBlobName  = 4096
)

// Validate checks b as every BlobStore does before storing it: ID,
// ConversationID, UserID, MediaType and CreatedAt are required; ids,
// Name and MediaType are valid UTF-8 without NUL characters, at most 1024
// bytes each, 4096 for Name. Problems wrap ErrInvalid.
func (b Blob) Validate() error {
	var missing []string
	for _, f := range []struct {
		name  string
		empty bool
	}{{"ID", b.ID == ""}, {"ConversationID", b.ConversationID == ""}, {"UserID", b.UserID == ""},
		{"MediaType", b.MediaType == ""}, {"CreatedAt", b.CreatedAt.IsZero()}} {
		if f.empty {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("blob %q without %v: %w", b.ID, missing, ErrInvalid)
	}
	for _, f := range []struct{ name, value string }{
		{"ID", b.ID}, {"ConversationID", b.ConversationID}, {"UserID", b.UserID}, {"Name", b.Name}, {"MediaType", b.MediaType},
	} {
		limit := maxBlobField
		if f.name == "Name" {
			limit = maxBlobName
		}
		switch {
		case len(f.value) > limit:
			return fmt.Errorf("blob %q: %s longer than %d bytes: %w", b.ID, f.name, limit, ErrInvalid)
		case !utf8.ValidString(f.value) || strings.ContainsRune(f.value, 0):
			return fmt.Errorf("blob %q: %s is not valid UTF-8 without NUL: %w", b.ID, f.name, ErrInvalid)
		}
	}
	return nil
}

// Validate checks q as every BlobStore does before listing: at least one
// of ConversationID, UserID and CreatedBefore is set. Problems wrap
// ErrInvalid; the cursor is the backend's to check.
func (q BlobQuery) Validate() error {
	if q.ConversationID == "" && q.UserID == "" && q.CreatedBefore.IsZero() {
		return fmt.Errorf("blob query without ConversationID, UserID or CreatedBefore: %w", ErrInvalid)
	}
	return nil
}

// CompareBlobs orders blobs as listings do: by CreatedAt, then
// ConversationID, then ID, the strings in byte order.
func CompareBlobs(a, b Blob) int {
	return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), strings.Compare(a.ConversationID, b.ConversationID), strings.Compare(a.ID, b.ID))
}

// BlobReader is the reader a BlobStore puts from: it reads the caller's
// reader, stops with an error wrapping ErrTooLarge once more than
// maxBytes are offered (the bytes past the bound are never returned),
// and with an error wrapping the context's before each read once the
// context is done. See LimitBlob.
type BlobReader struct {
	ctx context.Context
	r   io.Reader
	max int64
	n   int64
}

// LimitBlob returns the BlobReader of a PutBlob(ctx, _, r, maxBytes); a
// negative maxBytes gives ErrInvalid.
func LimitBlob(ctx context.Context, r io.Reader, maxBytes int64) (*BlobReader, error) {
	if maxBytes < 0 {
		return nil, fmt.Errorf("negative maxBytes %d: %w", maxBytes, ErrInvalid)
	}
	if r == nil {
		return nil, fmt.Errorf("nil reader: %w", ErrInvalid)
	}
	return &BlobReader{ctx: ctx, r: r, max: maxBytes}, nil
}

// Read implements io.Reader.
func (l *BlobReader) Read(p []byte) (int, error) {
	if err := l.ctx.Err(); err != nil {
		return 0, err
	}
	if len(p) == 0 {
		return 0, nil
	}
	// Ask for one byte past the bound, so a stream of exactly maxBytes
	// ends cleanly and a longer one is caught.
	if room := l.max - l.n; room < int64(len(p))-1 {
		p = p[:room+1]
	}
	n, err := l.r.Read(p)
	if l.n+int64(n) > l.max {
		n = int(l.max - l.n)
		l.n = l.max
		return n, fmt.Errorf("blob larger than %d bytes: %w", l.max, ErrTooLarge)
	}
	l.n += int64(n)
	return n, err
}

// Size returns the number of bytes read so far.
func (l *BlobReader) Size() int64 { return l.n }

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
