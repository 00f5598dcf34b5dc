package encrypted

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"math"
	"testing"
)

// TestBlobSizesRoundTrip: the plaintext size is recovered from the stored
// size of every blob, and stored sizes no blob has are refused.
func TestBlobSizesRoundTrip(t *testing.T) {
	for _, n := range []int64{0, 1, 27, 28, 29, blobChunkSize - 1, blobChunkSize, blobChunkSize + 1,
		5*blobChunkSize - 1, 5 * blobChunkSize, 50 << 20, 1 << 40} {
		got, err := blobPlainSize(blobCipherSize(n))
		if err != nil || got != n {
			t.Errorf("blobPlainSize(blobCipherSize(%d)) = %d, %v", n, got, err)
		}
	}
	h := int64(blobHeaderSize)
	for _, stored := range []int64{0, h, h + blobOverhead - 1, h + blobChunkSize + blobOverhead, h + blobChunkSize + blobOverhead + 27} {
		if _, err := blobPlainSize(stored); !errors.Is(err, ErrDecrypt) {
			t.Errorf("blobPlainSize(%d) = %v, want ErrDecrypt", stored, err)
		}
	}
	if got := blobCipherSize(math.MaxInt64); got != math.MaxInt64 {
		t.Errorf("blobCipherSize(MaxInt64) = %d, want MaxInt64", got)
	}
}

// TestFinalFlagIsBound seals, with the key, chunks whose final flag
// contradicts their place (a full chunk flagged final, a short one
// flagged not final), which the length rule alone would take at their
// place: the reader refuses both.
func TestFinalFlagIsBound(t *testing.T) {
	secret := make([]byte, KeySize)
	rand.Read(secret)
	keys, err := newKeyring(Key{ID: "k1", Secret: secret}, nil)
	if err != nil {
		t.Fatal(err)
	}
	header := keys.blobHeader()
	seal := func(plain []byte, i uint64, final bool) []byte {
		return keys.active.Seal(nil, nil, plain, chunkAD("c", "f", header, i, final))
	}
	full, short := bytes.Repeat([]byte{1}, blobChunkSize), []byte{2, 3}
	read := func(chunks ...[]byte) error {
		stored := bytes.Join(chunks, nil)
		o := &opener{src: io.NopCloser(bytes.NewReader(stored)), aead: keys.active, header: header, conversationID: "c", id: "f",
			sealed: make([]byte, blobChunkSize+blobOverhead)}
		_, err := io.ReadAll(o)
		return err
	}
	if err := read(seal(full, 0, false), seal(short, 1, true)); err != nil {
		t.Fatalf("a well-formed blob: %v", err)
	}
	if err := read(seal(full, 0, true)); !errors.Is(err, ErrDecrypt) {
		t.Errorf("a full chunk flagged final: %v, want ErrDecrypt", err)
	}
	if err := read(seal(full, 0, false), seal(short, 1, false)); !errors.Is(err, ErrDecrypt) {
		t.Errorf("a short last chunk not flagged final: %v, want ErrDecrypt", err)
	}
}
