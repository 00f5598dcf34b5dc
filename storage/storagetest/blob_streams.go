package storagetest

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"math/rand/v2"
	"runtime"
	"runtime/debug"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/chatboxsdk/chatbox/storage"
)

func (s blobSuite) testBlobConcurrency(t *testing.T) {
	st := s.store(t)
	ctx := t.Context()
	const n = 20
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		kept []string
	)
	// Each goroutine puts, reads, marks and lists a blob of its own;
	// every other one deletes it.
	for i := range n {
		wg.Go(func() {
			b := blob(fmt.Sprintf("c%d", i%4), fmt.Sprintf("g%02d", i), "u1", i)
			data := content(uint64(200+i), 100_000+i*1000)
			if _, err := st.PutBlob(ctx, b, bytes.NewReader(data), int64(len(data))); err != nil {
				t.Errorf("goroutine %d: PutBlob: %v", i, err)
				return
			}
			got, rc, err := st.OpenBlob(ctx, b.ConversationID, b.ID)
			if err != nil {
				t.Errorf("goroutine %d: OpenBlob: %v", i, err)
				return
			}
			read, err := io.ReadAll(rc)
			rc.Close()
			if err != nil || !bytes.Equal(read, data) || got.Size != int64(len(data)) {
				t.Errorf("goroutine %d: read %d bytes (Size %d), %v; want its own %d bytes", i, len(read), got.Size, err, len(data))
			}
			if err := st.MarkBlobSent(ctx, b.ConversationID, b.ID, at(1000+i)); err != nil {
				t.Errorf("goroutine %d: MarkBlobSent: %v", i, err)
			}
			page, err := st.ListBlobs(ctx, storage.BlobQuery{ConversationID: b.ConversationID, Limit: storage.MaxPageSize})
			if err != nil || !slices.ContainsFunc(page.Blobs, func(x storage.Blob) bool { return x.ID == b.ID }) {
				t.Errorf("goroutine %d: ListBlobs(%q) = %d blobs, %v; want its blob among them", i, b.ConversationID, len(page.Blobs), err)
			}
			if i%2 == 1 {
				mu.Lock()
				kept = append(kept, blobKey(b))
				mu.Unlock()
				return
			}
			if err := st.DeleteBlob(ctx, b.ConversationID, b.ID); err != nil {
				t.Errorf("goroutine %d: DeleteBlob: %v", i, err)
			}
			if _, rc, err := st.OpenBlob(ctx, b.ConversationID, b.ID); !errors.Is(err, storage.ErrNotFound) {
				if rc != nil {
					rc.Close()
				}
				t.Errorf("goroutine %d: OpenBlob after DeleteBlob: %v, want storage.ErrNotFound", i, err)
			}
		})
	}
	wg.Wait()
	_, all := listBlobPages(t, st, storage.BlobQuery{UserID: "u1", Limit: 3}, n)
	slices.Sort(kept)
	got := blobKeys(all)
	slices.Sort(got)
	if !slices.Equal(got, kept) {
		t.Errorf("after the goroutines, ListBlobs(u1) = %v, want %v", got, kept)
	}
	for _, b := range all {
		if b.SentAt.IsZero() {
			t.Errorf("%s: SentAt zero after MarkBlobSent", blobKey(b))
		}
	}
}

// genReader generates size deterministic bytes as it is read, hashing
// them, so a large blob is put without being held in memory.
type genReader struct {
	rng  *rand.ChaCha8
	left int64
	h    hash.Hash
}

func newGenReader(seed byte, size int64) *genReader {
	return &genReader{rng: rand.NewChaCha8([32]byte{seed, 0x6e}), left: size, h: sha256.New()}
}

func (g *genReader) Read(p []byte) (int, error) {
	if g.left == 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > g.left {
		p = p[:g.left]
	}
	_, _ = g.rng.Read(p)
	g.h.Write(p)
	g.left -= int64(len(p))
	return len(p), nil
}

// heapGrowth runs f and returns how far the heap grew above its size
// before f (after a collection): at its largest while f ran, sampled
// every 2ms, and once f returned and garbage was collected. The collector
// runs with GOGC=10 meanwhile, so that garbage waiting to be collected
// (up to the live heap's size at the default of 100, whatever f does)
// weighs little beside what f keeps alive.
func heapGrowth(f func()) (peak, kept int64) {
	defer debug.SetGCPercent(debug.SetGCPercent(10))
	var m runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m)
	base := int64(m.HeapAlloc)
	var (
		wg   sync.WaitGroup
		done = make(chan struct{})
		high int64
	)
	wg.Go(func() {
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		var m runtime.MemStats
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				runtime.ReadMemStats(&m)
				high = max(high, int64(m.HeapAlloc))
			}
		}
	})
	f()
	close(done)
	wg.Wait()
	runtime.ReadMemStats(&m)
	high = max(high, int64(m.HeapAlloc))
	runtime.GC()
	runtime.ReadMemStats(&m)
	return high - base, int64(m.HeapAlloc) - base
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// testBlobBoundedMemory puts a blob of LargeBlobSize bytes, generated as
// it is read, then reads it back into a hash: the heap may grow by less
// than MaxHeapGrowth during each, so neither holds the blob whole.
func (s blobSuite) testBlobBoundedMemory(t *testing.T) {
	st := s.store(t)
	ctx := t.Context()
	b := blob("c1", "large", "u1", 0)
	gen := newGenReader(9, LargeBlobSize)
	var (
		put storage.Blob
		err error
	)
	began := time.Now()
	putPeak, putKept := heapGrowth(func() { put, err = st.PutBlob(ctx, b, gen, LargeBlobSize) })
	putTime := time.Since(began)
	if err != nil {
		t.Fatalf("PutBlob of %s: %v", mib(LargeBlobSize), err)
	}
	if put.Size != LargeBlobSize {
		t.Errorf("PutBlob's Size %d, want %d", put.Size, LargeBlobSize)
	}
	var (
		sum  []byte
		read int64
	)
	began = time.Now()
	readPeak, readKept := heapGrowth(func() {
		var rc io.ReadCloser
		if _, rc, err = st.OpenBlob(ctx, "c1", "large"); err != nil {
			return
		}
		h := sha256.New()
		read, err = io.CopyBuffer(h, rc, make([]byte, 32<<10))
		if cerr := rc.Close(); err == nil {
			err = cerr
		}
		sum = h.Sum(nil)
	})
	readTime := time.Since(began)
	if err != nil {
		t.Fatalf("reading the %s blob: %v", mib(LargeBlobSize), err)
	}
	if read != LargeBlobSize || !bytes.Equal(sum, gen.h.Sum(nil)) {
		t.Errorf("read %d bytes, sha256 %x; want %d bytes, sha256 %x", read, sum, LargeBlobSize, gen.h.Sum(nil))
	}
	t.Logf("%s blob: put in %v, heap grew by %s at most (%s kept); read in %v, heap grew by %s at most (%s kept)",
		mib(LargeBlobSize), putTime.Round(time.Millisecond), mib(putPeak), mib(putKept),
		readTime.Round(time.Millisecond), mib(readPeak), mib(readKept))
	if putPeak >= MaxHeapGrowth || readPeak >= MaxHeapGrowth {
		t.Errorf("the heap grew by %s putting and %s reading a %s blob; want less than %s each",
			mib(putPeak), mib(readPeak), mib(LargeBlobSize), mib(MaxHeapGrowth))
	}
	if err := st.DeleteBlob(ctx, "c1", "large"); err != nil {
		t.Errorf("DeleteBlob: %v", err)
	}
}
