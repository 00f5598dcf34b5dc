package e2e

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/chatboxsdk/chatbox/storage"
)

// testOnlyBlobStore keeps attached files in memory for the browser tests,
// given to the Server with chatbox.WithBlobStore. It exists only because
// storage/memory has no BlobStore on this branch yet: once it has, the
// tests use the memory store's and this file goes.
type testOnlyBlobStore struct {
	mu    sync.Mutex
	blobs map[string]testBlob // by conversation id + "/" + id
}

type testBlob struct {
	meta storage.Blob
	data []byte
}

func newTestOnlyBlobStore() *testOnlyBlobStore {
	return &testOnlyBlobStore{blobs: map[string]testBlob{}}
}

func (s *testOnlyBlobStore) PutBlob(ctx context.Context, b storage.Blob, r io.Reader, maxBytes int64) (storage.Blob, error) {
	if b.ID == "" || b.ConversationID == "" || b.UserID == "" || b.MediaType == "" || b.CreatedAt.IsZero() {
		return storage.Blob{}, fmt.Errorf("put blob: %w", storage.ErrInvalid)
	}
	data, err := io.ReadAll(io.LimitReader(r, maxBytes+1))
	if err != nil {
		return storage.Blob{}, err
	}
	if int64(len(data)) > maxBytes {
		return storage.Blob{}, storage.ErrTooLarge
	}
	if err := ctx.Err(); err != nil {
		return storage.Blob{}, err
	}
	b.Size = int64(len(data))
	s.mu.Lock()
	defer s.mu.Unlock()
	key := b.ConversationID + "/" + b.ID
	if _, ok := s.blobs[key]; ok {
		return storage.Blob{}, storage.ErrConflict
	}
	s.blobs[key] = testBlob{meta: b, data: data}
	return b, nil
}

func (s *testOnlyBlobStore) OpenBlob(_ context.Context, conversationID, id string) (storage.Blob, io.ReadCloser, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.blobs[conversationID+"/"+id]
	if !ok {
		return storage.Blob{}, nil, storage.ErrNotFound
	}
	return b.meta, io.NopCloser(bytes.NewReader(b.data)), nil
}

func (s *testOnlyBlobStore) MarkBlobSent(_ context.Context, conversationID, id string, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := conversationID + "/" + id
	b, ok := s.blobs[key]
	if !ok {
		return storage.ErrNotFound
	}
	if b.meta.SentAt.IsZero() {
		b.meta.SentAt = at
		s.blobs[key] = b
	}
	return nil
}

func (s *testOnlyBlobStore) DeleteBlob(_ context.Context, conversationID, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.blobs, conversationID+"/"+id)
	return nil
}

// ListBlobs pages by position in the sorted listing: enough for tests that
// do not write while they list.
func (s *testOnlyBlobStore) ListBlobs(_ context.Context, q storage.BlobQuery) (storage.BlobPage, error) {
	if q.ConversationID == "" && q.UserID == "" && q.CreatedBefore.IsZero() {
		return storage.BlobPage{}, fmt.Errorf("list blobs: %w", storage.ErrInvalid)
	}
	s.mu.Lock()
	var all []storage.Blob
	for _, b := range s.blobs {
		m := b.meta
		if (q.ConversationID == "" || m.ConversationID == q.ConversationID) && (q.UserID == "" || m.UserID == q.UserID) &&
			(!q.Unsent || m.SentAt.IsZero()) && (q.CreatedBefore.IsZero() || m.CreatedAt.Before(q.CreatedBefore)) {
			all = append(all, m)
		}
	}
	s.mu.Unlock()
	slices.SortFunc(all, func(a, b storage.Blob) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ConversationID, b.ConversationID), cmp.Compare(a.ID, b.ID))
	})
	start := 0
	if q.Cursor != "" {
		n, err := strconv.Atoi(q.Cursor)
		if err != nil || n < 0 {
			return storage.BlobPage{}, fmt.Errorf("list blobs: cursor: %w", storage.ErrInvalid)
		}
		start = min(n, len(all))
	}
	limit := q.Limit
	if limit <= 0 {
		limit = storage.DefaultPageSize
	}
	limit = min(limit, storage.MaxPageSize)
	end := min(start+limit, len(all))
	page := storage.BlobPage{Blobs: all[start:end]}
	if end < len(all) {
		page.NextCursor = strconv.Itoa(end)
	}
	return page, nil
}

// count returns how many files the store holds.
func (s *testOnlyBlobStore) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.blobs)
}
