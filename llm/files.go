package llm

import (
	"fmt"
	"path"
	"reflect"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// FileSupport is implemented by a Provider that can send file parts
// (PartFile) to its model and says which kinds. Its Stream refuses a
// request holding a file it does not accept with the *Error CheckFiles
// returns, before anything is sent.
//
// A Provider that does not implement FileSupport is taken to accept text
// files (text/*) only, which it is expected to read as text (InlineFile
// and FileText give their content): AcceptsFile and CheckFiles refuse
// every other file for it, so that a server calling CheckFiles first
// never hands it an image or a PDF it would drop or choke on.
type FileSupport interface {
	// AcceptsFile reports whether files of the media type can be sent
	// to the model. It is given the media type in lower case, without
	// parameters ("image/png", "text/plain"), and must be safe for
	// concurrent use.
	AcceptsFile(mediaType string) bool
}

// FileTypeError is the cause (Error.Err) of the error CheckFiles returns
// for a file that the provider does not accept. Its fields come from the
// request, so the server may tell the user which file was refused.
type FileTypeError struct {
	// Name is the file's name, as the request holds it.
	Name string
	// MediaType is its media type, in lower case and without parameters.
	MediaType string
}

func (e *FileTypeError) Error() string {
	return fmt.Sprintf("file %q: files of type %q are not accepted by this model", e.Name, e.MediaType)
}

// AcceptsFile reports whether p accepts files of the media type: what p
// says when it implements FileSupport, else whether the type is text/*.
// Parameters of the media type ("; charset=utf-8") and its case do not
// matter.
//
// The wrappers of this package (WithRetry, WithModel, Model.Bind,
// Fallback) accept what the provider they wrap accepts; a Fallback chain
// accepts a type only when every provider of the chain does, since any of
// them may end up answering.
func AcceptsFile(p Provider, mediaType string) bool {
	return refuser(p, baseMediaType(mediaType)) == nil
}

// CheckFiles returns an *Error of KindInvalidRequest, its Err a
// *FileTypeError, for the first file of req (in message order) whose media
// type p does not accept (see AcceptsFile), or nil when p accepts them
// all. A file part without a File is refused too, with a plain cause. The
// Error's Provider names the package of the provider that refused.
//
// A server calls it before starting a reply, to refuse an attachment
// without calling the provider; providers that implement FileSupport call
// it first thing in Stream, so a request that was not checked fails the
// same way with nothing sent.
func CheckFiles(p Provider, req Request) error {
	for _, m := range req.Messages {
		for _, part := range m.Parts {
			if part.Kind != PartFile {
				continue
			}
			if part.File == nil {
				return &Error{Kind: KindInvalidRequest, Provider: providerName(p), Err: fmt.Errorf("a file part of a %s turn has no file", m.Role)}
			}
			mt := baseMediaType(part.File.MediaType)
			if r := refuser(p, mt); r != nil {
				return &Error{Kind: KindInvalidRequest, Provider: providerName(r), Err: &FileTypeError{Name: part.File.Name, MediaType: mt}}
			}
		}
	}
	return nil
}

// refuser returns the provider, p or one that p wraps, that refuses files
// of the media type mt (already normalised), or nil when p accepts them.
func refuser(p Provider, mt string) Provider {
	switch w := p.(type) {
	case boundModel:
		return refuser(w.m.Provider, mt)
	case modelBound:
		return refuser(w.p, mt)
	case *retrying:
		return refuser(w.p, mt)
	case *fallback:
		for _, q := range w.providers {
			if r := refuser(q, mt); r != nil {
				return r
			}
		}
		return nil
	case FileSupport:
		if w.AcceptsFile(mt) {
			return nil
		}
		return p
	}
	if strings.HasPrefix(mt, "text/") {
		return nil
	}
	return p
}

// providerName names p for Error.Provider: the last element of the path
// of the package that declares its type ("openai" for *openai.Provider),
// or "unknown" for a type without one.
func providerName(p Provider) string {
	t := reflect.TypeOf(p)
	if t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.PkgPath() == "" {
		return "unknown"
	}
	return path.Base(t.PkgPath())
}

// baseMediaType returns a media type without its parameters, in lower case.
func baseMediaType(mt string) string {
	mt, _, _ = strings.Cut(mt, ";")
	return strings.ToLower(strings.TrimSpace(mt))
}

// MaxFileTextBytes is how much of a text file FileText and InlineFile
// keep: 100 KiB.
const MaxFileTextBytes = 100 << 10

// FileText returns the content of a text file as valid UTF-8 (invalid
// bytes become U+FFFD), cut to at most MaxFileTextBytes of its content at
// a character boundary; cut reports that the content was longer.
func FileText(f *File) (text string, cut bool) {
	text, kept := fileText(f)
	return text, kept < len(f.Data)
}

// fileText returns FileText's text and how many bytes of f.Data it holds.
func fileText(f *File) (string, int) {
	n := len(f.Data)
	if n > MaxFileTextBytes {
		n = MaxFileTextBytes
		for n > MaxFileTextBytes-utf8.UTFMax && !utf8.RuneStart(f.Data[n]) {
			n--
		}
	}
	return strings.ToValidUTF8(string(f.Data[:n]), "\uFFFD"), n
}

// InlineFile returns a text file as text for a prompt: a line that names
// it, its content (FileText) and a closing line; when the content was
// cut, a note before the closing line says how much of it is shown. It is
// how the providers of this module send text files that their API has no
// slot for:
//
//	--- notes.txt (text/plain) ---
//	the content
//	--- end of notes.txt ---
//
// Control characters in the name become spaces, so a name cannot break
// the framing.
func InlineFile(f *File) string {
	name := strings.TrimSpace(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, f.Name))
	if name == "" {
		name = "unnamed file"
	}
	text, kept := fileText(f)
	var b strings.Builder
	b.Grow(len(text) + 2*len(name) + 96)
	b.WriteString("--- " + name + " (" + baseMediaType(f.MediaType) + ") ---\n")
	b.WriteString(text)
	if text != "" && !strings.HasSuffix(text, "\n") {
		b.WriteByte('\n')
	}
	if kept < len(f.Data) {
		b.WriteString("[cut: only the first " + strconv.Itoa(kept) + " of " + strconv.Itoa(len(f.Data)) + " bytes are shown]\n")
	}
	b.WriteString("--- end of " + name + " ---")
	return b.String()
}
