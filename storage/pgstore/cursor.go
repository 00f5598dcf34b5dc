package pgstore

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/chatboxsdk/chatbox/storage"
)

// A cursor is the listing position of a page's last row, in unpadded
// URL-safe base64 of:
//
//	version (1 byte) | kind (1) | order (1) | sort (1) |
//	key (8, big endian: a time in unix microseconds, or a count) | id (the rest, non-empty)
//
// The kind, order and sort make a cursor of another listing a malformed
// one, and tell how to read the key.
const (
	cursorVersion    = 1
	cursorHeaderSize = 4 + 8
	maxCursorLen     = 4096
)

const (
	kindConversations = 'c'
	kindMessages      = 'm'
	kindAudit         = 'a'
)

// listing identifies what a cursor may continue.
type listing struct {
	kind  byte
	order storage.Order
	sort  storage.ConversationSort // zero for messages and audit entries
}

// isCount reports whether the listing's key is a count rather than a time.
func (l listing) isCount() bool {
	return l.kind == kindConversations && (l.sort == storage.SortByMessages || l.sort == storage.SortByTokens)
}

// position is a row's place in a listing: its key, a time.Time or an
// int64 count, and its id.
type position struct {
	key any
	id  string
}

func encodeCursor(l listing, p position) string {
	b := make([]byte, cursorHeaderSize, cursorHeaderSize+len(p.id))
	b[0], b[1], b[2], b[3] = cursorVersion, l.kind, byte(l.order), byte(l.sort)
	var k int64
	switch v := p.key.(type) {
	case time.Time:
		k = v.UnixMicro()
	case int64:
		k = v
	}
	binary.BigEndian.PutUint64(b[4:], uint64(k))
	return base64.RawURLEncoding.EncodeToString(append(b, p.id...))
}

// decodeCursor parses a cursor of listing l; every problem wraps
// storage.ErrInvalid.
func decodeCursor(s string, l listing) (position, error) {
	if len(s) > maxCursorLen {
		return position{}, fmt.Errorf("pgstore: cursor longer than %d bytes: %w", maxCursorLen, storage.ErrInvalid)
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) <= cursorHeaderSize || b[0] != cursorVersion {
		return position{}, fmt.Errorf("pgstore: malformed cursor: %w", storage.ErrInvalid)
	}
	if b[1] != l.kind || storage.Order(b[2]) != l.order || storage.ConversationSort(b[3]) != l.sort {
		return position{}, fmt.Errorf("pgstore: cursor of another listing: %w", storage.ErrInvalid)
	}
	k := int64(binary.BigEndian.Uint64(b[4:]))
	p := position{key: time.UnixMicro(k).UTC(), id: string(b[cursorHeaderSize:])}
	if l.isCount() {
		p.key = k
	}
	return p, nil
}

// after returns the condition of rows strictly after p in the listing
// order of (keyCol, idCol), as a row comparison an index on (keyCol,
// idCol) serves in either direction; args are appended to and the
// placeholders numbered from there.
func after(p position, keyCol, idCol string, order storage.Order, args []any) (string, []any) {
	op := ">"
	if order == storage.Descending {
		op = "<"
	}
	args = append(args, p.key, p.id)
	n := len(args)
	return fmt.Sprintf("(%s, %s) %s ($%d, $%d)", keyCol, idCol, op, n-1, n), args
}
