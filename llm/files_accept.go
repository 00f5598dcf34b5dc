package llm

import "strings"

// AcceptsFile reports whether p reads files of mediaType: through its
// AcceptsFile method when it has one (see FileSupport), otherwise text
// files only, which every provider can be given as text.
func AcceptsFile(p Provider, mediaType string) bool {
	if fs, ok := p.(interface{ AcceptsFile(string) bool }); ok {
		return fs.AcceptsFile(mediaType)
	}
	return strings.HasPrefix(mediaType, "text/")
}
