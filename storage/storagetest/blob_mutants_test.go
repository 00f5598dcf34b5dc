package storagetest_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chatboxsdk/chatbox/storage"
	"github.com/chatboxsdk/chatbox/storage/memory"
	"github.com/chatboxsdk/chatbox/storage/storagetest"
)

// blobMutantEnv names the mutant a child test process runs the blob
// suite against.
const blobMutantEnv = "STORAGETEST_BLOB_MUTANT"

// A blobMutant is a BlobStore with one deliberate contract violation,
// the subtest of the blob suite that must catch it, and the options the
// suite runs with.
type blobMutant struct {
	catchBy string
	new     func() storage.BlobStore
	opts    []storagetest.BlobOption
}

func blobMutants() map[string]blobMutant {
	return map[string]blobMutant{
		"Correct": {"", func() storage.BlobStore { return memory.New() }, nil},
		"FailedPutKeepsWhatItRead": {"FailedPutLeavesNothing/ReaderFailsMidStream",
			func() storage.BlobStore { return keepPartial{memory.New()} }, nil},
		"ContextIgnoredMidStream": {"FailedPutLeavesNothing/ContextCancelledMidStream",
			func() storage.BlobStore { return ignorePutCtx{memory.New()} }, nil},
		"TooLargeStoresTheFirstBytes": {"MaxBytes/OneByteMoreIsTooLargeAndStoresNothing",
			func() storage.BlobStore { return keepTruncated{memory.New()} }, nil},
		"CheckThenPut": {"Conflict/RacingPutsOfOneIDHaveOneWinner",
			func() storage.BlobStore { return checkThenPut{memory.New()} }, nil},
		"MissingBlobOpensEmpty": {"Open",
			func() storage.BlobStore { return openEmpty{memory.New()} }, nil},
		"LastMarkWins": {"MarkBlobSent",
			func() storage.BlobStore { return lastMarkWins{memory.New()} }, nil},
		"UnsentIgnored": {"ListBlobs/user=u1,unsent",
			func() storage.BlobStore { return ignoreUnsent{memory.New()} }, nil},
		"CreatedBeforeInclusive": {"ListBlobs/before=10ms",
			func() storage.BlobStore { return inclusiveBefore{memory.New()} }, nil},
		"CursorSkipsABlob": {"Paging/PagesAreFullWithoutGapsOrRepeats",
			func() storage.BlobStore { return skipBlob{memory.New()} }, nil},
		"OffsetCursor": {"Paging/CursorIsAPosition",
			func() storage.BlobStore { return offsetBlobs{memory.New()} }, nil},
		"ListIgnoresContext": {"Context/CancelledContextFailsEveryMethod",
			func() storage.BlobStore { return listIgnoresCtx{memory.New()} }, nil},
		"HoldsWholeBlobs": {"BoundedMemory",
			func() storage.BlobStore { return memory.New() }, []storagetest.BlobOption{storagetest.BoundedMemory()}},
	}
}

// TestBlobSuiteCatchesBrokenStores is TestSuiteCatchesBrokenStores for
// RunBlobs.
func TestBlobSuiteCatchesBrokenStores(t *testing.T) {
	for name, mu := range blobMutants() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			run := "^TestBlobMutantChild$"
			for part := range strings.SplitSeq(mu.catchBy, "/") {
				if part != "" {
					run += "/^" + part + "$"
				}
			}
			cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run="+run, "-test.count=1")
			cmd.Env = append(os.Environ(), blobMutantEnv+"="+name)
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			err := cmd.Run()
			if mu.catchBy == "" {
				if err != nil {
					t.Fatalf("blob suite failed a correct store: %v\n%s", err, out.String())
				}
				return
			}
			if err == nil {
				t.Fatalf("blob suite passed a store whose defect is %s", name)
			}
			if want := "--- FAIL: TestBlobMutantChild/" + mu.catchBy + " "; !strings.Contains(out.String(), want) {
				t.Errorf("blob suite did not fail %s in %s:\n%s", name, mu.catchBy, out.String())
			}
		})
	}
}

// TestBlobMutantChild is the child process of
// TestBlobSuiteCatchesBrokenStores.
func TestBlobMutantChild(t *testing.T) {
	name := os.Getenv(blobMutantEnv)
	if name == "" {
		t.Skip("runs only as a child of TestBlobSuiteCatchesBrokenStores")
	}
	mu, ok := blobMutants()[name]
	if !ok {
		t.Fatalf("unknown mutant %q", name)
	}
	storagetest.RunBlobs(t, func(*testing.T) storage.BlobStore { return mu.new() }, mu.opts...)
}

// keepPartial stores what it read of a reader that failed.
type keepPartial struct{ *memory.Store }

func (s keepPartial) PutBlob(ctx context.Context, b storage.Blob, r io.Reader, maxBytes int64) (storage.Blob, error) {
	var seen bytes.Buffer
	out, err := s.Store.PutBlob(ctx, b, io.TeeReader(r, &seen), maxBytes)
	if err != nil && !errors.Is(err, storage.ErrTooLarge) && ctx.Err() == nil && seen.Len() > 0 {
		_, _ = s.Store.PutBlob(ctx, b, &seen, maxBytes)
	}
	return out, err
}

// ignorePutCtx reads past its context's end.
type ignorePutCtx struct{ *memory.Store }

func (s ignorePutCtx) PutBlob(ctx context.Context, b storage.Blob, r io.Reader, maxBytes int64) (storage.Blob, error) {
	if err := ctx.Err(); err != nil {
		return storage.Blob{}, err
	}
	return s.Store.PutBlob(context.WithoutCancel(ctx), b, r, maxBytes)
}

// keepTruncated stores the first maxBytes of a stream too long.
type keepTruncated struct{ *memory.Store }

func (s keepTruncated) PutBlob(ctx context.Context, b storage.Blob, r io.Reader, maxBytes int64) (storage.Blob, error) {
	var seen bytes.Buffer
	out, err := s.Store.PutBlob(ctx, b, io.TeeReader(r, &seen), maxBytes)
	if errors.Is(err, storage.ErrTooLarge) {
		_, _ = s.Store.PutBlob(ctx, b, bytes.NewReader(seen.Bytes()[:maxBytes]), maxBytes)
	}
	return out, err
}

// checkThenPut checks the id is free, then replaces whatever is there.
type checkThenPut struct{ *memory.Store }

func (s checkThenPut) PutBlob(ctx context.Context, b storage.Blob, r io.Reader, maxBytes int64) (storage.Blob, error) {
	if _, rc, err := s.OpenBlob(ctx, b.ConversationID, b.ID); err == nil {
		rc.Close()
		return storage.Blob{}, storage.ErrConflict
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return storage.Blob{}, err
	}
	time.Sleep(time.Millisecond)
	if err := s.DeleteBlob(ctx, b.ConversationID, b.ID); err != nil {
		return storage.Blob{}, err
	}
	return s.Store.PutBlob(ctx, b, bytes.NewReader(data), maxBytes)
}

// openEmpty opens a missing blob as an empty one.
type openEmpty struct{ *memory.Store }

func (s openEmpty) OpenBlob(ctx context.Context, conversationID, id string) (storage.Blob, io.ReadCloser, error) {
	b, rc, err := s.Store.OpenBlob(ctx, conversationID, id)
	if errors.Is(err, storage.ErrNotFound) {
		return storage.Blob{ConversationID: conversationID, ID: id}, io.NopCloser(bytes.NewReader(nil)), nil
	}
	return b, rc, err
}

// lastMarkWins puts a blob again to mark it at another time.
type lastMarkWins struct{ *memory.Store }

func (s lastMarkWins) MarkBlobSent(ctx context.Context, conversationID, id string, at time.Time) error {
	b, rc, err := s.OpenBlob(ctx, conversationID, id)
	if err != nil {
		return err
	}
	data, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		return err
	}
	if !b.SentAt.IsZero() {
		if err := s.DeleteBlob(ctx, conversationID, id); err != nil {
			return err
		}
		if _, err := s.Store.PutBlob(ctx, b, bytes.NewReader(data), int64(len(data))); err != nil {
			return err
		}
	}
	return s.Store.MarkBlobSent(ctx, conversationID, id, at)
}

// ignoreUnsent lists sent blobs too.
type ignoreUnsent struct{ *memory.Store }

func (s ignoreUnsent) ListBlobs(ctx context.Context, q storage.BlobQuery) (storage.BlobPage, error) {
	q.Unsent = false
	return s.Store.ListBlobs(ctx, q)
}

// inclusiveBefore lists blobs created at CreatedBefore too.
type inclusiveBefore struct{ *memory.Store }

func (s inclusiveBefore) ListBlobs(ctx context.Context, q storage.BlobQuery) (storage.BlobPage, error) {
	if !q.CreatedBefore.IsZero() {
		q.CreatedBefore = q.CreatedBefore.Add(time.Nanosecond)
	}
	return s.Store.ListBlobs(ctx, q)
}

// skipBlob's cursors pass over the blob after each page.
type skipBlob struct{ *memory.Store }

func (s skipBlob) ListBlobs(ctx context.Context, q storage.BlobQuery) (storage.BlobPage, error) {
	page, err := s.Store.ListBlobs(ctx, q)
	if err == nil && page.NextCursor != "" {
		q.Cursor, q.Limit = page.NextCursor, 1
		next, err := s.Store.ListBlobs(ctx, q)
		if err != nil {
			return storage.BlobPage{}, err
		}
		page.NextCursor = next.NextCursor
	}
	return page, err
}

// offsetBlobs' cursors count the blobs listed before.
type offsetBlobs struct{ *memory.Store }

func (s offsetBlobs) ListBlobs(ctx context.Context, q storage.BlobQuery) (storage.BlobPage, error) {
	offset := 0
	if q.Cursor != "" {
		n, err := strconv.Atoi(q.Cursor)
		if err != nil || n < 0 {
			return storage.BlobPage{}, fmt.Errorf("offset cursor: %w", storage.ErrInvalid)
		}
		offset = n
	}
	limit := storage.ClampLimit(q.Limit)
	var all []storage.Blob
	q.Cursor, q.Limit = "", storage.MaxPageSize
	for {
		page, err := s.Store.ListBlobs(ctx, q)
		if err != nil {
			return storage.BlobPage{}, err
		}
		all = append(all, page.Blobs...)
		if page.NextCursor == "" {
			break
		}
		q.Cursor = page.NextCursor
	}
	all = all[min(offset, len(all)):]
	page := storage.BlobPage{Blobs: all[:min(limit, len(all))]}
	if len(all) > limit {
		page.NextCursor = strconv.Itoa(offset + limit)
	}
	return page, nil
}

// listIgnoresCtx lists whatever its context.
type listIgnoresCtx struct{ *memory.Store }

func (s listIgnoresCtx) ListBlobs(ctx context.Context, q storage.BlobQuery) (storage.BlobPage, error) {
	return s.Store.ListBlobs(context.WithoutCancel(ctx), q)
}
