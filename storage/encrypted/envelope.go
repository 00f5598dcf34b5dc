package encrypted

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
)

// ErrDecrypt is wrapped by every error about a stored value that cannot be
// decrypted: unknown key id, malformed envelope, wrong key, tampered
// ciphertext or a value moved from another record. The ciphertext is never
// returned in its place.
var ErrDecrypt = errors.New("encrypted: cannot decrypt stored value")

// An envelope is "v1:" + key id + ":" + unpadded URL-safe base64 of the
// GCM output (nonce, ciphertext, tag).
const envelopePrefix = "v1:"

// field names a kind of encrypted value; it is part of the associated data.
type field string

const (
	fieldMessageText   field = "message.text"
	fieldTitle         field = "conversation.title"
	fieldMetadataValue field = "conversation.metadata"
	// The fields of a message's parts; their ids end with the part's
	// index in the message.
	fieldPartText      field = "message.part.text"
	fieldPartSignature field = "message.part.signature"
	fieldPartArguments field = "message.part.arguments"
	fieldPartFileName  field = "message.part.file_name"
)

// associatedData binds a value to its place: the kind of field and the ids
// of its record, each length-prefixed so no two places share the bytes.
func associatedData(f field, ids ...string) []byte {
	b := make([]byte, 0, 64)
	b = append(b, "chatbox.encrypted.v1"...)
	for _, s := range append([]string{string(f)}, ids...) {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	return b
}

// seal encrypts plaintext for the place described by f and ids.
func (r *keyring) seal(plaintext string, f field, ids ...string) string {
	ct := r.active.Seal(nil, nil, []byte(plaintext), associatedData(f, ids...))
	return envelopePrefix + r.activeID + ":" + base64.RawURLEncoding.EncodeToString(ct)
}

// open decrypts an envelope stored at the place described by f and ids.
func (r *keyring) open(envelope string, f field, ids ...string) (string, error) {
	rest, ok := strings.CutPrefix(envelope, envelopePrefix)
	if !ok {
		return "", fmt.Errorf("%s: not an encrypted value: %w", f, ErrDecrypt)
	}
	keyID, b64, ok := strings.Cut(rest, ":")
	if !ok {
		return "", fmt.Errorf("%s: malformed envelope: %w", f, ErrDecrypt)
	}
	aead, ok := r.byID[keyID]
	if !ok {
		return "", fmt.Errorf("%s: unknown key id %q: %w", f, keyID, ErrDecrypt)
	}
	ct, err := base64.RawURLEncoding.DecodeString(b64)
	if err != nil {
		return "", fmt.Errorf("%s: malformed envelope: %w", f, ErrDecrypt)
	}
	pt, err := aead.Open(nil, nil, ct, associatedData(f, ids...))
	if err != nil {
		return "", fmt.Errorf("%s: authentication failed (wrong key, tampered, or moved from another record): %w", f, ErrDecrypt)
	}
	return string(pt), nil
}
