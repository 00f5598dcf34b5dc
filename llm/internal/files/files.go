// Package files holds what the providers share to send file parts: media
// type sets for their WithFileTypes options, data URLs, and the text of a
// turn with its text files inlined.
package files

import (
	"encoding/base64"
	"fmt"
	"slices"
	"strings"

	"github.com/chatboxsdk/chatbox/llm"
)

// PDF is the media type of PDF documents.
const PDF = "application/pdf"

// Images are the image types every provider of this module with images
// can send.
var Images = []string{"image/png", "image/jpeg", "image/gif", "image/webp"}

// Base returns mt without its parameters, in lower case.
func Base(mt string) string {
	mt, _, _ = strings.Cut(mt, ";")
	return strings.ToLower(strings.TrimSpace(mt))
}

// IsImage reports whether mt (normalised by Base) is one of Images.
func IsImage(mt string) bool { return slices.Contains(Images, mt) }

// Sendable reports whether mt (normalised by Base) is a type the hosted
// providers take: an image of Images, PDF or text.
func Sendable(mt string) bool { return IsImage(mt) || mt == PDF || IsText(mt) }

// IsText reports whether mt (normalised by Base) is a text type.
func IsText(mt string) bool { return strings.HasPrefix(mt, "text/") }

// DataURL returns data as a base64 data URL of media type mt.
func DataURL(mt string, data []byte) string {
	return "data:" + mt + ";base64," + base64.StdEncoding.EncodeToString(data)
}

// Set is a set of media types, each given exactly ("image/png") or by a
// pattern of its top-level type ("image/*").
type Set struct {
	exact    map[string]bool
	prefixes []string // "image/" for "image/*"
}

// NewSet returns the set of types, compared without case and parameters.
// An entry that is not a media type ("type/subtype" or "type/*") matches
// nothing; Validate reports it.
func NewSet(types []string) Set {
	s := Set{exact: map[string]bool{}}
	for _, t := range types {
		t = Base(t)
		switch top, sub, ok := strings.Cut(t, "/"); {
		case !ok || top == "" || sub == "" || strings.ContainsAny(sub, "/ "):
		case sub == "*":
			s.prefixes = append(s.prefixes, top+"/")
		default:
			s.exact[t] = true
		}
	}
	return s
}

// Has reports whether mt (normalised by Base) is in the set.
func (s Set) Has(mt string) bool {
	if s.exact[mt] {
		return true
	}
	for _, p := range s.prefixes {
		if strings.HasPrefix(mt, p) {
			return true
		}
	}
	return false
}

// Validate checks the entries given to a WithFileTypes option of the
// provider pkg, which sends the types for which can reports true; known
// lists examples of them, one at least of each top-level type it sends. An
// entry must be a media type or a pattern, and name something the provider
// can send.
func Validate(pkg string, types []string, can func(mt string) bool, known []string) error {
	for _, t := range types {
		b := Base(t)
		top, sub, ok := strings.Cut(b, "/")
		if !ok || top == "" || sub == "" || strings.ContainsAny(sub, "/ ") {
			return fmt.Errorf("%s: file type %q is neither a media type (image/png) nor a pattern (image/*)", pkg, t)
		}
		if sub != "*" {
			if !can(b) {
				return fmt.Errorf("%s: this provider cannot send files of type %q", pkg, t)
			}
			continue
		}
		found := false
		for _, k := range known {
			found = found || strings.HasPrefix(k, top+"/")
		}
		if !found {
			return fmt.Errorf("%s: this provider cannot send files of type %q", pkg, t)
		}
	}
	return nil
}

// Text returns the text of a turn with its text files inlined: its text
// parts joined as llm.MessageText joins them, and each file part whose
// media type is text/* as llm.InlineFile writes it, set apart from what
// is around it by a blank line. Other parts, other files included, are
// left out.
func Text(m llm.Message) string {
	if len(m.Parts) == 0 {
		return m.Text
	}
	var b strings.Builder
	apart := false // the next text must be set apart by a blank line
	for _, p := range m.Parts {
		var s string
		switch {
		case p.Kind == llm.PartText:
			s = p.Text
		case p.Kind == llm.PartFile && p.File != nil && IsText(Base(p.File.MediaType)):
			s = llm.InlineFile(p.File)
			apart = b.Len() > 0
		default:
			continue
		}
		if s == "" {
			continue
		}
		if apart {
			b.WriteString("\n\n")
		}
		b.WriteString(s)
		apart = p.Kind == llm.PartFile
	}
	return b.String()
}

// HasBinary reports whether m has a file part that is not a text file.
func HasBinary(m llm.Message) bool {
	for _, p := range m.Parts {
		if p.Kind == llm.PartFile && p.File != nil && !IsText(Base(p.File.MediaType)) {
			return true
		}
	}
	return false
}
