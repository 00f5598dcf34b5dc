package mongostore

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/chatboxsdk/chatbox/storage"
)

// A cursor is the listing position of a page's last record, in unpadded
// URL-safe base64 of:
//
//	version (1 byte) | kind (1) | order (1) | sort (1) |
//	key (8, big endian: a time in unix ms, or a count) | id (the rest, non-empty)
//
// The kind, order and sort make a cursor of another listing a malformed
// one, and tell how to read the key.
const (
	cursorVersion    = 2
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

// position is a record's place in a listing: its key, a bson.DateTime or
// an int64 count, and its id.
type position struct {
	key any
	id  string
}

// isCount reports whether the listing's key is a count rather than a time.
func (l listing) isCount() bool {
	return l.kind == kindConversations && (l.sort == storage.SortByMessages || l.sort == storage.SortByTokens)
}

func encodeCursor(l listing, p position) string {
	b := make([]byte, cursorHeaderSize, cursorHeaderSize+len(p.id))
	b[0], b[1], b[2], b[3] = cursorVersion, l.kind, byte(l.order), byte(l.sort)
	var k int64
	switch v := p.key.(type) {
	case bson.DateTime:
		k = int64(v)
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
		return position{}, fmt.Errorf("mongostore: cursor longer than %d bytes: %w", maxCursorLen, storage.ErrInvalid)
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) <= cursorHeaderSize || b[0] != cursorVersion {
		return position{}, fmt.Errorf("mongostore: malformed cursor: %w", storage.ErrInvalid)
	}
	if b[1] != l.kind || storage.Order(b[2]) != l.order || storage.ConversationSort(b[3]) != l.sort {
		return position{}, fmt.Errorf("mongostore: cursor of another listing: %w", storage.ErrInvalid)
	}
	k := int64(binary.BigEndian.Uint64(b[4:]))
	p := position{key: bson.DateTime(k), id: string(b[cursorHeaderSize:])}
	if l.isCount() {
		p.key = k
	}
	return p, nil
}

// after returns the filter of records strictly after p in the listing
// order of (field keyField, field idField), ascending or descending.
func after(p position, keyField, idField string, order storage.Order) bson.D {
	op := "$gt"
	if order == storage.Descending {
		op = "$lt"
	}
	return bson.D{{Key: "$or", Value: bson.A{
		bson.D{{Key: keyField, Value: bson.D{{Key: op, Value: p.key}}}},
		bson.D{{Key: keyField, Value: p.key}, {Key: idField, Value: bson.D{{Key: op, Value: p.id}}}},
	}}}
}

// pairID joins two strings into a cursor's id: a's length as a uvarint, a,
// then b.
func pairID(a, b string) string {
	id := binary.AppendUvarint(nil, uint64(len(a)))
	return string(append(append(id, a...), b...))
}

// splitPair undoes pairID; ok is false unless a and b are both non-empty.
func splitPair(id string) (a, b string, ok bool) {
	n, k := binary.Uvarint([]byte(id))
	if k <= 0 || n == 0 || n >= uint64(len(id)-k) {
		return "", "", false
	}
	rest := id[k:]
	return rest[:n], rest[n:], true
}
