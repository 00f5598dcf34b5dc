package pgstore_test

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/chatboxsdk/chatbox/storage"
	"github.com/chatboxsdk/chatbox/storage/storagetest"
)

// TestBlobConformance runs the blob suite with its 1,000-blob listing and
// its bounded-memory check.
func TestBlobConformance(t *testing.T) {
	requireURL(t)
	storagetest.RunBlobs(t, func(t *testing.T) storage.BlobStore { return newStore(t) }, storagetest.BoundedMemory())
}

// blockingReader gives n bytes, then waits for release and returns err.
type blockingReader struct {
	n       int
	reached chan struct{}
	release chan struct{}
	err     error
}

func (r *blockingReader) Read(p []byte) (int, error) {
	if r.n > 0 {
		k := min(len(p), r.n)
		r.n -= k
		return k, nil
	}
	close(r.reached)
	<-r.release
	return 0, r.err
}

// TestBlobPutIsOneTransaction: while a put reads its bytes, nothing of it
// is visible to other connections; when it fails, nothing is left; when
// it commits, its bytes are in chunks of 256 KiB.
func TestBlobPutIsOneTransaction(t *testing.T) {
	st, schema := newStoreSchema(t)
	p := pool(t)
	count := func(table string) int {
		t.Helper()
		var n int
		if err := p.QueryRow(t.Context(), "SELECT count(*) FROM "+schema+"."+table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	b := storage.Blob{ID: "f", ConversationID: "c", UserID: "u", MediaType: "application/pdf", CreatedAt: time.Now()}
	r := &blockingReader{n: 600 << 10, reached: make(chan struct{}), release: make(chan struct{}), err: errors.New("upload broken")}
	done := make(chan error, 1)
	go func() {
		_, err := st.PutBlob(t.Context(), b, r, 10<<20)
		done <- err
	}()
	<-r.reached
	if n, c := count("blobs"), count("blob_chunks"); n != 0 || c != 0 {
		t.Errorf("during a put: %d blob rows and %d chunk rows visible, want none", n, c)
	}
	close(r.release)
	if err := <-done; err == nil || !strings.Contains(err.Error(), "upload broken") {
		t.Fatalf("PutBlob from a broken reader: %v, want its error", err)
	}
	if n, c := count("blobs"), count("blob_chunks"); n != 0 || c != 0 {
		t.Errorf("after a failed put: %d blob rows and %d chunk rows, want none", n, c)
	}
	if _, err := st.PutBlob(t.Context(), b, bytes.NewReader(make([]byte, 600<<10)), 10<<20); err != nil {
		t.Fatal(err)
	}
	rows, err := p.Query(t.Context(), "SELECT length(data) FROM "+schema+".blob_chunks ORDER BY n")
	if err != nil {
		t.Fatal(err)
	}
	sizes, err := pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil || !slices.Equal(sizes, []int{256 << 10, 256 << 10, 88 << 10}) {
		t.Errorf("chunk sizes %v, %v; want 256 KiB, 256 KiB, 88 KiB", sizes, err)
	}
	if err := st.DeleteBlob(t.Context(), "c", "f"); err != nil {
		t.Fatal(err)
	}
	if n, c := count("blobs"), count("blob_chunks"); n != 0 || c != 0 {
		t.Errorf("after DeleteBlob: %d blob rows and %d chunk rows, want none", n, c)
	}
}
