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
//	version (1 byte) | kind (1) | order (1) | created_at in unix ms (8, big endian) | id (the rest, non-empty)
//
// The kind and order make a cursor of another listing a malformed one.
const (
	cursorVersion    = 1
	cursorHeaderSize = 3 + 8
	maxCursorLen     = 4096
)

const (
	kindConversations = 'c'
	kindMessages      = 'm'
)

type position struct {
	at bson.DateTime
	id string
}

func encodeCursor(kind byte, order storage.Order, p position) string {
	b := make([]byte, cursorHeaderSize, cursorHeaderSize+len(p.id))
	b[0], b[1], b[2] = cursorVersion, kind, byte(order)
	binary.BigEndian.PutUint64(b[3:], uint64(p.at))
	return base64.RawURLEncoding.EncodeToString(append(b, p.id...))
}

// decodeCursor parses a cursor of a listing of kind in order; every
// problem wraps storage.ErrInvalid.
func decodeCursor(s string, kind byte, order storage.Order) (position, error) {
	if len(s) > maxCursorLen {
		return position{}, fmt.Errorf("mongostore: cursor longer than %d bytes: %w", maxCursorLen, storage.ErrInvalid)
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) <= cursorHeaderSize || b[0] != cursorVersion {
		return position{}, fmt.Errorf("mongostore: malformed cursor: %w", storage.ErrInvalid)
	}
	if b[1] != kind || storage.Order(b[2]) != order {
		return position{}, fmt.Errorf("mongostore: cursor of another listing: %w", storage.ErrInvalid)
	}
	return position{at: bson.DateTime(int64(binary.BigEndian.Uint64(b[3:]))), id: string(b[cursorHeaderSize:])}, nil
}

// after returns the filter of records strictly after p in the listing
// order of (field at, field id), ascending or descending.
func after(p position, atField, idField string, order storage.Order) bson.D {
	op := "$gt"
	if order == storage.Descending {
		op = "$lt"
	}
	return bson.D{{Key: "$or", Value: bson.A{
		bson.D{{Key: atField, Value: bson.D{{Key: op, Value: p.at}}}},
		bson.D{{Key: atField, Value: p.at}, {Key: idField, Value: bson.D{{Key: op, Value: p.id}}}},
	}}}
}
