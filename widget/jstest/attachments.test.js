// Unit tests of attachments on the pages: the sentences for refused files
// and the chat page's tray (chat-files.js), and how file parts are drawn
// (file-parts.js through message-parts.js, and the chat thread from socket
// events), on dom.js's stand-in DOM.
import { test, beforeEach, afterEach } from "node:test";
import assert from "node:assert/strict";
import { installDOM } from "./dom.js";
import { FakeSocket, tick } from "./fake-socket.js";
import { connect, openNew, pdf, png } from "./session.js";

installDOM();
const { ChatboxClient, ChatboxError } = await import("../static/chatbox.js");
const { refusalText, AttachmentTray } = await import("../static/chat-files.js");
const { MessageBody } = await import("../static/message-parts.js");
const { ChatThread } = await import("../static/chat-thread.js");
const { formatBytes, typeLabel } = await import("../static/file-parts.js");

let client;
beforeEach(() => { FakeSocket.all = []; });
afterEach(() => client?.close());

async function connected(options = {}) {
  let ws;
  ({ client, ws } = await connect(ChatboxClient, options));
  return ws;
}

const opened = (ws, id) => openNew(client, ws, id);

test("refusals read as sentences naming the file and the limit", () => {
  const err = (code, message, extra = {}) => Object.assign(new ChatboxError({ code, message, ...extra }), extra.status ? { status: extra.status } : {});
  const cases = [
    [err("too_large", "a file may have at most 10485760 bytes", { field: "file" }), "“big.pdf” is too large: files may have at most 10 MB."],
    [err("too_large", "the file is too large", { field: "file" }), "“big.pdf” is too large: it is over the size limit for files."],
    [err("file_refused", "files of this kind (image/svg+xml) are not accepted", { field: "type_not_allowed" }), "“big.pdf” cannot be sent: this type of file (image/svg+xml) is not accepted."],
    [err("file_refused", "files of type application/zip are not accepted", { field: "type_not_allowed" }), "“big.pdf” cannot be sent: this type of file (application/zip) is not accepted."],
    [err("file_refused", "the PDF has no pages that can be found", { field: "invalid_file" }), "“big.pdf” cannot be sent: its content does not match its type (the file may be damaged)."],
    [err("file_refused", "the image is 9000×9000 pixels; at most 40000000 pixels are accepted", { field: "too_many_pixels" }), "“big.pdf” is too big an image: at most 40 million pixels are accepted. Make it smaller and attach it again."],
    [err("file_refused", "the PDF has more than 100 pages", { field: "too_many_pages" }), "“big.pdf” has too many pages: PDFs may have at most 100. Send a shorter document."],
    [err("file_refused", "the file was refused", { field: "check" }), "“big.pdf” was refused by a safety check."],
    [err("limit_reached", "the files uploaded today reach the daily limit of 209715200 bytes", { retry_after_ms: 5 * 3600_000 }), "“big.pdf” was not sent: you reached today's limit for files (200 MB a day). You can send more in about 5 h."],
    [err("rate_limited", "too many uploads: wait a moment", { retry_after_ms: 2500 }), "Too many files at once: attach “big.pdf” again in 3 s."],
    [err("conversation_ended", "the conversation has ended"), "This conversation has ended: start a new chat to send files."],
    [err("unavailable", "this server keeps no files", { status: 501 }), "This chat does not accept files."],
    [err("unavailable", "files cannot be stored or read right now", { status: 503 }), "“big.pdf” could not be stored just now. Try again in a moment."],
    [err("invalid_field", "the file is empty", { field: "file" }), "“big.pdf” is empty."],
    [err("disconnected", "the server could not be reached"), "“big.pdf” could not be uploaded: the connection failed. Try again."],
  ];
  for (const [e, want] of cases) assert.equal(refusalText(e, "big.pdf"), want, `${e.code}/${e.field}`);
  assert.equal(formatBytes(48213), "47 KB");
  assert.equal(formatBytes(2.5 * 1024 * 1024), "2.5 MB");
  assert.equal(formatBytes(900), "900 bytes");
  assert.equal(typeLabel("application/pdf"), "PDF document");
  assert.equal(typeLabel("", "notes.docx", true), "DOCX");
});

// tray returns a tray on a <ul> whose uploads the test finishes by hand.
function tray() {
  const list = document.createElement("ul");
  const uploads = [];
  const removed = [];
  const refusals = [];
  let changes = 0;
  const t = new AttachmentTray(list, {
    upload: (file, options) => new Promise((resolve, reject) => {
      uploads.push({ file, options, resolve, reject });
      options.signal.addEventListener("abort", () => reject(new ChatboxError({ code: "aborted" })));
    }),
    remove: (info) => removed.push(info.id),
    refused: (text, err) => refusals.push([text, err.code]),
    changed: () => changes++,
    previewURL: (f) => `blob:preview/${f.name}`,
    revokeURL: (u) => removed.push("revoked " + u),
  });
  return { t, list, uploads, removed, refusals, changes: () => changes };
}

test("the tray shows each file at once with its progress, then its details once uploaded", async () => {
  const { t, list, uploads } = tray();
  assert.equal(list.hidden, true);
  const done = t.add(pdf());
  t.add(png(), "screenshot.png");
  assert.equal(list.hidden, false);
  assert.equal(t.uploading, 2);
  const [li1, li2] = list.children;
  assert.equal(li1.dataset.state, "uploading");
  assert.equal(li1.querySelector("progress").getAttribute("aria-label"), "Uploading inv oice?.pdf");
  assert.equal(li1.querySelector(".file-icon").textContent, "PDF");
  assert.equal(li2.querySelector("img.tray-thumb").src, "blob:preview/image.png", "an image previews from the file itself");
  assert.equal(uploads[1].options.name, "screenshot.png");
  assert.equal(li2.querySelector(".file-name").textContent, "screenshot.png");

  uploads[0].options.onProgress({ loaded: 6, total: 12 });
  assert.equal(li1.querySelector("progress").value, 50);
  assert.equal(li1.querySelector(".file-meta").textContent, "Uploading… 50%");

  uploads[0].resolve({ id: "f_1", name: "inv oice?.pdf", mediaType: "application/pdf", size: 48213 });
  assert.deepEqual(await done, { id: "f_1", name: "inv oice?.pdf", mediaType: "application/pdf", size: 48213 });
  assert.equal(li1.dataset.state, "ready");
  assert.equal(li1.dataset.fileId, "f_1");
  assert.equal(li1.querySelector("progress"), null);
  assert.equal(li1.querySelector(".file-meta").textContent, "PDF document · 47 KB");
  assert.equal(li1.querySelector("button.tray-remove").getAttribute("aria-label"), "Remove inv oice?.pdf");
  assert.deepEqual(t.ready.map((f) => f.id), ["f_1"]);
  assert.equal(t.uploading, 1);
});

test("removing a file cancels its upload or deletes it; send takes the uploaded files and empties the tray", async () => {
  const { t, list, uploads, removed } = tray();
  const a = t.add(pdf());
  const b = t.add(png());
  const c = t.add(new File(["x"], "notes.txt", { type: "text/plain" }));
  uploads[0].resolve({ id: "f_1", name: "a.pdf", mediaType: "application/pdf", size: 1 });
  uploads[2].resolve({ id: "f_3", name: "notes.txt", mediaType: "text/plain", size: 1 });
  await a;
  await c;
  // The image, still uploading, is taken back: its upload is cancelled
  // and no refusal is shown.
  list.children[1].querySelector("button.tray-remove").click();
  assert.equal(await b, null);
  assert.ok(uploads[1].options.signal.aborted);
  assert.deepEqual(removed, ["revoked blob:preview/image.png"]);
  // An uploaded file taken back is deleted from the server.
  list.children[1].querySelector("button.tray-remove").click();
  assert.deepEqual(removed, ["revoked blob:preview/image.png", "f_3"]);
  assert.deepEqual(t.ready.map((f) => f.id), ["f_1"]);
  const sent = t.take();
  assert.deepEqual(sent.map((f) => f.id), ["f_1"]);
  assert.equal(t.size, 0);
  assert.equal(list.children.length, 0);
  assert.equal(list.hidden, true);
  assert.deepEqual(removed, ["revoked blob:preview/image.png", "f_3"], "sent files are not deleted");
});

test("a refused file leaves the tray and is reported with its sentence", async () => {
  const { t, list, uploads, refusals } = tray();
  const p = t.add(new File(["<svg/>"], "logo.svg", { type: "image/svg+xml" }));
  uploads[0].reject(new ChatboxError({ code: "file_refused", field: "type_not_allowed", message: "files of this kind (image/svg+xml) are not accepted" }));
  assert.equal(await p, null);
  assert.equal(list.children.length, 0);
  assert.deepEqual(refusals, [["“logo.svg” cannot be sent: this type of file (image/svg+xml) is not accepted.", "file_refused"]]);
});

test("file parts: an image is a thumbnail from a blob: URL, another file a chip with Download; both are released when no longer shown", async () => {
  const loads = [];
  const released = [];
  const loadFile = (f) => new Promise((resolve) => loads.push({ f, resolve: () => resolve({ url: `blob:x/${f.id}`, release: () => released.push(f.id) }) }));
  const body = new MessageBody(document.createElement("div"), { loadFile });
  const m = { role: "user", status: "sent", text: "Look", parts: [
    { kind: "text", text: "Look" },
    { kind: "file", file: { id: "f_1", name: "shot <1>.png", mediaType: "image/png" } },
    { kind: "file", file: { id: "f_2", name: "invoice.pdf", mediaType: "application/pdf" } },
  ] };
  body.update(m);
  const root = body.element;
  const [, img, doc] = root.children;
  assert.equal(img.dataset.kind, "file");
  assert.equal(img.dataset.fileId, "f_1");
  const thumb = img.querySelector("a.file-thumb");
  assert.equal(thumb.dataset.state, "loading");
  assert.equal(thumb.getAttribute("aria-label"), "Open image shot <1>.png");
  assert.equal(thumb.querySelector("img").alt, "shot <1>.png");
  assert.equal(loads.length, 1, "only the image is fetched to be shown");
  loads[0].resolve();
  await tick();
  assert.equal(thumb.querySelector("img").src, "blob:x/f_1");
  assert.equal(thumb.href, "blob:x/f_1");
  assert.equal(thumb.dataset.state, "ready");

  assert.equal(doc.querySelector(".file-name").textContent, "invoice.pdf");
  assert.equal(doc.querySelector(".file-meta").textContent, "PDF document");
  const download = doc.querySelector("button.file-download");
  assert.equal(download.getAttribute("aria-label"), "Download invoice.pdf");
  download.click();
  assert.equal(loads.length, 2);
  assert.equal(loads[1].f.id, "f_2");
  loads[1].resolve();
  await tick();
  await tick();
  assert.deepEqual(released, ["f_2"], "a download releases its URL once started");

  // A redraw with the same files keeps them; destroy releases the image.
  body.update(m);
  assert.equal(loads.length, 2);
  body.destroy();
  assert.deepEqual(released, ["f_2", "f_1"]);
  assert.equal(root.children.length, 0);
});

test("the chat thread draws a sent message's files from socket events and releases them when cleared", async () => {
  const ws = await connected();
  const conv = await opened(ws);
  const requested = [];
  const thread = new ChatThread(document.createElement("ol"), Object.assign(document.createElement("div"), { scrollTo() {}, scrollHeight: 0, scrollTop: 0, clientHeight: 0 }), {
    operatorName: () => "", retry() {}, ask() {}, approve() {},
    loadFile: (c, f) => { requested.push(`${c.id}/${f.id}`); return new Promise(() => {}); },
  });
  client.addEventListener("message", (e) => thread.render(e.detail.conversation, e.detail.message));
  const msg = client.send(conv.id, "Here", { attachments: [{ id: "f_1", name: "a.png", mediaType: "image/png" }, { id: "f_2", name: "b.pdf", mediaType: "application/pdf" }] });
  await tick();
  ws.serve({ type: "ack", id: ws.last("send").id, conversation_id: conv.id, message_id: msg.id },
    { type: "message", conversation_id: conv.id, seq: 11, message: { id: msg.id, role: "user", text: "Here",
      parts: [{ type: "file", file: { id: "f_1", name: "a.png", media_type: "image/png" } }, { type: "file", file: { id: "f_2", name: "b.pdf", media_type: "application/pdf" } }] } });
  const li = thread.list.querySelector("li.msg");
  assert.equal(li.dataset.status, "sent");
  const kinds = li.querySelector("div.body").children.map((c) => c.dataset.kind + (c.dataset.fileId ? ":" + c.dataset.fileId : ""));
  assert.deepEqual(kinds, ["text", "file:f_1", "file:f_2"]);
  assert.deepEqual(requested, ["c1/f_1"], "the image is fetched once, through the conversation");
  thread.clear();
  assert.equal(thread.size, 0);
});
