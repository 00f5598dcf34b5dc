package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/chatboxsdk/chatbox/llm"
	"github.com/chatboxsdk/chatbox/llm/scripted"
	"github.com/chatboxsdk/chatbox/storage"
)

// filesModel is the scripted provider, reading images, PDFs and text.
type filesModel struct{ *scripted.Provider }

func (filesModel) AcceptsFile(mediaType string) bool {
	return strings.HasPrefix(mediaType, "image/") || mediaType == "application/pdf" || strings.HasPrefix(mediaType, "text/")
}

// screenshotPNG is a small picture, as a pasted screenshot would be.
func screenshotPNG(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 64, 40))
	for y := range 40 {
		for x := range 64 {
			img.Set(x, y, color.RGBA{R: uint8(4 * x), G: 120, B: uint8(6 * y), A: 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// twoPagePDF is a PDF whose pages the server can count.
func twoPagePDF() []byte {
	return []byte("%PDF-1.4\n1 0 obj << /Type /Pages /Count 2 >> endobj\n" +
		"2 0 obj << /Type /Page /Parent 1 0 R >> endobj\n3 0 obj << /Type /Page /Parent 1 0 R >> endobj\n%%EOF\n")
}

// jsFile is a JavaScript expression making a File of data.
func jsFile(name, mediaType string, data []byte) string {
	return fmt.Sprintf(`new File([Uint8Array.from(atob(%q), c => c.charCodeAt(0))], %q, {type: %q})`,
		base64.StdEncoding.EncodeToString(data), name, mediaType)
}

// paste pastes files into the message box, as a screenshot pasted from
// the clipboard arrives, and reports whether the page took the paste.
func (p *page) paste(files ...string) bool {
	p.t.Helper()
	var taken bool
	p.eval(`(() => { const dt = new DataTransfer(); for (const f of [`+strings.Join(files, ",")+`]) dt.items.add(f);
		const e = new ClipboardEvent("paste", {clipboardData: dt, bubbles: true, cancelable: true});
		document.getElementById("composer-text").dispatchEvent(e);
		return e.defaultPrevented; })()`, &taken)
	return taken
}

// drop drags files over the message box and drops them there; it reports
// whether the box was highlighted while they were over it and whether the
// page took the drop.
func (p *page) drop(files ...string) (highlighted, taken bool) {
	p.t.Helper()
	var got struct{ Highlighted, Taken bool }
	p.eval(`(() => { const dt = new DataTransfer(); for (const f of [`+strings.Join(files, ",")+`]) dt.items.add(f);
		const box = document.getElementById("composer-text");
		const fire = (type) => { const e = new DragEvent(type, {dataTransfer: dt, bubbles: true, cancelable: true}); box.dispatchEvent(e); return e.defaultPrevented; };
		fire("dragenter"); fire("dragover");
		const highlighted = document.getElementById("composer").dataset.drop === "true";
		const taken = fire("drop");
		return {highlighted: highlighted && document.getElementById("composer").dataset.drop === undefined, taken}; })()`, &got)
	return got.Highlighted, got.Taken
}

// fileAttachments starts the app with a store for files and a model that
// reads them.
func fileAttachments(t *testing.T) (*app, storage.BlobStore, filesModel) {
	t.Helper()
	model := filesModel{scripted.New(scripted.WithResponder(func(req llm.Request) scripted.Reply {
		n := 0
		for _, p := range req.Messages[len(req.Messages)-1].Parts {
			if p.Kind == llm.PartFile {
				n++
			}
		}
		return scripted.Reply{Deltas: scripted.Words(fmt.Sprintf("I received %d files.", n))}
	}))}
	a := startApp(t, appConfig{Provider: model}) // its memory store keeps the files
	return a, a.Store, model
}

func TestPastedScreenshotAndDraggedPDFAreSentAndShownToTheOperator(t *testing.T) {
	a, blobs, model := fileAttachments(t)
	shot, pdf := screenshotPNG(t), twoPagePDF()
	pg := openPage(t, a.URL+"/", "")

	// A screenshot pasted into the empty message box starts a conversation
	// and uploads at once; a PDF dropped on the box joins it.
	if !pg.paste(jsFile("image.png", "image/png", shot)) {
		t.Fatal("the page did not take the pasted screenshot")
	}
	pg.waitJS(`document.querySelectorAll("#tray .tray-item").length === 1 && location.hash.length > 1`)
	if highlighted, taken := pg.drop(jsFile("invoice.pdf", "application/pdf", pdf)); !highlighted || !taken {
		t.Fatalf("drop on the message box: highlighted while dragged %v, taken %v", highlighted, taken)
	}
	pg.waitJS(`[...document.querySelectorAll("#tray .tray-item")].map(i => i.dataset.state).join() === "ready,ready" && !document.getElementById("send").disabled`)
	var tray struct {
		Names, Metas, Removes []string
		Thumb                 string
		ThumbShown, Hidden    bool
		Progress              int
	}
	pg.eval(`(() => { const items = [...document.querySelectorAll("#tray .tray-item")]; const img = items[0].querySelector("img.tray-thumb");
		return {names: items.map(i => i.querySelector(".file-name").textContent), metas: items.map(i => i.querySelector(".file-meta").textContent),
		removes: items.map(i => i.querySelector("button.tray-remove").getAttribute("aria-label")),
		thumb: img.src.slice(0, 5), thumbShown: img.complete && img.naturalWidth === 64, hidden: document.getElementById("tray").hidden,
		progress: document.querySelectorAll("#tray progress").length}; })()`, &tray)
	if strings.Join(tray.Names, "|") != "image.png|invoice.pdf" || len(tray.Metas) != 2 ||
		!strings.HasPrefix(tray.Metas[0], "PNG image · ") || tray.Metas[1] != fmt.Sprintf("PDF document · %d bytes", len(pdf)) ||
		strings.Join(tray.Removes, "|") != "Remove image.png|Remove invoice.pdf" || tray.Thumb != "blob:" || !tray.ThumbShown || tray.Hidden || tray.Progress != 0 {
		t.Fatalf("tray: %+v", tray)
	}
	if n := countBlobs(t, blobs); n != 2 {
		t.Fatalf("the store holds %d files, want 2", n)
	}
	t.Logf("saved %s", pg.screenshot("chat-attachments-tray", 1280, 800, false, false))

	pg.send("What do these show?")
	pg.waitReplyDone(2)
	pg.waitJS(`(() => { const m = document.querySelector("#messages .msg-user"); const img = m?.querySelector(".file-thumb img");
		return m.dataset.status === "sent" && m.querySelectorAll(".part.file").length === 2 && img?.complete && img.naturalWidth === 64; })()`)
	var sent struct {
		Kinds    []string
		Text     string
		Chip     string
		Download string
		Tray     bool
	}
	pg.eval(`(() => { const m = document.querySelector("#messages .msg-user");
		return {kinds: [...m.querySelectorAll(".body > .part")].map(p => p.dataset.kind + ":" + (p.dataset.mediaType || "")),
		text: m.querySelector(".part.plain").textContent, chip: m.querySelector(".file-chip .file-name").textContent,
		download: m.querySelector("button.file-download").getAttribute("aria-label"),
		tray: document.getElementById("tray").hidden && !document.querySelector("#tray .tray-item")}; })()`, &sent)
	if strings.Join(sent.Kinds, ",") != "text:,file:image/png,file:application/pdf" || sent.Text != "What do these show?" ||
		sent.Chip != "invoice.pdf" || sent.Download != "Download invoice.pdf" || !sent.Tray {
		t.Fatalf("sent message: %+v", sent)
	}
	if got := pg.messages()[1].Text; got != "I received 2 files." {
		t.Fatalf("reply %q", got)
	}
	// The model was given both files, with their bytes and the types the
	// server read from them.
	reqs := model.Requests()
	last := reqs[len(reqs)-1].Messages
	var given []string
	for _, p := range last[len(last)-1].Parts {
		if p.Kind == llm.PartFile {
			given = append(given, fmt.Sprintf("%s %s %d", p.File.Name, p.File.MediaType, len(p.File.Data)))
		}
	}
	if want := fmt.Sprintf("image.png image/png %d|invoice.pdf application/pdf %d", len(shot), len(pdf)); strings.Join(given, "|") != want {
		t.Fatalf("the model got files %q, want %q", given, want)
	}
	t.Logf("saved %s", pg.screenshot("chat-attachments-sent", 1280, 800, false, false))

	// The operator watching the conversation sees the same files and can
	// open them: the image as a thumbnail, the PDF with its Download button,
	// both fetched with the operator's token.
	id := pg.conversationID()
	op := openTab(t, a.URL+"/operator#"+id)
	op.waitJS(`!document.getElementById("signin").hidden`)
	op.do(chromedp.SendKeys(chromedp.ID("signin-token"), operatorToken), chromedp.Click(chromedp.CSS(`#signin button[type="submit"]`)))
	op.waitJS(`(() => { const m = document.querySelector("#messages .msg-user"); const img = m?.querySelector(".file-thumb img");
		return m?.querySelectorAll(".part.file").length === 2 && img?.complete && img.naturalWidth === 64 &&
		m.querySelector(".file-thumb").getAttribute("aria-label") === "Open image image.png"; })()`)
	t.Logf("saved %s", op.screenshot("operator-attachments", 1280, 800, false, false))
	if axe := axeSource(t); axe != "" {
		for _, scheme := range []string{"light", "dark"} {
			pg.checkAccessibility(axe, "the chat page with attachments", scheme)
			op.checkAccessibility(axe, "the operator console with attachments", scheme)
		}
	}

	// The download is caught before the browser saves it: which blob it
	// would save, under which name.
	op.eval(`(() => { window.saved = []; window.blobs = {};
		const create = URL.createObjectURL; URL.createObjectURL = (b) => { const u = create(b); window.blobs[u] = b; return u; };
		const click = HTMLAnchorElement.prototype.click;
		HTMLAnchorElement.prototype.click = function () { if (this.download) { window.saved.push(this); return; } return click.call(this); };
		document.querySelector("#messages .msg-user button.file-download").click(); return true; })()`, new(bool))
	op.waitJS(`window.saved.length === 1`)
	var saved struct {
		Name, Type string
		Size       int
	}
	op.eval(`(() => { const a = window.saved[0]; const b = window.blobs[a.href]; return {name: a.download, type: b?.type, size: b?.size}; })()`, &saved)
	if saved.Name != "invoice.pdf" || saved.Type != "application/pdf" || saved.Size != len(pdf) {
		t.Fatalf("the operator's download: %+v, want invoice.pdf, application/pdf, %d bytes", saved, len(pdf))
	}
}

func TestAttachmentsRefusedOrTakenBackLeaveTheTray(t *testing.T) {
	a, blobs, _ := fileAttachments(t)
	pg := openPage(t, a.URL+"/", "")

	// A file chosen with the Attach button's file input is uploaded.
	var label string
	pg.eval(`document.getElementById("attach").getAttribute("aria-label")`, &label)
	if label != "Attach files" {
		t.Fatalf("the attach button is labelled %q", label)
	}
	pg.do(chromedp.WaitEnabled(chromedp.ID("attach")))
	pg.eval(`(() => { const input = document.getElementById("file-input"); const dt = new DataTransfer(); dt.items.add(`+jsFile("notes.txt", "text/plain", []byte("remember the milk\n"))+`);
		input.files = dt.files; input.dispatchEvent(new Event("change")); return true; })()`, new(bool))
	pg.waitJS(`document.querySelector("#tray .tray-item")?.dataset.state === "ready" && !document.getElementById("send").disabled`)
	if n := countBlobs(t, blobs); n != 1 {
		t.Fatalf("the store holds %d files, want the text file", n)
	}

	// An SVG is refused by the server (its type is not accepted): the page
	// says so near the message box, and the file leaves the tray.
	svg := []byte(`<?xml version="1.0"?>` + "\n" + `<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`)
	if _, taken := pg.drop(jsFile("logo.svg", "image/svg+xml", svg)); !taken {
		t.Fatal("the page did not take the dropped SVG")
	}
	pg.waitJS(`!!document.querySelector("#file-errors .file-error")`)
	var refused struct {
		Text, Field, Role string
		Tray              []string
	}
	pg.eval(`({text: document.querySelector("#file-errors .file-error").textContent, field: document.querySelector("#file-errors .file-error").dataset.field,
		role: document.getElementById("file-errors").getAttribute("role"), tray: [...document.querySelectorAll("#tray .file-name")].map(n => n.textContent)})`, &refused)
	if !strings.HasPrefix(refused.Text, "“logo.svg” cannot be sent: this type of file ") || !strings.HasSuffix(refused.Text, " is not accepted.") ||
		refused.Field != "type_not_allowed" || refused.Role != "alert" || strings.Join(refused.Tray, ",") != "notes.txt" {
		t.Fatalf("refusal: %+v", refused)
	}
	if n := countBlobs(t, blobs); n != 1 {
		t.Fatalf("the store holds %d files after a refusal, want 1", n)
	}
	t.Logf("saved %s", pg.screenshot("chat-attachment-refused", 1280, 800, false, false))
	if axe := axeSource(t); axe != "" {
		for _, scheme := range []string{"light", "dark"} {
			pg.checkAccessibility(axe, "the chat page with a file attached and one refused", scheme)
		}
	}

	// Taken back with Remove, the file is deleted from the server; without
	// text or files, Send is disabled.
	pg.do(chromedp.Click(chromedp.CSS(`#tray button.tray-remove`)))
	pg.waitJS(`document.getElementById("tray").hidden && document.getElementById("send").disabled`)
	deadline := time.Now().Add(5 * time.Second)
	for countBlobs(t, blobs) != 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := countBlobs(t, blobs); n != 0 {
		t.Fatalf("the store holds %d files after Remove, want 0", n)
	}
	pg.do(chromedp.Click(chromedp.CSS(`#file-errors .file-errors-dismiss`)))
	pg.waitJS(`document.getElementById("file-errors").childElementCount === 0`)
}

// countBlobs counts the files alice has stored.
func countBlobs(t *testing.T, blobs storage.BlobStore) int {
	t.Helper()
	n, q := 0, storage.BlobQuery{UserID: "alice"}
	for {
		page, err := blobs.ListBlobs(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		n += len(page.Blobs)
		if page.NextCursor == "" {
			return n
		}
		q.Cursor = page.NextCursor
	}
}
