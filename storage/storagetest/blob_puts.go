package storagetest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatboxsdk/chatbox/storage"
)

func (s blobSuite) testBlobRoundTrip(t *testing.T) {
	t.Run("BytesAndMetadata", func(t *testing.T) {
		st := s.store(t)
		every := make([]byte, 0, 4*256)
		for range 4 {
			for v := range 256 {
				every = append(every, byte(v))
			}
		}
		cases := []struct {
			id   string
			data []byte
		}{
			{"every-byte", every},
			{"empty", nil},
			{"one", []byte{0}},
			{"random", content(1, 100_003)},
			{"five-mb", content(2, 5_000_000)},
		}
		for i, tc := range cases {
			b := blob("c1", tc.id, "u1", i)
			b.MediaType = "image/png"
			b.Name = "Ünïcode name ✓ " + tc.id
			// Size and SentAt are PutBlob's to set.
			b.Size, b.SentAt = 7, at(1000)
			got := mustPut(t, st, b, tc.data)
			if got.Size != int64(len(tc.data)) {
				t.Errorf("%s: Size %d, want %d", tc.id, got.Size, len(tc.data))
			}
			b.Size, b.SentAt = int64(len(tc.data)), time.Time{}
			checkContent(t, st, tc.id, b, tc.data)
		}
	})
	t.Run("SameIDInAnotherConversationIsAnotherBlob", func(t *testing.T) {
		st := s.store(t)
		b1, b2 := blob("c1", "f", "u1", 0), blob("c2", "f", "u1", 0)
		mustPut(t, st, b1, []byte("first"))
		mustPut(t, st, b2, []byte("second"))
		b1.Size, b2.Size = 5, 6
		checkContent(t, st, "c1/f", b1, []byte("first"))
		checkContent(t, st, "c2/f", b2, []byte("second"))
	})
	t.Run("IDsAreNotPaths", func(t *testing.T) {
		// Ids of every shape are names, never paths or patterns.
		st := s.store(t)
		ids := []string{"../../etc/passwd", "a/b", `a\b`, ".", "..", "%2e%2e", "*", "?", "$where", "a.b", " ", "ÿ", strings.Repeat("x", 1000)}
		for i, id := range ids {
			for _, conv := range []string{id, "plain"} {
				b := blob(conv, id, "u1", i)
				data := []byte("data of " + conv + "|" + id)
				mustPut(t, st, b, data)
				b.Size = int64(len(data))
				checkContent(t, st, "id "+id, b, data)
			}
		}
		page, err := st.ListBlobs(t.Context(), storage.BlobQuery{UserID: "u1", Limit: storage.MaxPageSize})
		if err != nil || len(page.Blobs) != 2*len(ids) {
			t.Errorf("ListBlobs(u1) = %d blobs, %v; want %d", len(page.Blobs), err, 2*len(ids))
		}
	})
}

func (s blobSuite) testBlobMaxBytes(t *testing.T) {
	st := s.store(t)
	ctx := t.Context()
	const max = 100_000
	t.Run("ExactlyMaxBytesIsAccepted", func(t *testing.T) {
		data := content(3, max)
		b := blob("c1", "exact", "u1", 0)
		got, err := st.PutBlob(ctx, b, bytes.NewReader(data), max)
		if err != nil || got.Size != max {
			t.Fatalf("PutBlob of exactly maxBytes = size %d, %v; want %d, nil", got.Size, err, max)
		}
		b.Size = max
		checkContent(t, st, "exact", b, data)
		if _, err := st.PutBlob(ctx, blob("c1", "zero", "u1", 0), bytes.NewReader(nil), 0); err != nil {
			t.Errorf("PutBlob of nothing with maxBytes 0: %v", err)
		}
	})
	t.Run("OneByteMoreIsTooLargeAndStoresNothing", func(t *testing.T) {
		b := blob("c1", "over", "u1", 0)
		_, err := st.PutBlob(ctx, b, bytes.NewReader(content(4, max+1)), max)
		wantIs(t, err, storage.ErrTooLarge, "PutBlob of maxBytes+1")
		wantAbsent(t, st, "after a put of maxBytes+1", "c1", "over")
		_, err = st.PutBlob(ctx, blob("c1", "over-zero", "u1", 0), bytes.NewReader([]byte{1}), 0)
		wantIs(t, err, storage.ErrTooLarge, "PutBlob of one byte with maxBytes 0")
		wantAbsent(t, st, "after a put of one byte with maxBytes 0", "c1", "over-zero")
		// The id is free.
		data := []byte("fits")
		mustPut(t, st, b, data)
		b.Size = int64(len(data))
		checkContent(t, st, "the id put again", b, data)
	})
	t.Run("ReadingStopsPastMaxBytes", func(t *testing.T) {
		r := &endless{}
		_, err := st.PutBlob(ctx, blob("c1", "endless", "u1", 0), r, 64<<10)
		wantIs(t, err, storage.ErrTooLarge, "PutBlob of an endless stream")
		if r.n > 64<<10+1<<20 {
			t.Errorf("PutBlob read %d bytes of an endless stream with maxBytes %d; want at most 1 MiB more", r.n, 64<<10)
		}
		wantAbsent(t, st, "after an endless stream", "c1", "endless")
	})
	t.Run("NegativeMaxBytesIsInvalid", func(t *testing.T) {
		_, err := st.PutBlob(ctx, blob("c1", "negative", "u1", 0), bytes.NewReader(nil), -1)
		wantIs(t, err, storage.ErrInvalid, "PutBlob with maxBytes -1")
		wantAbsent(t, st, "after maxBytes -1", "c1", "negative")
	})
}

// endless is a reader that never ends, and fails after 64 MiB so a store
// that never stops reading fails the test instead of hanging it.
type endless struct{ n int64 }

func (r *endless) Read(p []byte) (int, error) {
	if r.n > 64<<20 {
		return 0, errors.New("endless: read 64 MiB")
	}
	for i := range p {
		p[i] = byte(i)
	}
	r.n += int64(len(p))
	return len(p), nil
}

func (s blobSuite) testBlobInvalidPut(t *testing.T) {
	st := s.store(t)
	valid := blob("c1", "f", "u1", 0)
	cases := map[string]func(*storage.Blob){
		"ID":             func(b *storage.Blob) { b.ID = "" },
		"ConversationID": func(b *storage.Blob) { b.ConversationID = "" },
		"UserID":         func(b *storage.Blob) { b.UserID = "" },
		"MediaType":      func(b *storage.Blob) { b.MediaType = "" },
		"CreatedAt":      func(b *storage.Blob) { b.CreatedAt = time.Time{} },
		"NULInName":      func(b *storage.Blob) { b.Name = "a\x00b" },
		"NULInID":        func(b *storage.Blob) { b.ID = "a\x00b" },
		"InvalidUTF8ID":  func(b *storage.Blob) { b.ID = "\xff" },
		"LongMediaType":  func(b *storage.Blob) { b.MediaType = strings.Repeat("x", 1025) },
	}
	for name, change := range cases {
		t.Run(name, func(t *testing.T) {
			b := valid
			change(&b)
			_, err := st.PutBlob(t.Context(), b, bytes.NewReader([]byte("data")), 100)
			wantIs(t, err, storage.ErrInvalid, "PutBlob without a valid "+name)
			if b.ConversationID != "" && b.ID != "" {
				wantAbsent(t, st, "after an invalid put", b.ConversationID, b.ID)
			}
		})
	}
	t.Run("NothingStored", func(t *testing.T) {
		page, err := st.ListBlobs(t.Context(), storage.BlobQuery{UserID: "u1"})
		if err != nil || len(page.Blobs) != 0 {
			t.Errorf("ListBlobs after invalid puts = %+v, %v; want nothing", page.Blobs, err)
		}
	})
}

func (s blobSuite) testBlobConflict(t *testing.T) {
	t.Run("SecondPutOfAnIDIsConflict", func(t *testing.T) {
		st := s.store(t)
		b := blob("c1", "f", "u1", 0)
		mustPut(t, st, b, []byte("first"))
		other := b
		other.Name, other.MediaType, other.CreatedAt = "other", "text/plain", at(5)
		_, err := st.PutBlob(t.Context(), other, bytes.NewReader([]byte("second, longer")), 100)
		wantIs(t, err, storage.ErrConflict, "second PutBlob of an id")
		// Even the same bytes again.
		_, err = st.PutBlob(t.Context(), b, bytes.NewReader([]byte("first")), 100)
		wantIs(t, err, storage.ErrConflict, "PutBlob of an id again with the same bytes")
		b.Size = 5
		checkContent(t, st, "after the conflicts", b, []byte("first"))
	})
	t.Run("RacingPutsOfOneIDHaveOneWinner", func(t *testing.T) {
		st := s.store(t)
		const n = 8
		var (
			wg     sync.WaitGroup
			errs   [n]error
			start  = make(chan struct{})
			winner = -1
		)
		for i := range n {
			wg.Go(func() {
				<-start
				b := blob("c1", "raced", "u1", i)
				_, errs[i] = st.PutBlob(t.Context(), b, bytes.NewReader(content(uint64(100+i), 200_000)), 1<<20)
			})
		}
		close(start)
		wg.Wait()
		for i, err := range errs {
			switch {
			case err == nil && winner >= 0:
				t.Errorf("puts %d and %d of one id both succeeded", winner, i)
			case err == nil:
				winner = i
			case !errors.Is(err, storage.ErrConflict):
				t.Errorf("put %d: %v, want nil or storage.ErrConflict", i, err)
			}
		}
		if winner < 0 {
			t.Fatal("no put of the raced id succeeded")
		}
		want := blob("c1", "raced", "u1", winner)
		want.Size = 200_000
		checkContent(t, st, "the winner's blob", want, content(uint64(100+winner), 200_000))
	})
}

// failingReader returns n bytes, then err.
type failingReader struct {
	n   int
	err error
}

func (r *failingReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, r.err
	}
	k := min(len(p), r.n)
	for i := range p[:k] {
		p[i] = byte(r.n - i)
	}
	r.n -= k
	return k, nil
}

// cancellingReader cancels its context after n bytes and goes on giving
// bytes, 32 MiB more (so a store that ignores the context stores a blob
// rather than read forever).
type cancellingReader struct {
	n      int
	cancel context.CancelFunc
}

func (r *cancellingReader) Read(p []byte) (int, error) {
	if r.n <= 0 {
		r.cancel()
	}
	if r.n <= -32<<20 {
		return 0, io.EOF
	}
	k := len(p)
	if r.n > 0 {
		k = min(k, r.n)
	}
	r.n -= k
	return k, nil
}

func (s blobSuite) testBlobFailedPut(t *testing.T) {
	st := s.store(t)
	// retryable checks that the id of a failed put is free.
	retryable := func(t *testing.T, conv, id string) {
		t.Helper()
		wantAbsent(t, st, "after the failed put", conv, id)
		b := blob(conv, id, "u1", 0)
		mustPut(t, st, b, []byte("retried"))
		b.Size = 7
		checkContent(t, st, "the retried put", b, []byte("retried"))
	}
	t.Run("ReaderFailsMidStream", func(t *testing.T) {
		broken := errors.New("connection reset by the uploader")
		for _, n := range []int{0, 1000, 3 << 20} {
			id := "broken-" + strings.Repeat("x", n%7)
			_, err := st.PutBlob(t.Context(), blob("c1", id, "u1", 0), &failingReader{n: n, err: broken}, 10<<20)
			if err == nil {
				t.Fatalf("PutBlob from a reader failing after %d bytes succeeded", n)
			}
			retryable(t, "c1", id)
		}
	})
	t.Run("ContextCancelledBefore", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		_, err := st.PutBlob(ctx, blob("c1", "cancelled-before", "u1", 0), bytes.NewReader([]byte("data")), 100)
		wantIs(t, err, context.Canceled, "PutBlob with a cancelled context")
		retryable(t, "c1", "cancelled-before")
	})
	t.Run("ContextCancelledMidStream", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		// The reader keeps giving bytes after the cancel: the store must
		// notice the context, not the end of the stream.
		_, err := st.PutBlob(ctx, blob("c1", "cancelled-during", "u1", 0), &cancellingReader{n: 2 << 20, cancel: cancel}, 1<<40)
		wantIs(t, err, context.Canceled, "PutBlob whose context is cancelled mid-stream")
		retryable(t, "c1", "cancelled-during")
	})
	t.Run("DeadlineMidStream", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
		defer cancel()
		_, err := st.PutBlob(ctx, blob("c1", "deadline", "u1", 0), slowReader{new(int)}, 1<<40)
		wantIs(t, err, context.DeadlineExceeded, "PutBlob past its deadline")
		retryable(t, "c1", "deadline")
	})
}
