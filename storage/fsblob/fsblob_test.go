package fsblob_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/chatboxsdk/chatbox/storage"
	"github.com/chatboxsdk/chatbox/storage/fsblob"
	"github.com/chatboxsdk/chatbox/storage/storagetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func newStore(t *testing.T, dir string) *fsblob.Store {
	t.Helper()
	s, err := fsblob.New(dir)
	if err != nil {
		t.Fatalf("fsblob.New(%s): %v", dir, err)
	}
	return s
}

func TestConformance(t *testing.T) {
	storagetest.RunBlobs(t, func(t *testing.T) storage.BlobStore { return newStore(t, t.TempDir()) },
		storagetest.BoundedMemory())
}

// TestConformanceOfTwoStoresOnOneDirectory runs the suite with every call
// going to one of two Stores on one directory, as two processes sharing
// it would: the store's atomicity is the file system's, not a lock's.
// Its large listing holds 200 blobs; TestConformance pages through 1,000.
func TestConformanceOfTwoStoresOnOneDirectory(t *testing.T) {
	storagetest.RunBlobs(t, func(t *testing.T) storage.BlobStore {
		dir := t.TempDir()
		return &alternating{stores: [2]*fsblob.Store{newStore(t, dir), newStore(t, dir)}}
	}, storagetest.ManyBlobs(200))
}

// alternating sends each call to the next of its stores.
type alternating struct {
	mu     sync.Mutex
	n      int
	stores [2]*fsblob.Store
}

func (a *alternating) next() *fsblob.Store {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.n++
	return a.stores[a.n%2]
}

func (a *alternating) PutBlob(ctx context.Context, b storage.Blob, r io.Reader, maxBytes int64) (storage.Blob, error) {
	return a.next().PutBlob(ctx, b, r, maxBytes)
}

func (a *alternating) OpenBlob(ctx context.Context, conversationID, id string) (storage.Blob, io.ReadCloser, error) {
	return a.next().OpenBlob(ctx, conversationID, id)
}

func (a *alternating) MarkBlobSent(ctx context.Context, conversationID, id string, at time.Time) error {
	return a.next().MarkBlobSent(ctx, conversationID, id, at)
}

func (a *alternating) DeleteBlob(ctx context.Context, conversationID, id string) error {
	return a.next().DeleteBlob(ctx, conversationID, id)
}

func (a *alternating) ListBlobs(ctx context.Context, q storage.BlobQuery) (storage.BlobPage, error) {
	return a.next().ListBlobs(ctx, q)
}

var t0 = time.Date(2031, 1, 2, 3, 4, 5, 0, time.UTC)

func TestNewClaimsOnlyAnEmptyDirectoryOrAStore(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("mine"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := fsblob.New(dir); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("New on a directory of other files: %v, want an error saying it is not empty", err)
	}
	if _, err := fsblob.New(""); err == nil {
		t.Error("New with an empty name succeeded")
	}
	// A new directory, nested, is created; opening it again finds the store.
	fresh := filepath.Join(t.TempDir(), "a", "b")
	s := newStore(t, fresh)
	if _, err := s.PutBlob(t.Context(), storage.Blob{ID: "f", ConversationID: "c", UserID: "u", MediaType: "text/plain", CreatedAt: t0},
		strings.NewReader("kept"), 10); err != nil {
		t.Fatal(err)
	}
	again := newStore(t, fresh)
	if _, rc, err := again.OpenBlob(t.Context(), "c", "f"); err != nil {
		t.Errorf("OpenBlob through a second New: %v", err)
	} else {
		rc.Close()
	}
	info, err := os.Stat(fresh)
	if err != nil || info.Mode().Perm() != 0o700 {
		t.Errorf("the new directory: %v, mode %v; want 0700", err, info.Mode().Perm())
	}
	if err := os.WriteFile(filepath.Join(fresh, "chatbox-fsblob"), []byte("chatbox fsblob 9\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := fsblob.New(fresh); err == nil || !strings.Contains(err.Error(), "another layout") {
		t.Errorf("New on a store of another layout: %v", err)
	}
}

// TestFileNamesHoldNoID: whatever the ids, every file of the store is
// inside its directory and named by hashes, never by an id.
func TestFileNamesHoldNoID(t *testing.T) {
	dir := t.TempDir()
	s := newStore(t, dir)
	for _, id := range []string{"../../escape", "/abs", "secret-name", "a/../../b"} {
		b := storage.Blob{ID: id, ConversationID: id + "-conv", UserID: "u", Name: "secret-name.txt", MediaType: "text/plain", CreatedAt: t0}
		if _, err := s.PutBlob(t.Context(), b, strings.NewReader("x"), 10); err != nil {
			t.Fatal(err)
		}
		if err := s.MarkBlobSent(t.Context(), b.ConversationID, id, t0); err != nil {
			t.Fatal(err)
		}
	}
	files := 0
	err := filepath.WalkDir(filepath.Dir(dir), func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		if strings.HasPrefix(rel, "..") && path != filepath.Dir(dir) {
			t.Errorf("a file outside the store's directory: %s", path)
		}
		if strings.Contains(d.Name(), "secret") || strings.Contains(d.Name(), "escape") || strings.Contains(d.Name(), "abs") {
			t.Errorf("a file named after an id: %s", path)
		}
		if !d.IsDir() {
			files++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The marker, and a metadata, a data and a sent file per blob.
	if files != 1+3*4 {
		t.Errorf("%d files, want %d", files, 1+3*4)
	}
}

// TestDeleteLeavesNoFile: deleting every blob of a conversation removes
// its files and its directory.
func TestDeleteLeavesNoFile(t *testing.T) {
	dir := t.TempDir()
	s := newStore(t, dir)
	for _, id := range []string{"a", "b"} {
		b := storage.Blob{ID: id, ConversationID: "c", UserID: "u", MediaType: "text/plain", CreatedAt: t0}
		if _, err := s.PutBlob(t.Context(), b, strings.NewReader("x"), 10); err != nil {
			t.Fatal(err)
		}
		if err := s.MarkBlobSent(t.Context(), "c", id, t0); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range []string{"a", "b"} {
		if err := s.DeleteBlob(t.Context(), "c", id); err != nil {
			t.Fatal(err)
		}
	}
	var left []string
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if !d.IsDir() && d.Name() != "chatbox-fsblob" {
			left = append(left, path)
		}
		if d.IsDir() && len(d.Name()) == 64 {
			left = append(left, path)
		}
		return nil
	})
	if len(left) > 0 {
		t.Errorf("left after deleting every blob: %v", left)
	}
}

// TestSweepRemovesLeftoversOnly fakes what a killed process leaves (a
// temporary file, the data file of a put that never committed, the files
// of an earlier upload of a blob) and checks Sweep removes those older
// than its bound and nothing of the current blobs.
func TestSweepRemovesLeftoversOnly(t *testing.T) {
	dir := t.TempDir()
	s := newStore(t, dir)
	data := bytes.Repeat([]byte("x"), 1000)
	b := storage.Blob{ID: "kept", ConversationID: "c", UserID: "u", MediaType: "text/plain", CreatedAt: t0}
	if _, err := s.PutBlob(t.Context(), b, bytes.NewReader(data), 1000); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkBlobSent(t.Context(), "c", "kept", t0); err != nil {
		t.Fatal(err)
	}
	// The conversation's directory is the one holding the store's files.
	var convDir string
	var current []string
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if !d.IsDir() && d.Name() != "chatbox-fsblob" {
			convDir = filepath.Dir(path)
			current = append(current, path)
		}
		return nil
	})
	base := strings.TrimSuffix(filepath.Base(current[0]), ".json")
	if len(base) != 64 {
		for _, p := range current {
			if strings.HasSuffix(p, ".json") {
				base = strings.TrimSuffix(filepath.Base(p), ".json")
			}
		}
	}
	old := time.Now().Add(-2 * time.Hour)
	leftovers := []string{
		".tmp-123456",
		base + ".0123456789abcdef0123456789abcdef.data",
		base + ".0123456789abcdef0123456789abcdef.sent",
		strings.Repeat("e", 64) + ".fedcba9876543210fedcba9876543210.data",
	}
	for _, name := range leftovers {
		p := filepath.Join(convDir, name)
		if err := os.WriteFile(p, []byte("left"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}
	recent := filepath.Join(convDir, ".tmp-recent")
	if err := os.WriteFile(recent, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, p := range current { // the current blob's files are old too
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}
	n, err := s.Sweep(t.Context(), time.Now().Add(-time.Hour))
	if err != nil || n != len(leftovers) {
		t.Errorf("Sweep = %d, %v; want %d", n, err, len(leftovers))
	}
	for _, name := range leftovers {
		if _, err := os.Stat(filepath.Join(convDir, name)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s survived the sweep: %v", name, err)
		}
	}
	for _, p := range append(current, recent) {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s: %v after the sweep", p, err)
		}
	}
	got, rc, err := s.OpenBlob(t.Context(), "c", "kept")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	read, err := io.ReadAll(rc)
	if err != nil || !bytes.Equal(read, data) || got.SentAt.IsZero() {
		t.Errorf("the kept blob after the sweep: %d bytes, sent %v, %v", len(read), got.SentAt, err)
	}
}

// TestUncommittedPutIsNotABlob: a data file whose metadata never got
// written (a put killed before its commit) is not read as a blob, and
// the id can be put.
func TestUncommittedPutIsNotABlob(t *testing.T) {
	dir := t.TempDir()
	s := newStore(t, dir)
	b := storage.Blob{ID: "f", ConversationID: "c", UserID: "u", MediaType: "text/plain", CreatedAt: t0}
	if _, err := s.PutBlob(t.Context(), b, strings.NewReader("first"), 10); err != nil {
		t.Fatal(err)
	}
	// Remove only the metadata, as if the put had stopped before it.
	var meta string
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if strings.HasSuffix(path, ".json") {
			meta = path
		}
		return nil
	})
	if err := os.Remove(meta); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.OpenBlob(t.Context(), "c", "f"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("OpenBlob without metadata: %v, want storage.ErrNotFound", err)
	}
	if _, err := s.PutBlob(t.Context(), b, strings.NewReader("second"), 10); err != nil {
		t.Fatalf("PutBlob after an uncommitted put: %v", err)
	}
	_, rc, err := s.OpenBlob(t.Context(), "c", "f")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if read, _ := io.ReadAll(rc); string(read) != "second" {
		t.Errorf("read %q, want the second put's bytes", read)
	}
}
