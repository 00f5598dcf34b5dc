package openai_test

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"strings"
	"testing"

	"github.com/chatboxsdk/chatbox/llm"
	"github.com/chatboxsdk/chatbox/llm/internal/fixture"
	"github.com/chatboxsdk/chatbox/llm/llmtest"
	"github.com/chatboxsdk/chatbox/llm/openai"
)

// dataURL decodes a base64 data URL strictly: "data:<type>;base64,<data>".
func dataURL(t *testing.T, url string) (string, []byte) {
	t.Helper()
	rest, ok := strings.CutPrefix(url, "data:")
	mt, b64, ok2 := strings.Cut(rest, ";base64,")
	if !ok || !ok2 || mt == "" {
		t.Fatalf("%.60q is not a base64 data URL", url)
	}
	data, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		t.Fatalf("data URL of %s: %v", mt, err)
	}
	return mt, data
}

// contentPart is one item of a user message's content array.
type contentPart struct {
	Type     string `json:"type"`
	Text     string `json:"text"`
	ImageURL *struct {
		URL string `json:"url"`
	} `json:"image_url"`
	File *struct {
		FileData string `json:"file_data"`
		Filename string `json:"filename"`
	} `json:"file"`
}

// userContent returns the content of each user message of a request
// body: a string, or content parts.
func userContent(t *testing.T, body []byte) []json.RawMessage {
	t.Helper()
	var req struct {
		Messages []struct {
			Role    string          `json:"role"`
			Content json.RawMessage `json:"content"`
		} `json:"messages"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		t.Fatalf("%v in %.200s", err, body)
	}
	var out []json.RawMessage
	for _, m := range req.Messages {
		if m.Role == "user" {
			out = append(out, m.Content)
		}
	}
	return out
}

// received decodes what the server received in the Chat Completions wire
// format: a user message's content is a string, or parts of which a text
// part is text, an image_url part an image given as a base64 data URL, and
// a file part a PDF given as a base64 data URL with its filename. Anything
// else fails the test.
func received(t *testing.T, srv *fixture.Server) []llmtest.Received {
	t.Helper()
	var out []llmtest.Received
	for _, r := range srv.Requests() {
		var got llmtest.Received
		var text []string
		for _, content := range userContent(t, r.Body) {
			var s string
			if json.Unmarshal(content, &s) == nil {
				text = append(text, s)
				continue
			}
			var parts []contentPart
			if err := json.Unmarshal(content, &parts); err != nil {
				t.Fatalf("user content %.200s: %v", content, err)
			}
			for _, p := range parts {
				switch {
				case p.Type == "text":
					text = append(text, p.Text)
				case p.Type == "image_url" && p.ImageURL != nil:
					mt, data := dataURL(t, p.ImageURL.URL)
					if !strings.HasPrefix(mt, "image/") {
						t.Fatalf("an image_url part of type %s", mt)
					}
					got.Files = append(got.Files, llm.File{MediaType: mt, Data: data})
				case p.Type == "file" && p.File != nil:
					mt, data := dataURL(t, p.File.FileData)
					if mt != "application/pdf" || p.File.Filename == "" {
						t.Fatalf("a file part of type %s named %q", mt, p.File.Filename)
					}
					got.Files = append(got.Files, llm.File{Name: p.File.Filename, MediaType: mt, Data: data})
				default:
					t.Fatalf("a content part %+v", p)
				}
			}
		}
		got.Text = strings.Join(text, "\n")
		out = append(out, got)
	}
	return out
}

func TestConformanceFiles(t *testing.T) {
	for name, opts := range map[string][]openai.Option{
		"OpenAI":           nil,
		"VisionModelNoPDF": {openai.WithFileTypes("image/*", "text/*")},
		"TextOnly":         {openai.WithFileTypes("text/*")},
	} {
		t.Run(name, func(t *testing.T) {
			llmtest.RunFiles(t, func(t *testing.T) (llm.Provider, func() []llmtest.Received) {
				srv := sse(t, "reply.sse", 0)
				return newProvider(t, srv, opts...), func() []llmtest.Received { return received(t, srv) }
			})
		})
	}
}

// The files of FileRequest reach the server as Chat Completions takes
// them, in order, after the user's text.
func TestFilesAreSentAsContentParts(t *testing.T) {
	srv := sse(t, "reply.sse", 0)
	p := newProvider(t, srv)
	req := llmtest.FileRequest()
	if _, err := readAll(t, stream(t, p, t.Context(), req)); err != io.EOF {
		t.Fatal(err)
	}
	contents := userContent(t, srv.Requests()[0].Body)
	if len(contents) != 1 {
		t.Fatalf("%d user messages", len(contents))
	}
	f := func(i int) *llm.File { return req.Messages[0].Parts[i].File }
	b64 := func(i int) string { return base64.StdEncoding.EncodeToString(f(i).Data) }
	want, _ := json.Marshal([]any{
		map[string]any{"type": "text", "text": llmtest.FilePrompt},
		map[string]any{"type": "image_url", "image_url": map[string]any{"url": "data:image/png;base64," + b64(1)}},
		map[string]any{"type": "image_url", "image_url": map[string]any{"url": "data:image/jpeg;base64," + b64(2)}},
		map[string]any{"type": "file", "file": map[string]any{"file_data": "data:application/pdf;base64," + b64(3), "filename": "report.pdf"}},
		map[string]any{"type": "text", "text": "--- " + llmtest.TextFileName + " (text/plain) ---\n" + llmtest.TextFileContent + "--- end of " + llmtest.TextFileName + " ---"},
	})
	if !jsonEqual(t, contents[0], want) {
		t.Fatalf("user content\n%s\nwant\n%s", contents[0], want)
	}
}

// A turn with text files alone keeps a string as its content, the files
// inlined; a file cut at llm.MaxFileTextBytes says so. Files of earlier
// turns are sent again, and the file parts of other turns are not sent.
func TestTextFilesAreInlinedIntoStringContent(t *testing.T) {
	srv := sse(t, "reply.sse", 0)
	p := newProvider(t, srv)
	big := strings.Repeat("z", llm.MaxFileTextBytes+5)
	req := llm.Request{Messages: []llm.Message{
		{Role: llm.RoleUser, Parts: []llm.Part{
			{Kind: llm.PartText, Text: "Here is a log."},
			{Kind: llm.PartFile, File: &llm.File{Name: "big.log", MediaType: "text/plain", Data: []byte(big)}},
		}},
		{Role: llm.RoleAssistant, Parts: []llm.Part{
			{Kind: llm.PartText, Text: "Seen."},
			{Kind: llm.PartFile, File: &llm.File{Name: "x.png", MediaType: "image/png", Data: []byte("PNG")}},
		}},
		{Role: llm.RoleUser, Parts: []llm.Part{
			{Kind: llm.PartText, Text: "And this picture?"},
			{Kind: llm.PartFile, File: &llm.File{Name: "a.gif", MediaType: "image/gif", Data: []byte("GIF89a")}},
		}},
	}}
	if _, err := readAll(t, stream(t, p, t.Context(), req)); err != io.EOF {
		t.Fatal(err)
	}
	body := srv.Requests()[0].Body
	contents := userContent(t, body)
	var first string
	if len(contents) != 2 || json.Unmarshal(contents[0], &first) != nil {
		t.Fatalf("user contents %.300s", contents)
	}
	wantStart := "Here is a log.\n\n--- big.log (text/plain) ---\nzzz"
	wantEnd := "zzz\n[cut: only the first 102400 of 102405 bytes are shown]\n--- end of big.log ---"
	if !strings.HasPrefix(first, wantStart) || !strings.HasSuffix(first, wantEnd) || strings.Count(first, "z") != llm.MaxFileTextBytes {
		t.Fatalf("the first turn starts %q and ends %q", first[:60], first[len(first)-100:])
	}
	want := `[{"type":"text","text":"And this picture?"},{"type":"image_url","image_url":{"url":"data:image/gif;base64,R0lGODlh"}}]`
	if !jsonEqual(t, contents[1], []byte(want)) {
		t.Fatalf("the last turn is %s", contents[1])
	}
	if strings.Contains(string(body), "x.png") || strings.Contains(string(body), "UE5H") {
		t.Fatal("the assistant turn's file was sent")
	}
}

func TestAcceptsFileAndWithFileTypes(t *testing.T) {
	srv := sse(t, "reply.sse", 0)
	for _, c := range []struct {
		opts   []openai.Option
		accept []string
		refuse []string
	}{
		{nil, []string{"image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf", "text/plain", "text/csv", "TEXT/Markdown; charset=utf-8"},
			[]string{"image/bmp", "image/svg+xml", "application/zip", "audio/mpeg", ""}},
		{[]openai.Option{openai.WithFileTypes("IMAGE/*", "text/plain")}, []string{"image/webp", "text/plain"}, []string{"application/pdf", "text/csv", "image/bmp"}},
		{[]openai.Option{openai.WithFileTypes("application/pdf")}, []string{"application/pdf"}, []string{"image/png", "text/plain"}},
		{[]openai.Option{openai.WithFileTypes()}, nil, []string{"text/plain", "image/png"}},
	} {
		p := newProvider(t, srv, c.opts...)
		for _, mt := range c.accept {
			if !p.AcceptsFile(mt) {
				t.Errorf("%d options: %q refused", len(c.opts), mt)
			}
		}
		for _, mt := range c.refuse {
			if p.AcceptsFile(mt) {
				t.Errorf("%d options: %q accepted", len(c.opts), mt)
			}
		}
	}
	for _, bad := range []string{"audio/*", "application/zip", "image/bmp", "png", "*/*"} {
		if _, err := openai.New(openai.WithModel("m"), openai.WithFileTypes("image/png", bad)); err == nil || !strings.Contains(err.Error(), bad) {
			t.Errorf("WithFileTypes(%q): %v", bad, err)
		}
	}
}
