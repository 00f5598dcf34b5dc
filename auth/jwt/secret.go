package jwt

import (
	"fmt"
	"strings"
)

// weakSecretReason returns why secret is unfit as an HMAC key, or "".
// The reason never quotes the secret.
func weakSecretReason(secret []byte) string {
	if len(secret) < minHMACSecretBytes {
		return fmt.Sprintf("is %d bytes, at least %d are required (use 32 random bytes)", len(secret), minHMACSecretBytes)
	}
	// placeholderWords are fragments of secrets copied from examples and
	// templates; a secret containing one is refused.
	placeholderWords := []string{
		"changeme", "change-me", "change_me", "changethis", "change-this",
		"secret", "password", "passw0rd", "placeholder", "example", "replaceme",
		"replace-me", "replace_me", "insecure", "do-not-use", "notsecure",
	}

	// placeholderPrefixes mark secrets meant for tests and demos.
	placeholderPrefixes := []string{"test", "dev", "demo", "dummy", "sample", "default", "todo", "xxx"}
	lower := strings.ToLower(string(secret))
	for _, p := range placeholderPrefixes {
		if strings.HasPrefix(lower, p) {
			return "looks like a test or demo placeholder; use 32 random bytes"
		}
	}
	for _, w := range placeholderWords {
		if strings.Contains(lower, w) {
			return "looks like a placeholder copied from an example; use 32 random bytes"
		}
	}
	if repeatsShortPattern(secret) {
		return "is a short pattern repeated; use 32 random bytes"
	}
	var distinct [256]bool
	n := 0
	for _, b := range secret {
		if !distinct[b] {
			distinct[b] = true
			n++
		}
	}
	if n < 8 {
		return fmt.Sprintf("uses only %d distinct byte values; use 32 random bytes", n)
	}
	steps := 0
	for i := 1; i < len(secret); i++ {
		if d := int(secret[i]) - int(secret[i-1]); d == 1 || d == -1 {
			steps++
		}
	}
	if steps*4 >= (len(secret)-1)*3 {
		return "is mostly a run of consecutive characters; use 32 random bytes"
	}
	return ""
}

// repeatsShortPattern reports whether b is a pattern of at most 16 bytes
// repeated (the last repetition may be cut short).
func repeatsShortPattern(b []byte) bool {
	for p := 1; p <= 16 && p*2 <= len(b); p++ {
		periodic := true
		for i := p; i < len(b); i++ {
			if b[i] != b[i-p] {
				periodic = false
				break
			}
		}
		if periodic {
			return true
		}
	}
	return false
}
