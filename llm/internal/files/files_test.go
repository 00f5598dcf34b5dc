package files

import (
	"strings"
	"testing"

	"github.com/chatboxsdk/chatbox/llm"
)

func TestSetMatchesTypesAndPatterns(t *testing.T) {
	s := NewSet([]string{"IMAGE/*", "application/pdf; x=y", "bogus", "text/", "/x", "a/b/c"})
	for mt, want := range map[string]bool{
		"image/png": true, "image/webp": true, "application/pdf": true,
		"text/plain": false, "bogus": false, "application/json": false, "imagex/png": false,
	} {
		if got := s.Has(mt); got != want {
			t.Errorf("Has(%q) = %v, want %v", mt, got, want)
		}
	}
	if NewSet(nil).Has("text/plain") {
		t.Fatal("an empty set has text/plain")
	}
}

func TestValidate(t *testing.T) {
	can := func(mt string) bool { return IsImage(mt) || IsText(mt) }
	known := append(Images, "text/plain")
	if err := Validate("p", []string{"image/*", "TEXT/*", "text/x-go", "image/png"}, can, known); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"application/pdf", "audio/*", "png", "image/", "*/*"} {
		err := Validate("p", []string{"image/png", bad}, can, known)
		if err == nil || !strings.HasPrefix(err.Error(), "p: ") || !strings.Contains(err.Error(), bad) {
			t.Errorf("Validate(%q) = %v", bad, err)
		}
	}
}

func TestDataURL(t *testing.T) {
	if got := DataURL("image/png", []byte{0x89, 'P', 'N', 'G', 0xff}); got != "data:image/png;base64,iVBOR/8=" {
		t.Fatal(got)
	}
}

func file(name, mt, data string) llm.Part {
	return llm.Part{Kind: llm.PartFile, File: &llm.File{Name: name, MediaType: mt, Data: []byte(data)}}
}

func TestTextInlinesTextFilesApart(t *testing.T) {
	m := llm.Message{Role: llm.RoleUser, Parts: []llm.Part{
		{Kind: llm.PartText, Text: "Read "},
		{Kind: llm.PartText, Text: "these."},
		file("a.txt", "text/plain", "A"),
		file("b.png", "image/png", "PNG"),
		file("c.csv", "text/csv", "1,2\n"),
		{Kind: llm.PartFile},
		{Kind: llm.PartText, Text: ""},
		{Kind: llm.PartText, Text: "Thanks."},
	}}
	want := "Read these.\n\n--- a.txt (text/plain) ---\nA\n--- end of a.txt ---\n\n--- c.csv (text/csv) ---\n1,2\n--- end of c.csv ---\n\nThanks."
	if got := Text(m); got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	if !HasBinary(m) {
		t.Fatal("HasBinary misses the image")
	}
	only := llm.Message{Parts: []llm.Part{file("a.md", "text/markdown", "# A")}}
	if got := Text(only); got != "--- a.md (text/markdown) ---\n# A\n--- end of a.md ---" {
		t.Fatalf("%q", got)
	}
	if HasBinary(only) {
		t.Fatal("a text file counted as binary")
	}
	if got := Text(llm.Message{Text: "plain"}); got != "plain" {
		t.Fatalf("%q", got)
	}
}
