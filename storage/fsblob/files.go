package fsblob

import (
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

// Where a blob's files live, what they hold, and how they are written:
// each under a temporary name, synced, then published by a rename or a
// link.

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

func (p place) meta() string { return filepath.Join(p.dir, p.base+metaExt) }

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
