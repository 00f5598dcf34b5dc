package scripted_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chatboxsdk/chatbox/llm"
	"github.com/chatboxsdk/chatbox/llm/scripted"
)

func TestDemoQuotesTheLastUserMessageAndCountsTheHistory(t *testing.T) {
	r := scripted.Demo()(llm.Request{Messages: []llm.Message{
		{Role: llm.RoleUser, Text: "Hi there"},
		{Role: llm.RoleAssistant, Text: "Hello!"},
		{Role: llm.RoleUser, Text: "What   can\nyou do?"},
	}})
	text := strings.Join(r.Deltas, "")
	for _, want := range []string{"“What can you do?”", "3 messages so far", "2 messages from you"} {
		if !strings.Contains(text, want) {
			t.Errorf("reply %q lacks %q", text, want)
		}
	}
	if len(r.Deltas) < 10 || r.Delay != 30*time.Millisecond {
		t.Errorf("reply has %d deltas and delay %v, want word by word at 30ms", len(r.Deltas), r.Delay)
	}
	if want := (llm.Usage{InputTokens: 7, OutputTokens: int64(len(r.Deltas))}); r.Usage != want {
		t.Errorf("usage %+v, want %+v", r.Usage, want)
	}
}

func TestDemoGreetsWithoutAUserMessage(t *testing.T) {
	r := scripted.Demo()(llm.Request{})
	text := strings.Join(r.Deltas, "")
	if !strings.HasPrefix(text, "Hello!") || !strings.Contains(text, "0 messages so far") {
		t.Fatalf("reply %q", text)
	}
}

func TestDemoWritesMarkdownAListATableAndCode(t *testing.T) {
	r := scripted.Demo()(llm.Request{Messages: []llm.Message{{Role: llm.RoleUser, Text: "show me"}}})
	text := strings.Join(r.Deltas, "")
	for _, want := range []string{"\n- the answer **streams**", "| Turns | Count |\n|---|---|\n| all messages | 1 |\n| yours | 1 |", "\n```go\nsrv, err := chatbox.New("} {
		if !strings.Contains(text, want) {
			t.Errorf("reply %q lacks %q", text, want)
		}
	}
	if !strings.HasSuffix(text, "\n```") {
		t.Errorf("the code block is not closed: %q", text)
	}
}

func TestDemoWithDelayPacesTheReply(t *testing.T) {
	r := scripted.DemoWithDelay(400 * time.Millisecond)(llm.Request{})
	if r.Delay != 400*time.Millisecond || len(r.Deltas) < 10 {
		t.Fatalf("reply with %d deltas %v apart", len(r.Deltas), r.Delay)
	}
}

func TestDemoShortensLongMessages(t *testing.T) {
	long := strings.Repeat("é", 500)
	r := scripted.Demo()(llm.Request{Messages: []llm.Message{{Role: llm.RoleUser, Text: long}}})
	text := strings.Join(r.Deltas, "")
	if strings.Contains(text, long) || !strings.Contains(text, strings.Repeat("é", 120)+"…”") {
		t.Fatalf("reply %q does not quote a shortened message", text)
	}
}

func TestDemoNamesTheAttachmentsOfTheLastMessage(t *testing.T) {
	file := func(name, mt string, n int) llm.Part {
		return llm.Part{Kind: llm.PartFile, File: &llm.File{Name: name, MediaType: mt, Data: make([]byte, n)}}
	}
	r := scripted.Demo()(llm.Request{Messages: []llm.Message{
		{Role: llm.RoleUser, Parts: []llm.Part{{Kind: llm.PartText, Text: "old"}, file("old.pdf", "application/pdf", 9)}},
		{Role: llm.RoleAssistant, Text: "Seen."},
		{Role: llm.RoleUser, Parts: []llm.Part{{Kind: llm.PartText, Text: "What are these?"}, file("photo.png", "image/png", 84), file("a.txt", "text/plain", 1)}},
	}})
	text := strings.Join(r.Deltas, "")
	if want := "You attached 2 files: “photo.png” (image/png, 84 bytes), “a.txt” (text/plain, 1 byte).\n\n"; !strings.Contains(text, want) {
		t.Fatalf("reply %q lacks %q", text, want)
	}
	if strings.Contains(text, "old.pdf") {
		t.Fatal("the reply names a file of an earlier message")
	}
	plain := strings.Join(scripted.Demo()(llm.Request{Messages: []llm.Message{{Role: llm.RoleUser, Text: "hi"}}}).Deltas, "")
	if strings.Contains(plain, "attached") {
		t.Fatal("a message without files is said to have some")
	}
}
