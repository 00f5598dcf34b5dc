package fsblob

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
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

// place is where a blob's files live: the conversation's directory and
// the hash every file of the blob is named by.
type place struct {
	dir  string
	base string
}

func (s *Store) convDir(conversationID string) string {
	h := sha256.New()
	h.Write([]byte("chatbox.fsblob.conversation\x00"))
	h.Write([]byte(conversationID))
	c := hex.EncodeToString(h.Sum(nil))
	return filepath.Join(s.dir, c[:2], c)
}

func blobHash(conversationID, id string) string {
	h := sha256.New()
	h.Write([]byte("chatbox.fsblob.blob\x00"))
	h.Write(binary.AppendUvarint(nil, uint64(len(conversationID))))
	h.Write([]byte(conversationID))
	h.Write([]byte(id))
	return hex.EncodeToString(h.Sum(nil))
}

func (s *Store) place(conversationID, id string) place {
	return place{dir: s.convDir(conversationID), base: blobHash(conversationID, id)}
}

func (p place) meta() string              { return filepath.Join(p.dir, p.base+metaExt) }
func (p place) data(upload string) string { return filepath.Join(p.dir, p.base+"."+upload+dataExt) }
func (p place) sent(upload string) string { return filepath.Join(p.dir, p.base+"."+upload+sentExt) }

// metaFile is the JSON of a metadata file.
type metaFile struct {
	Version        int       `json:"v"`
	ConversationID string    `json:"conversation_id"`
	ID             string    `json:"id"`
	UserID         string    `json:"user_id"`
	Name           string    `json:"name,omitempty"`
	MediaType      string    `json:"media_type"`
	Size           int64     `json:"size"`
	CreatedAt      time.Time `json:"created_at"`
	// Upload is the random token of the put that wrote the blob; its
	// data and sent files are named after it.
	Upload string `json:"upload"`
}

func (m metaFile) blob() storage.Blob {
	return storage.Blob{ID: m.ID, ConversationID: m.ConversationID, UserID: m.UserID, Name: m.Name,
		MediaType: m.MediaType, Size: m.Size, CreatedAt: m.CreatedAt.UTC()}
}

// sentFile is the JSON of a sent file.
type sentFile struct {
	SentAt time.Time `json:"sent_at"`
}

// readMeta reads and checks the metadata file at path, which must be
// that of the blob named base. A missing file gives an error wrapping
// fs.ErrNotExist.
func readMeta(path, base string) (metaFile, error) {
	b, err := readSmall(path)
	if err != nil {
		return metaFile{}, err
	}
	var m metaFile
	if err := json.Unmarshal(b, &m); err != nil {
		return metaFile{}, fmt.Errorf("metadata file %s: %w", path, err)
	}
	switch {
	case m.Version != 1:
		return metaFile{}, fmt.Errorf("metadata file %s: version %d, want 1", path, m.Version)
	case !isHex(m.Upload, tokenLen):
		return metaFile{}, fmt.Errorf("metadata file %s: malformed upload token", path)
	case blobHash(m.ConversationID, m.ID) != base:
		return metaFile{}, fmt.Errorf("metadata file %s: holds the blob of another name", path)
	}
	return m, nil
}

// readSent returns the time in the sent file at path, zero when there is
// none.
func readSent(path string) (time.Time, error) {
	b, err := readSmall(path)
	if errors.Is(err, fs.ErrNotExist) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, err
	}
	var f sentFile
	if err := json.Unmarshal(b, &f); err != nil || f.SentAt.IsZero() {
		return time.Time{}, fmt.Errorf("sent file %s: malformed", path)
	}
	return f.SentAt.UTC(), nil
}

// readSmall reads a file of at most maxSmallFile bytes.
func readSmall(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSmallFile+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxSmallFile {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, maxSmallFile)
	}
	return b, nil
}

func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for _, c := range []byte(s) {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// newToken returns a random upload token.
func newToken() string {
	var b [tokenLen / 2]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}

// createTemp creates a temporary file in dir, creating dir if a delete
// removed it meanwhile.
func createTemp(dir string) (*os.File, error) {
	var err error
	for range 5 {
		var f *os.File
		if f, err = os.CreateTemp(dir, tmpPrefix+"*"); err == nil || !errors.Is(err, fs.ErrNotExist) {
			return f, err
		}
		// A delete may remove the directory again while it is made: try
		// once more.
		if err = os.MkdirAll(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return nil, err
		}
	}
	return nil, err
}

// writeTemp writes data to a new synced temporary file in dir and
// returns its path.
func writeTemp(dir string, data []byte) (string, error) {
	f, err := os.CreateTemp(dir, tmpPrefix+"*")
	if err != nil {
		return "", err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

// syncDir makes the entries of dir durable. Windows cannot sync a
// directory, and needs not.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
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
