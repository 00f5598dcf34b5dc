package scripted_test

import (
	"errors"
	"testing"

	"github.com/chatboxsdk/chatbox/llm"
	"github.com/chatboxsdk/chatbox/llm/scripted"
)

func withFile(name, mt, data string) llm.Request {
	return llm.Request{Messages: []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{
		{Kind: llm.PartText, Text: "see the file"},
		{Kind: llm.PartFile, File: &llm.File{Name: name, MediaType: mt, Data: []byte(data)}},
	}}}}
}

func TestFilesAreRecordedWithCopiesOfTheirBytes(t *testing.T) {
	req := withFile("a.png", "image/png", "PNG bytes")
	p := scripted.New(scripted.WithResponder(func(r llm.Request) scripted.Reply {
		r.Messages[0].Parts[1].File.Data[0] = 'X' // must not reach the record
		r.Messages[0].Parts[1].File.Name = "responder.png"
		return scripted.Reply{}
	}))
	replyText(t, p, req)
	f := req.Messages[0].Parts[1].File
	f.Data[0], f.Name = 'Y', "caller.png" // the caller reuses its buffer

	got := p.Requests()[0].Messages[0].Parts[1].File
	if got == f || got.Name != "a.png" || got.MediaType != "image/png" || string(got.Data) != "PNG bytes" {
		t.Fatalf("recorded %+v", got)
	}
	got.Data[0] = 'Z'
	if again := p.Requests()[0].Messages[0].Parts[1].File; string(again.Data) != "PNG bytes" {
		t.Fatalf("a reader changed the record: %q", again.Data)
	}
}

func TestEveryFileTypeIsAcceptedByDefault(t *testing.T) {
	p := scripted.New(scripted.WithReplies(scripted.Reply{Deltas: []string{"ok"}}))
	for _, mt := range []string{"image/png", "application/pdf", "text/plain", "application/zip", "video/mp4"} {
		if !p.AcceptsFile(mt) {
			t.Errorf("%s refused", mt)
		}
	}
	if got := replyText(t, p, withFile("a.zip", "application/zip", "PK")); got != "ok" {
		t.Fatalf("reply %q", got)
	}
}

func TestWithFileTypesRefusesOthersWithoutUsingAReply(t *testing.T) {
	p := scripted.New(scripted.WithFileTypes("image/*", "Text/Plain"), scripted.WithReplies(scripted.Reply{Deltas: []string{"ok"}}))
	for mt, want := range map[string]bool{"image/gif": true, "text/plain; charset=utf-8": true, "text/csv": false, "application/pdf": false} {
		if got := p.AcceptsFile(mt); got != want {
			t.Errorf("AcceptsFile(%q) = %v, want %v", mt, got, want)
		}
	}
	_, err := p.Stream(t.Context(), withFile("a.pdf", "application/pdf", "%PDF"))
	var fe *llm.FileTypeError
	if llm.KindOf(err) != llm.KindInvalidRequest || !errors.As(err, &fe) || fe.MediaType != "application/pdf" {
		t.Fatalf("Stream: %v", err)
	}
	if n := len(p.Requests()); n != 0 || p.Started() != 0 {
		t.Fatalf("%d requests recorded, %d started", n, p.Started())
	}
	if got := replyText(t, p, withFile("a.gif", "image/gif", "GIF89a")); got != "ok" {
		t.Fatalf("the reply was used by the refused request: %q", got)
	}
	if scripted.New(scripted.WithFileTypes()).AcceptsFile("text/plain") {
		t.Fatal("WithFileTypes() accepts text files")
	}
}
