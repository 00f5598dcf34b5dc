package scripted_test

import (
	"slices"
	"strings"
	"testing"
	"unicode"

	"github.com/chatboxsdk/chatbox/llm/scripted"
)

func TestWordsSplitsBeforeEachWord(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"Hello, world!", []string{"Hello,", " world!"}},
		{"  leading space", []string{"  leading", " space"}},
		{"trailing  ", []string{"trailing", "  "}},
		{"   ", []string{"   "}},
		{"two\nlines\tand tabs", []string{"two", "\nlines", "\tand", " tabs"}},
		{"ünïcödé 🙂 text", []string{"ünïcödé", " 🙂", " text"}},
	} {
		if got := scripted.Words(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("Words(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func FuzzWordsRoundTrip(f *testing.F) {
	for _, s := range []string{"", "a", " a b ", "x\n\ny", "\xff bad utf8", "ünï cödé"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		words := scripted.Words(s)
		if got := strings.Join(words, ""); got != s {
			t.Fatalf("Join(Words(%q)) = %q", s, got)
		}
		for i, w := range words {
			// Each piece is white space then one word; only the last may
			// be white space alone.
			body := strings.TrimLeftFunc(w, unicode.IsSpace)
			if body == "" && i != len(words)-1 {
				t.Fatalf("piece %d of %q is only white space", i, w)
			}
			if strings.ContainsFunc(body, unicode.IsSpace) {
				t.Fatalf("piece %d %q holds more than one word", i, w)
			}
		}
	})
}
