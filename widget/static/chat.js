// chat.js: the chat page built on chatbox.js. It reads its settings from the
// JSON in #chatbox-config (written by the widget handler):
//   socket_url  the WebSocket endpoint
//   token_url   where to GET {"token": "..."} (same-origin credentials);
//               empty: the page asks for a token and keeps it for the tab
import { ChatboxClient } from "./chatbox.js";
import { renderMarkdown, copyText } from "./markdown.js";
import { $, el, STATE_TEXT, fetchToken, showBanner, hideBanner, autosize, when } from "./page.js";
import { personNotice } from "./chat-person.js";

const cfg = JSON.parse($("chatbox-config").textContent || "{}");
const TOKEN_KEY = "chatbox.token";

const ui = {
  current: "", // open conversation id; "" while drafting a new one
  nodes: new Map(), // message id -> {li, body, meta, role}
  dirty: new Set(), // assistant messages waiting for a render
  renderTimer: 0,
  typingTimer: 0,
  otherTyping: "",
  stickToBottom: true,
  conversations: [],
  tokenError: "", // why the last token fetch failed
  left: new Map(), // conversation id -> name of the operator who just left
  helping: false, // a help request is on its way
};

// ---- token ----

let signinWaiter = null;
async function getToken() {
  if (cfg.token_url) return fetchToken(cfg.token_url);
  const saved = sessionStorage.getItem(TOKEN_KEY);
  if (saved) return saved;
  return new Promise((resolve) => { signinWaiter = resolve; showSignin(""); });
}

function showSignin(error) {
  $("signin").hidden = false;
  $("thread").hidden = true;
  $("composer").hidden = true;
  $("signin-error").hidden = !error;
  $("signin-error").textContent = error;
  $("signin-token").focus();
}

$("signin").addEventListener("submit", (e) => {
  e.preventDefault();
  const token = $("signin-token").value.trim();
  if (!token) return;
  sessionStorage.setItem(TOKEN_KEY, token);
  $("signin").hidden = true;
  $("thread").hidden = false;
  $("composer").hidden = false;
  if (signinWaiter) { signinWaiter(token); signinWaiter = null; } else client.connect();
});

const client = new ChatboxClient({ url: cfg.socket_url || "/chat/ws", getToken });

// ---- connection state ----

client.addEventListener("statechange", (e) => {
  const { state, retryInMs } = e.detail;
  document.body.dataset.state = state;
  let text = STATE_TEXT[state] || state;
  if (state === "reconnecting" && retryInMs > 1500) text = `Reconnecting in ${Math.round(retryInMs / 1000)} s…`;
  $("status-text").textContent = text;
  if (state === "open") { hideBanner(); ui.tokenError = ""; }
  if (state === "reconnecting") {
    const text = ui.tokenError
      ? `Could not get a sign-in token (${ui.tokenError}). Retrying…`
      : "Connection lost. Reconnecting — your messages will be sent when it is back.";
    showBanner(text, "Reconnect now", () => client.connect());
  }
  if (state === "unauthorized") {
    const why = "You could not be signed in: the server refused your access token.";
    if (!cfg.token_url) {
      sessionStorage.removeItem(TOKEN_KEY);
      showSignin(why + " Check it and try again.");
    }
    showBanner(why + (cfg.token_url ? " Sign in again, then retry." : ""), "Retry", () => { hideBanner(); client.connect(); });
  }
  if (state === "failed") showBanner("The connection was closed by the server and cannot be resumed.", "Retry", () => client.connect());
  updateComposer();
  renderMode();
});

client.addEventListener("error", (e) => {
  const { error, request } = e.detail;
  if (error.code === "token_unavailable") {
    ui.tokenError = error.message; // shown with the reconnecting state
  } else if (error.code === "unauthorized") {
    // shown by the statechange handler
  } else if (request !== "send") {
    showBanner(error.message ? `${error.message} (${error.code})` : error.code);
  }
});

// ---- ready, conversation list ----

client.addEventListener("ready", async (e) => {
  const { models, defaultModel } = e.detail;
  const select = $("model");
  select.replaceChildren(...models.map((m) => Object.assign(el("option", null, m.name || m.id), { value: m.id, selected: m.id === defaultModel })));
  select.hidden = models.length < 2;
  await refreshList();
  if (!ui.current || !client.conversations.has(ui.current)) {
    const wanted = location.hash.slice(1) || ui.conversations.find((c) => c.status !== "ended")?.id || "";
    if (wanted) await openConversation(wanted);
    else showConversation("");
  }
});

async function refreshList() {
  try {
    ui.conversations = (await client.list({ limit: 50 })).conversations;
  } catch { return; }
  renderList();
}

function renderList() {
  const list = $("conv-list");
  list.replaceChildren(...ui.conversations.map((c) => {
    const li = el("li");
    const b = el("button", "conv");
    b.type = "button";
    b.dataset.id = c.id;
    if (c.id === ui.current) b.setAttribute("aria-current", "true");
    const state = c.status === "ended" ? " · ended" : MODE_NOTE[c.mode] || "";
    b.append(el("span", "conv-name", c.title || "Untitled"), el("span", "conv-when", when(c.updated_at) + state));
    b.addEventListener("click", () => { openConversation(c.id); closeSidebar(); });
    li.append(b);
    return li;
  }));
  $("conv-empty").hidden = ui.conversations.length > 0;
}

const MODE_NOTE = { waiting: " · person requested", operator: " · with a person" };

async function openConversation(id) {
  if (ui.current && ui.current !== id) client.leave(ui.current);
  try {
    await client.open({ conversationId: id });
  } catch (err) {
    showBanner(err.code === "not_found" ? "That conversation does not exist or is not yours." : `Could not open the conversation: ${err.message}`);
    showConversation("");
    return;
  }
  showConversation(id);
}

$("new-chat").addEventListener("click", () => {
  if (ui.current) client.leave(ui.current);
  showConversation("");
  closeSidebar();
  $("composer-text").focus();
});

// ---- rendering the conversation ----

function showConversation(id) {
  ui.current = id;
  history.replaceState(null, "", id ? "#" + id : location.pathname + location.search);
  const conv = id ? client.conversations.get(id) : null;
  $("conv-title").textContent = conv?.info?.title || "New conversation";
  $("messages").replaceChildren();
  ui.nodes.clear();
  ui.otherTyping = "";
  if (conv) for (const m of conv.messages.values()) renderMessage(conv, m);
  $("older").hidden = !conv?.cursor;
  for (const b of document.querySelectorAll(".conv")) b.toggleAttribute("aria-current", b.dataset.id === id);
  updateEmpty();
  updateComposer();
  renderMode();
  scrollToEnd(true);
}

client.addEventListener("conversation", (e) => {
  if (e.detail.conversation.id === ui.current) showConversation(ui.current);
});

client.addEventListener("message", (e) => {
  const { conversation, message } = e.detail;
  if (conversation.id !== ui.current) return;
  renderMessage(conversation, message);
  updateEmpty();
  updateComposer();
  if (message.role === "assistant" && message.status === "complete") refreshListSoon();
});

client.addEventListener("ended", (e) => {
  if (e.detail.conversation.id === ui.current) { updateComposer(); refreshListSoon(); }
});

// ---- talking to a person ----

client.addEventListener("mode", (e) => {
  const { conversationId, mode, operator, previous } = e.detail;
  if (mode === "ai" && previous === "operator") ui.left.set(conversationId, operator?.name || "");
  else ui.left.delete(conversationId);
  if (conversationId === ui.current) { renderMode(); updateComposer(); }
  refreshListSoon();
});

// renderMode shows who answers the open conversation: a banner while a
// person was asked for or is there, and once when they leave.
function renderMode() {
  const conv = ui.current ? client.conversations.get(ui.current) : null;
  const left = ui.left.has(ui.current) ? ui.left.get(ui.current) : null;
  const { kind, nodes } = personNotice(conv?.mode || "ai", conv?.operator?.name || "", left, () => {
    ui.left.delete(ui.current);
    renderMode();
    $("composer-text").focus();
  });
  $("mode-banner").dataset.mode = kind;
  $("mode-banner").replaceChildren(...nodes);
}

$("help").addEventListener("click", async () => {
  ui.helping = true;
  updateComposer();
  try {
    if (!ui.current) {
      const conv = await client.open({ title: "Talk to a person", model: $("model").value || undefined });
      showConversation(conv.id);
      refreshListSoon();
    }
    await client.help(ui.current);
  } catch (err) {
    showBanner(err.code === "rate_limited" ? `You asked for a person very recently. Try again${err.retryAfterMs ? ` in ${Math.ceil(err.retryAfterMs / 1000)} s` : " later"}.`
      : err.code === "disconnected" ? "Not connected: ask again when the connection is back." : `Could not ask for a person: ${err.message}`);
  } finally {
    ui.helping = false;
    updateComposer();
  }
});

client.addEventListener("typing", (e) => {
  const { conversationId, role, active } = e.detail;
  if (conversationId !== ui.current || role === "user") return; // our own typing, echoed
  ui.otherTyping = active ? role : "";
  updateComposer();
});

let listTimer = 0;
function refreshListSoon() {
  clearTimeout(listTimer);
  listTimer = setTimeout(refreshList, 300);
}

const ROLE_NAME = { user: "You", assistant: "Assistant", operator: "Operator", system: "System" };
const FINISH_NOTE = {
  abort: "Stopped",
  length: "Cut short: the reply reached its length limit",
  content_filter: "Filtered by the model provider",
  timeout: "The reply took too long and was cut short",
  interrupted: "Interrupted: the server restarted before the reply finished",
  handoff: "An operator took over the conversation",
  error: "The reply failed",
};

function renderMessage(conv, m) {
  let n = ui.nodes.get(m.id);
  if (!n) {
    const li = el("li", "msg msg-" + (ROLE_NAME[m.role] ? m.role : "other"));
    li.dataset.id = m.id;
    const who = el("span", "visually-hidden", (ROLE_NAME[m.role] || m.role) + ": ");
    const bubble = el("div", "bubble");
    const body = el("div", m.role === "user" ? "body plain" : "body md");
    const meta = el("div", "meta");
    bubble.append(who, body, meta);
    if (m.role !== "user") li.append(el("div", "avatar", m.role === "operator" ? "OP" : "AI"));
    if (m.role === "operator") {
      const label = el("div", "who", "Operator");
      label.setAttribute("aria-hidden", "true"); // the hidden "Operator: " says it
      bubble.prepend(label);
    }
    li.append(bubble);
    n = { li, body, meta, text: null };
    ui.nodes.set(m.id, n);
    $("messages").append(li);
  }
  n.li.dataset.status = m.status;
  n.li.dataset.finish = m.finishReason || "";
  if (m.role === "user" || m.role === "system") {
    if (n.text !== m.text) { n.body.textContent = m.text; n.text = m.text; }
  } else if (m.status === "streaming") {
    ui.dirty.add(m.id);
    if (!ui.renderTimer) ui.renderTimer = setTimeout(flushRenders, 40);
  } else {
    ui.dirty.delete(m.id);
    paintMarkdown(n, m.text);
  }
  renderMeta(conv, m, n.meta);
  scrollToEnd(false);
}

function flushRenders() {
  ui.renderTimer = 0;
  const conv = client.conversations.get(ui.current);
  for (const id of ui.dirty) {
    const m = conv?.messages.get(id);
    const n = ui.nodes.get(id);
    if (m && n) paintMarkdown(n, m.text);
  }
  ui.dirty.clear();
  scrollToEnd(false);
}

function paintMarkdown(n, text) {
  if (n.text === text) return;
  n.text = text;
  n.body.replaceChildren(renderMarkdown(text));
}

function renderMeta(conv, m, meta) {
  const parts = [];
  if (m.role === "user") {
    if (m.status === "queued") parts.push(el("span", "note", "Waiting for the connection…"));
    if (m.status === "sending") parts.push(el("span", "note", "Sending…"));
    if (m.status === "failed") {
      parts.push(el("span", "note error", `Not sent: ${m.error?.message || "error"}`));
      parts.push(action("Retry", `Send the message again`, () => client.retry(conv.id, m.id)));
    }
  } else if (m.status === "complete") {
    const reason = m.finishReason;
    if (reason && reason !== "stop") {
      const text = FINISH_NOTE[reason] || `Ended: ${reason}`;
      parts.push(el("span", "note" + (reason === "error" || reason === "timeout" ? " error" : ""), m.error?.message && reason === "error" ? `${text}: ${m.error.message}` : text));
      const question = conv.messages.get(m.replyTo);
      if (question && ["error", "timeout", "interrupted", "abort", "length"].includes(reason) && !conv.ended) {
        parts.push(action("Retry", "Ask again", () => sendText(question.text)));
      }
    }
    if (m.text) parts.push(action("Copy", "Copy the reply", (b) => copyText(m.text, b)));
  }
  meta.replaceChildren(...parts);
  meta.hidden = parts.length === 0;
}

function action(label, aria, fn) {
  const b = el("button", "meta-btn", label);
  b.type = "button";
  b.setAttribute("aria-label", aria);
  b.addEventListener("click", () => fn(b));
  return b;
}

function updateEmpty() {
  $("empty").hidden = ui.nodes.size > 0;
}

function updateComposer() {
  const conv = ui.current ? client.conversations.get(ui.current) : null;
  const streaming = !!conv?.replyId;
  const online = client.state === "open";
  const ended = !!conv?.ended;
  const text = $("composer-text");
  text.disabled = ended || client.state === "unauthorized";
  text.placeholder = client.state === "unauthorized" ? "Sign in to chat" : ended ? "This conversation has ended. Start a new chat." : "Write a message…";
  $("send").disabled = text.disabled || streaming || !text.value.trim() || (!online && !conv);
  $("send").hidden = streaming;
  $("stop").hidden = !streaming;
  $("model").disabled = !!conv;
  const reply = streaming ? conv.messages.get(conv.replyId) : null;
  const typing = (reply && !reply.text) || ui.otherTyping;
  $("typing").hidden = !typing;
  const person = conv?.operator?.name || "The operator";
  $("typing-text").textContent = ui.otherTyping === "operator" ? `${person} is typing…` : "Assistant is typing…";
  const withPerson = conv?.mode === "operator";
  $("hint-who").textContent = withPerson ? `You are talking to ${conv.operator?.name || "a person from the team"}.` : "Replies are written by an AI model and may be wrong.";
  const help = $("help");
  help.hidden = ended || client.state === "unauthorized" || (conv && conv.mode !== "ai");
  help.disabled = !online || ui.helping;
}

function scrollToEnd(force) {
  const t = $("thread");
  if (force || ui.stickToBottom) t.scrollTop = t.scrollHeight;
}
$("thread").addEventListener("scroll", () => {
  const t = $("thread");
  ui.stickToBottom = t.scrollHeight - t.scrollTop - t.clientHeight < 80;
});

$("older").addEventListener("click", async () => {
  if (!ui.current) return;
  const t = $("thread");
  const before = t.scrollHeight;
  try { await client.loadOlder(ui.current); } catch (err) { showBanner(`Could not load earlier messages: ${err.message}`); }
  t.scrollTop = t.scrollHeight - before;
});

// ---- composing ----

async function sendText(raw) {
  const text = raw.trim();
  if (!ui.current) {
    try {
      const conv = await client.open({ title: titleOf(text), model: $("model").value || undefined });
      showConversation(conv.id);
      refreshListSoon();
    } catch (err) {
      showBanner(err.code === "disconnected" ? "Not connected: the message was not sent. Try again when the connection is back." : `Could not start a conversation: ${err.message}`);
      return false;
    }
  }
  try {
    client.send(ui.current, text);
  } catch (err) {
    showBanner(err.message);
    return false;
  }
  ui.stickToBottom = true;
  return true;
}

function titleOf(text) {
  const words = text.trim().split(/\s+/).join(" ");
  return words.length > 60 ? words.slice(0, 57) + "…" : words;
}

$("composer").addEventListener("submit", async (e) => {
  e.preventDefault();
  const box = $("composer-text");
  const text = box.value;
  if (!text.trim() || $("send").disabled) return;
  box.value = "";
  autosize($("composer-text"));
  if (ui.current) client.typing(ui.current, false);
  if (!(await sendText(text))) box.value = text;
  updateComposer();
});

$("composer-text").addEventListener("keydown", (e) => {
  if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    $("composer").requestSubmit();
  }
  if (e.key === "Escape" && !$("stop").hidden) $("stop").click();
});

$("composer-text").addEventListener("input", () => {
  autosize($("composer-text"));
  updateComposer();
  if (!ui.current || client.state !== "open") return;
  client.typing(ui.current, true);
  clearTimeout(ui.typingTimer);
  ui.typingTimer = setTimeout(() => client.typing(ui.current, false), 3000);
});

$("stop").addEventListener("click", () => {
  if (!ui.current) return;
  client.stop(ui.current).catch((err) => showBanner(`Could not stop the reply: ${err.message}`));
  $("composer-text").focus();
});

// ---- phone layout: the conversation list slides in ----

function closeSidebar() {
  document.body.classList.remove("sidebar-open");
  $("menu").setAttribute("aria-expanded", "false");
  $("scrim").hidden = true;
}
$("menu").addEventListener("click", () => {
  const open = !document.body.classList.contains("sidebar-open");
  document.body.classList.toggle("sidebar-open", open);
  $("menu").setAttribute("aria-expanded", String(open));
  $("scrim").hidden = !open;
  if (open) $("new-chat").focus();
});
$("scrim").addEventListener("click", closeSidebar);
document.addEventListener("keydown", (e) => { if (e.key === "Escape" && document.body.classList.contains("sidebar-open")) closeSidebar(); });

window.chatbox = client; // for the host page and for debugging
client.connect();
