package llmtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/chatboxsdk/chatbox/llm"
	"github.com/chatboxsdk/chatbox/llm/internal/files"
)

// The user turn of FileRequest: its text and its text file. The file's
// content holds non-ASCII text, quotes, a backslash and newlines, so that
// the wire encoding of inlined text is exercised.
const (
	FilePrompt      = "What do these files say?"
	TextFileName    = "notes ünïcödé.txt"
	TextFileType    = "text/plain; charset=utf-8"
	TextFileContent = "Order 1234: “delayed”.\nPath: C:\\orders\\1234\n\tend of notes\n"
)

// Received is what a provider's upstream received in one request, decoded
// from the provider's wire format by the provider's own test: the text of
// the request's user turns, and the files they carried as files of their
// own (the provider's native form), in order. A text file the provider
// inlines is part of Text; one it sends as a file is one of Files. Each
// file's MediaType is the one the wire names, Data its decoded bytes, and
// Name the name the wire carries (empty when it carries none, as for
// images on most APIs).
type Received struct {
	Text  string
	Files []llm.File
}

// ReceivedOf returns req as Received: the text parts of its user turns,
// one a line, and their file parts as files. It suits a provider whose
// upstream is an llm.Request, as a test double's record.
func ReceivedOf(req llm.Request) Received {
	var r Received
	var text []string
	for _, m := range req.Messages {
		if m.Role != llm.RoleUser {
			continue
		}
		if len(m.Parts) == 0 {
			text = append(text, m.Text)
		}
		for _, p := range m.Parts {
			switch {
			case p.Kind == llm.PartText:
				text = append(text, p.Text)
			case p.Kind == llm.PartFile && p.File != nil:
				r.Files = append(r.Files, *p.File)
			}
		}
	}
	r.Text = strings.Join(text, "\n")
	return r
}

// FilesFactory returns a provider whose every Stream call replies as the
// Reply scenario says, and a function that returns what the provider's
// upstream received so far, one Received per request, oldest first. It is
// called once per check, with that check's t.
type FilesFactory func(t *testing.T) (p llm.Provider, upstream func() []Received)

// FileRequest returns the request the file checks send: a system prompt
// and one user turn holding FilePrompt, then a PNG image (photo.png), a
// JPEG image (scan.jpg), a one-page PDF (report.pdf) and a text file
// (TextFileName, of type TextFileType, holding TextFileContent). The
// images and the PDF are real files of their types. Each call is new, so
// the caller may change it.
func FileRequest() llm.Request {
	f := testFiles()
	parts := []llm.Part{{Kind: llm.PartText, Text: FilePrompt}}
	for _, file := range f {
		file.Data = slices.Clone(file.Data)
		parts = append(parts, llm.Part{Kind: llm.PartFile, File: &file})
	}
	return llm.Request{
		System:         "You are the llmtest conformance fixture.",
		Messages:       []llm.Message{{Role: llm.RoleUser, Parts: parts}},
		User:           "llmtest-user",
		ConversationID: "llmtest-conversation",
	}
}

// testFiles are the files of FileRequest, made once.
var testFiles = sync.OnceValue(func() []llm.File {
	img := image.NewRGBA(image.Rect(0, 0, 4, 4))
	for i := range 16 {
		img.Set(i%4, i/4, color.RGBA{R: uint8(i * 16), G: 128, B: uint8(255 - i*16), A: 255})
	}
	var p, j bytes.Buffer
	if err := png.Encode(&p, img); err != nil {
		panic(err)
	}
	if err := jpeg.Encode(&j, img, nil); err != nil {
		panic(err)
	}
	return []llm.File{
		{Name: "photo.png", MediaType: "image/png", Data: p.Bytes()},
		{Name: "scan.jpg", MediaType: "image/jpeg", Data: j.Bytes()},
		{Name: "report.pdf", MediaType: "application/pdf", Data: onePagePDF("llmtest conformance PDF")},
		{Name: TextFileName, MediaType: TextFileType, Data: []byte(TextFileContent)},
	}
})

// onePagePDF returns a PDF of one page showing text (ASCII, without
// parentheses or backslashes), with a correct cross-reference table.
func onePagePDF(text string) []byte {
	content := "BT /F1 18 Tf 20 40 Td (" + text + ") Tj ET"
	objects := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 320 100] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
		fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(content), content),
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
	}
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n")
	offsets := make([]int, len(objects))
	for i, o := range objects {
		offsets[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objects)+1)
	for _, off := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objects)+1, xref)
	return b.Bytes()
}

// refusalCandidates are the media types the refusal check tries, in order,
// for one the provider does not accept.
var refusalCandidates = []string{
	"application/pdf", "image/png", "image/jpeg", "image/gif", "image/webp",
	"text/plain", "text/markdown", "text/csv", "application/zip",
}

// RunFiles runs the attachment checks against the providers newProvider
// makes, as subtests of "Files":
//
//   - AcceptedFilesReachTheUpstream sends FileRequest with the files the
//     provider accepts (llm.AcceptsFile), the others left out.
//     llm.CheckFiles must pass it and the reply must stream as the Reply
//     scenario says. Exactly one request must reach the upstream, holding
//     FilePrompt in its text and each image and PDF as a file of its own,
//     in order, with the media type and the bytes sent (and the name sent,
//     when the wire carries one); the text file is either inlined (its
//     name and TextFileContent in the text) or a file of its own, byte
//     for byte. No other file may arrive, and the request given to Stream
//     must be left as it was.
//   - RefusedTypeSendsNothing adds a file of a type the provider refuses
//     (the first of PDF, the images, text types and application/zip that
//     llm.AcceptsFile refuses; skipped when it refuses none) between the
//     accepted ones. llm.CheckFiles must return an *llm.Error of kind
//     llm.KindInvalidRequest naming its provider whose cause is the
//     *llm.FileTypeError of that file; Stream (or its first Recv) must fail
//     with the same kind and cause, and nothing may reach the upstream.
//
// Checking that each file arrives in the provider's wire format (a data
// URL, a base64 source, the media type field) is the work of the
// function the factory returns, which decodes it.
func RunFiles(t *testing.T, newProvider FilesFactory) {
	t.Run("Files", func(t *testing.T) {
		t.Run("AcceptedFilesReachTheUpstream", func(t *testing.T) { testAcceptedFiles(t, newProvider) })
		t.Run("RefusedTypeSendsNothing", func(t *testing.T) { testRefusedFile(t, newProvider) })
	})
}

// acceptedRequest returns FileRequest without the files p refuses.
func acceptedRequest(p llm.Provider) llm.Request {
	req := FileRequest()
	m := &req.Messages[0]
	m.Parts = slices.DeleteFunc(m.Parts, func(part llm.Part) bool {
		return part.Kind == llm.PartFile && !llm.AcceptsFile(p, part.File.MediaType)
	})
	return req
}

func testAcceptedFiles(t *testing.T, newProvider FilesFactory) {
	p, upstream := newProvider(t)
	req := acceptedRequest(p)
	if len(req.Messages[0].Parts) == 1 {
		t.Skip("the provider accepts none of FileRequest's files")
	}
	if err := llm.CheckFiles(p, req); err != nil {
		t.Fatalf("CheckFiles refused files the provider accepts: %v", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), patience)
	defer cancel()
	r, err := startRequest(p, ctx, cancel, req)
	switch {
	case err != nil:
		t.Fatal(err)
	case r.err != nil:
		t.Fatalf("Stream: %v", r.err)
	case r.s == nil:
		t.Fatal("Stream returned a nil stream and a nil error")
	}
	defer r.s.Close()
	tr, err := readAll(r.s, cancel)
	if err != nil {
		t.Fatal(err)
	}
	if err := checkReply(tr); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(req, acceptedRequest(p)) {
		t.Fatal("the provider changed the request it was given")
	}
	got := upstream()
	if len(got) != 1 {
		t.Fatalf("%d requests reached the upstream, want 1", len(got))
	}
	if err := checkReceived(req.Messages[0].Parts[1:], got[0]); err != nil {
		t.Fatal(err)
	}
}

// checkReceived checks that the upstream received the files sent, as
// RunFiles says.
func checkReceived(sent []llm.Part, got Received) error {
	if !strings.Contains(got.Text, FilePrompt) {
		return fmt.Errorf("the upstream's text %q lacks FilePrompt %q", excerpt(got.Text), FilePrompt)
	}
	next := 0 // index in got.Files of the next file to match
	for _, part := range sent {
		f := part.File
		mt := files.Base(f.MediaType)
		if next < len(got.Files) && sameFile(*f, got.Files[next]) {
			next++
			continue
		}
		if strings.HasPrefix(mt, "text/") {
			if !strings.Contains(got.Text, f.Name) || !strings.Contains(got.Text, string(f.Data)) {
				return fmt.Errorf("the text file %q is neither the next file the upstream got nor inlined, with its name and content, in its text %q", f.Name, excerpt(got.Text))
			}
			continue
		}
		for i, g := range got.Files {
			switch {
			case sameFile(*f, g):
				return fmt.Errorf("the file %q (%s) reached the upstream out of order, as file %d of %d", f.Name, mt, i+1, len(got.Files))
			case g.Name == f.Name || bytes.Equal(g.Data, f.Data):
				return fmt.Errorf("the file %q (%s, %d bytes) came as %q (%s, %d bytes, same bytes: %v); each file arrives with its media type, its bytes and, when the wire carries one, its name",
					f.Name, mt, len(f.Data), g.Name, g.MediaType, len(g.Data), bytes.Equal(f.Data, g.Data))
			}
		}
		return fmt.Errorf("the file %q (%s) did not reach the upstream as a file (%d files came)", f.Name, mt, len(got.Files))
	}
	if extra := len(got.Files) - next; extra > 0 {
		return fmt.Errorf("%d files reached the upstream beyond those sent, the first %q (%s)", extra, got.Files[next].Name, got.Files[next].MediaType)
	}
	return nil
}

// sameFile reports whether the upstream got f as g.
func sameFile(f, g llm.File) bool {
	return files.Base(f.MediaType) == files.Base(g.MediaType) && bytes.Equal(f.Data, g.Data) && (g.Name == "" || g.Name == f.Name)
}

// excerpt shortens s for a failure message.
func excerpt(s string) string {
	if len(s) > 300 {
		return s[:300] + "…"
	}
	return s
}

func testRefusedFile(t *testing.T, newProvider FilesFactory) {
	p, upstream := newProvider(t)
	refused := ""
	for _, mt := range refusalCandidates {
		if !llm.AcceptsFile(p, mt) {
			refused = mt
			break
		}
	}
	if refused == "" {
		t.Skipf("the provider accepts every type tried (%s)", strings.Join(refusalCandidates, ", "))
	}
	req := acceptedRequest(p)
	file := &llm.File{Name: "refused file", MediaType: refused, Data: []byte("llmtest: a file of a refused type")}
	m := &req.Messages[0]
	m.Parts = slices.Insert(m.Parts, min(2, len(m.Parts)), llm.Part{Kind: llm.PartFile, File: file})

	checkRefusal(t, "CheckFiles", llm.CheckFiles(p, req), file.Name, refused)
	ctx, cancel := context.WithTimeout(t.Context(), patience)
	defer cancel()
	r, err := startRequest(p, ctx, cancel, req)
	if err != nil {
		t.Fatal(err)
	}
	fail := r.err
	if fail == nil {
		defer r.s.Close()
		got, err := recv(r.s, patience, cancel)
		if err != nil {
			t.Fatal(err)
		}
		if got.err == nil || got.err == io.EOF {
			t.Fatalf("Stream of a request with a refused %s file started, and its first Recv returned (%s, %v)", refused, describe(got.ev), got.err)
		}
		fail = got.err
	}
	checkRefusal(t, "Stream", fail, file.Name, refused)
	if n := len(upstream()); n != 0 {
		t.Fatalf("%d requests reached the upstream with a refused %s file, want none", n, refused)
	}
}

// checkRefusal checks that err refuses the file name of media type mt.
func checkRefusal(t *testing.T, what string, err error, name, mt string) {
	t.Helper()
	var e *llm.Error
	var fe *llm.FileTypeError
	switch {
	case err == nil:
		t.Fatalf("%s accepted a file of type %s that the provider refuses", what, mt)
	case !errors.As(err, &e) || e.Kind != llm.KindInvalidRequest:
		t.Fatalf("%s: %v, want an *llm.Error of kind %q", what, err, llm.KindInvalidRequest)
	case e.Provider == "":
		t.Fatalf("%s: %v: *llm.Error.Provider is empty", what, err)
	case !errors.As(err, &fe):
		t.Fatalf("%s: %v holds no *llm.FileTypeError (call llm.CheckFiles)", what, err)
	case fe.Name != name || fe.MediaType != mt:
		t.Fatalf("%s refused %q of type %q, want %q of type %q", what, fe.Name, fe.MediaType, name, mt)
	}
}

// startRequest is startStream for a given request.
func startRequest(p llm.Provider, ctx context.Context, cancel context.CancelFunc, req llm.Request) (started, error) {
	r, err := timed(patience, cancel, func() started {
		s, err := p.Stream(ctx, req)
		return started{s, err}
	})
	if err != nil {
		if r.s != nil {
			r.s.Close()
		}
		return started{}, fmt.Errorf("Stream: %w", err)
	}
	return r, nil
}
