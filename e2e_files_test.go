package chatbox_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"image"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatboxsdk/chatbox"
	"github.com/chatboxsdk/chatbox/chatboxtest"
	"github.com/chatboxsdk/chatbox/client"
	"github.com/chatboxsdk/chatbox/llm"
	"github.com/chatboxsdk/chatbox/llm/openai"
	"github.com/chatboxsdk/chatbox/protocol"
	"github.com/chatboxsdk/chatbox/storage"
)

// fileModel records the files of every request and accepts images and PDFs.
type fileModel struct {
	mu    sync.Mutex
	files [][]llm.File
}

func (m *fileModel) AcceptsFile(mediaType string) bool {
	return strings.HasPrefix(mediaType, "image/") || mediaType == "application/pdf" || strings.HasPrefix(mediaType, "text/")
}

func (m *fileModel) Stream(ctx context.Context, req llm.Request) (llm.Stream, error) {
	var got []llm.File
	for _, msg := range req.Messages {
		for _, p := range msg.Parts {
			if p.Kind == llm.PartFile {
				got = append(got, *p.File)
			}
		}
	}
	m.mu.Lock()
	m.files = append(m.files, got)
	m.mu.Unlock()
	return &stepStream{ctx: ctx, events: answer("I see " + strings.Repeat("a file ", len(got)))}, nil
}

func (m *fileModel) last() []llm.File {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.files[len(m.files)-1]
}

func testPNG(w, h int) []byte {
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewGray(image.Rect(0, 0, w, h))); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

func testPDF(pages int) []byte {
	var b strings.Builder
	b.WriteString("%PDF-1.4\n1 0 obj << /Type /Pages >> endobj\n")
	for range pages {
		b.WriteString("obj << /Type /Page /Parent 1 0 R >> endobj\n")
	}
	b.WriteString("%%EOF\n")
	return []byte(b.String())
}

// pngBomb declares width×height pixels in a file of a few dozen bytes.
func pngBomb(width, height uint32) []byte {
	b := testPNG(1, 1)
	binary.BigEndian.PutUint32(b[16:20], width)
	binary.BigEndian.PutUint32(b[20:24], height)
	binary.BigEndian.PutUint32(b[29:33], crc32.ChecksumIEEE(b[12:29]))
	return b
}

type uploaded struct {
	status int
	info   struct {
		ID        string `json:"id"`
		Name      string `json:"name"`
		MediaType string `json:"media_type"`
		Size      int64  `json:"size"`
	}
	err struct {
		Code  string `json:"code"`
		Field string `json:"field"`
	}
}

func upload(t *testing.T, h *chatboxtest.Harness, user, conv, name string, data []byte) uploaded {
	t.Helper()
	req, err := http.NewRequestWithContext(testCtx(t), http.MethodPost, h.HTTP.URL+"/files?conversation_id="+url.QueryEscape(conv)+"&name="+url.QueryEscape(name), bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if user != "" {
		req.Header.Set("Authorization", "Bearer "+chatboxtest.Token(user))
	}
	req.Header.Set("Content-Type", "image/png") // a claim the server ignores
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	u := uploaded{status: resp.StatusCode}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusCreated {
		_ = json.Unmarshal(body, &u.info)
	} else {
		var e struct {
			Error struct {
				Code  string `json:"code"`
				Field string `json:"field"`
			} `json:"error"`
		}
		_ = json.Unmarshal(body, &e)
		u.err.Code, u.err.Field = e.Error.Code, e.Error.Field
	}
	return u
}

func fetch(t *testing.T, h *chatboxtest.Harness, user, method, conv, id string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(testCtx(t), method, h.HTTP.URL+"/files/"+url.PathEscape(conv)+"/"+url.PathEscape(id), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+chatboxtest.Token(user))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func TestAUserAttachesAnImageAndAPDFAndTheProviderGetsThem(t *testing.T) {
	model := &fileModel{}
	h := chatboxtest.New(t, chatboxtest.Config{Provider: model})
	ctx := testCtx(t)
	c := h.Dial(t, "alice")
	conv := openNew(t, c)
	img, pdf := testPNG(64, 48), testPDF(2)
	a := upload(t, h, "alice", conv, "screenshot.png", img)
	b := upload(t, h, "alice", conv, "../../invoice.pdf", pdf)
	if a.status != 201 || a.info.MediaType != "image/png" || b.status != 201 || b.info.MediaType != "application/pdf" || b.info.Name != "invoice.pdf" {
		t.Fatalf("uploads: %+v, %+v", a, b)
	}
	if _, err := c.Request(ctx, protocol.ClientFrame{Type: protocol.TypeSend, ConversationID: conv, MessageID: "m1", Text: "what is wrong?", Attachments: []string{a.info.ID, b.info.ID}}); err != nil {
		t.Fatal(err)
	}
	if r, _, err := c.ReadReply(ctx, conv, nil); err != nil || r.FinishReason != "stop" {
		t.Fatalf("reply %v, %v", r, err)
	}
	got := model.last()
	if len(got) != 2 || !bytes.Equal(got[0].Data, img) || got[0].MediaType != "image/png" || !bytes.Equal(got[1].Data, pdf) || got[1].Name != "invoice.pdf" {
		t.Fatalf("the provider got %d files", len(got))
	}
	// The owner downloads the file with safe headers; an operator may;
	// another user gets 404, as for a file that does not exist.
	resp := fetch(t, h, "alice", http.MethodGet, conv, b.info.ID)
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !bytes.Equal(body, pdf) || resp.Header.Get("X-Content-Type-Options") != "nosniff" ||
		!strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment;") || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "sandbox") {
		t.Fatalf("download: %d %v", resp.StatusCode, resp.Header)
	}
	if resp := fetch(t, h, "olivia", http.MethodGet, conv, b.info.ID); resp.StatusCode != 200 {
		t.Fatalf("operator download: %d", resp.StatusCode)
	}
	for _, method := range []string{http.MethodGet, http.MethodDelete} {
		if resp := fetch(t, h, "bob", method, conv, a.info.ID); resp.StatusCode != 404 {
			t.Fatalf("bob %s: %d, want 404", method, resp.StatusCode)
		}
	}
	// Bob can neither upload into Alice's conversation nor reference her file.
	if u := upload(t, h, "bob", conv, "x.png", img); u.status != 404 {
		t.Fatalf("bob's upload into alice's conversation: %d", u.status)
	}
	bc := h.Dial(t, "bob")
	bconv := openNew(t, bc)
	if _, err := bc.Request(ctx, protocol.ClientFrame{Type: protocol.TypeSend, ConversationID: bconv, MessageID: "m1", Text: "look", Attachments: []string{a.info.ID}}); client.Code(err) != protocol.CodeNotFound {
		t.Fatalf("bob referencing alice's file: %v, want not_found", err)
	}
	// More files than a message may reference.
	many := []string{a.info.ID, b.info.ID, "f_3", "f_4", "f_5"}
	if _, err := c.Request(ctx, protocol.ClientFrame{Type: protocol.TypeSend, ConversationID: conv, MessageID: "m9", Attachments: many}); client.Code(err) != protocol.CodeTooLarge {
		t.Fatalf("five files: %v, want too_large", err)
	}
	// The stored message and an open show the files.
	opened, err := c.Open(ctx, conv)
	if err != nil {
		t.Fatal(err)
	}
	first := opened.Messages[0]
	if len(first.Parts) != 2 || first.Parts[0].File == nil || first.Parts[0].File.ID != a.info.ID {
		t.Fatalf("opened message parts %+v", first.Parts)
	}
}

func TestUploadsAreRefusedByTheirContentNotTheirClaims(t *testing.T) {
	h := chatboxtest.New(t, chatboxtest.Config{Provider: &fileModel{}, Options: []chatbox.Option{
		chatbox.WithMaxFileBytes(64 << 10), chatbox.WithMaxPDFPages(10), chatbox.WithMaxUploadBytesPerDay(100 << 10),
	}})
	c := h.Dial(t, "alice")
	conv := openNew(t, c)
	html := append(append([]byte{}, testPNG(1, 1)[:16]...), []byte("<html><script>alert(1)</script></html>")...)
	cases := []struct {
		name   string
		data   []byte
		status int
		code   string
		field  string
	}{
		{"too large", bytes.Repeat([]byte("a"), 64<<10+1), 413, "too_large", "file"},
		{"a PNG header on an HTML file", html, 415, "file_refused", "invalid_file"},
		{"an SVG with a script", []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`), 415, "file_refused", "type_not_allowed"},
		{"a decompression bomb", pngBomb(200_000, 200_000), 415, "file_refused", "too_many_pixels"},
		{"an over-long PDF", testPDF(11), 415, "file_refused", "too_many_pages"},
	}
	for _, tc := range cases {
		if u := upload(t, h, "alice", conv, "f", tc.data); u.status != tc.status || u.err.Code != tc.code || u.err.Field != tc.field {
			t.Errorf("%s: %d %+v, want %d %s %s", tc.name, u.status, u.err, tc.status, tc.code, tc.field)
		}
	}
	if u := upload(t, h, "", conv, "f.png", testPNG(2, 2)); u.status != 401 {
		t.Errorf("without a token: %d", u.status)
	}
	// The day's bytes: 60 KiB twice fits under 100 KiB once.
	text := bytes.Repeat([]byte("word "), 12<<10)
	if u := upload(t, h, "alice", conv, "a.txt", text); u.status != 201 {
		t.Fatalf("first text: %+v", u)
	}
	if u := upload(t, h, "alice", conv, "b.txt", text); u.status != 429 || u.err.Code != "limit_reached" {
		t.Fatalf("over the day's bytes: %+v", u)
	}
}

func TestFilesGoWhenTheirConversationEndsAndUnsentOnesExpire(t *testing.T) {
	h := chatboxtest.New(t, chatboxtest.Config{Provider: &fileModel{}})
	ctx := testCtx(t)
	c := h.Dial(t, "alice")
	conv := openNew(t, c)
	u := upload(t, h, "alice", conv, "a.png", testPNG(4, 4))
	if err := c.End(ctx, conv); err != nil {
		t.Fatal(err)
	}
	if resp := fetch(t, h, "alice", http.MethodGet, conv, u.info.ID); resp.StatusCode != 404 {
		t.Fatalf("a file of an ended conversation: %d", resp.StatusCode)
	}
	blobs, _ := h.Store.(storage.BlobStore)
	if page, err := blobs.ListBlobs(ctx, storage.BlobQuery{ConversationID: conv}); err != nil || len(page.Blobs) != 0 {
		t.Fatalf("left in the store: %+v, %v", page.Blobs, err)
	}
}

func TestAnUploadNeverSentExpires(t *testing.T) {
	h := chatboxtest.New(t, chatboxtest.Config{Provider: &fileModel{}, Options: []chatbox.Option{chatbox.WithUnsentFileTTL(time.Second)}})
	ctx := testCtx(t)
	c := h.Dial(t, "alice")
	conv := openNew(t, c)
	sent := upload(t, h, "alice", conv, "sent.png", testPNG(4, 4))
	unsent := upload(t, h, "alice", conv, "unsent.png", testPNG(4, 4))
	if _, err := c.Request(ctx, protocol.ClientFrame{Type: protocol.TypeSend, ConversationID: conv, MessageID: "m1", Attachments: []string{sent.info.ID}}); err != nil {
		t.Fatal(err)
	}
	// The sweeper runs on a timer: poll the store until the unsent file goes.
	blobs := h.Store.(storage.BlobStore)
	for {
		page, err := blobs.ListBlobs(ctx, storage.BlobQuery{ConversationID: conv})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Blobs) == 1 {
			if page.Blobs[0].ID != sent.info.ID {
				t.Fatalf("kept %s, deleted the sent one", page.Blobs[0].ID)
			}
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the unsent upload %s was never deleted", unsent.info.ID)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// The files reach an OpenAI-compatible server in its native form: the
// test server is the provider's upstream and records what it got.
func TestAttachedFilesReachAnOpenAICompatibleServerNatively(t *testing.T) {
	var mu sync.Mutex
	var bodies [][]byte
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, b)
		mu.Unlock()
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, `data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":"Seen."},"finish_reason":null}]}`+"\n\n")
		fmt.Fprint(w, `data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`+"\n\n")
		fmt.Fprint(w, "data: [DONE]\n\n")
	}))
	defer upstream.Close()
	provider, err := openai.New(openai.WithBaseURL(upstream.URL), openai.WithAPIKey("test-key"), openai.WithModel("gpt-test"))
	if err != nil {
		t.Fatal(err)
	}
	h := chatboxtest.New(t, chatboxtest.Config{Provider: provider})
	ctx := testCtx(t)
	c := h.Dial(t, "alice")
	conv := openNew(t, c)
	img, pdf := testPNG(8, 8), testPDF(1)
	a := upload(t, h, "alice", conv, "shot.png", img)
	b := upload(t, h, "alice", conv, "invoice.pdf", pdf)
	if _, err := c.Request(ctx, protocol.ClientFrame{Type: protocol.TypeSend, ConversationID: conv, MessageID: "m1", Text: "see", Attachments: []string{a.info.ID, b.info.ID}}); err != nil {
		t.Fatal(err)
	}
	if r, _, err := c.ReadReply(ctx, conv, nil); err != nil || r.Text != "Seen." {
		t.Fatalf("reply %v, %v", r, err)
	}
	mu.Lock()
	body := string(bodies[len(bodies)-1])
	mu.Unlock()
	for _, want := range []string{
		`"image_url":{"url":"data:image/png;base64,` + base64.StdEncoding.EncodeToString(img) + `"`,
		`"file_data":"data:application/pdf;base64,` + base64.StdEncoding.EncodeToString(pdf) + `"`,
		`"filename":"invoice.pdf"`,
	} {
		if !strings.Contains(body, want) {
			t.Fatalf("the upstream request lacks %.80s...:\n%.600s", want, body)
		}
	}
}
