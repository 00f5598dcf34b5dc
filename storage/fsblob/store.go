package fsblob

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/chatboxsdk/chatbox/storage"
)

const (
	// markerName is the file that makes a directory a store; it holds
	// markerText, which names the layout's version.
	markerName = "chatbox-fsblob"
	markerText = "chatbox fsblob 1\n"

	tmpPrefix = ".tmp-"
	metaExt   = ".json"
	dataExt   = ".data"
	sentExt   = ".sent"

	// copyBufferSize is the buffer a put copies through.
	copyBufferSize = 128 << 10
	// maxSmallFile bounds what is read of a metadata or sent file: one
	// larger is corrupt.
	maxSmallFile = 64 << 10
	// tokenLen is the length of an upload token, in hex digits.
	tokenLen = 32
	// hashLen is the length of a hash in a name, in hex digits.
	hashLen = 2 * sha256.Size
)

// Store is a storage.BlobStore on a directory. It holds no state besides
// the directory's path: it is safe for concurrent use, and several
// Stores, in one process or several, may share a directory (see the
// package documentation).
type Store struct {
	dir string
}

var _ storage.BlobStore = (*Store)(nil)

// New returns a Store on dir, creating it (mode 0700) if missing. A
// directory that exists must be empty or already hold a store; New
// writes the marker file that makes it one.
func New(dir string) (*Store, error) {
	if dir == "" {
		return nil, errors.New("fsblob: empty directory name")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("fsblob: %w", err)
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return nil, fmt.Errorf("fsblob: %w", err)
	}
	if err := claim(abs); err != nil {
		return nil, fmt.Errorf("fsblob: %s: %w", abs, err)
	}
	return &Store{dir: abs}, nil
}

// claim checks that dir holds a store of this layout, or makes the empty
// dir one.
func claim(dir string) error {
	marker := filepath.Join(dir, markerName)
	for range 2 {
		b, err := readSmall(marker)
		switch {
		case err == nil && string(b) == markerText:
			return nil
		case err == nil:
			return fmt.Errorf("the marker %s names another layout (%q)", markerName, b)
		case !errors.Is(err, fs.ErrNotExist):
			return err
		}
		entries, err := os.ReadDir(dir)
		if err != nil {
			return err
		}
		if len(entries) > 0 {
			return fmt.Errorf("the directory is not empty and holds no blob store (no %s file)", markerName)
		}
		tmp, err := writeTemp(dir, []byte(markerText))
		if err != nil {
			return err
		}
		err = os.Link(tmp, marker)
		os.Remove(tmp)
		switch {
		case err == nil:
			return syncDir(dir)
		case !errors.Is(err, fs.ErrExist):
			return err
		}
		// Another New claimed it at the same time: check its marker.
	}
	return errors.New("the directory changed while it was claimed")
}

func notFound(conversationID, id string) error {
	return fmt.Errorf("fsblob: blob %q of conversation %q: %w", id, conversationID, storage.ErrNotFound)
}

// writerOnly hides a file's ReadFrom, so a copy goes through the put's
// own buffer and checks its context between reads.
type writerOnly struct{ io.Writer }

// PutBlob implements storage.BlobStore; see the package documentation.
func (s *Store) PutBlob(ctx context.Context, b storage.Blob, r io.Reader, maxBytes int64) (storage.Blob, error) {
	if err := ctx.Err(); err != nil {
		return storage.Blob{}, fmt.Errorf("fsblob: put blob: %w", err)
	}
	if err := b.Validate(); err != nil {
		return storage.Blob{}, fmt.Errorf("fsblob: put blob: %w", err)
	}
	lr, err := storage.LimitBlob(ctx, r, maxBytes)
	if err != nil {
		return storage.Blob{}, fmt.Errorf("fsblob: put blob %q: %w", b.ID, err)
	}
	p := s.place(b.ConversationID, b.ID)
	fail := func(err error) (storage.Blob, error) {
		return storage.Blob{}, fmt.Errorf("fsblob: put blob %q of conversation %q: %w", b.ID, b.ConversationID, err)
	}
	if _, err := os.Lstat(p.meta()); err == nil {
		return fail(storage.ErrConflict) // no need to read the bytes
	}
	_, statErr := os.Lstat(p.dir)
	newDir := errors.Is(statErr, fs.ErrNotExist)

	f, err := createTemp(p.dir)
	if err != nil {
		return fail(err)
	}
	n, err := io.CopyBuffer(writerOnly{f}, lr, make([]byte, copyBufferSize))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = ctx.Err()
	}
	upload := newToken()
	data := p.data(upload)
	if err == nil {
		err = os.Rename(f.Name(), data)
	}
	if err != nil {
		os.Remove(f.Name())
		return fail(err)
	}

	b.Size, b.SentAt, b.CreatedAt = n, time.Time{}, b.CreatedAt.UTC().Round(0)
	js, err := json.Marshal(metaFile{Version: 1, ConversationID: b.ConversationID, ID: b.ID, UserID: b.UserID,
		Name: b.Name, MediaType: b.MediaType, Size: b.Size, CreatedAt: b.CreatedAt, Upload: upload})
	if err != nil {
		os.Remove(data)
		return fail(err)
	}
	tmp, err := writeTemp(p.dir, js)
	if err == nil {
		defer os.Remove(tmp)
		err = ctx.Err()
	}
	if err == nil {
		// The commit point: the link fails if the blob exists.
		if err = os.Link(tmp, p.meta()); errors.Is(err, fs.ErrExist) {
			err = storage.ErrConflict
		}
	}
	if err != nil {
		os.Remove(data)
		return fail(err)
	}
	err = syncDir(p.dir)
	if err == nil && newDir {
		if err = syncDir(filepath.Dir(p.dir)); err == nil {
			err = syncDir(s.dir)
		}
	}
	if err != nil {
		// Not durable: take the blob back rather than report a put that
		// a crash could undo.
		os.Remove(p.meta())
		os.Remove(data)
		return fail(err)
	}
	return b, nil
}

// OpenBlob implements storage.BlobStore. The reader is the open data
// file (an *os.File).
func (s *Store) OpenBlob(ctx context.Context, conversationID, id string) (storage.Blob, io.ReadCloser, error) {
	if err := ctx.Err(); err != nil {
		return storage.Blob{}, nil, fmt.Errorf("fsblob: open blob: %w", err)
	}
	p := s.place(conversationID, id)
	m, err := readMeta(p.meta(), p.base)
	if errors.Is(err, fs.ErrNotExist) {
		return storage.Blob{}, nil, notFound(conversationID, id)
	}
	if err != nil {
		return storage.Blob{}, nil, fmt.Errorf("fsblob: open blob %q of conversation %q: %w", id, conversationID, err)
	}
	f, err := os.Open(p.data(m.Upload))
	if errors.Is(err, fs.ErrNotExist) {
		return storage.Blob{}, nil, notFound(conversationID, id) // deleted meanwhile
	}
	if err != nil {
		return storage.Blob{}, nil, fmt.Errorf("fsblob: open blob %q of conversation %q: %w", id, conversationID, err)
	}
	b := m.blob()
	if b.SentAt, err = readSent(p.sent(m.Upload)); err != nil {
		f.Close()
		return storage.Blob{}, nil, fmt.Errorf("fsblob: open blob %q of conversation %q: %w", id, conversationID, err)
	}
	return b, f, nil
}

// MarkBlobSent implements storage.BlobStore: the sent file of the blob's
// upload is published by a hard link, which only the first mark makes.
func (s *Store) MarkBlobSent(ctx context.Context, conversationID, id string, at time.Time) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("fsblob: mark blob sent: %w", err)
	}
	if at.IsZero() {
		return fmt.Errorf("fsblob: mark blob %q sent at a zero time: %w", id, storage.ErrInvalid)
	}
	fail := func(err error) error {
		return fmt.Errorf("fsblob: mark blob %q of conversation %q sent: %w", id, conversationID, err)
	}
	p := s.place(conversationID, id)
	m, err := readMeta(p.meta(), p.base)
	if errors.Is(err, fs.ErrNotExist) {
		return notFound(conversationID, id)
	}
	if err != nil {
		return fail(err)
	}
	sent := p.sent(m.Upload)
	if _, err := os.Lstat(sent); err == nil {
		return nil // marked before
	}
	js, err := json.Marshal(sentFile{SentAt: at.UTC().Round(0)})
	if err != nil {
		return fail(err)
	}
	tmp, err := writeTemp(p.dir, js)
	if errors.Is(err, fs.ErrNotExist) {
		return notFound(conversationID, id) // deleted with its directory meanwhile
	}
	if err != nil {
		return fail(err)
	}
	defer os.Remove(tmp)
	switch err := os.Link(tmp, sent); {
	case errors.Is(err, fs.ErrExist):
		return nil // another mark was first
	case err != nil:
		return fail(err)
	}
	if err := syncDir(p.dir); err != nil {
		return fail(err)
	}
	// A delete that ran since the metadata was read may have removed the
	// upload's files before the link: remove the sent file it missed.
	now, err := readMeta(p.meta(), p.base)
	if errors.Is(err, fs.ErrNotExist) || (err == nil && now.Upload != m.Upload) {
		os.Remove(sent)
		return notFound(conversationID, id)
	}
	return nil
}

// DeleteBlob implements storage.BlobStore: the metadata file is renamed
// away, which deletes the blob at once, then the upload's files are
// removed, and the conversation's directory if it is left empty.
func (s *Store) DeleteBlob(ctx context.Context, conversationID, id string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("fsblob: delete blob: %w", err)
	}
	p := s.place(conversationID, id)
	// Renaming rather than reading then removing: what is read below is
	// exactly the metadata this call deleted, whatever ran meanwhile.
	doomed := filepath.Join(p.dir, tmpPrefix+"deleted-"+newToken())
	if err := os.Rename(p.meta(), doomed); errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return fmt.Errorf("fsblob: delete blob %q of conversation %q: %w", id, conversationID, err)
	}
	err := syncDir(p.dir)
	if m, rerr := readMeta(doomed, p.base); rerr == nil {
		for _, f := range []string{p.data(m.Upload), p.sent(m.Upload)} {
			if rerr := os.Remove(f); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
				err = errors.Join(err, rerr)
			}
		}
	}
	os.Remove(doomed)
	os.Remove(p.dir) // fails unless the directory is empty
	if err != nil {
		return fmt.Errorf("fsblob: delete blob %q of conversation %q: deleted, but: %w", id, conversationID, err)
	}
	return nil
}
