package encrypted

import (
	"bytes"
	"context"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"time"

	"github.com/chatboxsdk/chatbox/storage"
)

// The stored form of a blob (format 1):
//
//	header: "chatbox.blob" (12 bytes) | format 1 (1) | key id length (1) |
//	        key id (32, zero-padded) | salt (16 random bytes)
//	chunks: nonce (12) | AES-256-GCM ciphertext of up to 64 KiB | tag (16)
//
// Every chunk but the last holds exactly blobChunkSize bytes of
// plaintext; the last holds fewer, possibly none, so an empty blob is a
// header and one empty chunk. Each chunk is sealed under the header's key
// with a random nonce and associated data binding it to the blob's
// conversation and id, the whole header (key id and salt), its index and
// whether it is the last. So truncating a blob, dropping, reordering or
// repeating chunks, taking chunks from another blob or from an earlier
// put of the same id (another salt), moving a blob to another id, or
// appending bytes all fail to decrypt.
//
// The stored size says the plaintext size: a blob of n bytes is stored
// as blobCipherSize(n) bytes, so listings report the plaintext Size
// without reading a byte of any blob.
const (
	blobMagic      = "chatbox.blob"
	blobFormat     = 1
	blobHeaderSize = len(blobMagic) + 1 + 1 + maxKeyIDLen + blobSaltSize
	blobSaltSize   = 16
	blobChunkSize  = 64 << 10
	// blobOverhead is what sealing adds to a chunk: GCM's nonce and tag.
	blobOverhead = 12 + 16
	// maxSealedName bounds a blob's Name: sealed, it must fit the 4096
	// bytes storage.Blob.Validate allows.
	maxSealedName = 3000
)

// More fields of associated data.
const (
	fieldBlobName  field = "blob.name"
	fieldBlobChunk field = "blob.chunk"
)

// blobCipherSize returns the stored size of a blob of n plaintext bytes,
// math.MaxInt64 if it does not fit.
func blobCipherSize(n int64) int64 {
	chunks := n/blobChunkSize + 1
	if n > (math.MaxInt64-int64(blobHeaderSize))/2 {
		return math.MaxInt64
	}
	return int64(blobHeaderSize) + n + chunks*blobOverhead
}

// blobPlainSize returns the plaintext size of a blob stored in n bytes.
func blobPlainSize(n int64) (int64, error) {
	x := n - int64(blobHeaderSize)
	full, last := x/(blobChunkSize+blobOverhead), x%(blobChunkSize+blobOverhead)
	if x < blobOverhead || last < blobOverhead {
		return 0, fmt.Errorf("stored size %d is no blob's: %w", n, ErrDecrypt)
	}
	return full*blobChunkSize + last - blobOverhead, nil
}

// BlobStore encrypts the blobs of a storage.BlobStore: their bytes, in
// chunks (see the package documentation), and their Name. It is safe for
// concurrent use when the inner BlobStore is. A Store whose inner Store
// is a storage.BlobStore encrypts its blobs with one.
type BlobStore struct {
	inner storage.BlobStore
	keys  *keyring
}

var _ storage.BlobStore = (*BlobStore)(nil)

// NewBlobStore returns a BlobStore over inner writing with active and
// reading with active and every key of older, for hosts that keep blobs
// apart from their Store (on a storage/fsblob directory, say). The keys
// are checked as New checks them.
func NewBlobStore(inner storage.BlobStore, active Key, older ...Key) (*BlobStore, error) {
	var errs []error
	if inner == nil {
		errs = append(errs, errors.New("nil inner BlobStore"))
	}
	keys, err := newKeyring(active, older)
	if err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("encrypted: %w", err)
	}
	return &BlobStore{inner: inner, keys: keys}, nil
}

// blobHeader returns a new header for the active key, with a fresh salt.
func (r *keyring) blobHeader() []byte {
	h := make([]byte, 0, blobHeaderSize)
	h = append(h, blobMagic...)
	h = append(h, blobFormat, byte(len(r.activeID)))
	h = append(h, r.activeID...)
	h = append(h, make([]byte, maxKeyIDLen-len(r.activeID))...)
	salt := make([]byte, blobSaltSize)
	_, _ = rand.Read(salt) // crypto/rand.Read never fails
	return append(h, salt...)
}

// parseBlobHeader returns the key of a stored header.
func (r *keyring) parseBlobHeader(h []byte) (cipher.AEAD, error) {
	if len(h) != blobHeaderSize || string(h[:len(blobMagic)]) != blobMagic {
		return nil, fmt.Errorf("%s: not an encrypted blob: %w", fieldBlobChunk, ErrDecrypt)
	}
	h = h[len(blobMagic):]
	if h[0] != blobFormat {
		return nil, fmt.Errorf("%s: unknown format %d: %w", fieldBlobChunk, h[0], ErrDecrypt)
	}
	n := int(h[1])
	if n == 0 || n > maxKeyIDLen || !bytes.Equal(h[2+n:2+maxKeyIDLen], make([]byte, maxKeyIDLen-n)) {
		return nil, fmt.Errorf("%s: malformed header: %w", fieldBlobChunk, ErrDecrypt)
	}
	keyID := string(h[2 : 2+n])
	aead, ok := r.byID[keyID]
	if !ok {
		return nil, fmt.Errorf("%s: unknown key id %q: %w", fieldBlobChunk, keyID, ErrDecrypt)
	}
	return aead, nil
}

// chunkAD is the associated data of chunk i of a blob.
func chunkAD(conversationID, id string, header []byte, i uint64, final bool) []byte {
	last := "more"
	if final {
		last = "final"
	}
	return associatedData(fieldBlobChunk, conversationID, id, string(header), strconv.FormatUint(i, 10), last)
}

// sealer is the reader of a blob's stored form: the header, then the
// chunks sealed as the plaintext is read, one chunk at a time.
type sealer struct {
	src            io.Reader
	aead           cipher.AEAD
	header         []byte
	conversationID string
	id             string
	plain          []byte // one chunk of plaintext
	out            []byte // what is sealed and not yet read
	pos            int
	next           uint64 // index of the next chunk
	done           bool   // the final chunk is sealed
	n              int64  // plaintext bytes sealed
	err            error  // the source's error
}

func (s *sealer) Read(p []byte) (int, error) {
	for s.pos == len(s.out) {
		if s.done {
			return 0, io.EOF
		}
		if s.err != nil {
			return 0, s.err
		}
		k, err := io.ReadFull(s.src, s.plain)
		final := false
		switch {
		case err == io.EOF || err == io.ErrUnexpectedEOF:
			final = true
		case err != nil:
			s.err = err
			return 0, err
		}
		s.out = s.aead.Seal(s.out[:0], nil, s.plain[:k], chunkAD(s.conversationID, s.id, s.header, s.next, final))
		s.pos, s.done = 0, final
		s.next++
		s.n += int64(k)
	}
	n := copy(p, s.out[s.pos:])
	s.pos += n
	return n, nil
}

// opener is the reader of a blob's plaintext: it reads and opens one
// stored chunk at a time.
type opener struct {
	src            io.ReadCloser
	aead           cipher.AEAD
	header         []byte
	conversationID string
	id             string
	sealed         []byte // one stored chunk
	plain          []byte // what is opened and not yet read
	pos            int
	next           uint64
	done           bool
	err            error // sticky
}

func (o *opener) Read(p []byte) (int, error) {
	for o.pos == len(o.plain) {
		if o.err != nil {
			return 0, o.err
		}
		if o.done {
			return 0, io.EOF
		}
		o.err = o.openNext()
	}
	n := copy(p, o.plain[o.pos:])
	o.pos += n
	return n, nil
}

func (o *opener) fail(what string) error {
	return fmt.Errorf("encrypted: blob %q of conversation %q, chunk %d: %s: %w", o.id, o.conversationID, o.next, what, ErrDecrypt)
}

// openNext reads and opens the next stored chunk. On failure the reader
// holds no plaintext.
func (o *opener) openNext() error {
	o.plain, o.pos = o.plain[:0], 0
	k, err := io.ReadFull(o.src, o.sealed)
	final := false
	switch {
	case err == io.EOF:
		return o.fail("truncated: the final chunk is missing")
	case err == io.ErrUnexpectedEOF:
		final = true // only the final chunk is shorter than a full one
	case err != nil:
		return fmt.Errorf("encrypted: blob %q of conversation %q: %w", o.id, o.conversationID, err)
	}
	if k < blobOverhead {
		return o.fail("truncated chunk")
	}
	plain, err := o.aead.Open(o.plain[:0], nil, o.sealed[:k], chunkAD(o.conversationID, o.id, o.header, o.next, final))
	if err != nil {
		return o.fail("authentication failed (wrong key, tampered, truncated, reordered, or moved from another blob)")
	}
	if final {
		var one [1]byte
		if n, _ := io.ReadFull(o.src, one[:]); n > 0 {
			return o.fail("data after the final chunk")
		}
		o.done = true
	}
	o.plain = plain
	o.next++
	return nil
}

func (o *opener) Close() error { return o.src.Close() }

// PutBlob implements storage.BlobStore: it stores the blob's Name sealed
// and its bytes in the chunked form above, sealed as they are read (one
// 64 KiB chunk in memory at a time). maxBytes bounds the plaintext; the
// returned Size is the plaintext's. A Name longer than 3,000 bytes gives
// storage.ErrInvalid: sealed, it would not fit.
func (s *BlobStore) PutBlob(ctx context.Context, b storage.Blob, r io.Reader, maxBytes int64) (storage.Blob, error) {
	if err := ctx.Err(); err != nil {
		return storage.Blob{}, fmt.Errorf("encrypted: put blob: %w", err)
	}
	if err := b.Validate(); err != nil {
		return storage.Blob{}, fmt.Errorf("encrypted: put blob: %w", err)
	}
	if len(b.Name) > maxSealedName {
		return storage.Blob{}, fmt.Errorf("encrypted: put blob %q: Name longer than %d bytes: %w", b.ID, maxSealedName, storage.ErrInvalid)
	}
	lr, err := storage.LimitBlob(ctx, r, maxBytes)
	if err != nil {
		return storage.Blob{}, fmt.Errorf("encrypted: put blob %q: %w", b.ID, err)
	}
	sl := &sealer{src: lr, aead: s.keys.active, header: s.keys.blobHeader(), conversationID: b.ConversationID, id: b.ID,
		plain: make([]byte, blobChunkSize), out: make([]byte, 0, blobChunkSize+blobOverhead)}
	sl.out = append(sl.out, sl.header...) // the header is read first
	name := b.Name
	b.Name = s.keys.seal(name, fieldBlobName, b.ConversationID, b.ID)
	stored, err := s.inner.PutBlob(ctx, b, sl, blobCipherSize(maxBytes))
	if err != nil {
		if errors.Is(sl.err, storage.ErrTooLarge) && !errors.Is(err, storage.ErrTooLarge) {
			return storage.Blob{}, fmt.Errorf("encrypted: put blob %q: %w (the wrapped store: %v)", b.ID, sl.err, err)
		}
		return storage.Blob{}, err
	}
	if stored.Size != blobCipherSize(sl.n) {
		// The inner store did not store what it read: take it back.
		derr := s.inner.DeleteBlob(context.WithoutCancel(ctx), b.ConversationID, b.ID)
		return storage.Blob{}, errors.Join(fmt.Errorf("encrypted: put blob %q: the wrapped store stored %d bytes of %d",
			b.ID, stored.Size, blobCipherSize(sl.n)), derr)
	}
	stored.Name, stored.Size = name, sl.n
	return stored, nil
}

// openBlob returns b with its Name opened and its plaintext Size.
func (s *BlobStore) openBlob(b storage.Blob) (storage.Blob, error) {
	name, err := s.keys.open(b.Name, fieldBlobName, b.ConversationID, b.ID)
	if err != nil {
		return storage.Blob{}, fmt.Errorf("encrypted: blob %q of conversation %q: %w", b.ID, b.ConversationID, err)
	}
	size, err := blobPlainSize(b.Size)
	if err != nil {
		return storage.Blob{}, fmt.Errorf("encrypted: blob %q of conversation %q: %w", b.ID, b.ConversationID, err)
	}
	b.Name, b.Size = name, size
	return b, nil
}

// OpenBlob implements storage.BlobStore. It reads the stored header
// before returning; the reader opens one chunk at a time, and a chunk
// that fails to decrypt is an error wrapping ErrDecrypt, returned after
// the plaintext of the chunks before it.
func (s *BlobStore) OpenBlob(ctx context.Context, conversationID, id string) (storage.Blob, io.ReadCloser, error) {
	b, rc, err := s.inner.OpenBlob(ctx, conversationID, id)
	if err != nil {
		return storage.Blob{}, nil, err
	}
	// The blob is opened at the place asked for: one moved there from
	// another place fails.
	b.ConversationID, b.ID = conversationID, id
	if b, err = s.openBlob(b); err != nil {
		rc.Close()
		return storage.Blob{}, nil, err
	}
	header := make([]byte, blobHeaderSize)
	if _, err := io.ReadFull(rc, header); err != nil {
		rc.Close()
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			err = fmt.Errorf("%s: truncated header: %w", fieldBlobChunk, ErrDecrypt)
		}
		return storage.Blob{}, nil, fmt.Errorf("encrypted: blob %q of conversation %q: %w", id, conversationID, err)
	}
	aead, err := s.keys.parseBlobHeader(header)
	if err != nil {
		rc.Close()
		return storage.Blob{}, nil, fmt.Errorf("encrypted: blob %q of conversation %q: %w", id, conversationID, err)
	}
	return b, &opener{src: rc, aead: aead, header: header, conversationID: conversationID, id: id,
		sealed: make([]byte, blobChunkSize+blobOverhead), plain: make([]byte, 0, blobChunkSize)}, nil
}

// MarkBlobSent implements storage.BlobStore; SentAt is stored in clear.
func (s *BlobStore) MarkBlobSent(ctx context.Context, conversationID, id string, at time.Time) error {
	return s.inner.MarkBlobSent(ctx, conversationID, id, at)
}

// DeleteBlob implements storage.BlobStore.
func (s *BlobStore) DeleteBlob(ctx context.Context, conversationID, id string) error {
	return s.inner.DeleteBlob(ctx, conversationID, id)
}

// ListBlobs implements storage.BlobStore: the wrapped store filters and
// orders by the fields in clear. A page with a Name that cannot be
// decrypted, or a stored size no blob has, is an error.
func (s *BlobStore) ListBlobs(ctx context.Context, q storage.BlobQuery) (storage.BlobPage, error) {
	page, err := s.inner.ListBlobs(ctx, q)
	if err != nil {
		return storage.BlobPage{}, err
	}
	out := storage.BlobPage{NextCursor: page.NextCursor, Blobs: make([]storage.Blob, len(page.Blobs))}
	for i, b := range page.Blobs {
		if out.Blobs[i], err = s.openBlob(b); err != nil {
			return storage.BlobPage{}, err
		}
	}
	return out, nil
}
