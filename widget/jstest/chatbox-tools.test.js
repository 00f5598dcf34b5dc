// Unit tests of chatbox.js's reasoning, tool calls and approvals: event
// sequences played by a fake server, and the state the client keeps of them.
import { test, beforeEach, afterEach } from "node:test";
import assert from "node:assert/strict";
import { FakeSocket, tick } from "./fake-socket.js";

const { ChatboxClient, ChatboxError } = await import("../static/chatbox.js");

let client;
beforeEach(() => { FakeSocket.all = []; });
afterEach(() => client?.close());

async function connected() {
  client = new ChatboxClient({ url: "/chat/ws", token: "tok", reconnectMinMs: 5, reconnectMaxMs: 10 });
  client.connect();
  await tick();
  const ws = FakeSocket.all.at(-1);
  ws.serve({ type: "ready", id: ws.last("hello").id, user: { id: "u1" }, models: [] });
  return ws;
}

async function opened(ws, extra = {}) {
  const p = client.open({ conversationId: "c1" });
  await tick();
  ws.serve({ type: "opened", id: ws.last("open").id, conversation_id: "c1", conversation: { id: "c1", status: "active" }, messages: [], last_seq: 10, ...extra });
  return p;
}

// play serves events of conversation c1 and reply r1, numbered from seq.
function player(ws, seq = 11) {
  return (...events) => ws.serve(...events.map((e) => ({ conversation_id: "c1", reply_id: "r1", seq: seq++, ...e })));
}

const kinds = (m) => m.parts.map((p) => p.kind);
const EXPIRES = "2026-11-27T10:20:00Z";
const ARGS = `{"order_id":"A-1234"}`;

test("reasoning, text and a tool call become ordered parts; the reply's text holds the answer alone", async () => {
  const ws = await connected();
  const conv = await opened(ws);
  const seen = [];
  client.addEventListener("message", (e) => seen.push(e.detail.message.id));
  const play = player(ws);
  play({ type: "reply.start", reply_to: "m1" });
  play({ type: "reply.reasoning", text: "The user wants " }, { type: "reply.reasoning", text: "the weather." });
  play({ type: "reply.delta", text: "Let me check. " });
  play({ type: "tool.call", call: { id: "call_1", name: "get_weather", status: "started" } });
  play({ type: "tool.delta", call: { id: "call_1" }, text: `{"city":` }, { type: "tool.delta", call: { id: "call_1" }, text: `"Lisbon"}` });
  const reply = conv.messages.get("r1");
  assert.equal(reply.calls.get("call_1").arguments, `{"city":"Lisbon"}`, "argument pieces are appended");
  play({ type: "tool.call", call: { id: "call_1", name: "get_weather", arguments: `{"city": "Lisbon"}`, status: "running" } });
  play({ type: "tool.result", call: { id: "call_1", name: "get_weather", status: "done", result: "24 °C, sunny" } });
  play({ type: "reply.reasoning", text: "Now answer." });
  play({ type: "reply.delta", text: "It is " }, { type: "reply.delta", text: "sunny." });
  play({ type: "reply.end", finish_reason: "stop" });

  assert.equal(reply.text, "Let me check. It is sunny.", "no reasoning and no tool output in the text");
  assert.deepEqual(kinds(reply), ["reasoning", "text", "tool", "reasoning", "text"]);
  assert.equal(reply.parts[0].text, "The user wants the weather.");
  assert.equal(reply.parts[1].text, "Let me check. ");
  assert.equal(reply.parts[4].text, "It is sunny.");
  const call = reply.calls.get("call_1");
  assert.equal(reply.parts[2].call, call, "the part and the map hold the same call");
  assert.deepEqual({ name: call.name, arguments: call.arguments, status: call.status, result: call.result, approval: call.approval },
    { name: "get_weather", arguments: `{"city": "Lisbon"}`, status: "done", result: "24 °C, sunny", approval: false });
  assert.equal(reply.status, "complete");
  assert.ok(seen.length >= 10 && seen.every((id) => id === "r1"), "every event reports the reply");
});

test("a plain reply has no parts; its text becomes the first part once a tool call follows it", async () => {
  const ws = await connected();
  const conv = await opened(ws);
  const play = player(ws);
  play({ type: "reply.start" }, { type: "reply.delta", text: "Hello" });
  const reply = conv.messages.get("r1");
  assert.deepEqual(reply.parts, []);
  play({ type: "tool.call", call: { id: "c", name: "lookup", status: "started" } }, { type: "reply.delta", text: " again" });
  assert.deepEqual(kinds(reply), ["text", "tool", "text"]);
  assert.equal(reply.parts[0].text, "Hello");
  assert.equal(reply.text, "Hello again");
  // An event seen before is ignored: the argument piece is not appended twice.
  play({ type: "tool.delta", call: { id: "c" }, text: "{}" });
  ws.serve({ type: "tool.delta", conversation_id: "c1", reply_id: "r1", seq: 14, call: { id: "c" }, text: "{}" });
  assert.equal(reply.calls.get("c").arguments, "{}");
  // reply.start again (a reply id already shown) starts it over.
  play({ type: "reply.start" });
  assert.deepEqual([reply.text, reply.parts, reply.calls.size], ["", [], 0]);
});

test("an approval request waits; approve sends the answer and resolves on ok; the call then runs", async () => {
  const ws = await connected();
  const conv = await opened(ws);
  const asked = [];
  client.addEventListener("approval", (e) => asked.push(e.detail.call.id));
  const play = player(ws);
  play({ type: "reply.start" }, { type: "tool.call", call: { id: "call_01", name: "cancel_order", status: "started" } });
  play({ type: "approval.request", call: { id: "call_01", name: "cancel_order", arguments: ARGS, status: "awaiting_approval", expires_at: EXPIRES } });
  const reply = conv.messages.get("r1");
  const call = reply.calls.get("call_01");
  assert.deepEqual([call.status, call.arguments, call.expiresAt, call.approval, call.answer], ["awaiting_approval", ARGS, EXPIRES, true, null]);
  assert.deepEqual(asked, ["call_01"]);
  assert.equal(reply.status, "streaming", "the reply is paused, not ended");
  assert.deepEqual(client.pendingApprovals("c1").map((a) => [a.conversationId, a.replyId, a.call.id]), [["c1", "r1", "call_01"]]);

  const answered = client.approve("c1", "r1", "call_01", true);
  assert.equal(call.answer.state, "sending");
  await tick();
  const frame = ws.last("approve");
  assert.deepEqual({ ...frame, id: undefined }, { type: "approve", id: undefined, conversation_id: "c1", reply_id: "r1", call_id: "call_01", approved: true });
  ws.serve({ type: "ok", id: frame.id, conversation_id: "c1" });
  await answered;
  assert.deepEqual([call.answer.state, call.answer.approved], ["sent", true]);

  play({ type: "tool.call", call: { id: "call_01", name: "cancel_order", arguments: ARGS, status: "running" } });
  assert.equal(call.status, "running");
  assert.deepEqual(client.pendingApprovals(), []);
  play({ type: "tool.result", call: { id: "call_01", name: "cancel_order", status: "done", result: "Order A-1234 cancelled." } });
  play({ type: "reply.delta", text: "Done." }, { type: "reply.end", finish_reason: "stop" });
  assert.deepEqual([call.status, call.result, call.approval, reply.text, reply.status], ["done", "Order A-1234 cancelled.", true, "Done.", "complete"]);
});

test("a refused answer rejects with the server's error and is kept on the call; denial and expiry come as results", async () => {
  const ws = await connected();
  const conv = await opened(ws);
  const errors = [];
  client.addEventListener("error", (e) => errors.push([e.detail.request, e.detail.error.code]));
  const play = player(ws);
  play({ type: "reply.start" });
  play({ type: "approval.request", call: { id: "a", name: "cancel_order", arguments: ARGS, status: "awaiting_approval", expires_at: EXPIRES } });
  play({ type: "approval.request", call: { id: "b", name: "refund", arguments: "{}", status: "awaiting_approval", expires_at: EXPIRES } });
  const reply = conv.messages.get("r1");
  assert.deepEqual(kinds(reply), ["tool", "tool"]);

  const p = client.approve("c1", "r1", "a", false);
  await tick();
  ws.serve({ type: "error", id: ws.last("approve").id, conversation_id: "c1", error: { code: "conflict", message: "already answered" } });
  await assert.rejects(p, (e) => e instanceof ChatboxError && e.code === "conflict");
  const a = reply.calls.get("a");
  assert.deepEqual([a.answer.state, a.answer.approved, a.answer.error.code], ["failed", false, "conflict"]);
  assert.deepEqual(errors, [["approve", "conflict"]]);

  // Another socket denied it first; the other one expired.
  play({ type: "tool.result", call: { id: "a", name: "cancel_order", status: "denied", result: "the call was not approved", error_code: "denied" } });
  play({ type: "tool.result", call: { id: "b", name: "refund", status: "expired", result: "nobody answered", error_code: "expired" } });
  assert.deepEqual([a.status, a.errorCode, a.result], ["denied", "denied", "the call was not approved"]);
  assert.deepEqual([reply.calls.get("b").status, reply.calls.get("b").errorCode], ["expired", "expired"]);
  assert.deepEqual(client.pendingApprovals(), []);

  // Offline, an answer fails at once.
  ws.drop();
  await assert.rejects(client.approve("c1", "r1", "b", true), (e) => e.code === "disconnected");
});

test("a reply paused for approval is restored from opened, with its prompt, and continues with the events after it", async () => {
  const ws = await connected();
  const asked = [];
  client.addEventListener("approval", (e) => asked.push([e.detail.message.id, e.detail.call.id]));
  const conv = await opened(ws, {
    messages: [
      { id: "m1", role: "user", text: "Cancel A-1234", created_at: "2026-11-27T10:15:01Z" },
      { id: "r1", role: "assistant", text: "", status: "awaiting_approval", reply_to: "m1", created_at: "2026-11-27T10:15:02Z",
        parts: [{ type: "reasoning", text: "Cancel it." }, { type: "tool", call: { id: "call_01", name: "cancel_order", arguments: ARGS, status: "awaiting_approval", expires_at: EXPIRES } }] },
    ],
  });
  const reply = conv.messages.get("r1");
  assert.equal(reply.status, "streaming", "a paused reply has not ended");
  assert.equal(conv.replyId, "r1");
  assert.equal(reply.text, "");
  assert.deepEqual(kinds(reply), ["reasoning", "tool"]);
  const call = reply.calls.get("call_01");
  assert.deepEqual([call.status, call.arguments, call.expiresAt, call.approval], ["awaiting_approval", ARGS, EXPIRES, true]);
  assert.deepEqual(asked, [["r1", "call_01"]], "the waiting request is announced");
  assert.equal(client.pendingApprovals("c1").length, 1);

  const p = client.approve("c1", "r1", "call_01", true);
  await tick();
  ws.serve({ type: "ok", id: ws.last("approve").id });
  await p;
  const play = player(ws);
  play({ type: "tool.call", call: { id: "call_01", name: "cancel_order", arguments: ARGS, status: "running" } });
  play({ type: "tool.result", call: { id: "call_01", name: "cancel_order", status: "done", result: "ok" } });
  play({ type: "reply.delta", text: "Cancelled." }, { type: "reply.end", finish_reason: "stop" });
  assert.deepEqual(kinds(reply), ["reasoning", "tool", "text"]);
  assert.deepEqual([reply.text, reply.status, conv.replyId], ["Cancelled.", "complete", ""]);
});

test("the streaming reply of opened and stored messages carry their parts; reasoning stays out of the text", async () => {
  const ws = await connected();
  const conv = await opened(ws, {
    messages: [
      { id: "r0", role: "assistant", text: "It is sunny.", finish_reason: "max_steps",
        parts: [{ type: "reasoning", text: "Weather." }, { type: "tool", call: { id: "w", name: "get_weather", arguments: "{}", status: "error", result: "too slow", error_code: "timeout" } }, { type: "text", text: "It is sunny." }] },
    ],
    reply: { reply_id: "r1", reply_to: "m1", text: "Start", parts: [{ type: "reasoning", text: "Think." }, { type: "text", text: "Start" }] },
  });
  const r0 = conv.messages.get("r0");
  assert.deepEqual([r0.status, r0.finishReason, r0.text], ["complete", "max_steps", "It is sunny."]);
  assert.deepEqual([r0.calls.get("w").status, r0.calls.get("w").errorCode, r0.calls.get("w").approval], ["error", "timeout", false]);
  const r1 = conv.messages.get("r1");
  assert.deepEqual(kinds(r1), ["reasoning", "text"]);
  player(ws)({ type: "reply.delta", text: " here" }, { type: "reply.reasoning", text: "More." });
  assert.equal(r1.text, "Start here");
  assert.deepEqual(r1.parts.map((p) => p.text), ["Think.", "Start here", "More."]);
});
