package encrypted_test

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/chatboxsdk/chatbox/storage"
	"github.com/chatboxsdk/chatbox/storage/encrypted"
	"github.com/chatboxsdk/chatbox/storage/fsblob"
	"github.com/chatboxsdk/chatbox/storage/memory"
	"github.com/chatboxsdk/chatbox/storage/storagetest"
)

// The stored layout the tests tamper with: a 62-byte header, then chunks
// of 64 KiB of plaintext and 28 bytes of nonce and tag.
const (
	headerSize = 62
	chunkSize  = 64 << 10
	sealedSize = chunkSize + 28
)

func TestBlobConformanceOverMemory(t *testing.T) {
	key := newKey(t, "k1")
	storagetest.RunBlobs(t, func(t *testing.T) storage.BlobStore { return wrap(t, memory.New(), key) })
}

// TestBlobConformanceOverFiles runs the suite through NewBlobStore over
// a storage/fsblob directory, with its bounded-memory check: the wrapper
// streams what it seals and opens.
func TestBlobConformanceOverFiles(t *testing.T) {
	key := newKey(t, "k1")
	storagetest.RunBlobs(t, func(t *testing.T) storage.BlobStore {
		inner, err := fsblob.New(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		s, err := encrypted.NewBlobStore(inner, key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}, storagetest.BoundedMemory(), storagetest.ManyBlobs(300)) // fsblob's own suite pages through 1,000
}

// TestBlobsOverAStoreWithoutBlobsAreUnsupported: every blob method of a
// wrapper around a Store that keeps no blobs says so, and SupportsBlobs
// tells in advance.
func TestBlobsOverAStoreWithoutBlobsAreUnsupported(t *testing.T) {
	s := wrap(t, storeOnly{memory.New()}, newKey(t, "k1"))
	if s.SupportsBlobs() {
		t.Error("SupportsBlobs over a Store without blobs = true")
	}
	if !wrap(t, memory.New(), newKey(t, "k1")).SupportsBlobs() {
		t.Error("SupportsBlobs over memory.Store = false")
	}
	ctx := t.Context()
	_, putErr := s.PutBlob(ctx, storage.Blob{ID: "f", ConversationID: "c", UserID: "u", MediaType: "text/plain", CreatedAt: t0},
		strings.NewReader("x"), 10)
	_, _, openErr := s.OpenBlob(ctx, "c", "f")
	_, listErr := s.ListBlobs(ctx, storage.BlobQuery{ConversationID: "c"})
	for name, err := range map[string]error{
		"PutBlob":      putErr,
		"OpenBlob":     openErr,
		"MarkBlobSent": s.MarkBlobSent(ctx, "c", "f", t0),
		"DeleteBlob":   s.DeleteBlob(ctx, "c", "f"),
		"ListBlobs":    listErr,
	} {
		if !errors.Is(err, errors.ErrUnsupported) || !strings.Contains(err.Error(), "storage.BlobStore") {
			t.Errorf("%s: %v, want an error wrapping errors.ErrUnsupported that names storage.BlobStore", name, err)
		}
	}
}

func TestNewBlobStoreChecksItsArguments(t *testing.T) {
	_, err := encrypted.NewBlobStore(nil, encrypted.Key{ID: "short", Secret: make([]byte, 16)})
	if err == nil || !strings.Contains(err.Error(), "nil inner BlobStore") || !strings.Contains(err.Error(), "16 bytes") {
		t.Errorf("NewBlobStore(nil, a short key) = %v, want both problems", err)
	}
}

// blobOf returns a blob of conversation c with id id.
func blobOf(c, id string) storage.Blob {
	return storage.Blob{ID: id, ConversationID: c, UserID: "u", Name: "secret plan of " + id + ".pdf",
		MediaType: "application/pdf", CreatedAt: t0}
}

// secretBytes returns n bytes of a repeated secret phrase.
func secretBytes(n int) []byte {
	return bytes.Repeat([]byte("the secret plan "), n/16+1)[:n]
}

func mustPutBlob(t *testing.T, s storage.BlobStore, b storage.Blob, data []byte) {
	t.Helper()
	got, err := s.PutBlob(t.Context(), b, bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatalf("PutBlob(%q, %q): %v", b.ConversationID, b.ID, err)
	}
	if got.Size != int64(len(data)) || got.Name != b.Name {
		t.Errorf("PutBlob's blob: Size %d, Name %q; want %d, %q", got.Size, got.Name, len(data), b.Name)
	}
}

// rawBlob reads a blob as the wrapped store holds it.
func rawBlob(t *testing.T, inner storage.BlobStore, c, id string) (storage.Blob, []byte) {
	t.Helper()
	b, rc, err := inner.OpenBlob(t.Context(), c, id)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b, data
}

// putRaw stores data as b in the wrapped store, in place of what is there.
func putRaw(t *testing.T, inner storage.BlobStore, b storage.Blob, data []byte) {
	t.Helper()
	if err := inner.DeleteBlob(t.Context(), b.ConversationID, b.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := inner.PutBlob(t.Context(), b, bytes.NewReader(data), int64(len(data))); err != nil {
		t.Fatal(err)
	}
}

// readThrough opens a blob through the wrapper and reads it whole,
// returning the first error.
func readThrough(t *testing.T, s storage.BlobStore, c, id string) ([]byte, error) {
	t.Helper()
	_, rc, err := s.OpenBlob(t.Context(), c, id)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

func TestInnerStoreNeverSeesBlobPlaintext(t *testing.T) {
	inner := memory.New()
	s := wrap(t, inner, newKey(t, "k1"))
	for _, n := range []int{0, 1, chunkSize - 1, chunkSize, chunkSize + 1, 3*chunkSize + 5} {
		id := "f" + strings.Repeat("x", n%7)
		b := blobOf("c1", id)
		b.ID = strings.ReplaceAll(b.ID, "x", "y") + string(rune('a'+n%26))
		data := secretBytes(n)
		mustPutBlob(t, s, b, data)
		raw, stored := rawBlob(t, inner, b.ConversationID, b.ID)
		wantStored := headerSize + n + 28*(n/chunkSize+1)
		if len(stored) != wantStored || raw.Size != int64(wantStored) {
			t.Errorf("%d bytes are stored as %d (Size %d), want %d", n, len(stored), raw.Size, wantStored)
		}
		if bytes.Contains(stored, []byte("secret")) || strings.Contains(raw.Name, "secret") {
			t.Errorf("%d bytes: the wrapped store holds plaintext", n)
		}
		if !strings.HasPrefix(raw.Name, "v1:k1:") || raw.MediaType != "application/pdf" || raw.UserID != "u" {
			t.Errorf("the wrapped store's blob: %+v; want a sealed name and the other fields in clear", raw)
		}
		if !bytes.HasPrefix(stored, []byte("chatbox.blob\x01\x02k1")) {
			t.Errorf("stored header %q", stored[:min(len(stored), headerSize)])
		}
		read, err := readThrough(t, s, b.ConversationID, b.ID)
		if err != nil || !bytes.Equal(read, data) {
			t.Errorf("%d bytes read back as %d, %v", n, len(read), err)
		}
		page, err := s.ListBlobs(t.Context(), storage.BlobQuery{ConversationID: "c1", Limit: storage.MaxPageSize})
		if err != nil {
			t.Fatal(err)
		}
		for _, lb := range page.Blobs {
			if lb.ID == b.ID && (lb.Size != int64(n) || lb.Name != b.Name) {
				t.Errorf("listed with Size %d, Name %q; want %d, %q", lb.Size, lb.Name, n, b.Name)
			}
		}
	}
}

// TestTamperedBlobsFailToDecrypt changes a blob in the wrapped store in
// every way an attacker with write access to it could, and checks that
// reading it through the wrapper fails with ErrDecrypt, never returning
// the whole plaintext or other bytes as a success.
func TestTamperedBlobsFailToDecrypt(t *testing.T) {
	const n = 3*chunkSize + 1000 // three full chunks and a short final one
	type setup struct {
		inner     *memory.Store
		s         *encrypted.Store
		raw       storage.Blob // c1/f as stored
		stored    []byte
		otherRaw  storage.Blob // c1/g as stored, the same size
		otherData []byte
	}
	newSetup := func(t *testing.T) setup {
		inner := memory.New()
		s := wrap(t, inner, newKey(t, "k1"))
		mustPutBlob(t, s, blobOf("c1", "f"), secretBytes(n))
		mustPutBlob(t, s, blobOf("c1", "g"), bytes.Repeat([]byte("g"), n))
		raw, stored := rawBlob(t, inner, "c1", "f")
		otherRaw, otherData := rawBlob(t, inner, "c1", "g")
		return setup{inner, s, raw, stored, otherRaw, otherData}
	}
	chunk := func(data []byte, i int) []byte {
		start := headerSize + i*sealedSize
		return data[start:min(start+sealedSize, len(data))]
	}
	splice := func(data []byte, i int, with []byte) []byte {
		start := headerSize + i*sealedSize
		return append(append(append([]byte(nil), data[:start]...), with...), data[min(start+sealedSize, len(data)):]...)
	}
	cases := map[string]func(t *testing.T, su setup){
		"CutInsideAChunk": func(t *testing.T, su setup) {
			putRaw(t, su.inner, su.raw, su.stored[:headerSize+sealedSize+500])
		},
		"CutAtAChunkBoundary": func(t *testing.T, su setup) {
			putRaw(t, su.inner, su.raw, su.stored[:headerSize+2*sealedSize])
		},
		"FinalChunkDropped": func(t *testing.T, su setup) {
			putRaw(t, su.inner, su.raw, su.stored[:headerSize+3*sealedSize])
		},
		"FinalChunkDroppedAndTheLastFullOneShortened": func(t *testing.T, su setup) {
			// Sizes that still parse: two full chunks and the third cut
			// short, as if it were the final one.
			putRaw(t, su.inner, su.raw, su.stored[:headerSize+3*sealedSize-100])
		},
		"ChunksReordered": func(t *testing.T, su setup) {
			c0, c1 := bytes.Clone(chunk(su.stored, 0)), bytes.Clone(chunk(su.stored, 1))
			putRaw(t, su.inner, su.raw, splice(splice(su.stored, 0, c1), 1, c0))
		},
		"ChunkRepeated": func(t *testing.T, su setup) {
			putRaw(t, su.inner, su.raw, splice(su.stored, 1, bytes.Clone(chunk(su.stored, 0))))
		},
		"ChunkOfAnotherBlob": func(t *testing.T, su setup) {
			putRaw(t, su.inner, su.raw, splice(su.stored, 2, bytes.Clone(chunk(su.otherData, 2))))
		},
		"FinalChunkOfAnotherBlob": func(t *testing.T, su setup) {
			putRaw(t, su.inner, su.raw, splice(su.stored, 3, bytes.Clone(chunk(su.otherData, 3))))
		},
		"BytesAppended": func(t *testing.T, su setup) {
			putRaw(t, su.inner, su.raw, append(bytes.Clone(su.stored), 0))
		},
		"ChunkAppendedAfterTheFinal": func(t *testing.T, su setup) {
			putRaw(t, su.inner, su.raw, append(bytes.Clone(su.stored), chunk(su.stored, 0)...))
		},
		"ByteFlipped": func(t *testing.T, su setup) {
			data := bytes.Clone(su.stored)
			data[headerSize+sealedSize+77] ^= 1
			putRaw(t, su.inner, su.raw, data)
		},
		"SaltChanged": func(t *testing.T, su setup) {
			data := bytes.Clone(su.stored)
			data[headerSize-1] ^= 1
			putRaw(t, su.inner, su.raw, data)
		},
		"HeaderOfAnotherBlob": func(t *testing.T, su setup) {
			putRaw(t, su.inner, su.raw, append(bytes.Clone(su.otherData[:headerSize]), su.stored[headerSize:]...))
		},
		"KeyIDChanged": func(t *testing.T, su setup) {
			data := bytes.Clone(su.stored)
			copy(data[14:], "k9")
			putRaw(t, su.inner, su.raw, data)
		},
		"NotABlob": func(t *testing.T, su setup) {
			putRaw(t, su.inner, su.raw, secretBytes(n))
		},
		"Empty": func(t *testing.T, su setup) {
			putRaw(t, su.inner, su.raw, nil)
		},
		"NameOfAnotherBlob": func(t *testing.T, su setup) {
			raw := su.raw
			raw.Name = su.otherRaw.Name
			putRaw(t, su.inner, raw, su.stored)
		},
		"BytesOfAnotherBlob": func(t *testing.T, su setup) {
			// The other blob's bytes under this blob's (valid) name.
			putRaw(t, su.inner, su.raw, su.otherData)
		},
		"BlobMovedToAnotherID": func(t *testing.T, su setup) {
			// c1/f as stored, name and bytes, put at c2/f and c1/h.
			for _, to := range [][2]string{{"c2", "f"}, {"c1", "h"}} {
				moved := su.raw
				moved.ConversationID, moved.ID = to[0], to[1]
				putRaw(t, su.inner, moved, su.stored)
				read, err := readThrough(t, su.s, to[0], to[1])
				if !errors.Is(err, encrypted.ErrDecrypt) {
					t.Errorf("a blob moved to %s/%s read %d bytes, %v; want ErrDecrypt", to[0], to[1], len(read), err)
				}
			}
			// c1/f's bytes under a valid name of c1/h.
			if err := su.s.DeleteBlob(t.Context(), "c1", "h"); err != nil {
				t.Fatal(err)
			}
			mustPutBlob(t, su.s, blobOf("c1", "h"), []byte("h"))
			hRaw, _ := rawBlob(t, su.inner, "c1", "h")
			putRaw(t, su.inner, hRaw, su.stored)
			read, err := readThrough(t, su.s, "c1", "h")
			if !errors.Is(err, encrypted.ErrDecrypt) {
				t.Errorf("bytes moved under another blob's name read %d bytes, %v; want ErrDecrypt", len(read), err)
			}
			// And c1/g, name and bytes, moved over c1/f.
			moved := su.otherRaw
			moved.ID = "f"
			putRaw(t, su.inner, moved, su.otherData)
		},
		"EarlierPutOfTheSameID": func(t *testing.T, su setup) {
			// Delete and put c1/f again, then splice a chunk of the
			// earlier put into the new one: its salt differs.
			if err := su.s.DeleteBlob(t.Context(), "c1", "f"); err != nil {
				t.Fatal(err)
			}
			mustPutBlob(t, su.s, blobOf("c1", "f"), secretBytes(n))
			raw, fresh := rawBlob(t, su.inner, "c1", "f")
			putRaw(t, su.inner, raw, splice(fresh, 1, bytes.Clone(chunk(su.stored, 1))))
		},
	}
	for name, tamper := range cases {
		t.Run(name, func(t *testing.T) {
			su := newSetup(t)
			tamper(t, su)
			read, err := readThrough(t, su.s, "c1", "f")
			if !errors.Is(err, encrypted.ErrDecrypt) {
				t.Errorf("read %d bytes, %v; want an error wrapping ErrDecrypt", len(read), err)
			}
			if len(read) > n || (len(read) > 0 && !bytes.Equal(read, secretBytes(n)[:len(read)])) {
				t.Errorf("read %d bytes that are not a prefix of the plaintext", len(read))
			}
			// The untouched blob still reads.
			if other, err := readThrough(t, su.s, "c1", "g"); err != nil || len(other) != n {
				t.Errorf("the untouched blob: %d bytes, %v", len(other), err)
			}
		})
	}
}

func TestBlobsWrittenUnderAnOlderKeyStillRead(t *testing.T) {
	inner := memory.New()
	k1, k2 := newKey(t, "k1"), newKey(t, "k2")
	before := wrap(t, inner, k1)
	old := secretBytes(2*chunkSize + 3)
	mustPutBlob(t, before, blobOf("c1", "old"), old)

	after := wrap(t, inner, k2, k1)
	if read, err := readThrough(t, after, "c1", "old"); err != nil || !bytes.Equal(read, old) {
		t.Fatalf("a blob of the older key read %d bytes, %v", len(read), err)
	}
	fresh := []byte("fresh secret")
	mustPutBlob(t, after, blobOf("c1", "new"), fresh)
	raw, stored := rawBlob(t, inner, "c1", "new")
	if !strings.HasPrefix(raw.Name, "v1:k2:") || !bytes.HasPrefix(stored, []byte("chatbox.blob\x01\x02k2")) {
		t.Errorf("a new blob is not under the active key: name %q, header %q", raw.Name, stored[:headerSize])
	}
	page, err := after.ListBlobs(t.Context(), storage.BlobQuery{ConversationID: "c1"})
	if err != nil || len(page.Blobs) != 2 {
		t.Fatalf("ListBlobs over both keys: %d blobs, %v", len(page.Blobs), err)
	}
	// Without the older key, its blob is an error, the other reads.
	only := wrap(t, inner, k2)
	if _, err := readThrough(t, only, "c1", "old"); !errors.Is(err, encrypted.ErrDecrypt) || !strings.Contains(err.Error(), "k1") {
		t.Errorf("a blob of a dropped key: %v, want ErrDecrypt naming the key", err)
	}
	if read, err := readThrough(t, only, "c1", "new"); err != nil || !bytes.Equal(read, fresh) {
		t.Errorf("the new blob without the older key: %q, %v", read, err)
	}
}

// TestBlobTooLargeCountsPlaintext: maxBytes bounds the plaintext, however
// much the stored form adds.
func TestBlobTooLargeCountsPlaintext(t *testing.T) {
	s := wrap(t, memory.New(), newKey(t, "k1"))
	for _, n := range []int64{0, 1, chunkSize, 2*chunkSize + 1} {
		data := make([]byte, n)
		b := blobOf("c1", "exact")
		if _, err := s.PutBlob(t.Context(), b, bytes.NewReader(data), n); err != nil {
			t.Errorf("%d bytes with maxBytes %d: %v", n, n, err)
		}
		if _, err := s.PutBlob(t.Context(), blobOf("c1", "over"), bytes.NewReader(append(data, 0)), n); !errors.Is(err, storage.ErrTooLarge) {
			t.Errorf("%d bytes with maxBytes %d: %v, want storage.ErrTooLarge", n+1, n, err)
		}
		if err := s.DeleteBlob(t.Context(), "c1", "exact"); err != nil {
			t.Fatal(err)
		}
	}
	long := blobOf("c1", "long-name")
	long.Name = strings.Repeat("n", 3001)
	if _, err := s.PutBlob(t.Context(), long, strings.NewReader("x"), 10); !errors.Is(err, storage.ErrInvalid) {
		t.Errorf("a 3,001-byte name: %v, want storage.ErrInvalid", err)
	}
	long.Name = strings.Repeat("ñ", 1500)
	if _, err := s.PutBlob(t.Context(), long, strings.NewReader("x"), 10); err != nil {
		t.Errorf("a 3,000-byte name: %v", err)
	}
}

// TestBlobReadsInSmallPieces reads blobs of sizes around the chunk size
// through readers of odd sizes.
func TestBlobReadsInSmallPieces(t *testing.T) {
	s := wrap(t, memory.New(), newKey(t, "k1"))
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, chunkSize - 1, chunkSize, chunkSize + 1, 2 * chunkSize, 2*chunkSize + 17} {
		data := make([]byte, n)
		for i := range data {
			data[i] = byte(r.Uint32())
		}
		id := "f" + time.Duration(n).String()
		mustPutBlob(t, s, blobOf("c1", id), data)
		_, rc, err := s.OpenBlob(t.Context(), "c1", id)
		if err != nil {
			t.Fatal(err)
		}
		var got []byte
		buf := make([]byte, 1+n%1000)
		for {
			k, err := rc.Read(buf[:1+r.IntN(len(buf))])
			got = append(got, buf[:k]...)
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		rc.Close()
		if !bytes.Equal(got, data) {
			t.Errorf("%d bytes read back as %d, different", n, len(got))
		}
	}
}
