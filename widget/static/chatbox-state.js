// chatbox-state.js: the conversation state of chatbox.js (see there): how
// server frames that carry conversations and messages change it. Part of
// the client; hosts import chatbox.js.

// Errors of requests carry the protocol's error code.
export class ChatboxError extends Error {
  constructor(body) {
    super(body.message || body.code);
    this.name = "ChatboxError";
    this.code = body.code;
    this.retryable = !!body.retryable;
    this.retryAfterMs = body.retry_after_ms || 0;
    this.field = body.field || "";
    this.ref = body.ref || ""; // identifies an internal failure in the server's log
    this.status = body.status || 0; // the HTTP status, for file requests
  }
}

// A message's parts, once it holds more than text, in order: {kind:
// "text", text}, {kind: "reasoning", text}, {kind: "tool", call} or {kind:
// "file", file: {id, name, mediaType}} (an attached file; a message with
// files has its text, when not blank, as a first text part). A plain text
// message has no parts (its text is all). msg.calls maps a call's id to
// the same call object as its part:
//   {id, name, arguments, status, result, errorCode, expiresAt,
//    approval: the call asked for approval (its outcome is the status),
//    answer: null, or this client's answer {approved, state, error} with
//            state "sending", "sent" or "failed"}
const WAITING = "awaiting_approval";

export function callFromWire(c) {
  return {
    id: c.id, name: c.name || "", arguments: c.arguments || "", status: c.status || "", result: c.result || "",
    errorCode: c.error_code || "", expiresAt: c.expires_at || "", approval: !!c.expires_at || [WAITING, "denied", "expired"].includes(c.status), answer: null,
  };
}

// fileRef is a file as messages carry it: {id, name, mediaType}.
export function fileRef(f) {
  return { id: String(f.id || ""), name: f.name || "", mediaType: f.mediaType || f.media_type || "" };
}

// fileParts returns the parts of a message of text with files: the text
// first (when not blank), then one part per file.
export function fileParts(text, files) {
  const parts = String(text || "").trim() ? [{ kind: "text", text }] : [];
  for (const f of files) parts.push({ kind: "file", file: fileRef(f) });
  return parts;
}

function partsFromWire(wire, text) {
  const parts = [];
  const calls = new Map();
  for (const p of Array.isArray(wire) ? wire : []) {
    if (p.type === "tool" && p.call?.id) {
      const call = callFromWire(p.call);
      calls.set(call.id, call);
      parts.push({ kind: "tool", call });
    } else if (p.type === "file" && p.file?.id) {
      parts.push({ kind: "file", file: fileRef(p.file) });
    } else if (p.type) parts.push({ kind: p.type, text: p.text || "" });
  }
  // A message with files keeps its text beside them, not in a part.
  if (parts.some((p) => p.kind === "file") && !parts.some((p) => p.kind === "text") && String(text || "").trim()) {
    parts.unshift({ kind: "text", text });
  }
  return { parts, calls };
}

export function fromWire(m) {
  return {
    id: m.id, role: m.role, text: m.text || "",
    // A reply paused for an approval has not ended: it is still streaming.
    status: m.status === "streaming" || m.status === WAITING ? "streaming" : m.role === "user" ? "sent" : "complete",
    finishReason: m.finish_reason || "", error: m.error ? { code: m.error, message: "", ref: "" } : null,
    replyTo: m.reply_to || "", model: m.model || "", createdAt: m.created_at || "",
    ...partsFromWire(m.parts, m.text),
  };
}

// newMessage is a message this client starts before the server sent it whole.
export function newMessage(id, role, fields = {}) {
  return { id, role, text: "", status: "streaming", finishReason: "", error: null, replyTo: "", model: "", createdAt: "", parts: [], calls: new Map(), ...fields };
}

// appendPart adds text to the last part when it is of the same kind, else
// starts a new part.
function appendPart(msg, kind, text) {
  const last = msg.parts.at(-1);
  if (last && last.kind === kind) last.text += text;
  else msg.parts.push({ kind, text });
}

// callOf returns the call id of msg, adding it (as a tool part) when new. A
// reply that held only text so far gets its text as a first part.
function callOf(msg, id) {
  let call = msg.calls.get(id);
  if (call) return call;
  if (!msg.parts.length && msg.text) msg.parts.push({ kind: "text", text: msg.text });
  call = callFromWire({ id });
  msg.calls.set(id, call);
  msg.parts.push({ kind: "tool", call });
  return call;
}

// applyCall brings a call up to date with the call of a tool event.
function applyCall(call, c, type) {
  if (c.name) call.name = c.name;
  if (c.arguments !== undefined) call.arguments = c.arguments;
  if (c.status) call.status = c.status;
  if (type === "tool.result") {
    call.result = c.result || "";
    call.errorCode = c.error_code || "";
  }
  if (c.expires_at) call.expiresAt = c.expires_at;
  if (call.status === WAITING || call.status === "denied" || call.status === "expired") call.approval = true;
}

// pendingApprovals lists the calls waiting for an answer, in the order
// they came, of one conversation (or of every one).
export function pendingApprovals(client, conversationId) {
  const out = [];
  for (const conv of client.conversations.values()) {
    if (conversationId && conv.id !== conversationId) continue;
    for (const msg of conv.messages.values()) {
      if (msg.status !== "streaming" || !msg.calls) continue;
      for (const call of msg.calls.values()) if (call.status === WAITING) out.push({ conversationId: conv.id, replyId: msg.id, call, conversation: conv, message: msg });
    }
  }
  return out;
}

// applyOpened takes in an "opened" answer (to open or watch): the
// conversation's latest messages, its streaming reply, its mode.
export function applyOpened(client, f, watched) {
  const prev = client.conversations.get(f.conversation_id);
  const conv = prev || { id: f.conversation_id, messages: new Map(), lastSeq: 0, wanted: true, mode: "ai", operator: null };
  conv.info = f.conversation || conv.info || { id: f.conversation_id };
  conv.ended = conv.info.status === "ended";
  conv.watched = watched || !!conv.watched;
  const previous = conv.mode;
  conv.mode = conv.info.mode || "ai";
  // The operator's name comes with mode events; it is kept while the mode is unchanged.
  if (conv.info.operator?.name) conv.operator = conv.info.operator;
  else if (conv.mode !== "operator" || previous !== "operator") conv.operator = null;
  conv.cursor = f.cursor || "";
  conv.lastSeq = f.last_seq || 0;
  conv.replyId = "";
  conv.wanted = true;
  const messages = new Map();
  for (const m of f.messages || []) {
    const msg = fromWire(m);
    messages.set(msg.id, msg);
    if (msg.status === "streaming") conv.replyId = msg.id;
  }
  if (f.reply) {
    const r = f.reply;
    const created = messages.get(r.reply_id)?.createdAt || "";
    messages.set(r.reply_id, newMessage(r.reply_id, "assistant", { text: r.text || "", replyTo: r.reply_to || "", model: r.model || "", createdAt: created, ...partsFromWire(r.parts, r.text) }));
    conv.replyId = r.reply_id;
  }
  for (const [id, p] of client._pending) {
    if (p.conversationId === conv.id && !messages.has(id)) {
      messages.set(id, conv.messages.get(id) || newMessage(id, "user", { text: p.text, status: "queued", parts: p.files.length ? fileParts(p.text, p.files) : [] }));
    }
  }
  conv.messages = messages;
  client.conversations.set(conv.id, conv);
  client._emit("conversation", { conversation: conv });
  if (prev && previous !== conv.mode) client._emit("mode", { conversationId: conv.id, mode: conv.mode, operator: conv.operator, previous, conversation: conv });
  // Approval requests still waiting (after a reconnect or a restart) are
  // announced again, as when they came.
  for (const a of pendingApprovals(client, conv.id)) client._emit("approval", { conversation: conv, message: a.message, call: a.call });
  client._onAttached(conv);
}

// applyEvent takes in a conversation event (message, reply.*, tool.*,
// approval.request, mode, conversation.ended); events already seen (same or
// lower seq) are ignored.
export function applyEvent(client, f) {
  const conv = client.conversations.get(f.conversation_id);
  if (!conv) return;
  if (f.seq) {
    if (f.seq <= conv.lastSeq) return; // already seen
    conv.lastSeq = f.seq;
  }
  const msgs = conv.messages;
  let msg;
  switch (f.type) {
    case "message": {
      const m = fromWire(f.message);
      msg = msgs.get(m.id);
      if (msg) Object.assign(msg, m, { status: msg.status === "failed" ? "sent" : m.status });
      else msgs.set(m.id, (msg = m));
      client._pending.delete(m.id);
      break;
    }
    case "reply.start":
      msg = msgs.get(f.reply_id);
      if (msg) Object.assign(msg, { text: "", status: "streaming", finishReason: "", error: null, parts: [], calls: new Map() });
      else msgs.set(f.reply_id, (msg = newMessage(f.reply_id, "assistant", { replyTo: f.reply_to || "", model: f.model || "", createdAt: new Date().toISOString() })));
      conv.replyId = f.reply_id;
      break;
    case "reply.delta":
      msg = replyOf(msgs, f.reply_id);
      if (!f.text) break;
      msg.text += f.text;
      if (msg.parts.length) appendPart(msg, "text", f.text); // text parts only once there is more than text
      break;
    case "reply.reasoning":
      // Reasoning is a part of its own, never in the reply's text.
      msg = replyOf(msgs, f.reply_id);
      if (!f.text) break;
      if (!msg.parts.length && msg.text) msg.parts.push({ kind: "text", text: msg.text });
      appendPart(msg, "reasoning", f.text);
      break;
    case "tool.call":
    case "tool.result":
    case "approval.request": {
      if (!f.call?.id) return;
      msg = replyOf(msgs, f.reply_id);
      const call = callOf(msg, f.call.id);
      applyCall(call, f.call, f.type);
      client._emit("message", { conversation: conv, message: msg });
      if (f.type === "approval.request") client._emit("approval", { conversation: conv, message: msg, call });
      return;
    }
    case "tool.delta":
      if (!f.call?.id) return;
      msg = replyOf(msgs, f.reply_id);
      callOf(msg, f.call.id).arguments += f.text || "";
      break;
    case "reply.end":
      msg = msgs.get(f.reply_id);
      if (!msg) return;
      msg.status = "complete";
      msg.finishReason = f.finish_reason || "stop";
      msg.error = f.error ? new ChatboxError(f.error) : null;
      if (conv.replyId === f.reply_id) conv.replyId = "";
      break;
    case "conversation.ended":
      conv.ended = true;
      if (conv.info) conv.info.status = "ended";
      client._emit("ended", { conversation: conv });
      return;
    case "mode": {
      const previous = conv.mode;
      conv.mode = f.mode || "ai";
      conv.operator = f.operator || null;
      if (conv.info) conv.info.mode = conv.mode;
      client._emit("mode", { conversationId: conv.id, mode: conv.mode, operator: conv.operator, previous, conversation: conv });
      return;
    }
  }
  client._emit("message", { conversation: conv, message: msg });
}

// replyOf returns the reply of an event, started if its reply.start was
// not seen.
function replyOf(msgs, id) {
  let msg = msgs.get(id);
  if (!msg) msgs.set(id, (msg = newMessage(id, "assistant")));
  if (!msg.parts) Object.assign(msg, { parts: [], calls: new Map() });
  return msg;
}

// ---- re-attaching after a reconnect, and messages until acknowledged ----

const MAX_SEND_ATTEMPTS = 4;

export function reattach(client, conv) {
  const frame = { type: "resume", conversation_id: conv.id, after_seq: conv.lastSeq };
  client._request(frame).catch((err) => {
    if (err.code === "replay_unavailable") {
      client._request({ type: conv.watched ? "watch" : "open", conversation_id: conv.id }).catch((e) => client._lost(conv, e));
    } else client._lost(conv, err);
  });
}

export function lost(client, conv, err) {
  if (err.code === "not_found") {
    client.conversations.delete(conv.id);
  }
  if (err.code !== "disconnected") client._emit("error", { error: err, conversationId: conv.id, request: "resume" });
}

export function transmit(client, messageId) {
  const p = client._pending.get(messageId);
  const conv = p && client.conversations.get(p.conversationId);
  if (!conv || !conv.attached || !client._ready) return; // sent once the conversation is attached again
  p.attempts++;
  const attachments = p.files.length ? p.files.map((f) => f.id) : undefined;
  const req = client._request({ type: "send", conversation_id: p.conversationId, message_id: messageId, text: p.text, attachments });
  p.requestId = "q" + client._nextId;
  client._setStatus(p.conversationId, messageId, "sending");
  req.catch((err) => {
    if (client._pending.get(messageId) !== p || err.code === "disconnected") return; // resent after reconnect
    p.requestId = "";
    if (err.retryable && p.attempts < MAX_SEND_ATTEMPTS) {
      setTimeout(() => client._transmit(messageId), err.retryAfterMs || 1000 * p.attempts);
      return;
    }
    client._pending.delete(messageId);
    const msg = client._setStatus(p.conversationId, messageId, "failed", err);
    client._emit("error", { error: err, conversationId: p.conversationId, request: "send", message: msg });
  });
}

export function onAck(client, f) {
  client._pending.delete(f.message_id);
  client._setStatus(f.conversation_id, f.message_id, "sent");
}

export function setStatus(client, conversationId, messageId, status, error = null) {
  const conv = client.conversations.get(conversationId);
  const msg = conv?.messages.get(messageId);
  if (!msg || (msg.status === status && !error) || msg.status === "complete") return msg;
  if (msg.status === "sent" && status !== "sent") return msg;
  msg.status = status;
  msg.error = error;
  client._emit("message", { conversation: conv, message: msg });
  return msg;
}
