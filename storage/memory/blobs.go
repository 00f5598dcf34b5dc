package memory

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/chatboxsdk/chatbox/storage"
)

var _ storage.BlobStore = (*Store)(nil)

// blobState holds the blobs, under a lock of its own: blob calls never
// wait for conversation or usage writes, nor these for them.
//
// A blob's bytes are slices that are never written after its put: a
// reader reads the slices the blob had when it was opened, and a delete
// or a new put of the id only drops the store's reference.
type blobState struct {
	mu     sync.RWMutex
	byKey  map[blobKey]*storedBlob
	sorted []*storedBlob // in listing order (storage.CompareBlobs)
}

type blobKey struct{ conv, id string }

type storedBlob struct {
	b storage.Blob
	// chunks hold the bytes, blobChunkSize each but the last.
	chunks [][]byte
}

// blobChunkSize is the size of the chunks a blob is read into: a put
// never holds more than its blob and one chunk.
const blobChunkSize = 64 << 10

// readChunks reads r whole into chunks of blobChunkSize bytes, the last
// one trimmed.
func readChunks(r io.Reader) ([][]byte, int64, error) {
	var (
		chunks [][]byte
		size   int64
	)
	for {
		buf := make([]byte, blobChunkSize)
		n, err := io.ReadFull(r, buf)
		if n == blobChunkSize {
			chunks = append(chunks, buf)
		} else if n > 0 {
			chunks = append(chunks, bytes.Clone(buf[:n]))
		}
		size += int64(n)
		switch {
		case err == io.EOF || err == io.ErrUnexpectedEOF:
			return chunks, size, nil
		case err != nil:
			return nil, 0, err
		}
	}
}

func newBlobState() blobState { return blobState{byKey: make(map[blobKey]*storedBlob)} }

func cmpStored(e *storedBlob, b storage.Blob) int { return storage.CompareBlobs(e.b, b) }

// PutBlob implements storage.BlobStore. The bytes are read into memory
// first, then the blob is stored under the lock if its id is still free;
// a put of an id already stored is refused before its bytes are read.
func (s *Store) PutBlob(ctx context.Context, b storage.Blob, r io.Reader, maxBytes int64) (storage.Blob, error) {
	if err := ctx.Err(); err != nil {
		return storage.Blob{}, fmt.Errorf("memory: put blob: %w", err)
	}
	if err := b.Validate(); err != nil {
		return storage.Blob{}, fmt.Errorf("memory: put blob: %w", err)
	}
	lr, err := storage.LimitBlob(ctx, r, maxBytes)
	if err != nil {
		return storage.Blob{}, fmt.Errorf("memory: put blob %q: %w", b.ID, err)
	}
	bs := &s.blob
	k := blobKey{b.ConversationID, b.ID}
	bs.mu.RLock()
	_, exists := bs.byKey[k]
	bs.mu.RUnlock()
	if exists {
		return storage.Blob{}, conflictBlob(b)
	}
	chunks, size, err := readChunks(lr)
	if err != nil {
		return storage.Blob{}, fmt.Errorf("memory: put blob %q of conversation %q: %w", b.ID, b.ConversationID, err)
	}
	if err := ctx.Err(); err != nil {
		return storage.Blob{}, fmt.Errorf("memory: put blob: %w", err)
	}
	b.Size, b.SentAt, b.CreatedAt = size, time.Time{}, b.CreatedAt.Round(0)
	e := &storedBlob{b: b, chunks: chunks}

	bs.mu.Lock()
	defer bs.mu.Unlock()
	if _, ok := bs.byKey[k]; ok {
		return storage.Blob{}, conflictBlob(b)
	}
	bs.byKey[k] = e
	i, _ := slices.BinarySearchFunc(bs.sorted, b, cmpStored)
	bs.sorted = slices.Insert(bs.sorted, i, e)
	return b, nil
}

func conflictBlob(b storage.Blob) error {
	return fmt.Errorf("memory: put blob %q of conversation %q: already stored: %w", b.ID, b.ConversationID, storage.ErrConflict)
}

func notFoundBlob(conv, id string) error {
	return fmt.Errorf("memory: blob %q of conversation %q: %w", id, conv, storage.ErrNotFound)
}

// OpenBlob implements storage.BlobStore. The reader reads the stored
// bytes without copying them; it never hands them out for writing.
func (s *Store) OpenBlob(ctx context.Context, conversationID, id string) (storage.Blob, io.ReadCloser, error) {
	if err := ctx.Err(); err != nil {
		return storage.Blob{}, nil, fmt.Errorf("memory: open blob: %w", err)
	}
	bs := &s.blob
	bs.mu.RLock()
	e, ok := bs.byKey[blobKey{conversationID, id}]
	var b storage.Blob
	if ok {
		b = e.b
	}
	bs.mu.RUnlock()
	if !ok {
		return storage.Blob{}, nil, notFoundBlob(conversationID, id)
	}
	readers := make([]io.Reader, len(e.chunks))
	for i, c := range e.chunks {
		readers[i] = bytes.NewReader(c)
	}
	return b, io.NopCloser(io.MultiReader(readers...)), nil
}

// MarkBlobSent implements storage.BlobStore.
func (s *Store) MarkBlobSent(ctx context.Context, conversationID, id string, at time.Time) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memory: mark blob sent: %w", err)
	}
	if at.IsZero() {
		return fmt.Errorf("memory: mark blob %q sent at a zero time: %w", id, storage.ErrInvalid)
	}
	bs := &s.blob
	bs.mu.Lock()
	defer bs.mu.Unlock()
	e, ok := bs.byKey[blobKey{conversationID, id}]
	if !ok {
		return notFoundBlob(conversationID, id)
	}
	if e.b.SentAt.IsZero() {
		e.b.SentAt = at.Round(0)
	}
	return nil
}

// DeleteBlob implements storage.BlobStore.
func (s *Store) DeleteBlob(ctx context.Context, conversationID, id string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memory: delete blob: %w", err)
	}
	bs := &s.blob
	k := blobKey{conversationID, id}
	bs.mu.Lock()
	defer bs.mu.Unlock()
	e, ok := bs.byKey[k]
	if !ok {
		return nil
	}
	delete(bs.byKey, k)
	if i, found := slices.BinarySearchFunc(bs.sorted, e.b, cmpStored); found {
		bs.sorted = slices.Delete(bs.sorted, i, i+1)
	}
	return nil
}

// ListBlobs implements storage.BlobStore. It walks the blobs in listing
// order from the cursor's position, skipping those the filters leave
// out: a page costs the blobs it passes over.
func (s *Store) ListBlobs(ctx context.Context, q storage.BlobQuery) (storage.BlobPage, error) {
	if err := ctx.Err(); err != nil {
		return storage.BlobPage{}, fmt.Errorf("memory: list blobs: %w", err)
	}
	if err := q.Validate(); err != nil {
		return storage.BlobPage{}, fmt.Errorf("memory: list blobs: %w", err)
	}
	l := listing{kind: kindBlobs}
	var from storage.Blob
	k, has, err := resumeAt(q.Cursor, l)
	if err != nil {
		return storage.BlobPage{}, fmt.Errorf("memory: list blobs: %w", err)
	}
	if has {
		if k.n < 0 || k.n > int64(len(k.id)) {
			return storage.BlobPage{}, fmt.Errorf("memory: list blobs: malformed cursor: %w", storage.ErrInvalid)
		}
		from = storage.Blob{CreatedAt: k.at, ConversationID: k.id[:k.n], ID: k.id[k.n:]}
	}
	limit := storage.ClampLimit(q.Limit)
	bs := &s.blob
	bs.mu.RLock()
	defer bs.mu.RUnlock()
	i := 0
	if has {
		var found bool
		i, found = slices.BinarySearchFunc(bs.sorted, from, cmpStored)
		if found {
			i++
		}
	}
	page := storage.BlobPage{Blobs: []storage.Blob{}}
	for _, e := range bs.sorted[i:] {
		b := e.b
		if !q.CreatedBefore.IsZero() && !b.CreatedAt.Before(q.CreatedBefore) {
			break // every later blob is newer still
		}
		if (q.ConversationID != "" && b.ConversationID != q.ConversationID) ||
			(q.UserID != "" && b.UserID != q.UserID) ||
			(q.Unsent && !b.SentAt.IsZero()) {
			continue
		}
		if len(page.Blobs) == limit {
			last := page.Blobs[limit-1]
			page.NextCursor = encodeCursor(l, key{at: last.CreatedAt, n: int64(len(last.ConversationID)), id: last.ConversationID + last.ID})
			break
		}
		page.Blobs = append(page.Blobs, b)
	}
	return page, nil
}
