package files_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/png"
	"strings"
	"testing"

	"github.com/chatboxsdk/chatbox/internal/files"
)

var lim = files.Limits{Types: files.DefaultTypes, MaxPixels: 40_000_000, MaxPages: 100}

func inspect(b []byte, name string) (string, error) {
	return files.Inspect(bytes.NewReader(b), int64(len(b)), name, lim)
}

func pngOf(w, h int) []byte {
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewGray(image.Rect(0, 0, w, h))); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// bomb is a valid PNG header declaring width×height pixels, with a few
// bytes of data: small to upload, enormous to decode.
func bomb(width, height uint32) []byte {
	b := pngOf(1, 1)
	ihdr := b[8+8 : 8+8+13] // after the signature and the chunk's length and type
	binary.BigEndian.PutUint32(ihdr[0:4], width)
	binary.BigEndian.PutUint32(ihdr[4:8], height)
	crc := crc32.ChecksumIEEE(b[8+4 : 8+8+13])
	binary.BigEndian.PutUint32(b[8+8+13:], crc)
	return b
}

func pdfOf(pages int) []byte {
	var b strings.Builder
	b.WriteString("%PDF-1.4\n1 0 obj << /Type /Pages /Count ")
	b.WriteString(strings.Repeat("1", 1))
	b.WriteString(" >> endobj\n")
	for i := range pages {
		b.WriteString("obj << /Type /Page /Parent 1 0 R >> endobj % ")
		b.WriteString(strings.Repeat("x", i%50))
		b.WriteString("\n")
	}
	b.WriteString("%%EOF\n")
	return []byte(b.String())
}

func refusal(t *testing.T, err error) string {
	t.Helper()
	var r *files.Refusal
	if !errors.As(err, &r) {
		t.Fatalf("error %v is not a refusal", err)
	}
	return r.Code
}

func TestInspectDecidesTheTypeFromTheContent(t *testing.T) {
	cases := []struct {
		name, file string
		data       []byte
		want       string
	}{
		{"png", "x.jpg", pngOf(20, 10), files.PNG}, // the name does not matter
		{"pdf", "doc.pdf", pdfOf(3), files.PDF},
		{"text", "notes.txt", []byte("hello, wörld\n"), files.Text},
		{"markdown by name", "README.md", []byte("# Title\n"), files.Markdown},
		{"csv by name", "a.csv", []byte("a,b\n1,2\n"), files.CSV},
	}
	for _, c := range cases {
		got, err := inspect(c.data, c.file)
		if err != nil || got != c.want {
			t.Errorf("%s: %q, %v; want %s", c.name, got, err, c.want)
		}
	}
}

func TestInspectRefusesSpoofedAndDangerousFiles(t *testing.T) {
	html := append(append([]byte{}, pngOf(1, 1)[:16]...), []byte("<html><script>alert(1)</script></html>")...)
	cases := []struct {
		name string
		data []byte
		file string
		code string
	}{
		{"a PNG header on an HTML file", html, "x.png", "invalid_file"},
		{"HTML", []byte("<!DOCTYPE html><html><script>alert(1)</script>"), "x.txt", "type_not_allowed"},
		{"SVG with script", []byte(`<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`), "x.svg", "type_not_allowed"},
		{"a decompression bomb", bomb(100_000, 100_000), "bomb.png", "too_many_pixels"},
		{"a PDF over the page cap", pdfOf(101), "long.pdf", "too_many_pages"},
		{"a PDF without pages", []byte("%PDF-1.4\n%%EOF\n"), "empty.pdf", "invalid_file"},
		{"SVG without a declaration", []byte(`  <svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>`), "x.txt", "type_not_allowed"},
		{"binary", []byte{0, 1, 2, 3, 0, 0, 5}, "x.bin", "type_not_allowed"},
		{"invalid UTF-8", []byte("caf\xe9 au lait"), "x.txt", "invalid_file"},
		{"a zip", []byte("PK\x03\x04rest of a zip"), "x.zip", "type_not_allowed"},
	}
	for _, c := range cases {
		if _, err := inspect(c.data, c.file); err == nil || refusal(t, err) != c.code {
			t.Errorf("%s: %v, want %s", c.name, err, c.code)
		}
	}
	if len(bomb(100_000, 100_000)) > 100 {
		t.Fatal("the bomb is not small")
	}
}

func TestInspectCountsPagesAcrossReads(t *testing.T) {
	// 100 pages in a file larger than one read: the cap holds exactly.
	big := pdfOf(100)
	pad := bytes.Repeat([]byte("% padding\n"), 20_000)
	data := append(append(append([]byte{}, big[:len(big)/2]...), pad...), big[len(big)/2:]...)
	if _, err := inspect(data, "p.pdf"); err != nil {
		t.Fatalf("100 pages: %v", err)
	}
}

func TestInspectHonoursTheAllowedTypes(t *testing.T) {
	only := files.Limits{Types: []string{files.PNG}, MaxPixels: 1000}
	if _, err := files.Inspect(bytes.NewReader(pdfOf(1)), int64(len(pdfOf(1))), "a.pdf", only); err == nil || refusal(t, err) != "type_not_allowed" {
		t.Fatalf("a PDF where only PNG is allowed: %v", err)
	}
}

// Text longer than one read, whose reads end right after a complete
// multi-byte character (or inside one), is accepted: a read's end is not
// mistaken for a cut character.
func TestLongTextOfMultiByteCharactersIsAccepted(t *testing.T) {
	for _, unit := range []string{"é", "✓", "😀", "aé", "a✓"} {
		text := []byte(strings.Repeat(unit, 200_000/len(unit)))
		if mt, err := inspect(text, "notes.txt"); err != nil || !strings.HasPrefix(mt, "text/plain") {
			t.Errorf("%d bytes of %q: %q, %v", len(text), unit, mt, err)
		}
	}
	bad := append([]byte(strings.Repeat("é", 40_000)), 0xC3) // ends inside a character
	if _, err := inspect(append(bad, []byte(strings.Repeat("é", 40_000))...), "bad.txt"); err == nil {
		t.Error("text with a cut character was accepted")
	}
}
