package jwt

import (
	"encoding/base64"
	"testing"
)

// canonicalBase64URL must agree with its definition: non-empty, decodes as
// unpadded base64url, and re-encodes to the same text.
func FuzzCanonicalBase64URL(f *testing.F) {
	for _, seed := range []string{
		"", "A", "AA", "AB", "AQ", "AAA", "AAB", "AAE", "AAAA", "eyJhbGciOiJIUzI1NiJ9",
		"ab+/", "ab-_", "AQ==", "AQ=", "A A", "AA\n", "\nAA", "////", "____", "AAAAA",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, err := base64.RawURLEncoding.DecodeString(s)
		want := s != "" && err == nil && base64.RawURLEncoding.EncodeToString(b) == s
		if got := canonicalBase64URL(s); got != want {
			t.Fatalf("canonicalBase64URL(%q) = %v, want %v", s, got, want)
		}
	})
}
