package memory

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/chatboxsdk/chatbox/storage"
)

// A cursor is the listing position of the last record of a page, in
// unpadded URL-safe base64 of:
//
//	version (1 byte) | kind (1) | order (1) | unix seconds (8, big endian) |
//	nanoseconds (4) | record id (the rest, non-empty)
//
// The kind and order make a cursor from another listing a malformed one.
const (
	cursorVersion    = 1
	cursorHeaderSize = 3 + 8 + 4
	// maxCursorLen bounds the work spent on a cursor supplied by a client.
	maxCursorLen = 4096
)

type cursorKind byte

const (
	kindConversations cursorKind = 'c'
	kindMessages      cursorKind = 'm'
)

func encodeCursor(kind cursorKind, order storage.Order, k key) string {
	b := make([]byte, cursorHeaderSize, cursorHeaderSize+len(k.id))
	b[0] = cursorVersion
	b[1] = byte(kind)
	b[2] = byte(order)
	binary.BigEndian.PutUint64(b[3:11], uint64(k.at.Unix()))
	binary.BigEndian.PutUint32(b[11:15], uint32(k.at.Nanosecond()))
	b = append(b, k.id...)
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor parses a cursor expected to come from a listing of kind in
// order. Any problem wraps storage.ErrInvalid.
func decodeCursor(s string, kind cursorKind, order storage.Order) (key, error) {
	if len(s) > maxCursorLen {
		return key{}, fmt.Errorf("cursor longer than %d bytes: %w", maxCursorLen, storage.ErrInvalid)
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return key{}, fmt.Errorf("malformed cursor: %w", storage.ErrInvalid)
	}
	if len(b) <= cursorHeaderSize || b[0] != cursorVersion {
		return key{}, fmt.Errorf("malformed cursor: %w", storage.ErrInvalid)
	}
	if cursorKind(b[1]) != kind || storage.Order(b[2]) != order {
		return key{}, fmt.Errorf("cursor belongs to another listing: %w", storage.ErrInvalid)
	}
	sec := int64(binary.BigEndian.Uint64(b[3:11]))
	nsec := binary.BigEndian.Uint32(b[11:15])
	id := b[cursorHeaderSize:]
	if nsec >= uint32(time.Second) {
		return key{}, fmt.Errorf("malformed cursor: %w", storage.ErrInvalid)
	}
	return key{at: time.Unix(sec, int64(nsec)), id: string(id)}, nil
}
