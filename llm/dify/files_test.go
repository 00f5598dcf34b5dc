package dify_test

import (
	"encoding/json"
	"io"
	"strings"
	"testing"

	"github.com/chatboxsdk/chatbox/llm"
	"github.com/chatboxsdk/chatbox/llm/dify"
	"github.com/chatboxsdk/chatbox/llm/internal/fixture"
	"github.com/chatboxsdk/chatbox/llm/llmtest"
)

// received decodes what Dify received: the query is the text, and no
// request may carry files (the Provider uploads none).
func received(t *testing.T, srv *fixture.Server) []llmtest.Received {
	t.Helper()
	var out []llmtest.Received
	for _, r := range srv.Requests() {
		var body map[string]json.RawMessage
		if err := json.Unmarshal(r.Body, &body); err != nil {
			t.Fatalf("%v in %.200s", err, r.Body)
		}
		if f, ok := body["files"]; ok {
			t.Fatalf("a request carried files: %.200s", f)
		}
		out = append(out, llmtest.Received{Text: bodyOf(t, r).Query})
	}
	return out
}

func TestConformanceFiles(t *testing.T) {
	llmtest.RunFiles(t, func(t *testing.T) (llm.Provider, func() []llmtest.Received) {
		srv := sse(t, "reply.sse", 0)
		return newProvider(t, srv), func() []llmtest.Received { return received(t, srv) }
	})
}

// Text files are inlined into the query, and into the history input of a
// new Dify conversation; images and PDFs are refused before the call.
func TestTextFilesAreInlinedAndOthersRefused(t *testing.T) {
	srv := sse(t, "reply.sse", 0)
	p := newProvider(t, srv, dify.WithHistoryInput("history"))
	file := func(name, mt, data string) llm.Part {
		return llm.Part{Kind: llm.PartFile, File: &llm.File{Name: name, MediaType: mt, Data: []byte(data)}}
	}
	req := llm.Request{Messages: []llm.Message{
		{Role: llm.RoleUser, Parts: []llm.Part{{Kind: llm.PartText, Text: "Read this."}, file("a.md", "text/markdown", "# A\n")}},
		{Role: llm.RoleAssistant, Text: "Read."},
		{Role: llm.RoleUser, Parts: []llm.Part{{Kind: llm.PartText, Text: "And this?"}, file("b.csv", "text/csv; charset=utf-8", "1,2")}},
	}, User: "u1", ConversationID: "c1"}
	if _, err := readAll(t, stream(t, p, t.Context(), req)); err != io.EOF {
		t.Fatal(err)
	}
	b := bodyOf(t, srv.Requests()[0])
	if want := "And this?\n\n--- b.csv (text/csv) ---\n1,2\n--- end of b.csv ---"; b.Query != want {
		t.Fatalf("query %q, want %q", b.Query, want)
	}
	if want := "User: Read this.\n\n--- a.md (text/markdown) ---\n# A\n--- end of a.md ---\nAssistant: Read.\n"; b.Inputs["history"] != want {
		t.Fatalf("history %q, want %q", b.Inputs["history"], want)
	}

	for _, mt := range []string{"image/png", "application/pdf"} {
		if p.AcceptsFile(mt) {
			t.Errorf("%s accepted", mt)
		}
		req.Messages[2].Parts = append(req.Messages[2].Parts, file("x", mt, "data"))
		_, err := p.Stream(t.Context(), req)
		if e := kindOf(t, err, llm.KindInvalidRequest); !strings.Contains(e.Error(), mt) {
			t.Fatalf("%v", e)
		}
		req.Messages[2].Parts = req.Messages[2].Parts[:2]
	}
	if n := len(srv.Requests()); n != 1 {
		t.Fatalf("%d requests reached Dify, want the first alone", n)
	}
	if !p.AcceptsFile("TEXT/plain; charset=utf-8") {
		t.Fatal("text/plain refused")
	}
}
