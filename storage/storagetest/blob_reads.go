package storagetest

import (
	"bytes"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/chatboxsdk/chatbox/storage"
)

// slowReader gives 1 KiB every millisecond, for two seconds.
type slowReader struct{ n *int }

func (r slowReader) Read(p []byte) (int, error) {
	if *r.n++; *r.n > 2000 {
		return 0, io.EOF
	}
	time.Sleep(time.Millisecond)
	return min(len(p), 1024), nil
}

func (s blobSuite) testBlobOpen(t *testing.T) {
	st := s.store(t)
	b := blob("c1", "f", "u1", 0)
	mustPut(t, st, b, []byte("data"))
	for _, k := range [][2]string{{"c1", "missing"}, {"c2", "f"}, {"", "f"}, {"c1", ""}, {"", ""}, {"C1", "f"}, {"c1", "F"}} {
		_, rc, err := st.OpenBlob(t.Context(), k[0], k[1])
		if rc != nil {
			rc.Close()
			t.Errorf("OpenBlob(%q, %q) returned a reader with %v", k[0], k[1], err)
		}
		wantIs(t, err, storage.ErrNotFound, "OpenBlob of a missing blob")
	}
	t.Run("ReadersAreIndependent", func(t *testing.T) {
		data := content(5, 300_000)
		b := blob("c1", "two-readers", "u1", 1)
		mustPut(t, st, b, data)
		_, r1, err := st.OpenBlob(t.Context(), "c1", "two-readers")
		if err != nil {
			t.Fatal(err)
		}
		defer r1.Close()
		_, r2, err := st.OpenBlob(t.Context(), "c1", "two-readers")
		if err != nil {
			t.Fatal(err)
		}
		defer r2.Close()
		half := make([]byte, 150_000)
		if _, err := io.ReadFull(r1, half); err != nil || !bytes.Equal(half, data[:150_000]) {
			t.Fatalf("first half through reader 1: %v", err)
		}
		all, err := io.ReadAll(r2)
		if err != nil || !bytes.Equal(all, data) {
			t.Errorf("reader 2 read %d bytes, %v; want the whole blob", len(all), err)
		}
		rest, err := io.ReadAll(r1)
		if err != nil || !bytes.Equal(rest, data[150_000:]) {
			t.Errorf("reader 1 read %d more bytes, %v; want the second half", len(rest), err)
		}
	})
	t.Run("ReaderOfADeletedBlobNeverMixesPuts", func(t *testing.T) {
		old, fresh := content(6, 2<<20), content(7, 2<<20)
		b := blob("c1", "replaced", "u1", 2)
		mustPut(t, st, b, old)
		_, rc, err := st.OpenBlob(t.Context(), "c1", "replaced")
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		head := make([]byte, 100_000)
		if _, err := io.ReadFull(rc, head); err != nil {
			t.Fatal(err)
		}
		if err := st.DeleteBlob(t.Context(), "c1", "replaced"); err != nil {
			t.Fatal(err)
		}
		mustPut(t, st, b, fresh)
		rest, err := io.ReadAll(rc)
		if err == nil && !bytes.Equal(append(head, rest...), old) {
			t.Errorf("a reader opened before a delete and a new put read %d bytes that are not the blob it opened", len(head)+len(rest))
		}
		b.Size = int64(len(fresh))
		checkContent(t, st, "the new put", b, fresh)
	})
}

func (s blobSuite) testBlobMarkSent(t *testing.T) {
	st := s.store(t)
	ctx := t.Context()
	b := blob("c1", "f", "u1", 0)
	mustPut(t, st, b, []byte("data"))
	b.Size = 4
	if err := st.MarkBlobSent(ctx, "c1", "f", at(100)); err != nil {
		t.Fatalf("MarkBlobSent: %v", err)
	}
	b.SentAt = at(100)
	checkContent(t, st, "after MarkBlobSent", b, []byte("data"))
	// The first time wins, earlier or later.
	for _, ms := range []int{200, 50} {
		if err := st.MarkBlobSent(ctx, "c1", "f", at(ms)); err != nil {
			t.Errorf("MarkBlobSent again: %v", err)
		}
	}
	checkContent(t, st, "after MarkBlobSent again", b, []byte("data"))
	page, err := st.ListBlobs(ctx, storage.BlobQuery{ConversationID: "c1"})
	if err != nil || len(page.Blobs) != 1 {
		t.Fatalf("ListBlobs(c1) = %+v, %v", page.Blobs, err)
	}
	checkBlob(t, "the listed blob", page.Blobs[0], b)

	for _, k := range [][2]string{{"c1", "missing"}, {"c2", "f"}, {"", ""}} {
		wantIs(t, st.MarkBlobSent(ctx, k[0], k[1], at(1)), storage.ErrNotFound, "MarkBlobSent of a missing blob")
	}
	mustPut(t, st, blob("c1", "g", "u1", 1), []byte("x"))
	wantIs(t, st.MarkBlobSent(ctx, "c1", "g", time.Time{}), storage.ErrInvalid, "MarkBlobSent at a zero time")

	t.Run("RacingMarksHaveOneWinner", func(t *testing.T) {
		mustPut(t, st, blob("c1", "raced", "u1", 2), []byte("x"))
		var wg sync.WaitGroup
		for i := range 10 {
			wg.Go(func() {
				if err := st.MarkBlobSent(ctx, "c1", "raced", at(1000+i)); err != nil {
					t.Errorf("MarkBlobSent %d: %v", i, err)
				}
			})
		}
		wg.Wait()
		first, _ := readBlob(t, st, "c1", "raced")
		for range 3 {
			again, _ := readBlob(t, st, "c1", "raced")
			if !sameTime(again.SentAt, first.SentAt) || first.SentAt.IsZero() {
				t.Fatalf("SentAt after racing marks is %v, then %v", first.SentAt, again.SentAt)
			}
		}
		if first.SentAt.Before(at(1000)) || !first.SentAt.Before(at(1010)) {
			t.Errorf("SentAt %v is none of the marks' times", first.SentAt)
		}
	})
}

func (s blobSuite) testBlobDelete(t *testing.T) {
	st := s.store(t)
	ctx := t.Context()
	keep, gone := blob("c1", "keep", "u1", 0), blob("c1", "gone", "u1", 1)
	mustPut(t, st, keep, []byte("keep"))
	mustPut(t, st, gone, content(8, 600_000))
	if err := st.MarkBlobSent(ctx, "c1", "gone", at(5)); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteBlob(ctx, "c1", "gone"); err != nil {
		t.Fatalf("DeleteBlob: %v", err)
	}
	wantAbsent(t, st, "after DeleteBlob", "c1", "gone")
	wantIs(t, st.MarkBlobSent(ctx, "c1", "gone", at(9)), storage.ErrNotFound, "MarkBlobSent of a deleted blob")
	for _, k := range [][2]string{{"c1", "gone"}, {"c1", "never"}, {"c9", "gone"}, {"", ""}} {
		if err := st.DeleteBlob(ctx, k[0], k[1]); err != nil {
			t.Errorf("DeleteBlob(%q, %q) of a missing blob: %v, want nil", k[0], k[1], err)
		}
	}
	keep.Size = 4
	checkContent(t, st, "the blob beside the deleted one", keep, []byte("keep"))
	// A new put of the deleted id is a new blob: other bytes, unsent.
	gone.CreatedAt = at(20)
	mustPut(t, st, gone, []byte("new"))
	gone.Size = 3
	checkContent(t, st, "the id put again", gone, []byte("new"))
}
