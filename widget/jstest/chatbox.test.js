// Unit tests of chatbox.js, the protocol client, against a fake WebSocket
// that records what the client sends and lets the test play the server.
import { test, beforeEach, afterEach } from "node:test";
import assert from "node:assert/strict";

import { FakeSocket, tick } from "./fake-socket.js";

const { ChatboxClient, ChatboxError } = await import("../static/chatbox.js");

let client;

beforeEach(() => { FakeSocket.all = []; });
afterEach(() => client?.close());

// connected returns a client that completed hello, and its socket.
async function connected() {
  client = new ChatboxClient({ url: "/chat/ws", token: "tok", reconnectMinMs: 5, reconnectMaxMs: 10 });
  client.connect();
  await tick();
  const ws = FakeSocket.all.at(-1);
  const hello = ws.last("hello");
  ws.serve({ type: "ready", id: hello.id, user: { id: "u1" }, models: [], limits: { max_text_bytes: 100 } });
  return ws;
}

async function opened(ws, id = "c1", extra = {}) {
  const p = client.open({ title: "t" });
  await tick();
  ws.serve({ type: "opened", id: ws.last("open").id, conversation_id: id, conversation: { id, status: "active" }, messages: [], last_seq: 10, ...extra });
  return p;
}

test("the token goes in hello, never in the URL, with the protocol offered", async () => {
  const ws = await connected();
  assert.equal(ws.url, "ws://chat.example/chat/ws");
  assert.equal(ws.protocol, "chatbox.v1");
  assert.equal(ws.sent[0].type, "hello");
  assert.equal(ws.sent[0].token, "tok");
  assert.equal(client.state, "open");
});

test("request ids are unique and answers are matched by id", async () => {
  const ws = await connected();
  const a = client.list({ limit: 1 });
  const b = client.list({ limit: 2 });
  await tick();
  const [qa, qb] = ws.sent.filter((f) => f.type === "list");
  assert.notEqual(qa.id, qb.id);
  // Answered out of order, in one message.
  ws.serve({ type: "conversations", id: qb.id, conversations: [{ id: "B" }] }, { type: "conversations", id: qa.id, conversations: [{ id: "A" }] });
  assert.equal((await a).conversations[0].id, "A");
  assert.equal((await b).conversations[0].id, "B");
  const bad = client.stop("nope");
  await tick();
  ws.serve({ type: "error", id: ws.last("stop").id, error: { code: "not_open", message: "open it first" } });
  await assert.rejects(bad, (e) => e instanceof ChatboxError && e.code === "not_open");
});

test("several frames in one message are handled in order; coalesced deltas are appended", async () => {
  const ws = await connected();
  const conv = await opened(ws);
  const msg = client.send(conv.id, "hi");
  await tick();
  const send = ws.last("send");
  assert.equal(send.message_id, msg.id);
  ws.serve(
    { type: "ack", id: send.id, conversation_id: "c1", message_id: msg.id },
    { type: "message", conversation_id: "c1", seq: 11, message: { id: msg.id, role: "user", text: "hi" } },
    { type: "reply.start", conversation_id: "c1", seq: 12, reply_id: "r1", reply_to: msg.id },
    { type: "reply.delta", conversation_id: "c1", seq: 13, reply_id: "r1", text: "Hello there, " },
    { type: "reply.delta", conversation_id: "c1", seq: 14, reply_id: "r1", text: "how are you?" },
  );
  const reply = conv.messages.get("r1");
  assert.equal(reply.text, "Hello there, how are you?");
  assert.equal(reply.status, "streaming");
  assert.equal(conv.messages.get(msg.id).status, "sent");
  // An event already seen (same or lower seq) is ignored.
  ws.serve({ type: "reply.delta", conversation_id: "c1", seq: 14, reply_id: "r1", text: "how are you?" });
  assert.equal(reply.text, "Hello there, how are you?");
  ws.serve({ type: "reply.end", conversation_id: "c1", seq: 15, reply_id: "r1", finish_reason: "error", error: { code: "internal", message: "internal error", ref: "K7Q2" } });
  assert.equal(reply.status, "complete");
  assert.equal(reply.finishReason, "error");
  assert.equal(reply.error.ref, "K7Q2");
  assert.equal(conv.replyId, "");
});

test("after a lost connection it reconnects, resumes from the last seq and resends unacknowledged messages with their ids", async () => {
  const ws = await connected();
  const conv = await opened(ws);
  ws.serve({ type: "reply.delta", conversation_id: "c1", seq: 12, reply_id: "r0", text: "partial" });
  const msg = client.send(conv.id, "are you there?");
  await tick();
  ws.drop();
  assert.equal(client.state, "reconnecting");
  assert.equal(conv.messages.get(msg.id).status, "queued");
  await new Promise((r) => setTimeout(r, 30));
  const ws2 = FakeSocket.all.at(-1);
  assert.notEqual(ws2, ws);
  await tick();
  ws2.serve({ type: "ready", id: ws2.last("hello").id, user: { id: "u1" }, models: [] });
  const resume = ws2.last("resume");
  assert.deepEqual([resume.conversation_id, resume.after_seq], ["c1", 12]);
  ws2.serve({ type: "reply.delta", conversation_id: "c1", seq: 13, reply_id: "r0", text: " and more" }, { type: "resumed", id: resume.id, conversation_id: "c1" });
  assert.equal(conv.messages.get("r0").text, "partial and more");
  const resent = ws2.last("send");
  assert.equal(resent.message_id, msg.id, "the message keeps its id");
  assert.equal(client.state, "open");
});

test("a resume the server cannot replay opens the conversation again", async () => {
  const ws = await connected();
  await opened(ws);
  ws.drop();
  await new Promise((r) => setTimeout(r, 30));
  const ws2 = FakeSocket.all.at(-1);
  await tick();
  ws2.serve({ type: "ready", id: ws2.last("hello").id, user: { id: "u1" }, models: [] });
  ws2.serve({ type: "error", id: ws2.last("resume").id, conversation_id: "c1", error: { code: "replay_unavailable", message: "too old" } });
  await tick();
  const reopen = ws2.last("open");
  assert.equal(reopen.conversation_id, "c1");
  ws2.serve({ type: "opened", id: reopen.id, conversation_id: "c1", conversation: { id: "c1" }, messages: [{ id: "r0", role: "assistant", text: "stored whole", finish_reason: "error", error: "provider_error" }], last_seq: 99 });
  const r0 = client.conversations.get("c1").messages.get("r0");
  assert.equal(r0.text, "stored whole");
  assert.equal(r0.error.code, "provider_error");
});

test("a message longer than the server's limit is refused before sending", async () => {
  const ws = await connected();
  const conv = await opened(ws);
  assert.throws(() => client.send(conv.id, "x".repeat(101)), (e) => e.code === "too_large");
  assert.throws(() => client.send(conv.id, "   "), (e) => e.code === "invalid_field");
});
