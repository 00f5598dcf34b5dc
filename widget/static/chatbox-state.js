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
  }
}

export function fromWire(m) {
  return {
    id: m.id, role: m.role, text: m.text || "",
    status: m.status === "streaming" ? "streaming" : m.role === "user" ? "sent" : "complete",
    finishReason: m.finish_reason || "", error: m.error ? { code: m.error, message: "", ref: "" } : null,
    replyTo: m.reply_to || "", model: m.model || "", createdAt: m.created_at || "",
  };
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
    messages.set(r.reply_id, { id: r.reply_id, role: "assistant", text: r.text || "", status: "streaming", finishReason: "", error: null, replyTo: r.reply_to || "", model: r.model || "", createdAt: "" });
    conv.replyId = r.reply_id;
  }
  for (const [id, p] of client._pending) {
    if (p.conversationId === conv.id && !messages.has(id)) messages.set(id, conv.messages.get(id) || { id, role: "user", text: p.text, status: "queued", error: null });
  }
  conv.messages = messages;
  client.conversations.set(conv.id, conv);
  client._emit("conversation", { conversation: conv });
  if (prev && previous !== conv.mode) client._emit("mode", { conversationId: conv.id, mode: conv.mode, operator: conv.operator, previous, conversation: conv });
  client._onAttached(conv);
}

// applyEvent takes in a conversation event (message, reply.*, mode,
// conversation.ended); events already seen (same or lower seq) are ignored.
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
      if (msg) Object.assign(msg, { text: "", status: "streaming", finishReason: "", error: null });
      else msgs.set(f.reply_id, (msg = { id: f.reply_id, role: "assistant", text: "", status: "streaming", finishReason: "", error: null, replyTo: f.reply_to || "", model: f.model || "", createdAt: new Date().toISOString() }));
      conv.replyId = f.reply_id;
      break;
    case "reply.delta":
      msg = msgs.get(f.reply_id);
      if (!msg) msgs.set(f.reply_id, (msg = { id: f.reply_id, role: "assistant", text: "", status: "streaming", finishReason: "", error: null }));
      msg.text += f.text || "";
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
  const req = client._request({ type: "send", conversation_id: p.conversationId, message_id: messageId, text: p.text });
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
