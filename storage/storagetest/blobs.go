package storagetest

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/chatboxsdk/chatbox/storage"
)

// BlobOption adjusts RunBlobs.
type BlobOption func(*blobSuite)

// BoundedMemory makes RunBlobs run its BoundedMemory subtest: a blob of
// LargeBlobSize bytes, generated as it is read, is put and then read
// back, and the heap of the test process may not grow by MaxHeapGrowth
// or more during either, measured with runtime.ReadMemStats every 2ms
// while the collector runs with GOGC=10. Backends that stream, which
// is all of them but the in-memory store, should pass it.
func BoundedMemory() BlobOption {
	return func(s *blobSuite) { s.boundedMemory = true }
}

// ManyBlobs sets how many blobs the ThousandBlobs subtest puts and pages
// through (default DefaultManyBlobs).
func ManyBlobs(n int) BlobOption {
	return func(s *blobSuite) { s.manyBlobs = n }
}

// DefaultManyBlobs is ManyBlobs' default.
const DefaultManyBlobs = 1000

// LargeBlobSize is the size of the blob of the BoundedMemory subtest.
const LargeBlobSize = 50 << 20

// MaxHeapGrowth is how much the heap may grow while the BoundedMemory
// subtest puts or reads its blob.
const MaxHeapGrowth = 16 << 20

// RunBlobs runs the conformance suite of storage.BlobStore as subtests
// of t, calling newStore for a fresh, empty store in each subtest that
// needs one. As with Run, subtests run one after another:
//
//	func TestBlobConformance(t *testing.T) {
//		storagetest.RunBlobs(t, func(t *testing.T) storage.BlobStore { return mybackend.Open(...) },
//			storagetest.BoundedMemory())
//	}
//
// Besides the doc comments of package storage, the suite holds every
// BlobStore to these rules:
//
//   - Times: as in Run, the suite writes whole-millisecond UTC times and
//     compares them to the millisecond; a store may truncate them so.
//   - A blob comes back from PutBlob, OpenBlob and ListBlobs with every
//     field as written, Size the number of bytes put and SentAt zero
//     until MarkBlobSent; PutBlob ignores the Size and SentAt it is
//     given.
//   - PutBlob consumes at most maxBytes+1 bytes (and whatever one buffer
//     of its own reads ahead, 1 MiB at most) of a stream longer than
//     maxBytes before it gives storage.ErrTooLarge.
//   - A put that fails, whatever the reason (too large, invalid, a
//     conflict, a reader error, a cancelled context), leaves the store as
//     it was: the blob cannot be opened nor listed, and its id can be put
//     again.
//   - Racing puts of one (ConversationID, ID) have exactly one winner;
//     the others get storage.ErrConflict.
//   - OpenBlob and MarkBlobSent of an empty or unknown id give
//     storage.ErrNotFound; DeleteBlob of one returns nil.
//   - A reader opened before a delete, or before a delete and a new put
//     of the same id, returns the bytes first put or an error, never
//     other bytes.
//   - Listings order by (CreatedAt, ConversationID, ID), the ids in byte
//     order; filters combine with AND, CreatedBefore is exclusive. Every
//     rule of pages and cursors of Run holds.
//   - A context that is already cancelled or past its deadline makes
//     every method return an error satisfying errors.Is(err, ctx.Err()),
//     and a context cancelled while PutBlob reads makes it fail so.
func RunBlobs(t *testing.T, newStore func(t *testing.T) storage.BlobStore, opts ...BlobOption) {
	t.Helper()
	if newStore == nil {
		t.Fatal("storagetest.RunBlobs: newStore is nil")
	}
	s := blobSuite{newStore: newStore, manyBlobs: DefaultManyBlobs}
	for _, o := range opts {
		o(&s)
	}
	if s.manyBlobs < 10 {
		t.Fatalf("storagetest.RunBlobs: ManyBlobs(%d) must be at least 10", s.manyBlobs)
	}
	t.Run("RoundTrip", s.testBlobRoundTrip)
	t.Run("MaxBytes", s.testBlobMaxBytes)
	t.Run("InvalidPut", s.testBlobInvalidPut)
	t.Run("Conflict", s.testBlobConflict)
	t.Run("FailedPutLeavesNothing", s.testBlobFailedPut)
	t.Run("Open", s.testBlobOpen)
	t.Run("MarkBlobSent", s.testBlobMarkSent)
	t.Run("DeleteBlob", s.testBlobDelete)
	t.Run("ListBlobs", s.testBlobList)
	t.Run("Paging", s.testBlobPaging)
	t.Run("ThousandBlobs", s.testBlobMany)
	t.Run("InvalidQuery", s.testBlobInvalidQuery)
	t.Run("Context", s.testBlobContext)
	t.Run("Concurrency", s.testBlobConcurrency)
	if s.boundedMemory {
		t.Run("BoundedMemory", s.testBlobBoundedMemory)
	}
}

type blobSuite struct {
	newStore      func(t *testing.T) storage.BlobStore
	boundedMemory bool
	manyBlobs     int
}

// store returns a fresh store for t.
func (s blobSuite) store(t *testing.T) storage.BlobStore {
	t.Helper()
	st := s.newStore(t)
	if st == nil {
		t.Fatal("newStore returned nil")
	}
	return st
}

// blob returns a complete blob created at(ms).
func blob(conv, id, user string, ms int) storage.Blob {
	return storage.Blob{
		ID:             id,
		ConversationID: conv,
		UserID:         user,
		Name:           "name of " + id + ".bin",
		MediaType:      "application/octet-stream",
		CreatedAt:      at(ms),
	}
}

// content returns n deterministic bytes of every value, different for
// every seed.
func content(seed uint64, n int) []byte {
	b := make([]byte, n)
	r := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), byte(seed >> 16), byte(seed >> 24), 0xb1, 0x0b})
	_, _ = r.Read(b)
	return b
}

// blobView is a comparable rendering of a blob, times to the
// millisecond.
type blobView struct {
	ID, ConversationID, UserID, Name, MediaType string
	Size                                        int64
	CreatedAt, SentAt                           string
}

func viewBlob(b storage.Blob) blobView {
	return blobView{b.ID, b.ConversationID, b.UserID, b.Name, b.MediaType, b.Size, ms(b.CreatedAt), ms(b.SentAt)}
}

// checkBlob compares got with want.
func checkBlob(t *testing.T, what string, got, want storage.Blob) {
	t.Helper()
	if g, w := viewBlob(got), viewBlob(want); g != w {
		t.Errorf("%s:\n got %+v\nwant %+v", what, g, w)
	}
}

// mustPut puts data as b, bounded by a little more than its size, and
// returns the blob PutBlob returned, checked against b with its Size set
// and SentAt zero.
func mustPut(t *testing.T, st storage.BlobStore, b storage.Blob, data []byte) storage.Blob {
	t.Helper()
	got, err := st.PutBlob(t.Context(), b, bytes.NewReader(data), int64(len(data))+1<<10)
	if err != nil {
		t.Fatalf("PutBlob(%q, %q, %d bytes): %v", b.ConversationID, b.ID, len(data), err)
	}
	b.Size, b.SentAt = int64(len(data)), time.Time{}
	checkBlob(t, "PutBlob's blob", got, b)
	return got
}

// readBlob opens a blob and reads it whole.
func readBlob(t *testing.T, st storage.BlobStore, conv, id string) (storage.Blob, []byte) {
	t.Helper()
	b, rc, err := st.OpenBlob(t.Context(), conv, id)
	if err != nil {
		t.Fatalf("OpenBlob(%q, %q): %v", conv, id, err)
	}
	data, err := io.ReadAll(rc)
	if cerr := rc.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("close: %w", cerr)
	}
	if err != nil {
		t.Fatalf("read blob (%q, %q): %v", conv, id, err)
	}
	return b, data
}

// checkContent opens a blob and checks its metadata and bytes.
func checkContent(t *testing.T, st storage.BlobStore, what string, want storage.Blob, data []byte) {
	t.Helper()
	got, read := readBlob(t, st, want.ConversationID, want.ID)
	checkBlob(t, what+": OpenBlob's blob", got, want)
	if !bytes.Equal(read, data) {
		t.Errorf("%s: read %d bytes (sha256 %x), want %d (sha256 %x)", what, len(read), sha256.Sum256(read), len(data), sha256.Sum256(data))
	}
}

// wantAbsent checks that a blob can neither be opened nor listed.
func wantAbsent(t *testing.T, st storage.BlobStore, what, conv, id string) {
	t.Helper()
	_, rc, err := st.OpenBlob(t.Context(), conv, id)
	if rc != nil {
		rc.Close()
	}
	if !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("%s: OpenBlob(%q, %q) = %v, want storage.ErrNotFound", what, conv, id, err)
	}
	page, err := st.ListBlobs(t.Context(), storage.BlobQuery{ConversationID: conv, Limit: storage.MaxPageSize})
	if err != nil {
		t.Fatalf("%s: ListBlobs(%q): %v", what, conv, err)
	}
	for _, b := range page.Blobs {
		if b.ID == id {
			t.Errorf("%s: ListBlobs(%q) lists %q", what, conv, id)
		}
	}
}

// listBlobPages walks every page of q, returning the keys of each page
// ("conversation/id"). It gives up after maxPages pages.
func listBlobPages(t *testing.T, st storage.BlobStore, q storage.BlobQuery, maxPages int) ([][]string, []storage.Blob) {
	t.Helper()
	var (
		pages [][]string
		all   []storage.Blob
	)
	for range maxPages {
		page, err := st.ListBlobs(t.Context(), q)
		if err != nil {
			t.Fatalf("ListBlobs(%+v) after %d pages: %v", q, len(pages), err)
		}
		keys := make([]string, 0, len(page.Blobs))
		for _, b := range page.Blobs {
			keys = append(keys, blobKey(b))
		}
		pages = append(pages, keys)
		all = append(all, page.Blobs...)
		if page.NextCursor == "" {
			return pages, all
		}
		q.Cursor = page.NextCursor
	}
	t.Fatalf("ListBlobs(%+v): still returning a cursor after %d pages", q, maxPages)
	return nil, nil
}

func blobKey(b storage.Blob) string { return b.ConversationID + "/" + b.ID }

func blobKeys(bs []storage.Blob) []string {
	keys := make([]string, len(bs))
	for i, b := range bs {
		keys[i] = blobKey(b)
	}
	return keys
}
