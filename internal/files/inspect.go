// Package files checks the files users upload before they are stored: the
// type is decided from the content (never from the client's claim or the
// name), images are checked from their header against a pixel cap before
// anything decodes them, PDFs against a page cap, text must be UTF-8.
package files

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	_ "image/gif"  // registers GIF for DecodeConfig
	_ "image/jpeg" // registers JPEG
	_ "image/png"  // registers PNG
	"io"
	"net/http"
	"strings"
	"unicode/utf8"

	_ "golang.org/x/image/webp" // registers WebP
)

// Media types a file may be found to be.
const (
	PNG      = "image/png"
	JPEG     = "image/jpeg"
	GIF      = "image/gif"
	WebP     = "image/webp"
	PDF      = "application/pdf"
	Text     = "text/plain"
	Markdown = "text/markdown"
	CSV      = "text/csv"
)

// DefaultTypes are the types accepted unless configured otherwise.
var DefaultTypes = []string{PNG, JPEG, GIF, WebP, PDF, Text, Markdown, CSV}

// Limits bound what Inspect accepts.
type Limits struct {
	Types     []string // accepted media types
	MaxPixels int64    // width × height of an image
	MaxPages  int      // pages of a PDF
}

// Refusal says why a file is refused; Code is stable ("type_not_allowed",
// "invalid_file", "too_many_pixels", "too_many_pages").
type Refusal struct {
	Code    string
	Message string
}

func (r *Refusal) Error() string { return r.Code + ": " + r.Message }

func refuse(code, format string, args ...any) *Refusal {
	return &Refusal{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Inspect decides the media type of the size bytes of r (read from its
// start) by their content and checks them against lim. name only chooses
// between the text types (a .md or .csv name); it never makes a file
// text. The error is a *Refusal for a file that is refused, another
// error when r cannot be read.
func Inspect(r io.ReaderAt, size int64, name string, lim Limits) (string, error) {
	head := make([]byte, min(size, 512))
	if _, err := r.ReadAt(head, 0); err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	sniffed := http.DetectContentType(head)
	mediaType, _, _ := strings.Cut(sniffed, ";")
	var err error
	switch mediaType {
	case PNG, JPEG, GIF, WebP:
		err = checkImage(io.NewSectionReader(r, 0, size), lim.MaxPixels)
	case PDF:
		err = checkPDF(io.NewSectionReader(r, 0, size), lim.MaxPages)
	case Text:
		if isMarkup(head) {
			return "", refuse("type_not_allowed", "markup documents (SVG, XML, HTML) are not accepted")
		}
		mediaType, err = textType(name), checkText(io.NewSectionReader(r, 0, size))
	default:
		return "", refuse("type_not_allowed", "files of this kind (%s) are not accepted", mediaType)
	}
	if err != nil {
		return "", err
	}
	for _, t := range lim.Types {
		if t == mediaType {
			return mediaType, nil
		}
	}
	return "", refuse("type_not_allowed", "files of type %s are not accepted", mediaType)
}

// checkImage reads only the image's header: a file of a few bytes may
// declare billions of pixels, and decoding it would take that much memory.
func checkImage(r io.Reader, maxPixels int64) error {
	cfg, _, err := image.DecodeConfig(r)
	if err != nil {
		return refuse("invalid_file", "the image cannot be read")
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return refuse("invalid_file", "the image has no pixels")
	}
	if px := int64(cfg.Width) * int64(cfg.Height); maxPixels > 0 && px > maxPixels {
		return refuse("too_many_pixels", "the image is %d×%d pixels; at most %d pixels are accepted", cfg.Width, cfg.Height, maxPixels)
	}
	return nil
}

// readSize is the size of each read of an upload being checked.
const readSize = 64 << 10

// pdfWindow is how much of one read is looked at again with the next: more
// than a page marker with its spaces.
const pdfWindow = 32

// checkPDF counts the page objects ("/Type /Page", not "/Pages") of a PDF
// in one pass; a file whose pages cannot be found is refused.
func checkPDF(r io.Reader, maxPages int) error {
	pages := 0
	// buf starts with the end of the previous read (window bytes), so a
	// marker cut by a read boundary is still found; the read goes after it.
	buf := make([]byte, pdfWindow+readSize)
	window := 0
	for {
		n, err := r.Read(buf[window : window+readSize])
		chunk := buf[:window+n]
		pages += countPages(chunk, window)
		window = copy(buf, chunk[len(chunk)-min(len(chunk), pdfWindow):])
		if maxPages > 0 && pages > maxPages {
			return refuse("too_many_pages", "the PDF has more than %d pages", maxPages)
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
	}
	if pages == 0 {
		return refuse("invalid_file", "the PDF has no pages that can be found")
	}
	return nil
}

// countPages counts "/Type /Page" (with optional spaces, not /Pages)
// that end after skip bytes of b (the ones before were counted already).
func countPages(b []byte, skip int) int {
	n := 0
	for i := 0; ; {
		j := bytes.Index(b[i:], []byte("/Type"))
		if j < 0 {
			return n
		}
		k := i + j + len("/Type")
		for k < len(b) && (b[k] == ' ' || b[k] == '\r' || b[k] == '\n' || b[k] == '\t') {
			k++
		}
		if bytes.HasPrefix(b[k:], []byte("/Page")) {
			end := k + len("/Page")
			if end < len(b) && b[end] != 's' && end > skip {
				n++
			}
		}
		i = i + j + 1
	}
}

// checkText accepts UTF-8 text without NUL bytes.
func checkText(r io.Reader) error {
	// buf starts with the incomplete rune the previous read ended with
	// (carry bytes); the read goes after it.
	buf := make([]byte, utf8.UTFMax+readSize)
	carry := 0
	for {
		n, err := r.Read(buf[carry : carry+readSize])
		chunk := buf[:carry+n]
		cut := len(chunk) - incompleteTail(chunk)
		if errors.Is(err, io.EOF) {
			cut = len(chunk)
		}
		if !utf8.Valid(chunk[:cut]) || bytes.IndexByte(chunk[:cut], 0) >= 0 {
			return refuse("invalid_file", "the text is not UTF-8")
		}
		carry = copy(buf, chunk[cut:])
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// incompleteTail is how many bytes at the end of b begin a character that
// the next read completes (0 when b ends with a whole one, or with bytes
// that no character can complete, which validation then refuses).
func incompleteTail(b []byte) int {
	for i := 1; i < utf8.UTFMax && i <= len(b); i++ {
		if utf8.RuneStart(b[len(b)-i]) {
			if utf8.FullRune(b[len(b)-i:]) {
				return 0
			}
			return i
		}
	}
	return 0
}

func textType(name string) string {
	lower := strings.ToLower(name)
	switch {
	case strings.HasSuffix(lower, ".md"), strings.HasSuffix(lower, ".markdown"):
		return Markdown
	case strings.HasSuffix(lower, ".csv"):
		return CSV
	}
	return Text
}

// isMarkup reports text that is an SVG, XML or HTML document, which
// content sniffing may take for plain text (an <svg> element without an
// XML declaration is): such a file could run script if a browser ever
// rendered it.
func isMarkup(head []byte) bool {
	t := bytes.ToLower(bytes.TrimLeft(head, " \t\r\n\ufeff"))
	t = bytes.TrimPrefix(t, []byte("\xef\xbb\xbf"))
	for _, p := range []string{"<svg", "<?xml", "<!doctype", "<html", "<!--"} {
		if bytes.HasPrefix(t, []byte(p)) {
			return true
		}
	}
	return false
}
