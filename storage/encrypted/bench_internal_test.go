package encrypted

import (
	"crypto/rand"
	"strings"
	"testing"
)

func benchKeyring(b *testing.B) *keyring {
	secret := make([]byte, KeySize)
	if _, err := rand.Read(secret); err != nil {
		b.Fatal(err)
	}
	r, err := newKeyring(Key{ID: "k1", Secret: secret}, nil)
	if err != nil {
		b.Fatal(err)
	}
	return r
}

// text is a typical chat message of about 200 bytes.
var text = strings.Repeat("a typical chat message ", 9)

// BenchmarkSeal measures encrypting one message text, as every append does.
func BenchmarkSeal(b *testing.B) {
	r := benchKeyring(b)
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		_ = r.seal(text, fieldMessageText, "conversation-0123456789", "message-0123456789")
	}
}

// BenchmarkOpen measures decrypting one message text, as every read does.
func BenchmarkOpen(b *testing.B) {
	r := benchKeyring(b)
	env := r.seal(text, fieldMessageText, "conversation-0123456789", "message-0123456789")
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		if _, err := r.open(env, fieldMessageText, "conversation-0123456789", "message-0123456789"); err != nil {
			b.Fatal(err)
		}
	}
}
