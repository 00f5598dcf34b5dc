package scripted

import (
	"unicode"
	"unicode/utf8"
)

// Words splits text into word-sized deltas the way models tend to stream
// them: each piece is the white space before a word plus the word, so
// Words("Hello, world!") is ["Hello," " world!"]. White space at the end
// forms a last piece of its own. Joining the pieces gives text back
// exactly; Words("") is nil.
func Words(text string) []string {
	var out []string
	start, inWord := 0, false
	for i, r := range text {
		space := unicode.IsSpace(r)
		if space && inWord { // a word ended: its piece runs up to here
			out = append(out, text[start:i])
			start = i
		}
		inWord = !space
	}
	if start < len(text) {
		out = append(out, text[start:])
	}
	return out
}

// wordCount counts the runs of non-space characters in text.
func wordCount(text string) int {
	n, inWord := 0, false
	for len(text) > 0 {
		r, size := utf8.DecodeRuneInString(text)
		text = text[size:]
		space := unicode.IsSpace(r)
		if !space && !inWord {
			n++
		}
		inWord = !space
	}
	return n
}
