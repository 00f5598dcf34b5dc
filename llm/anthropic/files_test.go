package anthropic_test

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"strings"
	"testing"

	"github.com/chatboxsdk/chatbox/llm"
	"github.com/chatboxsdk/chatbox/llm/internal/fixture"
	"github.com/chatboxsdk/chatbox/llm/llmtest"
)

// block is one content block of a message.
type block struct {
	Type   string `json:"type"`
	Text   string `json:"text"`
	Title  string `json:"title"`
	Source *struct {
		Type      string `json:"type"`
		MediaType string `json:"media_type"`
		Data      string `json:"data"`
	} `json:"source"`
}

// received decodes what the server received in the Messages API wire
// format: in a user message, a text block is text, an image block an image
// with a base64 source of an image type, a document block a PDF with a
// base64 source or a text file with a plain-text source, named by its
// title. Anything else fails the test.
func received(t *testing.T, srv *fixture.Server) []llmtest.Received {
	t.Helper()
	var out []llmtest.Received
	for _, r := range srv.Requests() {
		var req struct {
			Messages []struct {
				Role    string  `json:"role"`
				Content []block `json:"content"`
			} `json:"messages"`
		}
		if err := json.Unmarshal(r.Body, &req); err != nil {
			t.Fatalf("%v in %.200s", err, r.Body)
		}
		var got llmtest.Received
		var text []string
		for _, m := range req.Messages {
			if m.Role != "user" {
				continue
			}
			for _, b := range m.Content {
				src := b.Source
				switch {
				case b.Type == "text":
					text = append(text, b.Text)
				case b.Type == "image" && src != nil && src.Type == "base64" && strings.HasPrefix(src.MediaType, "image/"):
					got.Files = append(got.Files, llm.File{MediaType: src.MediaType, Data: decode64(t, src.Data)})
				case b.Type == "document" && src != nil && src.Type == "base64" && src.MediaType == "application/pdf":
					got.Files = append(got.Files, llm.File{Name: b.Title, MediaType: src.MediaType, Data: decode64(t, src.Data)})
				case b.Type == "document" && src != nil && src.Type == "text" && src.MediaType == "text/plain":
					got.Files = append(got.Files, llm.File{Name: b.Title, MediaType: src.MediaType, Data: []byte(src.Data)})
				default:
					t.Fatalf("a user block %+v", b)
				}
			}
		}
		got.Text = strings.Join(text, "\n")
		out = append(out, got)
	}
	return out
}

func decode64(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatalf("base64 data: %v", err)
	}
	return b
}

func TestConformanceFiles(t *testing.T) {
	llmtest.RunFiles(t, func(t *testing.T) (llm.Provider, func() []llmtest.Received) {
		srv := sse(t, "reply.sse", 0)
		return newProvider(t, srv), func() []llmtest.Received { return received(t, srv) }
	})
}

// The files of FileRequest reach the API as its own blocks, in order,
// after the user's text.
func TestFilesAreSentAsImageAndDocumentBlocks(t *testing.T) {
	srv := sse(t, "reply.sse", 0)
	req := llmtest.FileRequest()
	if _, err := readAll(t, stream(t, newProvider(t, srv), t.Context(), req)); err != io.EOF {
		t.Fatal(err)
	}
	b64 := func(i int) string { return base64.StdEncoding.EncodeToString(req.Messages[0].Parts[i].File.Data) }
	want, _ := json.Marshal([]any{map[string]any{"role": "user", "content": []any{
		map[string]any{"type": "text", "text": llmtest.FilePrompt},
		map[string]any{"type": "image", "source": map[string]any{"type": "base64", "media_type": "image/png", "data": b64(1)}},
		map[string]any{"type": "image", "source": map[string]any{"type": "base64", "media_type": "image/jpeg", "data": b64(2)}},
		map[string]any{"type": "document", "title": "report.pdf", "source": map[string]any{"type": "base64", "media_type": "application/pdf", "data": b64(3)}},
		map[string]any{"type": "document", "title": llmtest.TextFileName, "source": map[string]any{"type": "text", "media_type": "text/plain", "data": llmtest.TextFileContent}},
	}}})
	if b, _ := body(t, srv); !jsonEqual(t, b["messages"], want) {
		t.Fatalf("messages\n%s\nwant\n%s", b["messages"], want)
	}
}

// A text file longer than llm.MaxFileTextBytes is cut, the document's
// context saying so; a file without a name has no title; files of a turn
// merged after tool results follow them; an assistant turn's files are not
// sent.
func TestTextDocumentCutAndFilesInMergedTurns(t *testing.T) {
	srv := sse(t, "reply.sse", 0)
	big := strings.Repeat("z", llm.MaxFileTextBytes+5)
	req := llm.Request{Messages: []llm.Message{
		{Role: llm.RoleUser, Text: "Look it up."},
		{Role: llm.RoleAssistant, Parts: []llm.Part{
			{Kind: llm.PartToolCall, Call: llm.ToolCall{ID: "c1", Name: "x", Arguments: "{}"}},
			{Kind: llm.PartFile, File: &llm.File{Name: "x.png", MediaType: "image/png", Data: []byte("PNG")}},
		}},
		{Role: llm.RoleTool, Parts: []llm.Part{{Kind: llm.PartToolResult, Call: llm.ToolCall{ID: "c1"}, Text: "found"}}},
		{Role: llm.RoleUser, Parts: []llm.Part{
			{Kind: llm.PartText, Text: "And read this."},
			{Kind: llm.PartFile, File: &llm.File{MediaType: "text/csv", Data: []byte(big)}},
			{Kind: llm.PartFile, File: &llm.File{MediaType: "image/webp", Data: []byte("RIFF")}},
		}},
	}}
	if _, err := readAll(t, stream(t, newProvider(t, srv), t.Context(), req)); err != io.EOF {
		t.Fatal(err)
	}
	b, raw := body(t, srv)
	want, _ := json.Marshal([]any{
		map[string]any{"role": "user", "content": []any{map[string]any{"type": "text", "text": "Look it up."}}},
		map[string]any{"role": "assistant", "content": []any{map[string]any{"type": "tool_use", "id": "c1", "name": "x", "input": map[string]any{}}}},
		map[string]any{"role": "user", "content": []any{
			map[string]any{"type": "tool_result", "tool_use_id": "c1", "content": []any{map[string]any{"type": "text", "text": "found"}}},
			map[string]any{"type": "text", "text": "And read this."},
			map[string]any{"type": "document", "context": "The file has 102405 bytes; only its first 100 KiB are shown.",
				"source": map[string]any{"type": "text", "media_type": "text/plain", "data": big[:llm.MaxFileTextBytes]}},
			map[string]any{"type": "image", "source": map[string]any{"type": "base64", "media_type": "image/webp", "data": "UklGRg=="}},
		}},
	})
	if !jsonEqual(t, b["messages"], want) {
		t.Fatalf("messages\n%.600s\nwant\n%.600s", b["messages"], want)
	}
	if strings.Contains(string(raw), "UE5H") {
		t.Fatal("the assistant turn's file was sent")
	}
}

func TestDocumentTitlesAreBoundedNamesWithoutControlCharacters(t *testing.T) {
	srv := sse(t, "reply.sse", 0)
	long := strings.Repeat("é", 250) + ".pdf"
	req := llm.Request{Messages: []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{
		{Kind: llm.PartFile, File: &llm.File{Name: "a\nb\t.txt", MediaType: "text/plain", Data: []byte("x")}},
		{Kind: llm.PartFile, File: &llm.File{Name: long, MediaType: "application/pdf", Data: []byte("%PDF")}},
	}}}}
	if _, err := readAll(t, stream(t, newProvider(t, srv), t.Context(), req)); err != io.EOF {
		t.Fatal(err)
	}
	got := received(t, srv)[0].Files
	if len(got) != 2 || got[0].Name != "a b .txt" || got[1].Name != strings.Repeat("é", 200) {
		t.Fatalf("titles %q", []string{got[0].Name, got[1].Name})
	}
}

func TestAcceptsImagesPDFAndText(t *testing.T) {
	p := newProvider(t, sse(t, "reply.sse", 0))
	for mt, want := range map[string]bool{
		"image/png": true, "image/jpeg": true, "image/gif": true, "image/webp": true, "application/pdf": true,
		"text/plain": true, "text/markdown; charset=utf-8": true, "Text/CSV": true,
		"image/bmp": false, "image/heic": false, "application/zip": false, "": false,
	} {
		if got := p.AcceptsFile(mt); got != want {
			t.Errorf("AcceptsFile(%q) = %v, want %v", mt, got, want)
		}
	}
	_, err := p.Stream(t.Context(), llm.Request{Messages: []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{
		{Kind: llm.PartFile, File: &llm.File{Name: "a.bmp", MediaType: "image/bmp", Data: []byte("BM")}},
	}}}})
	if e := kindOf(t, err, llm.KindInvalidRequest); !strings.Contains(e.Error(), `"image/bmp"`) {
		t.Fatalf("%v", e)
	}
}
