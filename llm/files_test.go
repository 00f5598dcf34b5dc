package llm_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/chatboxsdk/chatbox/llm"
	"github.com/chatboxsdk/chatbox/llm/scripted"
)

// plain is a Provider that does not implement llm.FileSupport.
type plain struct{}

func (plain) Stream(context.Context, llm.Request) (llm.Stream, error) {
	return nil, errors.New("not called")
}

// picky accepts the media types it lists, and records what it was asked.
type picky struct {
	types map[string]bool
	asked *[]string
}

func (picky) Stream(context.Context, llm.Request) (llm.Stream, error) {
	return nil, errors.New("not called")
}

func (p picky) AcceptsFile(mt string) bool {
	*p.asked = append(*p.asked, mt)
	return p.types[mt]
}

func withFiles(types ...string) llm.Request {
	parts := []llm.Part{{Kind: llm.PartText, Text: "look"}}
	for i, mt := range types {
		parts = append(parts, llm.Part{Kind: llm.PartFile, File: &llm.File{Name: "f" + string(rune('0'+i)), MediaType: mt, Data: []byte("x")}})
	}
	return llm.Request{Messages: []llm.Message{
		{Role: llm.RoleUser, Text: "an earlier turn"},
		{Role: llm.RoleAssistant, Text: "an answer"},
		{Role: llm.RoleUser, Parts: parts},
	}}
}

// fileTypeError checks that err is the refusal of the file named name of
// media type mt, by provider.
func fileTypeError(t *testing.T, err error, provider, name, mt string) {
	t.Helper()
	var e *llm.Error
	var fe *llm.FileTypeError
	switch {
	case !errors.As(err, &e):
		t.Fatalf("%v holds no *llm.Error", err)
	case e.Kind != llm.KindInvalidRequest || e.Provider != provider:
		t.Fatalf("kind %q from %q, want %q from %q (%v)", e.Kind, e.Provider, llm.KindInvalidRequest, provider, err)
	case !errors.As(err, &fe):
		t.Fatalf("%v holds no *llm.FileTypeError", err)
	case fe.Name != name || fe.MediaType != mt:
		t.Fatalf("refused %q of type %q, want %q of type %q", fe.Name, fe.MediaType, name, mt)
	}
}

func TestWithoutFileSupportOnlyTextFilesAreAccepted(t *testing.T) {
	for mt, want := range map[string]bool{
		"text/plain": true, "text/markdown": true, "Text/CSV; charset=utf-8": true,
		"image/png": false, "application/pdf": false, "": false, "textual/plain": false,
	} {
		if got := llm.AcceptsFile(plain{}, mt); got != want {
			t.Errorf("AcceptsFile(%q) = %v, want %v", mt, got, want)
		}
	}
	if err := llm.CheckFiles(plain{}, withFiles("text/plain", "text/csv")); err != nil {
		t.Fatal(err)
	}
	fileTypeError(t, llm.CheckFiles(plain{}, withFiles("text/plain", "image/png", "application/pdf")), "llm_test", "f1", "image/png")
}

func TestCheckFilesAsksWithTheBareMediaTypeAndNamesTheFirstRefused(t *testing.T) {
	var asked []string
	p := picky{types: map[string]bool{"image/png": true, "text/plain": true}, asked: &asked}
	if err := llm.CheckFiles(p, withFiles("IMAGE/PNG", "text/plain; charset=utf-8")); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(asked, ","); got != "image/png,text/plain" {
		t.Fatalf("asked about %s", got)
	}
	err := llm.CheckFiles(p, withFiles("image/png", "application/pdf", "image/gif"))
	fileTypeError(t, err, "llm_test", "f1", "application/pdf")
	if !strings.Contains(err.Error(), `"application/pdf"`) || !strings.Contains(err.Error(), `"f1"`) {
		t.Fatalf("the message %q names neither the file nor its type", err)
	}
	// A request without files is not asked about.
	asked = nil
	if err := llm.CheckFiles(p, withFiles()); err != nil || len(asked) != 0 {
		t.Fatalf("%v, asked %v", err, asked)
	}
}

func TestCheckFilesRefusesAFilePartWithoutAFile(t *testing.T) {
	req := withFiles()
	req.Messages[2].Parts = append(req.Messages[2].Parts, llm.Part{Kind: llm.PartFile})
	err := llm.CheckFiles(scripted.New(), req)
	var fe *llm.FileTypeError
	if llm.KindOf(err) != llm.KindInvalidRequest || errors.As(err, &fe) {
		t.Fatalf("%v", err)
	}
}

func TestWrappersAcceptWhatTheyWrap(t *testing.T) {
	pdfless := scripted.New(scripted.WithFileTypes("image/*", "text/*"))
	every := scripted.New()
	m := &llm.Model{ID: "m", Provider: pdfless}
	for name, p := range map[string]llm.Provider{
		"WithRetry": llm.WithRetry(pdfless, llm.RetryPolicy{}),
		"WithModel": llm.WithModel(llm.WithRetry(pdfless, llm.RetryPolicy{}), "x"),
		"Bind":      m.Bind(),
		"Fallback":  llm.Fallback(every, pdfless),
	} {
		t.Run(name, func(t *testing.T) {
			if !llm.AcceptsFile(p, "image/webp") || llm.AcceptsFile(p, "application/pdf") {
				t.Fatal("the wrapper does not accept what the provider it wraps accepts")
			}
			fileTypeError(t, llm.CheckFiles(p, withFiles("image/webp", "application/pdf")), "scripted", "f1", "application/pdf")
		})
	}
	if !llm.AcceptsFile(llm.Fallback(every, every), "application/pdf") {
		t.Fatal("a chain of providers that all accept PDFs refuses them")
	}
	if llm.AcceptsFile(llm.Fallback(every, plain{}), "image/png") {
		t.Fatal("a chain accepts images that one of its providers refuses")
	}
}

func TestFileTextCutsAtACharacterBoundary(t *testing.T) {
	short := &llm.File{Name: "a.txt", MediaType: "text/plain", Data: []byte("ok \xff bytes")}
	if text, cut := llm.FileText(short); cut || text != "ok \uFFFD bytes" {
		t.Fatalf("%q, %v", text, cut)
	}
	// "é" is two bytes: the limit falls inside the last one.
	long := &llm.File{Name: "b.txt", MediaType: "text/plain", Data: []byte(strings.Repeat("a", llm.MaxFileTextBytes-1) + "éé")}
	text, cut := llm.FileText(long)
	if !cut || len(text) != llm.MaxFileTextBytes-1 || !utf8.ValidString(text) {
		t.Fatalf("cut %v, %d bytes, valid %v", cut, len(text), utf8.ValidString(text))
	}
	exact := &llm.File{Data: []byte(strings.Repeat("a", llm.MaxFileTextBytes))}
	if text, cut := llm.FileText(exact); cut || len(text) != llm.MaxFileTextBytes {
		t.Fatalf("a file of exactly the limit: cut %v, %d bytes", cut, len(text))
	}
}

func TestInlineFileFramesTheContent(t *testing.T) {
	for _, c := range []struct {
		f    llm.File
		want string
	}{
		{llm.File{Name: "notes.txt", MediaType: "text/plain; charset=utf-8", Data: []byte("line 1\nline 2\n")},
			"--- notes.txt (text/plain) ---\nline 1\nline 2\n--- end of notes.txt ---"},
		{llm.File{Name: "a\nb.md", MediaType: "text/markdown", Data: []byte("# T")},
			"--- a b.md (text/markdown) ---\n# T\n--- end of a b.md ---"},
		{llm.File{MediaType: "text/csv"},
			"--- unnamed file (text/csv) ---\n--- end of unnamed file ---"},
	} {
		if got := llm.InlineFile(&c.f); got != c.want {
			t.Errorf("InlineFile(%+v) =\n%s\nwant\n%s", c.f, got, c.want)
		}
	}
	long := &llm.File{Name: "big.log", MediaType: "text/plain", Data: []byte(strings.Repeat("z", llm.MaxFileTextBytes+10))}
	got := llm.InlineFile(long)
	note := "\n[cut: only the first 102400 of 102410 bytes are shown]\n--- end of big.log ---"
	if !strings.HasSuffix(got, note) || strings.Count(got, "z") != llm.MaxFileTextBytes {
		t.Fatalf("ends with %q", got[len(got)-100:])
	}
}
