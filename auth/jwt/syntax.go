package jwt

import (
	"encoding/base64"
	"encoding/json"
	"strings"
)

// joseHeader holds the protected header fields read before verification.
type joseHeader struct {
	Alg string `json:"alg"`
	Kid string `json:"kid"`
}

// parseCompact checks a compact JWS strictly and decodes its protected
// header without trusting it: the algorithm is compared with the pinned one,
// the key id only selects a key. It returns a short reason when the token is
// malformed.
//
// The token must be exactly three segments separated by dots, each non-empty
// unpadded base64url (RFC 7515 §2) in canonical form: the unused low bits of
// the last character are zero, so decoding and re-encoding a segment gives
// the same text. Lenient decoders map several texts to the same bytes; with
// the canonical form required, a token has one spelling only and a valid
// signature cannot be rewritten into another accepted token.
func parseCompact(token string) (joseHeader, string) {
	var h joseHeader
	head, rest, _ := strings.Cut(token, ".")
	payload, sig, ok := strings.Cut(rest, ".")
	if !ok || strings.IndexByte(sig, '.') >= 0 {
		return h, "malformed token"
	}
	for _, seg := range [...]string{head, payload, sig} {
		if !canonicalBase64URL(seg) {
			return h, "token segment is not canonical unpadded base64url"
		}
	}
	raw, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		return h, "malformed token"
	}
	if err := json.Unmarshal(raw, &h); err != nil || h.Alg == "" {
		return h, "malformed token"
	}
	return h, ""
}

// canonicalBase64URL reports whether s is non-empty unpadded base64url whose
// decoding re-encodes to s exactly: only the URL-safe alphabet, no "=", no
// line breaks, a length that is not 1 modulo 4, and zero bits in the part of
// the last character that carries no data.
func canonicalBase64URL(s string) bool {
	if s == "" || len(s)%4 == 1 {
		return false
	}
	var last byte
	for i := 0; i < len(s); i++ {
		v, ok := base64URLValue(s[i])
		if !ok {
			return false
		}
		last = v
	}
	switch len(s) % 4 {
	case 2: // one byte: 8 of the last two characters' 12 bits
		return last&0x0f == 0
	case 3: // two bytes: 16 of 18 bits
		return last&0x03 == 0
	}
	return true
}

// base64URLValue maps a character of the URL-safe alphabet (RFC 4648 §5) to
// its 6-bit value.
func base64URLValue(c byte) (byte, bool) {
	switch {
	case c >= 'A' && c <= 'Z':
		return c - 'A', true
	case c >= 'a' && c <= 'z':
		return c - 'a' + 26, true
	case c >= '0' && c <= '9':
		return c - '0' + 52, true
	case c == '-':
		return 62, true
	case c == '_':
		return 63, true
	}
	return 0, false
}
