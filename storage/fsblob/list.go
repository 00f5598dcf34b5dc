package fsblob

import (
	"container/heap"
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/chatboxsdk/chatbox/storage"
)

// A cursor is the position of a page's last blob, in unpadded URL-safe
// base64 of:
//
//	version (1 byte) | unix seconds (8, big endian) | nanoseconds (4) |
//	length of the conversation id (uvarint) | conversation id | id
const (
	cursorVersion = 1
	maxCursorLen  = 4096
)

func encodeCursor(b storage.Blob) string {
	buf := []byte{cursorVersion}
	buf = binary.BigEndian.AppendUint64(buf, uint64(b.CreatedAt.Unix()))
	buf = binary.BigEndian.AppendUint32(buf, uint32(b.CreatedAt.Nanosecond()))
	buf = binary.AppendUvarint(buf, uint64(len(b.ConversationID)))
	buf = append(append(buf, b.ConversationID...), b.ID...)
	return base64.RawURLEncoding.EncodeToString(buf)
}

// decodeCursor returns the blob position a cursor holds (CreatedAt,
// ConversationID and ID). Every problem wraps storage.ErrInvalid.
func decodeCursor(c string) (storage.Blob, error) {
	malformed := fmt.Errorf("fsblob: malformed cursor: %w", storage.ErrInvalid)
	if len(c) > maxCursorLen {
		return storage.Blob{}, malformed
	}
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(b) < 1+8+4+1 || b[0] != cursorVersion {
		return storage.Blob{}, malformed
	}
	sec, nsec := int64(binary.BigEndian.Uint64(b[1:9])), binary.BigEndian.Uint32(b[9:13])
	n, k := binary.Uvarint(b[13:])
	rest := b[13:]
	if nsec >= uint32(time.Second) || k <= 0 || n == 0 || n >= uint64(len(rest)-k) {
		return storage.Blob{}, malformed
	}
	rest = rest[k:]
	return storage.Blob{CreatedAt: time.Unix(sec, int64(nsec)).UTC(), ConversationID: string(rest[:n]), ID: string(rest[n:])}, nil
}

// blobHeap is a max-heap of blobs in listing order: it keeps the first
// blobs of a listing, the largest on top to be dropped.
type blobHeap []storage.Blob

func (h blobHeap) Len() int           { return len(h) }
func (h blobHeap) Less(i, j int) bool { return storage.CompareBlobs(h[i], h[j]) > 0 }
func (h blobHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *blobHeap) Push(x any)        { *h = append(*h, x.(storage.Blob)) }
func (h *blobHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// ListBlobs implements storage.BlobStore by reading the metadata files of
// the conversation's directory, or of every directory, and keeping the
// first blobs after the cursor: its cost is in the package
// documentation.
func (s *Store) ListBlobs(ctx context.Context, q storage.BlobQuery) (storage.BlobPage, error) {
	if err := ctx.Err(); err != nil {
		return storage.BlobPage{}, fmt.Errorf("fsblob: list blobs: %w", err)
	}
	if err := q.Validate(); err != nil {
		return storage.BlobPage{}, fmt.Errorf("fsblob: list blobs: %w", err)
	}
	var (
		from storage.Blob
		has  bool
	)
	if q.Cursor != "" {
		var err error
		if from, err = decodeCursor(q.Cursor); err != nil {
			return storage.BlobPage{}, err
		}
		has = true
	}
	limit := storage.ClampLimit(q.Limit)
	keep := make(blobHeap, 0, limit+1)
	seen := 0
	visit := func(path, base string) error {
		if seen++; seen%256 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		m, err := readMeta(path, base)
		if errors.Is(err, fs.ErrNotExist) {
			return nil // deleted meanwhile
		}
		if err != nil {
			return err
		}
		b := m.blob()
		if (q.ConversationID != "" && b.ConversationID != q.ConversationID) ||
			(q.UserID != "" && b.UserID != q.UserID) ||
			(!q.CreatedBefore.IsZero() && !b.CreatedAt.Before(q.CreatedBefore)) ||
			(has && storage.CompareBlobs(b, from) <= 0) ||
			(len(keep) == limit+1 && storage.CompareBlobs(b, keep[0]) >= 0) {
			return nil
		}
		if b.SentAt, err = readSent(place{dir: filepath.Dir(path), base: base}.sent(m.Upload)); err != nil {
			return err
		}
		if q.Unsent && !b.SentAt.IsZero() {
			return nil
		}
		heap.Push(&keep, b)
		if len(keep) > limit+1 {
			heap.Pop(&keep)
		}
		return nil
	}
	var err error
	if q.ConversationID != "" {
		err = scanConversation(s.convDir(q.ConversationID), visit)
	} else {
		err = s.scanAll(func(dir string) error { return scanConversation(dir, visit) })
	}
	if err != nil {
		return storage.BlobPage{}, fmt.Errorf("fsblob: list blobs: %w", err)
	}
	blobs := []storage.Blob(keep)
	slices.SortFunc(blobs, storage.CompareBlobs)
	page := storage.BlobPage{Blobs: blobs}
	if len(blobs) > limit {
		page.Blobs = blobs[:limit]
		page.NextCursor = encodeCursor(blobs[limit-1])
	}
	return page, nil
}

// scanAll calls f with every conversation directory.
func (s *Store) scanAll(f func(dir string) error) error {
	tops, err := os.ReadDir(s.dir)
	if err != nil {
		return err
	}
	for _, top := range tops {
		if !top.IsDir() || !isHex(top.Name(), 2) {
			continue
		}
		convs, err := os.ReadDir(filepath.Join(s.dir, top.Name()))
		if err != nil {
			return err
		}
		for _, c := range convs {
			if c.IsDir() && isHex(c.Name(), hashLen) && strings.HasPrefix(c.Name(), top.Name()) {
				if err := f(filepath.Join(s.dir, top.Name(), c.Name())); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// scanConversation calls visit with the path and blob hash of every
// metadata file of a conversation's directory; a directory that does not
// exist holds none.
func scanConversation(dir string, visit func(path, base string) error) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range entries {
		base, ok := strings.CutSuffix(e.Name(), metaExt)
		if !ok || !isHex(base, hashLen) || !e.Type().IsRegular() {
			continue
		}
		if err := visit(filepath.Join(dir, e.Name()), base); err != nil {
			return err
		}
	}
	return nil
}

// Sweep removes what puts and deletes that stopped half way (a process
// killed, a failing disk) left behind: temporary files, and data and sent
// files of no current blob, last modified before olderThan. Pass a time
// well before any put still running began (an hour ago, say): a put
// whose temporary file Sweep removes fails. It reads every metadata file,
// and returns how many files it removed.
func (s *Store) Sweep(ctx context.Context, olderThan time.Time) (int, error) {
	removed := 0
	err := s.scanAll(func(dir string) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		entries, err := os.ReadDir(dir)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		// The current upload of every blob of the directory.
		uploads := make(map[string]string)
		for _, e := range entries {
			if base, ok := strings.CutSuffix(e.Name(), metaExt); ok && isHex(base, hashLen) {
				m, err := readMeta(filepath.Join(dir, e.Name()), base)
				if errors.Is(err, fs.ErrNotExist) {
					continue
				}
				if err != nil {
					return err
				}
				uploads[base] = m.Upload
			}
		}
		for _, e := range entries {
			name := e.Name()
			if !strings.HasPrefix(name, tmpPrefix) {
				base, upload, ok := uploadFile(name)
				if !ok || uploads[base] == upload {
					continue
				}
			}
			info, err := e.Info()
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				return err
			}
			if !info.ModTime().Before(olderThan) {
				continue
			}
			// A data file of a blob put since the directory was read is
			// newer than olderThan, so it never gets here.
			if err := os.Remove(filepath.Join(dir, name)); err == nil {
				removed++
			} else if !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return removed, fmt.Errorf("fsblob: sweep: %w", err)
	}
	return removed, nil
}

// uploadFile parses the name of a data or sent file.
func uploadFile(name string) (base, upload string, ok bool) {
	rest, ok := strings.CutSuffix(name, dataExt)
	if !ok {
		if rest, ok = strings.CutSuffix(name, sentExt); !ok {
			return "", "", false
		}
	}
	base, upload, ok = strings.Cut(rest, ".")
	if !ok || !isHex(base, hashLen) || !isHex(upload, tokenLen) {
		return "", "", false
	}
	return base, upload, true
}
