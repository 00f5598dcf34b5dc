package encrypted

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// KeySize is the size of every key: AES-256.
const KeySize = 32

// maxKeyIDLen bounds the key id stored with every value.
const maxKeyIDLen = 32

// Key is one AES-256 key and the id stored with every value it encrypts,
// so the right key is found when keys rotate.
type Key struct {
	// ID names the key: 1 to 32 characters among A-Z a-z 0-9 . _ -.
	ID string
	// Secret is exactly KeySize random bytes.
	Secret []byte
}

// ParseKey returns the key id with the secret encoded in base64 (standard
// or URL alphabet, padded or not), as produced by
//
//	openssl rand -base64 32
//
// The key is validated by New, not here.
func ParseKey(id, encoded string) (Key, error) {
	s := strings.TrimSpace(encoded)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return Key{ID: id, Secret: b}, nil
		}
	}
	return Key{}, fmt.Errorf("encrypted: key %q is not base64", id)
}

// checkKey reports every problem of k.
func checkKey(k Key) []error {
	var errs []error
	if err := checkKeyID(k.ID); err != nil {
		errs = append(errs, err)
	}
	name := fmt.Sprintf("key %q", k.ID)
	switch {
	case len(k.Secret) != KeySize:
		errs = append(errs, fmt.Errorf("%s: secret is %d bytes, want exactly %d (generate one with: openssl rand -base64 32)", name, len(k.Secret), KeySize))
	case isRepeating(k.Secret):
		errs = append(errs, fmt.Errorf("%s: secret is a repeated pattern, not random bytes", name))
	case isText(k.Secret):
		errs = append(errs, fmt.Errorf("%s: secret is printable text, not random bytes (was base64 left undecoded? use ParseKey)", name))
	}
	return errs
}

func checkKeyID(id string) error {
	if id == "" || len(id) > maxKeyIDLen {
		return fmt.Errorf("key id %q: want 1 to %d characters", id, maxKeyIDLen)
	}
	for _, r := range id {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-'
		if !ok {
			return fmt.Errorf("key id %q: character %q is not one of A-Z a-z 0-9 . _ -", id, r)
		}
	}
	return nil
}

// isRepeating reports whether b is a short pattern repeated, such as all
// zeros, one byte or "abcdabcd...": placeholders, never random keys.
func isRepeating(b []byte) bool {
	for period := 1; period <= len(b)/2; period++ {
		if len(b)%period == 0 && bytes.Equal(b[period:], b[:len(b)-period]) {
			return true
		}
	}
	return false
}

// isText reports whether every byte of b is printable ASCII. 32 random
// bytes are all printable with probability (95/256)^32, about 1e-14, while
// passphrases and undecoded base64 always are.
func isText(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c > 0x7e {
			return false
		}
	}
	return true
}

// newAEAD returns AES-256-GCM with a random 96-bit nonce per Seal,
// prepended to the ciphertext.
func newAEAD(secret []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(secret)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCMWithRandomNonce(block)
}

// keyring holds the active key and every key accepted for decryption.
type keyring struct {
	activeID string
	active   cipher.AEAD
	byID     map[string]cipher.AEAD
}

func newKeyring(active Key, older []Key) (*keyring, error) {
	var errs []error
	all := append([]Key{active}, older...)
	seenID := make(map[string]bool, len(all))
	seenSecret := make(map[string]string, len(all))
	r := &keyring{activeID: active.ID, byID: make(map[string]cipher.AEAD, len(all))}
	for _, k := range all {
		if kerrs := checkKey(k); len(kerrs) > 0 {
			errs = append(errs, kerrs...)
			continue
		}
		if seenID[k.ID] {
			errs = append(errs, fmt.Errorf("key id %q is used twice", k.ID))
			continue
		}
		seenID[k.ID] = true
		if other, ok := seenSecret[string(k.Secret)]; ok {
			errs = append(errs, fmt.Errorf("keys %q and %q have the same secret", other, k.ID))
			continue
		}
		seenSecret[string(k.Secret)] = k.ID
		aead, err := newAEAD(k.Secret)
		if err != nil {
			errs = append(errs, fmt.Errorf("key %q: %w", k.ID, err))
			continue
		}
		r.byID[k.ID] = aead
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	r.active = r.byID[active.ID]
	return r, nil
}
