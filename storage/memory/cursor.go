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
//	version (1 byte) | kind (1) | order (1) | sort (1) |
//	unix seconds (8, big endian) | nanoseconds (4) | count (8) |
//	record id (the rest, non-empty)
//
// A position holds a time (listings by a time) or a count (listings by
// message or token count), and the record id that breaks ties. The kind,
// order and sort make a cursor from another listing a malformed one.
const (
	cursorVersion    = 2
	cursorHeaderSize = 4 + 8 + 4 + 8
	// maxCursorLen bounds the work spent on a cursor supplied by a client.
	maxCursorLen = 4096
)

type cursorKind byte

const (
	kindConversations cursorKind = 'c'
	kindMessages      cursorKind = 'm'
	kindAudit         cursorKind = 'a'
	// kindUsage cursors hold a row's day as the time, the length of its
	// user id as the count and the user id followed by the model as the
	// id.
	kindUsage cursorKind = 'u'
	// kindBlobs cursors hold a blob's CreatedAt as the time, the length
	// of its conversation id as the count and the conversation id
	// followed by the blob's id as the id.
	kindBlobs cursorKind = 'b'
)

// listing identifies what a cursor may continue.
type listing struct {
	kind  cursorKind
	order storage.Order
	sort  storage.ConversationSort // zero for messages and audit entries
}

func encodeCursor(l listing, k key) string {
	b := make([]byte, cursorHeaderSize, cursorHeaderSize+len(k.id))
	b[0] = cursorVersion
	b[1] = byte(l.kind)
	b[2] = byte(l.order)
	b[3] = byte(l.sort)
	binary.BigEndian.PutUint64(b[4:12], uint64(k.at.Unix()))
	binary.BigEndian.PutUint32(b[12:16], uint32(k.at.Nanosecond()))
	binary.BigEndian.PutUint64(b[16:24], uint64(k.n))
	b = append(b, k.id...)
	return base64.RawURLEncoding.EncodeToString(b)
}

// resumeAt decodes a listing's optional cursor: has is false for an empty
// one (start at the beginning).
func resumeAt(cursor string, l listing) (k key, has bool, err error) {
	if cursor == "" {
		return key{}, false, nil
	}
	k, err = decodeCursor(cursor, l)
	return k, err == nil, err
}

// decodeCursor parses a cursor expected to come from listing l. Any
// problem wraps storage.ErrInvalid.
func decodeCursor(s string, l listing) (key, error) {
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
	if cursorKind(b[1]) != l.kind || storage.Order(b[2]) != l.order || storage.ConversationSort(b[3]) != l.sort {
		return key{}, fmt.Errorf("cursor belongs to another listing: %w", storage.ErrInvalid)
	}
	sec := int64(binary.BigEndian.Uint64(b[4:12]))
	nsec := binary.BigEndian.Uint32(b[12:16])
	if nsec >= uint32(time.Second) {
		return key{}, fmt.Errorf("malformed cursor: %w", storage.ErrInvalid)
	}
	return key{
		at: time.Unix(sec, int64(nsec)),
		n:  int64(binary.BigEndian.Uint64(b[16:24])),
		id: string(b[cursorHeaderSize:]),
	}, nil
}
