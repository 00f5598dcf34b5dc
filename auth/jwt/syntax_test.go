package jwt_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"github.com/lestrrat-go/jwx/v3/jwa"

	"github.com/chatboxsdk/chatbox/auth/jwt"
)

// signatureCase is one supported algorithm with a verifier and a signer.
type signatureCase struct {
	alg    string
	jalg   jwa.SignatureAlgorithm
	signer any
	cfg    jwt.Config
}

func signatureCases(t *testing.T) []signatureCase {
	t.Helper()
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ec256, ec384 := newECKey(t), mustECKey(t, elliptic.P384())
	edPub, edPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := newFakeClock().Now
	hmac := func(alg string) jwt.Config { return jwt.Config{HMACSecret: testSecret, Algorithm: alg, Now: now} }
	pub := func(alg string, k any) jwt.Config { return jwt.Config{PublicKey: k, Algorithm: alg, Now: now} }
	return []signatureCase{
		{"HS256", jwa.HS256(), testSecret, hmac("HS256")},
		{"HS384", jwa.HS384(), testSecret, hmac("HS384")},
		{"HS512", jwa.HS512(), testSecret, hmac("HS512")},
		{"RS256", jwa.RS256(), rsaKey, pub("RS256", &rsaKey.PublicKey)},
		{"PS256", jwa.PS256(), rsaKey, pub("PS256", &rsaKey.PublicKey)},
		{"ES256", jwa.ES256(), ec256, pub("ES256", &ec256.PublicKey)},
		{"ES384", jwa.ES384(), ec384, pub("ES384", &ec384.PublicKey)},
		{"EdDSA", jwa.EdDSA(), edPriv, pub("EdDSA", edPub)},
	}
}

// tokenWithURLSafeCharacter signs tokens until the signature holds "-" or
// "_", so that the standard-alphabet rewrite changes something.
func tokenWithURLSafeCharacter(t *testing.T, c signatureCase) (token, sig string) {
	t.Helper()
	for i := range 500 {
		tok := signToken(t, c.jalg, c.signer, "", claims(map[string]any{"jti": fmt.Sprint("t-", i)}))
		s := tok[strings.LastIndexByte(tok, '.')+1:]
		if strings.ContainsAny(s, "-_") {
			return tok, s
		}
	}
	t.Fatal("no signature with a URL-safe character in 500 tries")
	return "", ""
}

// The signature segment has one spelling: rewrites that lenient base64
// decoders map to the same bytes are refused before the signature is
// checked, for every supported algorithm.
func TestStrictSyntaxRefusesSignatureRewrites(t *testing.T) {
	for _, c := range signatureCases(t) {
		t.Run(c.alg, func(t *testing.T) {
			j, err := jwt.New(context.Background(), c.cfg)
			if err != nil {
				t.Fatal(err)
			}
			tok, sig := tokenWithURLSafeCharacter(t, c)
			if _, err := j.Authenticate(context.Background(), tok); err != nil {
				t.Fatalf("valid token refused: %v", err)
			}
			input := tok[:len(tok)-len(sig)]
			want, err := base64.RawURLEncoding.DecodeString(sig)
			if err != nil {
				t.Fatal(err)
			}
			rewrites := map[string]string{
				"one pad character": sig + "=",
				"standard alphabet": strings.NewReplacer("-", "+", "_", "/").Replace(sig),
				"standard padded":   base64.StdEncoding.EncodeToString(want),
				"line break":        sig[:10] + "\n" + sig[10:],
			}
			if len(sig)%4 != 0 {
				rewrites["padded"] = base64.URLEncoding.EncodeToString(want)
				// The last character carries unused low bits; setting one
				// changes the text but not the decoded signature.
				last := sig[len(sig)-1]
				rewrites["unused low bits"] = sig[:len(sig)-1] + string(nextWithSameData(t, last, len(sig)%4))
			} else if n := len(want); n%3 != 0 {
				t.Fatalf("%d-byte signature in %d characters", n, len(sig))
			} // else: a multiple of 3 bytes leaves no unused bits to rewrite.
			for name, bad := range rewrites {
				t.Run(name, func(t *testing.T) {
					if bad == sig {
						t.Fatal("the rewrite changed nothing")
					}
					if got, err := lenientDecode(bad); err != nil || !bytes.Equal(got, want) {
						t.Fatalf("the rewrite decodes to other bytes (%v); the case proves nothing", err)
					}
					forged := input + bad
					_, err := j.Authenticate(context.Background(), forged)
					assertRejected(t, err, forged)
				})
			}
		})
	}
}

// hs256 is the HMAC-SHA256 signature segment of input under testSecret.
func hs256(input string) string {
	m := hmac.New(sha256.New, testSecret)
	m.Write([]byte(input))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// nextWithSameData returns a base64url character that carries the same data
// bits as c in the last position of a segment of length ≡ rem (mod 4), with
// an unused bit set.
func nextWithSameData(t *testing.T, c byte, rem int) byte {
	t.Helper()
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	v := strings.IndexByte(alphabet, c)
	unused := map[int]int{2: 0x0f, 3: 0x03}[rem]
	if v < 0 || unused == 0 || v&unused != 0 {
		t.Fatalf("last character %q is not canonical for remainder %d", c, rem)
	}
	return alphabet[v|1]
}

// lenientDecode accepts what permissive decoders accept: either alphabet,
// padding or none, line breaks, stray low bits.
func lenientDecode(s string) ([]byte, error) {
	s = strings.NewReplacer("\n", "", "\r", "", "=", "", "+", "-", "/", "_").Replace(s)
	return base64.RawURLEncoding.DecodeString(s)
}

func TestStrictSyntaxRefusesMalformedSegments(t *testing.T) {
	j, _ := newHS256(t, nil)
	valid := signToken(t, jwa.HS256(), testSecret, "", claims(nil))
	parts := strings.Split(valid, ".")
	for name, tok := range map[string]string{
		"empty header":         "." + parts[1] + "." + parts[2],
		"empty payload":        parts[0] + ".." + parts[2],
		"padded header":        parts[0] + "==." + parts[1] + "." + parts[2],
		"padded payload":       parts[0] + "." + parts[1] + "=." + parts[2],
		"space in payload":     parts[0] + "." + parts[1][:5] + " " + parts[1][5:] + "." + parts[2],
		"trailing newline":     valid + "\n",
		"leading space":        " " + valid,
		"impossible length":    parts[0] + "." + parts[1] + "." + parts[2] + strings.Repeat("A", (5-len(parts[2])%4)%4),
		"extra dot at the end": valid + ".",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := j.Authenticate(context.Background(), tok)
			assertRejected(t, err, tok)
		})
	}
}

// The header and payload segments follow the same rule as the signature.
func TestStrictSyntaxRefusesNonCanonicalHeaderAndPayload(t *testing.T) {
	j, _ := newHS256(t, nil)
	// Pad the claims until the payload segment ends with unused bits, and
	// sign the rewritten segment so that only the syntax is wrong.
	for i := range 3 {
		c := claims(map[string]any{"pad": strings.Repeat("x", i)})
		tok := rawToken(t, map[string]any{"alg": "HS256", "typ": "JWT"}, c, testSecret)
		if _, err := j.Authenticate(context.Background(), tok); err != nil {
			t.Fatalf("hand-built token refused: %v", err)
		}
		payload := strings.Split(tok, ".")[1]
		if len(payload)%4 == 0 {
			continue
		}
		head := strings.Split(tok, ".")[0]
		bad := payload[:len(payload)-1] + string(nextWithSameData(t, payload[len(payload)-1], len(payload)%4))
		forged := head + "." + bad + "." + hs256(head+"."+bad)
		_, err := j.Authenticate(context.Background(), forged)
		assertRejected(t, err, forged)
		return
	}
	t.Fatal("no payload length with unused bits")
}
