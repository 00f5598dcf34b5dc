// Unit tests of how reasoning, tool calls and approval prompts are drawn
// (tool-parts.js through message-parts.js), on dom.js's stand-in DOM; the
// prompts are driven end to end: server events through chatbox.js to the
// chat page's and the console's threads, and their buttons back to the socket.
import { test, beforeEach, afterEach } from "node:test";
import assert from "node:assert/strict";
import { installDOM } from "./dom.js";
import { FakeSocket, tick } from "./fake-socket.js";

installDOM();
const { ChatboxClient } = await import("../static/chatbox.js");
const { MessageBody, finishNote } = await import("../static/message-parts.js");
const { ChatThread } = await import("../static/chat-thread.js");
const { Thread } = await import("../static/operator-thread.js");

const ARGS = `{"order_id":"A-1234"}`;
const EXPIRES = "2026-11-27T10:20:00Z";
const call = (fields) => ({ id: "call_1", name: "get_weather", arguments: "", status: "started", result: "", errorCode: "", expiresAt: "", approval: false, answer: null, ...fields });
const draw = (m, ctx) => {
  const body = new MessageBody(document.createElement("div"), ctx);
  body.update({ role: "assistant", status: "complete", text: "", ...m });
  return body.element;
};
const $ = (root, selector) => root.querySelector(selector);
const text = (root, selector) => $(root, selector)?.textContent;

test("a tool call is a compact card: name and status, with its arguments and result in a closed Details", () => {
  const c = call({ arguments: `{"city":"Lisbon"}`, status: "done", result: "24 °C, sunny" });
  const root = draw({ text: "Sunny.", parts: [{ kind: "tool", call: c }, { kind: "text", text: "Sunny." }] });
  assert.equal(root.innerHTML,
    `<div class="part tool" data-kind="tool" data-call-id="call_1" data-status="done">` +
    `<div class="tool-head"><span class="tool-icon" aria-hidden="true">⚙</span><span class="tool-name">get_weather</span><span class="tool-status">Done</span></div>` +
    `<details class="tool-details"><summary>Details</summary>` +
    `<div class="tool-section"><div class="tool-label">Arguments</div><pre class="tool-args">{\n  "city": "Lisbon"\n}</pre></div>` +
    `<div class="tool-section"><div class="tool-label">Result</div><pre class="tool-result">24 °C, sunny</pre></div>` +
    `</details></div>` +
    `<div class="part md" data-kind="text"><p>Sunny.</p></div>`);
});

test("statuses read as words; failures name their cause; arguments that are not JSON are shown as written", () => {
  const status = (fields, m = {}) => text(draw({ parts: [{ kind: "tool", call: call(fields) }], ...m }), ".tool-status");
  assert.equal(status({ status: "started" }, { status: "streaming" }), "Preparing…");
  assert.equal(status({ status: "running" }, { status: "streaming" }), "Running…");
  assert.equal(status({ status: "running" }), "Not finished", "a call cut off by the reply's end");
  assert.equal(status({ status: "error", errorCode: "timeout" }), "Timed out");
  assert.equal(status({ status: "error", errorCode: "invalid_arguments" }), "Failed: invalid arguments");
  assert.equal(status({ status: "error", errorCode: "panic" }), "Failed");
  assert.equal(status({ status: "denied", errorCode: "denied", approval: true }), "Denied");
  const failed = draw({ parts: [{ kind: "tool", call: call({ status: "error", errorCode: "tool_error", arguments: `{"city":` }) }] });
  assert.equal(text(failed, ".tool-args"), `{"city":`);
  assert.equal(text(failed, ".tool-label") + "/" + failed.querySelectorAll(".tool-label")[1].textContent, "Arguments/Error");
  assert.equal(text(failed, ".tool-result"), "tool_error");
  assert.match(finishNote({ finishReason: "max_steps" }).text, /used tools more times/);
});

test("model and tool output is text, never markup", () => {
  const evil = `<img src=x onerror=alert(1)>`;
  const root = draw({ parts: [{ kind: "reasoning", text: evil }, { kind: "tool", call: call({ name: evil, arguments: evil, status: "done", result: evil }) }] });
  assert.equal(root.querySelectorAll("img").length, 0);
  assert.equal(text(root, ".tool-name"), evil);
  assert.equal(text(root, ".tool-result"), evil);
  assert.ok(root.innerHTML.includes("&lt;img src=x onerror=alert(1)&gt;"));
});

test("reasoning is folded away in a Reasoning block the reader may open", () => {
  const root = draw({ text: "42", parts: [{ kind: "reasoning", text: "Six times seven." }, { kind: "text", text: "42" }] });
  assert.equal(root.firstChild.outerHTML, `<details class="part reasoning" data-kind="reasoning"><summary>Reasoning</summary><div class="reasoning-text">Six times seven.</div></details>`);
  assert.equal(root.firstChild.hasAttribute("open"), false);
  assert.equal(text(root, ".md"), "42", "the answer is apart from the reasoning");
});

// ---- approval prompts, end to end ----

let client;
beforeEach(() => { FakeSocket.all = []; });
afterEach(() => client?.close());

function scroller() {
  const s = document.createElement("div");
  Object.assign(s, { scrollTo() {}, scrollHeight: 0, scrollTop: 0, clientHeight: 0 });
  return s;
}

// chatPage connects a client, opens c1 and draws its messages with the chat
// page's thread wired as chat.js wires it.
async function chatPage() {
  client = new ChatboxClient({ url: "/chat/ws", token: "tok", reconnectMinMs: 5, reconnectMaxMs: 10 });
  client.connect();
  await tick();
  const ws = FakeSocket.all.at(-1);
  ws.serve({ type: "ready", id: ws.last("hello").id, user: { id: "u1" }, models: [] });
  const p = client.open({ conversationId: "c1" });
  await tick();
  ws.serve({ type: "opened", id: ws.last("open").id, conversation_id: "c1", conversation: { id: "c1", status: "active" }, messages: [], last_seq: 10 });
  await p;
  const list = document.createElement("ol");
  const thread = new ChatThread(list, scroller(), {
    operatorName: () => "", retry() {}, ask() {},
    approve: (conv, m, c, approved) => client.approve(conv.id, m.id, c.id, approved),
  });
  client.addEventListener("message", (e) => thread.render(e.detail.conversation, e.detail.message));
  let seq = 11;
  const play = (...events) => { ws.serve(...events.map((e) => ({ conversation_id: "c1", reply_id: "r1", seq: seq++, ...e }))); thread.flush(); };
  return { ws, list, thread, play };
}

const request = { type: "approval.request", call: { id: "call_01", name: "cancel_order", arguments: ARGS, status: "awaiting_approval", expires_at: EXPIRES } };

test("an approval request is a prompt in its card; Approve sends the answer, is disabled meanwhile, and gives way to the outcome", async () => {
  const { ws, list, play } = await chatPage();
  play({ type: "reply.start" }, { type: "tool.call", call: { id: "call_01", name: "cancel_order", status: "started" } }, request);
  const card = $(list, ".tool");
  assert.equal(card.dataset.status, "awaiting_approval");
  assert.equal(card.dataset.callId, "call_01");
  assert.equal(text(card, ".tool-status"), "Needs approval");
  assert.ok($(card, ".tool-details").hasAttribute("open"), "what is to be approved is shown");
  const prompt = $(card, ".tool-approval");
  assert.equal(prompt.getAttribute("role"), "group");
  assert.equal(prompt.getAttribute("aria-label"), "Approval needed: cancel_order");
  assert.equal(text(prompt, ".tool-question"), "The assistant wants to run cancel_order. Allow it?");
  assert.match(text(prompt, ".tool-expiry"), /^Answer by /);
  const approve = $(prompt, "button.tool-approve");
  const deny = $(prompt, "button.tool-deny");
  assert.deepEqual([approve.textContent, approve.getAttribute("type"), approve.getAttribute("aria-label")], ["Approve", "button", "Approve cancel_order"]);
  assert.deepEqual([deny.textContent, deny.getAttribute("aria-label")], ["Deny", "Deny cancel_order"]);
  assert.equal(text(prompt, ".tool-answer"), "");
  assert.equal($(prompt, ".tool-answer").getAttribute("role"), "status");

  approve.click();
  assert.ok(approve.disabled && deny.disabled, "disabled while the answer is in flight");
  assert.equal(text(prompt, ".tool-answer"), "Approving…");
  approve.click(); // a second click does nothing
  await tick();
  const sent = ws.sent.filter((f) => f.type === "approve");
  assert.equal(sent.length, 1);
  assert.deepEqual([sent[0].conversation_id, sent[0].reply_id, sent[0].call_id, sent[0].approved], ["c1", "r1", "call_01", true]);

  ws.serve({ type: "ok", id: sent[0].id, conversation_id: "c1" });
  await tick();
  assert.equal($(card, ".tool-approval"), null, "the prompt is replaced…");
  assert.equal($(card, "button"), null);
  const out = $(card, ".tool-outcome");
  assert.deepEqual([out.textContent, out.dataset.outcome, out.getAttribute("role")], ["Approved.", "approved", "status"]);

  play({ type: "tool.call", call: { id: "call_01", name: "cancel_order", arguments: ARGS, status: "running" } });
  assert.equal(text(card, ".tool-status"), "Running…");
  play({ type: "tool.result", call: { id: "call_01", name: "cancel_order", status: "done", result: "Order A-1234 cancelled." } });
  assert.equal(text(card, ".tool-status"), "Done");
  assert.equal(text(card, ".tool-result"), "Order A-1234 cancelled.");
  assert.equal(text(card, ".tool-outcome"), "Approved.", "…by the outcome, which stays");
});

test("a refused answer says why and the buttons work again; a denial from elsewhere or an expiry ends the prompt", async () => {
  const { ws, list, play } = await chatPage();
  play({ type: "reply.start" }, request, { ...request, call: { ...request.call, id: "call_02", name: "refund" } });
  const [first, second] = list.querySelectorAll(".tool");
  $(first, ".tool-deny").click();
  assert.equal(text(first, ".tool-answer"), "Denying…");
  await tick();
  ws.serve({ type: "error", id: ws.last("approve").id, conversation_id: "c1", error: { code: "conflict", message: "already answered" } });
  await tick();
  const note = $(first, ".tool-answer");
  assert.deepEqual([note.textContent, note.className], ["This request was already answered, or it expired.", "tool-answer error"]);
  assert.equal($(first, ".tool-approve").disabled, false);
  assert.equal($(first, ".tool-deny").disabled, false);

  play({ type: "tool.result", call: { id: "call_01", name: "cancel_order", status: "denied", result: "the call was not approved", error_code: "denied" } });
  assert.equal($(first, ".tool-approval"), null);
  assert.deepEqual([text(first, ".tool-outcome"), $(first, ".tool-outcome").dataset.outcome, text(first, ".tool-status")], ["Denied.", "denied", "Denied"]);
  play({ type: "tool.result", call: { id: "call_02", name: "refund", status: "expired", result: "nobody answered", error_code: "expired" } });
  assert.deepEqual([text(second, ".tool-outcome"), $(second, ".tool-outcome").dataset.outcome], ["Expired: nobody answered in time.", "expired"]);
});

test("a prompt still waiting when its reply ends is withdrawn", async () => {
  const { list, play } = await chatPage();
  play({ type: "reply.start" }, request);
  const card = $(list, ".tool");
  assert.ok($(card, ".tool-approval"));
  play({ type: "reply.end", finish_reason: "abort" });
  assert.equal($(card, ".tool-approval"), null);
  assert.deepEqual([text(card, ".tool-outcome"), text(card, ".tool-status")], ["Not answered: the reply ended.", "Not finished"]);
});

test("in the console only the operator holding the conversation gets the buttons", async () => {
  const { play, ws } = await chatPage();
  const list = document.createElement("ol");
  let holding = false;
  const thread = new Thread(list, scroller(), {
    names: () => ({ who: "Assistant", avatar: "AI" }), onRetry() {},
    approve: (m, c, approved) => client.approve("c1", m.id, c.id, approved),
    answerable: () => (holding ? "" : "Waiting for the user to answer. Take the conversation over to answer it yourself."),
  });
  client.addEventListener("message", (e) => thread.render(e.detail.message));
  play({ type: "reply.start" }, request);
  thread.flush();
  const prompt = $(list, ".tool-approval");
  assert.equal($(prompt, ".tool-actions").hidden, true);
  assert.equal(text(prompt, ".tool-answer"), "Waiting for the user to answer. Take the conversation over to answer it yourself.");
  holding = true;
  thread.refreshCalls();
  assert.equal($(prompt, ".tool-actions").hidden, false);
  assert.equal(text(prompt, ".tool-answer"), "");
  $(prompt, ".tool-approve").click();
  await tick();
  assert.equal(ws.last("approve").call_id, "call_01");
});
