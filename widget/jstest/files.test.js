// Unit tests of chatbox.js's attachments: file requests (upload with
// XMLHttpRequest, download and delete with fetch) against stand-ins that
// record them, sends that reference files, file parts in message state.
import { test, beforeEach, afterEach } from "node:test";
import assert from "node:assert/strict";
import { FakeSocket, tick } from "./fake-socket.js";
import { connect, openNew, pdf, png } from "./session.js";
import { FakeXHR, serveFetch } from "./fake-http.js";

const { ChatboxClient, ChatboxError } = await import("../static/chatbox.js");

let client;
beforeEach(() => { FakeSocket.all = []; FakeXHR.all = []; });
afterEach(() => client?.close());

async function connected(options = {}) {
  let ws;
  ({ client, ws } = await connect(ChatboxClient, options));
  return ws;
}

const opened = (ws, id) => openNew(client, ws, id);

test("upload POSTs the bytes to {base}/files with the token in the Authorization header, never in the URL", async () => {
  client = new ChatboxClient({ url: "/chat/ws", token: "secret-token" });
  assert.equal(client.baseUrl, "http://chat.example/chat");
  const file = pdf();
  const seen = [];
  const p = client.upload("c_1/x", file, { onProgress: (e) => seen.push(e) });
  await tick();
  const xhr = FakeXHR.all[0];
  assert.equal(xhr.method, "POST");
  const url = new URL(xhr.url);
  assert.equal(url.origin + url.pathname, "http://chat.example/chat/files");
  assert.deepEqual(Object.fromEntries(url.searchParams), { conversation_id: "c_1/x", name: "inv oice?.pdf" });
  assert.ok(!xhr.url.includes("secret-token"), "the token is in the URL");
  assert.equal(xhr.headers.Authorization, "Bearer secret-token");
  assert.equal(xhr.body, file, "the body is the file itself");
  xhr.progress(5, 12);
  assert.deepEqual(seen, [{ loaded: 5, total: 12 }]);
  xhr.answer(201, { id: "f_1", name: "inv oice?.pdf", media_type: "application/pdf", size: 12 });
  assert.deepEqual(await p, { id: "f_1", name: "inv oice?.pdf", mediaType: "application/pdf", size: 12 });
});

test("the files base follows the socket (wss gives https) unless baseUrl says otherwise; a name can be given", async () => {
  assert.equal(new ChatboxClient({ url: "wss://chat.example.com/support/chat/ws?x=1", token: "t" }).baseUrl, "https://chat.example.com/support/chat");
  client = new ChatboxClient({ url: "/ws", token: "t", baseUrl: "/api/chat/" });
  assert.equal(client.baseUrl, "http://chat.example/api/chat");
  const p = client.upload("c1", png(), { name: "screenshot.png" });
  await tick();
  assert.equal(FakeXHR.all[0].url, "http://chat.example/api/chat/files?conversation_id=c1&name=screenshot.png");
  FakeXHR.all[0].answer(201, { id: "f_2", media_type: "image/png", size: 4 });
  assert.deepEqual(await p, { id: "f_2", name: "screenshot.png", mediaType: "image/png", size: 4 });
});

test("a token from getToken is used; a 401 fetches it again once and repeats the upload", async () => {
  let n = 0;
  client = new ChatboxClient({ url: "/chat/ws", getToken: async () => `t${++n}` });
  const p = client.upload("c1", pdf());
  await tick();
  assert.equal(FakeXHR.all[0].headers.Authorization, "Bearer t1");
  FakeXHR.all[0].answer(401, { error: { code: "unauthorized", message: "token expired" } });
  await tick();
  assert.equal(FakeXHR.all.length, 2);
  assert.equal(FakeXHR.all[1].headers.Authorization, "Bearer t2");
  FakeXHR.all[1].answer(401, { error: { code: "unauthorized", message: "invalid token" } });
  await assert.rejects(p, (e) => e instanceof ChatboxError && e.code === "unauthorized" && e.status === 401);
  assert.equal(FakeXHR.all.length, 2, "refreshed once only");
});

test("a refused upload rejects with the server's code, field, message, status and retry time", async () => {
  client = new ChatboxClient({ url: "/chat/ws", token: "t" });
  const cases = [
    [413, { error: { code: "too_large", message: "a file may have at most 10485760 bytes", field: "file" } }, {}, { code: "too_large", field: "file", status: 413 }],
    [415, { error: { code: "file_refused", message: "files of this kind (image/svg+xml) are not accepted", field: "type_not_allowed" } }, {}, { code: "file_refused", field: "type_not_allowed", status: 415 }],
    [429, { error: { code: "rate_limited", message: "too many uploads: wait a moment", retryable: true } }, { "Retry-After": "3" }, { code: "rate_limited", status: 429, retryAfterMs: 3000, retryable: true }],
    [502, "<html>bad gateway</html>", {}, { code: "unavailable", status: 502 }],
  ];
  for (const [status, body, headers, want] of cases) {
    const p = client.upload("c1", pdf());
    await tick();
    FakeXHR.all.at(-1).answer(status, body, headers);
    const err = await p.then(() => null, (e) => e);
    assert.ok(err instanceof ChatboxError, `${status}: ${err}`);
    for (const [k, v] of Object.entries(want)) assert.equal(err[k], v, `${status}: ${k}`);
  }
  const lost = client.upload("c1", pdf());
  await tick();
  FakeXHR.all.at(-1).onerror();
  await assert.rejects(lost, (e) => e.code === "disconnected" && e.retryable);
  const ctl = new AbortController();
  const cancelled = client.upload("c1", pdf(), { signal: ctl.signal });
  await tick();
  ctl.abort();
  await assert.rejects(cancelled, (e) => e.code === "aborted");
  assert.ok(FakeXHR.all.at(-1).aborted);
});

test("send carries the attachments' ids, may have blank text, shows the files at once and resends them after a reconnect", async () => {
  const ws = await connected();
  const conv = await opened(ws);
  assert.throws(() => client.send(conv.id, "  "), (e) => e.code === "invalid_field");
  const file = { id: "f_1", name: "invoice.pdf", mediaType: "application/pdf", size: 10 };
  const msg = client.send(conv.id, "", { attachments: [file, "f_2"] });
  await tick();
  const frame = ws.last("send");
  assert.deepEqual(frame.attachments, ["f_1", "f_2"]);
  assert.equal(frame.text, "");
  assert.deepEqual(msg.parts, [
    { kind: "file", file: { id: "f_1", name: "invoice.pdf", mediaType: "application/pdf" } },
    { kind: "file", file: { id: "f_2", name: "", mediaType: "" } },
  ]);
  // Lost before the ack: sent again with the same id and files.
  ws.drop();
  await new Promise((r) => setTimeout(r, 30));
  const ws2 = FakeSocket.all.at(-1);
  ws2.serve({ type: "ready", id: ws2.last("hello").id, user: { id: "u1" }, models: [] });
  await tick();
  ws2.serve({ type: "resumed", id: ws2.last("resume").id, conversation_id: conv.id });
  await tick();
  const again = ws2.last("send");
  assert.equal(again.message_id, msg.id);
  assert.deepEqual(again.attachments, ["f_1", "f_2"]);
  // A text message sends no attachments field.
  client.send(conv.id, "plain");
  await tick();
  assert.equal("attachments" in ws2.last("send"), false);
});

test("a message with files from the server has its text first, then a file part per file", async () => {
  const ws = await connected();
  const conv = await opened(ws);
  ws.serve({ type: "message", conversation_id: conv.id, seq: 11, message: { id: "m1", role: "user", text: "What is this?", created_at: "2026-01-01T00:00:00Z",
    parts: [{ type: "file", file: { id: "f_1", name: "shot.png", media_type: "image/png" } }, { type: "file", file: { id: "f_2", name: "a.pdf", media_type: "application/pdf" } }] } });
  assert.deepEqual(conv.messages.get("m1").parts, [
    { kind: "text", text: "What is this?" },
    { kind: "file", file: { id: "f_1", name: "shot.png", mediaType: "image/png" } },
    { kind: "file", file: { id: "f_2", name: "a.pdf", mediaType: "application/pdf" } },
  ]);
  ws.serve({ type: "message", conversation_id: conv.id, seq: 12, message: { id: "m2", role: "user", text: "", parts: [{ type: "file", file: { id: "f_3", media_type: "text/plain" } }] } });
  assert.deepEqual(conv.messages.get("m2").parts, [{ kind: "file", file: { id: "f_3", name: "", mediaType: "text/plain" } }]);
});

test("fetchFile and deleteFile send the token in the header; loadFile shares one blob: URL and revokes it after the last release", async () => {
  client = new ChatboxClient({ url: "/chat/ws", token: "tok", fileKeepMs: 20 });
  const seen = serveFetch((url, init) => (init.method === "DELETE" ? { status: 204 } : url.endsWith("/f_html") ? { body: "<script>x</script>", type: "text/html" } : { body: "PNGDATA", type: "image/png" }));
  const revoked = [];
  const revoke = URL.revokeObjectURL;
  URL.revokeObjectURL = (u) => { revoked.push(u); revoke(u); };
  try {
    const blob = await client.fetchFile("c 1", "f_1");
    assert.equal(await blob.text(), "PNGDATA");
    assert.equal(seen[0].url, "http://chat.example/chat/files/c%201/f_1");
    assert.equal(seen[0].init.method, "GET");
    assert.equal(seen[0].init.headers.Authorization, "Bearer tok");
    await client.deleteFile("c1", "f_9");
    assert.equal(seen[1].url, "http://chat.example/chat/files/c1/f_9");
    assert.equal(seen[1].init.method, "DELETE");
    assert.equal(seen[1].init.headers.Authorization, "Bearer tok");

    const [a, b] = await Promise.all([client.loadFile("c1", "f_1"), client.loadFile("c1", "f_1")]);
    assert.equal(seen.length, 3, "one fetch for both holders");
    assert.equal(a.url, b.url);
    assert.match(a.url, /^blob:/);
    assert.equal(a.blob.type, "image/png");
    a.release();
    a.release(); // twice is once
    await new Promise((r) => setTimeout(r, 40));
    assert.deepEqual(revoked, [], "revoked while still held");
    b.release();
    const c = await client.loadFile("c1", "f_1"); // within the keep time: the same URL
    assert.equal(c.url, a.url);
    assert.equal(seen.length, 3);
    c.release();
    await new Promise((r) => setTimeout(r, 40));
    assert.deepEqual(revoked, [a.url]);

    // Markup is never given a type the browser would run in the page's origin.
    const html = await client.loadFile("c1", "f_html");
    assert.equal(html.blob.type, "application/octet-stream");
    html.release();

    serveFetch(() => ({ status: 404, body: { error: { code: "not_found", message: "no such file" } } }));
    await assert.rejects(client.loadFile("c1", "f_gone"), (e) => e.code === "not_found" && e.status === 404);
  } finally {
    URL.revokeObjectURL = revoke;
  }
});
