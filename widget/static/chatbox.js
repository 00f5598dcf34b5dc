// chatbox.js: a browser client of the chatbox protocol v1, with no dependency
// outside this directory (chatbox-state.js holds its conversation state).
//
//   import { ChatboxClient } from "./chatbox.js";
//   const chat = new ChatboxClient({ url: "/chat/ws", getToken: async () => myToken() });
//   chat.addEventListener("message", (e) => render(e.detail.message));
//   chat.connect();
//   chat.addEventListener("ready", async () => {
//     const conv = await chat.open({ title: "Support" });
//     chat.send(conv.id, "Hello");
//   }, { once: true });
//
// The token travels in the first frame (hello), never in the URL. The client
// reconnects with exponential backoff and jitter, resumes every conversation
// from the last sequence number it saw (re-opening it when the server no
// longer holds the events), and resends unacknowledged messages with their
// original ids, so a message is never stored twice.
//
// Events (CustomEvent, data in event.detail):
//   statechange {state, previous, code, reason, retryInMs}
//       state: idle, connecting, open, reconnecting, unauthorized, failed, closed
//   ready       {user, models, defaultModel, limits}
//   conversation {conversation}   a conversation was (re)loaded: render it whole
//   message     {conversation, message}   a message was added or changed
//   mode        {conversationId, mode, operator, previous, conversation}
//       mode: "ai" (the model answers), "waiting" (the user asked for a
//       person) or "operator" (operator.name answers; the model does not)
//   approval    {conversation, message, call}   a tool call waits for approval
//       (also for each one still waiting when a conversation is loaded);
//       answer it with approve()
//   typing      {conversationId, role, active}
//   ended       {conversation}
//   error       {error, conversationId, request}   error: ChatboxError
//   frame       {frame}   every server frame, for hosts that want the raw protocol
//
// A conversation's current mode is conversation.mode, its operator (when
// known) conversation.operator ({name}). Messages written by an operator
// have role "operator". Operators (an identity with the server's operator
// role) also have watch, takeover and release; their send and typing are
// the ordinary ones.
//
// A reply that holds more than text (reasoning, tool calls) has
// message.parts, in order: {kind: "text"|"reasoning", text} or
// {kind: "tool", call}; message.text stays the answer alone. message.calls
// maps a call's id to its call: {id, name, arguments, status, result,
// errorCode, expiresAt, approval, answer}. A call with status
// "awaiting_approval" waits for approve(); pendingApprovals() lists them.
//
// Files travel over HTTP beside the socket, under the Server's mount (the
// socket URL without its last segment, or options.baseUrl), with the same
// token in an Authorization header, never in the URL:
//   const f = await chat.upload(conv.id, file, { onProgress: (p) => bar(p.loaded / p.total) });
//   chat.send(conv.id, "What is this?", { attachments: [f] });
// A message with files has parts {kind: "file", file: {id, name,
// mediaType}} (after its text part). loadFile() fetches one for display
// and gives a blob: URL, revoked some seconds after its last release().

import { ChatboxError, fromWire, fileRef, fileParts, newMessage, applyOpened, applyEvent, pendingApprovals, reattach, lost, transmit, onAck, setStatus } from "./chatbox-state.js";

export { ChatboxError };
export const PROTOCOL = "chatbox.v1";

// Close codes after which reconnecting cannot help (see PROTOCOL.md).
const FATAL_CLOSE = new Set([1009, 4000]);
const EVENTS = new Set(["message", "reply.start", "reply.delta", "reply.reasoning", "tool.call", "tool.delta", "tool.result", "approval.request", "reply.end", "conversation.ended", "mode"]);
const RESPONSES = new Set(["ready", "opened", "conversations", "history", "ack", "resumed", "ok", "mode"]);

// The types a file fetched for display keeps in its blob: URL. Such a URL
// has the page's origin, so anything else (markup above all) is given as
// application/octet-stream: it is saved, never run.
const SAFE_TYPES = new Set(["image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf", "text/plain", "text/markdown", "text/csv"]);

let idCounter = 0;
const randomId = (prefix) =>
  prefix + Date.now().toString(36) + (crypto.randomUUID ? crypto.randomUUID().replaceAll("-", "").slice(0, 12) : (++idCounter).toString(36) + Math.random().toString(36).slice(2, 10));

// ChatboxClient talks to one chatbox Server over one WebSocket.
//
// options.url       the socket endpoint: "/chat/ws" (same host) or "wss://..."
// options.token     a token, or options.getToken: async () => token (called
//                   before every connection, so it may refresh an expired one)
// options.reconnectMinMs, options.reconnectMaxMs   backoff bounds (500, 15000)
// options.requestTimeoutMs   how long a request waits for its answer (15000)
// options.baseUrl   where the Server is mounted, for files ("/chat"); by
//                   default the socket URL without its last segment
// options.fileKeepMs   how long a file's blob: URL outlives its last
//                   release (5000), so a redraw does not fetch it again
export class ChatboxClient extends EventTarget {
  constructor(options = {}) {
    super();
    if (!options.url) throw new TypeError("chatbox: options.url is required");
    if (!options.token && !options.getToken) throw new TypeError("chatbox: options.token or options.getToken is required");
    this.url = new URL(options.url, location.href.replace(/^http/, "ws")).href;
    const base = options.baseUrl ? new URL(options.baseUrl, location.href) : new URL(".", this.url.replace(/^ws/, "http"));
    base.search = base.hash = "";
    this.baseUrl = base.href.replace(/\/+$/, "");
    this._token = options.token || "";
    this._getToken = options.getToken || null;
    this._minDelay = options.reconnectMinMs ?? 500;
    this._maxDelay = options.reconnectMaxMs ?? 15000;
    this._timeout = options.requestTimeoutMs ?? 15000;
    this.state = "idle";
    this.user = null;
    this.models = [];
    this.defaultModel = "";
    this.limits = null;
    // id -> {id, info, messages: Map, lastSeq, cursor, attached, wanted,
    //        watched, ended, replyId, mode, operator}
    this.conversations = new Map();
    this._ws = null;
    this._ready = false;
    this._attempt = 0;
    this._timer = 0;
    this._stopped = true;
    this._nextId = 0;
    this._requests = new Map(); // request id -> {resolve, reject, timer, frame}
    this._pending = new Map(); // message id -> {conversationId, text, attempts, requestId}
    this._typing = new Map(); // conversation id -> {active, at}
    this._files = new Map(); // "conversation/file" -> {refs, timer, url, blob, promise}
    this._fileKeepMs = options.fileKeepMs ?? 5000;
    this._onOnline = () => { if (this.state === "reconnecting") this._dialSoon(0); };
  }

  // connect starts (or restarts) connecting; it is a no-op while connected.
  connect() {
    this._stopped = false;
    if (this._ws) return;
    clearTimeout(this._timer);
    globalThis.addEventListener?.("online", this._onOnline);
    this._dial();
  }

  // close ends the connection for good (close code 1000, no reconnect).
  close() {
    this._stopped = true;
    clearTimeout(this._timer);
    globalThis.removeEventListener?.("online", this._onOnline);
    const ws = this._ws;
    this._dropSocket();
    ws?.close(1000);
    for (const entry of this._files.values()) {
      clearTimeout(entry.timer);
      if (entry.url) URL.revokeObjectURL(entry.url);
    }
    this._files.clear();
    this._setState("closed");
  }

  // setToken replaces the token; on an open socket it re-authenticates at once.
  setToken(token) {
    this._token = token;
    if (this._ready) this._request({ type: "hello", token }).catch(() => {});
  }

  // open opens a new conversation ({title, model, metadata}) or an existing
  // one ({conversationId, limit}); it resolves with the conversation.
  async open({ conversationId = "", title, model, metadata, limit } = {}) {
    const f = await this._request({ type: "open", conversation_id: conversationId || undefined, title, model, metadata, limit });
    return this.conversations.get(f.conversation_id);
  }

  // watch attaches an operator to any user's conversation ({limit} latest
  // messages) and resolves with it; like an opened conversation it is
  // resumed after a reconnect. Refused with "forbidden" without the role.
  async watch(conversationId, { limit } = {}) {
    const f = await this._request({ type: "watch", conversation_id: conversationId, limit });
    return this.conversations.get(f.conversation_id);
  }

  // help asks for a person: the mode becomes "waiting" until an operator
  // takes over (the model keeps answering meanwhile).
  help(conversationId) {
    return this._request({ type: "help", conversation_id: conversationId });
  }

  // takeover makes the operator the one who answers a watched
  // conversation; "conflict" when another operator holds it, unless force.
  takeover(conversationId, { force } = {}) {
    return this._request({ type: "takeover", conversation_id: conversationId, force: !!force || undefined });
  }

  // release hands a conversation the operator holds back to the model.
  release(conversationId) {
    return this._request({ type: "release", conversation_id: conversationId });
  }

  // list resolves with a page of the user's conversations, newest first.
  async list({ limit = 30, cursor } = {}) {
    const f = await this._request({ type: "list", limit, cursor });
    return { conversations: f.conversations || [], cursor: f.cursor || "" };
  }

  // loadOlder fetches the page of messages before the oldest one shown and
  // resolves with how many were added (0 when there are no more).
  async loadOlder(conversationId, limit = 50) {
    const conv = this._conv(conversationId);
    if (!conv.cursor) return 0;
    const f = await this._request({ type: "history", conversation_id: conversationId, cursor: conv.cursor, limit });
    const older = (f.messages || []).filter((m) => !conv.messages.has(m.id)).map(fromWire);
    conv.messages = new Map([...older.map((m) => [m.id, m]), ...conv.messages]);
    conv.cursor = f.cursor || "";
    this._emit("conversation", { conversation: conv });
    return older.length;
  }

  // send queues a message and returns it at once (status "sending", or
  // "queued" while offline). It is sent, and after a reconnect resent with
  // the same id, until the server acknowledges it. In a watched
  // conversation the message is the operator's (role "operator").
  // attachments are files uploaded to the conversation beforehand: their
  // ids, or what upload() resolved with (the message then shows their
  // names at once); with attachments the text may be blank.
  send(conversationId, text, { messageId = randomId("m_"), attachments = [] } = {}) {
    const conv = this._conv(conversationId);
    text = String(text ?? "");
    const files = (attachments || []).map((a) => fileRef(typeof a === "string" ? { id: a } : a)).filter((f) => f.id);
    if (!text.trim() && !files.length) throw new ChatboxError({ code: "invalid_field", message: "the message is empty", field: "text" });
    const max = this.limits?.max_text_bytes;
    if (max && new TextEncoder().encode(text).length > max) {
      throw new ChatboxError({ code: "too_large", message: `the message is longer than ${max} bytes`, field: "text" });
    }
    const parts = files.length ? fileParts(text, files) : [];
    const msg = newMessage(messageId, conv.watched ? "operator" : "user", { text, status: "queued", createdAt: new Date().toISOString(), parts });
    conv.messages.set(msg.id, msg);
    this._pending.set(msg.id, { conversationId, text, files, attempts: 0, requestId: "" });
    this._transmit(msg.id);
    this._emit("message", { conversation: conv, message: msg });
    return msg;
  }

  // retry resends a message that failed, with its original id (and files).
  retry(conversationId, messageId) {
    const conv = this._conv(conversationId);
    const msg = conv.messages.get(messageId);
    if (!msg || msg.status !== "failed") return;
    const files = (msg.parts || []).filter((p) => p.kind === "file").map((p) => p.file);
    this._pending.set(messageId, { conversationId, text: msg.text, files, attempts: 0, requestId: "" });
    this._transmit(messageId);
  }

  // ---- files (HTTP, beside the socket) ----

  // upload sends a file (a File or Blob) into a conversation of the user's
  // and resolves with {id, name, mediaType, size}, for a later send's
  // attachments. The server decides the type from the content. It rejects
  // with a ChatboxError carrying the server's code, field and message and
  // the HTTP status: too_large (413), file_refused (415, 422; field
  // type_not_allowed, invalid_file, too_many_pixels, too_many_pages or
  // check), rate_limited or limit_reached (429), not_found,
  // conversation_ended, unavailable; "disconnected" when the server could
  // not be reached, "aborted" when options.signal aborted it.
  // options: name (default file.name), onProgress({loaded, total}) as the
  // bytes go out, signal (an AbortSignal).
  async upload(conversationId, file, { name, onProgress, signal } = {}) {
    if (!conversationId) throw new ChatboxError({ code: "invalid_field", message: "upload into a conversation: open one first", field: "conversation_id" });
    if (!file || typeof file.size !== "number") throw new TypeError("chatbox: upload needs a File or a Blob");
    const fileName = String(name ?? file.name ?? "") || "file";
    const url = `${this.baseUrl}/files?conversation_id=${encodeURIComponent(conversationId)}&name=${encodeURIComponent(fileName)}`;
    const body = await this._http((token) => xhrUpload(url, file, token, onProgress, signal), signal);
    return { id: String(body.id), name: body.name || fileName, mediaType: body.media_type || "", size: body.size ?? file.size };
  }

  // deleteFile deletes a file uploaded to the conversation that no
  // message references yet (one taken back before sending).
  async deleteFile(conversationId, fileId) {
    await this._http((token) => request("DELETE", this._fileURL(conversationId, fileId), token));
  }

  // fetchFile resolves with a file of the conversation as a Blob (its
  // owner or an operator may read it). options.signal aborts it.
  fetchFile(conversationId, fileId, { signal } = {}) {
    return this._http((token) => request("GET", this._fileURL(conversationId, fileId), token, signal), signal);
  }

  // loadFile fetches a file for display and resolves with {url, blob,
  // release}: url is a blob: URL (an <img> source, a link's target) valid
  // until release() was called by every holder, and some seconds more
  // (options.fileKeepMs) so that a redraw reuses it. A file whose type is
  // not an image, PDF or text is given as application/octet-stream.
  loadFile(conversationId, fileId) {
    const key = conversationId + "/" + fileId;
    let entry = this._files.get(key);
    if (!entry) {
      entry = { refs: 0, timer: 0, url: "", blob: null, promise: null };
      const e = entry;
      e.promise = this.fetchFile(conversationId, fileId).then((blob) => {
        const type = (blob.type || "").split(";")[0].trim().toLowerCase();
        e.blob = SAFE_TYPES.has(type) ? blob.slice(0, blob.size, type) : blob.slice(0, blob.size, "application/octet-stream");
        e.url = URL.createObjectURL(e.blob);
        if (this._files.get(key) !== e) URL.revokeObjectURL(e.url); // the client was closed meanwhile
        return e;
      });
      e.promise.catch(() => { if (this._files.get(key) === e) this._files.delete(key); });
      this._files.set(key, e);
    }
    const e = entry;
    e.refs++;
    clearTimeout(e.timer);
    return e.promise.then(() => {
      let held = true;
      return { url: e.url, blob: e.blob, release: () => { if (held) { held = false; this._releaseFile(key, e); } } };
    }, (err) => { e.refs--; throw err; });
  }

  _releaseFile(key, entry) {
    if (--entry.refs > 0) return;
    clearTimeout(entry.timer);
    entry.timer = setTimeout(() => {
      if (entry.refs > 0 || this._files.get(key) !== entry) return;
      this._files.delete(key);
      URL.revokeObjectURL(entry.url);
    }, this._fileKeepMs);
  }

  _fileURL(conversationId, fileId) {
    return `${this.baseUrl}/files/${encodeURIComponent(conversationId)}/${encodeURIComponent(fileId)}`;
  }

  // _http runs an HTTP request with the socket's token; a token refused
  // (401) is fetched again once, as the socket does after 4001.
  async _http(attempt, signal) {
    const token = await this._httpToken(false);
    try {
      return await attempt(token);
    } catch (err) {
      if (err.status !== 401 || !this._getToken || signal?.aborted) throw err;
      return attempt(await this._httpToken(true));
    }
  }

  async _httpToken(fresh) {
    if (this._token && !fresh) return this._token;
    if (!this._getToken) return this._token;
    try {
      this._token = await this._getToken();
    } catch (err) {
      throw new ChatboxError({ code: "token_unavailable", message: String(err?.message || err), retryable: true });
    }
    return this._token;
  }

  // approve answers the approval request of tool call callId of reply
  // replyId: approved true lets it run, false refuses it. It resolves once
  // the server took the answer (the call's status follows in events) and
  // rejects with the server's error: "conflict" (already answered, maybe on
  // another socket, or expired), "forbidden" (an operator who does not hold
  // the conversation), "not_found". Meanwhile call.answer says how it went.
  async approve(conversationId, replyId, callId, approved) {
    const conv = this.conversations.get(conversationId);
    const msg = conv?.messages.get(replyId);
    const call = msg?.calls?.get(callId);
    const answer = { approved: !!approved, state: "sending", error: null };
    const changed = () => { if (call && call.answer === answer) this._emit("message", { conversation: conv, message: msg }); };
    if (call) call.answer = answer;
    changed();
    try {
      await this._request({ type: "approve", conversation_id: conversationId, reply_id: replyId, call_id: callId, approved: !!approved });
      answer.state = "sent";
    } catch (err) {
      answer.state = "failed";
      answer.error = err;
      throw err;
    } finally {
      changed();
    }
  }

  // pendingApprovals lists the tool calls waiting for approval, of one
  // conversation or of all: [{conversationId, replyId, call, conversation, message}].
  pendingApprovals(conversationId = "") { return pendingApprovals(this, conversationId); }

  // stop stops the reply being generated in the conversation.
  stop(conversationId) {
    return this._request({ type: "stop", conversation_id: conversationId });
  }

  // typing tells the conversation's other sockets whether the user types.
  // Repeats of the same state within a second are not sent.
  typing(conversationId, active) {
    const last = this._typing.get(conversationId);
    const now = Date.now();
    if (!this._ready || (last && last.active === active && now - last.at < 1000)) return;
    this._typing.set(conversationId, { active, at: now });
    this._write({ type: "typing", conversation_id: conversationId, active: !!active });
  }

  // end ends the conversation; later sends are refused.
  end(conversationId) {
    return this._request({ type: "end", conversation_id: conversationId });
  }

  // leave detaches from the conversation and forgets it locally.
  async leave(conversationId) {
    const conv = this.conversations.get(conversationId);
    if (!conv) return;
    conv.wanted = false;
    this.conversations.delete(conversationId);
    this._typing.delete(conversationId);
    for (const [id, p] of this._pending) if (p.conversationId === conversationId) this._pending.delete(id);
    if (this._ready && conv.attached) await this._request({ type: "leave", conversation_id: conversationId }).catch(() => {});
  }

  // ---- connection ----

  async _dial() {
    this._setState(this._attempt ? "reconnecting" : "connecting");
    let token = this._token;
    if (this._getToken) {
      try {
        token = this._token = await this._getToken();
      } catch (err) {
        this._emit("error", { error: new ChatboxError({ code: "token_unavailable", message: String(err?.message || err), retryable: true }) });
        return this._scheduleReconnect();
      }
    }
    if (this._stopped || this._ws) return;
    let ws;
    try {
      ws = new WebSocket(this.url, PROTOCOL);
    } catch (err) {
      this._emit("error", { error: new ChatboxError({ code: "bad_url", message: String(err?.message || err) }) });
      return this._setState("failed");
    }
    this._ws = ws;
    this._authRefused = false;
    ws.onopen = () => this._request({ type: "hello", token }).catch(() => {});
    ws.onmessage = (e) => {
      if (ws !== this._ws || typeof e.data !== "string") return;
      for (const line of e.data.split("\n")) {
        if (!line) continue;
        let f;
        try { f = JSON.parse(line); } catch { continue; }
        this._handle(f);
      }
    };
    ws.onclose = (e) => this._onClose(ws, e);
  }

  _dropSocket() {
    const ws = this._ws;
    this._ws = null;
    this._ready = false;
    if (ws) ws.onopen = ws.onmessage = ws.onclose = null;
    for (const [id, r] of this._requests) {
      clearTimeout(r.timer);
      r.reject(new ChatboxError({ code: "disconnected", message: "the connection was lost", retryable: true }));
      this._requests.delete(id);
    }
    for (const conv of this.conversations.values()) conv.attached = false;
    for (const [id, p] of this._pending) {
      p.requestId = "";
      this._setStatus(p.conversationId, id, "queued");
    }
  }

  _onClose(ws, e) {
    if (ws !== this._ws) return;
    const wasReady = this._ready;
    this._dropSocket();
    if (this._stopped) return this._setState("closed", { code: e.code });
    if (e.code === 4001 || this._authRefused) {
      // An expired token on a working socket is refreshed once; a token
      // refused at hello will not get better by retrying it.
      if (wasReady && this._getToken) return this._dialSoon(0);
      this._stopped = true;
      return this._setState("unauthorized", { code: e.code, reason: e.reason });
    }
    if (FATAL_CLOSE.has(e.code)) {
      this._stopped = true;
      return this._setState("failed", { code: e.code, reason: e.reason });
    }
    this._scheduleReconnect(e.code, e.reason);
  }

  _scheduleReconnect(code, reason) {
    if (this._stopped) return;
    const ceiling = Math.min(this._maxDelay, this._minDelay * 2 ** Math.min(this._attempt, 16));
    const delay = Math.round(ceiling / 2 + Math.random() * ceiling / 2); // jitter: half to all of the ceiling
    this._attempt++;
    this._setState("reconnecting", { code, reason, retryInMs: delay });
    this._dialSoon(delay);
  }

  _dialSoon(delay) {
    clearTimeout(this._timer);
    this._timer = setTimeout(() => { if (!this._stopped && !this._ws) this._dial(); }, delay);
  }

  _setState(state, extra = {}) {
    const previous = this.state;
    this.state = state;
    this._emit("statechange", { state, previous, ...extra });
  }

  // ---- frames ----

  _write(frame) {
    if (!this._ws || this._ws.readyState !== WebSocket.OPEN) return false;
    this._ws.send(JSON.stringify(frame));
    return true;
  }

  _request(frame) {
    return new Promise((resolve, reject) => {
      const hello = frame.type === "hello";
      if (!this._ws || (!hello && !this._ready)) {
        return reject(new ChatboxError({ code: "disconnected", message: "not connected", retryable: true }));
      }
      const id = "q" + ++this._nextId;
      const timer = setTimeout(() => {
        this._requests.delete(id);
        reject(new ChatboxError({ code: "timeout", message: `no answer to ${frame.type}`, retryable: true }));
      }, this._timeout);
      this._requests.set(id, { resolve, reject, timer, frame });
      this._write({ ...frame, id });
    });
  }

  _handle(f) {
    this._emit("frame", { frame: f });
    const req = f.id ? this._requests.get(f.id) : null;
    if (req) {
      this._requests.delete(f.id);
      clearTimeout(req.timer);
    }
    switch (f.type) {
      case "ready": this._onReady(f); break;
      case "opened": this._onOpened(f, req?.frame.type === "watch"); break;
      case "resumed": this._onAttached(this.conversations.get(f.conversation_id)); break;
      case "ack": this._onAck(f); break;
      case "typing": this._emit("typing", { conversationId: f.conversation_id, role: f.role, active: !!f.active }); break;
      case "error": return this._onError(f, req);
      default:
        if (EVENTS.has(f.type)) this._onEvent(f);
    }
    if (req && RESPONSES.has(f.type)) req.resolve(f);
  }

  _onReady(f) {
    const first = !this._ready;
    this._ready = true;
    this._attempt = 0;
    this.user = f.user;
    this.models = f.models || [];
    this.defaultModel = f.default_model || "";
    this.limits = f.limits || null;
    if (!first) return; // a re-authentication on an open socket
    this._setState("open");
    this._emit("ready", { user: this.user, models: this.models, defaultModel: this.defaultModel, limits: this.limits });
    for (const conv of this.conversations.values()) {
      if (conv.wanted) this._reattach(conv);
    }
  }

  _reattach(conv) { return reattach(this, conv); }
  _lost(conv, err) { return lost(this, conv, err); }
  _transmit(messageId) { return transmit(this, messageId); }
  _onAck(f) { return onAck(this, f); }
  _setStatus(conversationId, messageId, status, error = null) { return setStatus(this, conversationId, messageId, status, error); }

  _onOpened(f, watched) { applyOpened(this, f, watched); }

  _onAttached(conv) {
    if (!conv) return;
    conv.attached = true;
    for (const [id, p] of this._pending) if (p.conversationId === conv.id && !p.requestId) this._transmit(id);
  }

  _onError(f, req) {
    const err = new ChatboxError(f.error || { code: "internal", message: "unknown error" });
    if (err.code === "unauthorized" && !this._ready) this._authRefused = true;
    if (req) {
      req.reject(err);
      // Failed sends and resumes are reported by their own handlers.
      if (req.frame.type === "send" || req.frame.type === "resume") return;
    }
    this._emit("error", { error: err, conversationId: f.conversation_id || "", request: req?.frame.type || "" });
  }

  _onEvent(f) { applyEvent(this, f); }

  _conv(id) {
    const conv = this.conversations.get(id);
    if (!conv) throw new ChatboxError({ code: "not_open", message: "open the conversation first" });
    return conv;
  }

  _emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}

// ---- HTTP for files ----

// httpError turns a refused HTTP answer into a ChatboxError: the server's
// {"error": {...}} when it sent one, else a code for the status.
function httpError(status, text, retryAfter) {
  let body = null;
  try { body = JSON.parse(text)?.error; } catch { /* not JSON */ }
  const fallback = { 401: "unauthorized", 403: "forbidden", 404: "not_found", 409: "conflict", 413: "too_large", 429: "rate_limited" }[status]
    || (status >= 500 ? "unavailable" : "http_error");
  const err = new ChatboxError({ message: `the server answered ${status}`, ...(body && typeof body === "object" ? body : {}), code: body?.code || fallback });
  err.status = status;
  if (!err.retryAfterMs && retryAfter && /^\d+$/.test(retryAfter)) err.retryAfterMs = Number(retryAfter) * 1000;
  return err;
}

const unreachable = () => new ChatboxError({ code: "disconnected", message: "the server could not be reached", retryable: true });
const aborted = () => new ChatboxError({ code: "aborted", message: "the request was cancelled" });

// xhrUpload POSTs file with XMLHttpRequest, the one API that reports the
// progress of a request body.
function xhrUpload(url, file, token, onProgress, signal) {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(aborted());
    const xhr = new XMLHttpRequest();
    xhr.open("POST", url);
    if (token) xhr.setRequestHeader("Authorization", "Bearer " + token);
    if (onProgress) {
      xhr.upload.onprogress = (e) => onProgress({ loaded: e.loaded, total: e.lengthComputable ? e.total : file.size });
    }
    const abort = () => xhr.abort();
    signal?.addEventListener("abort", abort, { once: true });
    const done = (fn) => { signal?.removeEventListener("abort", abort); fn(); };
    xhr.onload = () => done(() => {
      if (xhr.status >= 200 && xhr.status < 300) {
        try { resolve(JSON.parse(xhr.responseText)); } catch { reject(httpError(xhr.status, "", null)); }
      } else reject(httpError(xhr.status, xhr.responseText, xhr.getResponseHeader("Retry-After")));
    });
    xhr.onerror = () => done(() => reject(unreachable()));
    xhr.onabort = () => done(() => reject(aborted()));
    xhr.send(file);
  });
}

// request runs a GET (resolving with the body as a Blob) or a DELETE.
async function request(method, url, token, signal) {
  let res;
  try {
    res = await fetch(url, { method, headers: token ? { Authorization: "Bearer " + token } : {}, credentials: "same-origin", cache: "no-store", signal });
  } catch (err) {
    throw signal?.aborted || err?.name === "AbortError" ? aborted() : unreachable();
  }
  if (!res.ok) throw httpError(res.status, await res.text().catch(() => ""), res.headers.get("Retry-After"));
  return method === "GET" ? res.blob() : undefined;
}
