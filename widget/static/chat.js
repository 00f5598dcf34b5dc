// chat.js: the chat page built on chatbox.js. It reads its settings from the
// JSON in #chatbox-config (written by the widget handler):
//   socket_url  the WebSocket endpoint
//   token_url   where to GET {"token": "..."} (same-origin credentials);
//               empty: the page asks for a token and keeps it for the tab
//   signin_url  the host's sign-in page, linked when the user is signed out
//   accent, logo_url, welcome, theme   the look (page.js applyLook)
// The messages are drawn by chat-thread.js, the connection's state by
// chat-connection.js, the attachments waiting to be sent by chat-files.js.
import { ChatboxClient } from "./chatbox.js";
import { $, el, fetchToken, showBanner, autosize, when, applyLook } from "./page.js";
import { personNotice } from "./chat-person.js";
import { ChatThread } from "./chat-thread.js";
import { ConnectionView } from "./chat-connection.js";
import { closeSidebar } from "./chat-layout.js";
import { AttachmentTray } from "./chat-files.js";

const cfg = JSON.parse($("chatbox-config").textContent || "{}");
const TOKEN_KEY = "chatbox.token";
applyLook(cfg);

const ui = {
  current: "", // open conversation id; "" while drafting a new one
  typingTimer: 0,
  otherTyping: "",
  conversations: [],
  left: new Map(), // conversation id -> name of the operator who just left
  helping: false, // a help request is on its way
  draft: "", // a first message written offline, sent once connected
  trayConv: "", // the conversation the files in the tray were uploaded to
};

// ---- token ----

let signinWaiter = null;
async function getToken() {
  if (cfg.cookie_sign_in) return ""; // the browser's own sign-in (a cookie) identifies the user
  if (cfg.token_url) {
    try {
      const token = await fetchToken(cfg.token_url);
      conn.tokenError = null;
      return token;
    } catch (err) {
      conn.tokenError = { status: err.status || 0, message: err.message };
      // Signed out of the host: retrying will not sign the user in.
      if (err.status === 401 || err.status === 403) client.close();
      throw err;
    }
  }
  const saved = sessionStorage.getItem(TOKEN_KEY);
  if (saved) return saved;
  return new Promise((resolve) => { signinWaiter = resolve; showSignin(""); });
}

function showSignin(error) {
  conn.signin();
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
  conn.status("connecting");
  $("signin").hidden = true;
  $("thread").hidden = false;
  $("composer").hidden = false;
  if (signinWaiter) { signinWaiter(token); signinWaiter = null; } else client.connect();
});

const client = new ChatboxClient({ url: cfg.socket_url || "/chat/ws", getToken });
const conn = new ConnectionView(client, cfg);

// ---- connection state ----

client.addEventListener("statechange", (e) => {
  const { state } = e.detail;
  if (!(state === "connecting" && !$("signin").hidden)) conn.update(e.detail);
  if (state === "unauthorized" && !cfg.token_url) {
    sessionStorage.removeItem(TOKEN_KEY);
    showSignin("You could not be signed in: the server refused your access token. Check it and try again.");
  }
  if (state === "open" && ui.draft) sendDraft();
  updateComposer();
  renderMode();
});

client.addEventListener("error", (e) => {
  const { error, request } = e.detail;
  if (error.code === "token_unavailable") {
    // shown with the reconnecting (or signed-out) state
  } else if (error.code === "unauthorized") {
    // shown by the statechange handler
  } else if (request !== "send" && request !== "approve") { // an answer's error is shown in its prompt
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

const thread = new ChatThread($("messages"), $("thread"), {
  operatorName: (conv) => conv?.operator?.name || ui.left.get(conv?.id) || "",
  retry: (conv, m) => client.retry(conv.id, m.id),
  ask: (text, files) => sendText(text, files),
  approve: (conv, m, call, approved) => client.approve(conv.id, m.id, call.id, approved),
  loadFile: (conv, file) => client.loadFile(conv.id, file.id),
});

function showConversation(id) {
  // Files attached for another conversation are taken back.
  if (ui.trayConv && ui.trayConv !== id) {
    tray.discard();
    ui.trayConv = "";
    clearFileErrors();
  }
  ui.current = id;
  history.replaceState(null, "", id ? "#" + id : location.pathname + location.search);
  const conv = id ? client.conversations.get(id) : null;
  $("conv-title").textContent = conv?.info?.title || "New conversation";
  thread.clear();
  ui.otherTyping = "";
  if (conv) for (const m of conv.messages.values()) thread.render(conv, m);
  $("older").hidden = !conv?.cursor;
  for (const b of document.querySelectorAll(".conv")) b.toggleAttribute("aria-current", b.dataset.id === id);
  updateEmpty();
  updateComposer();
  renderMode();
  thread.toEnd(true);
}

client.addEventListener("conversation", (e) => {
  if (e.detail.conversation.id === ui.current) showConversation(ui.current);
});

client.addEventListener("message", (e) => {
  const { conversation, message } = e.detail;
  if (conversation.id !== ui.current) return;
  thread.render(conversation, message);
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

function updateEmpty() {
  $("empty").hidden = thread.size > 0 || !!ui.draft;
}

function updateComposer() {
  const conv = ui.current ? client.conversations.get(ui.current) : null;
  const streaming = !!conv?.replyId;
  const online = client.state === "open";
  const ended = !!conv?.ended;
  const text = $("composer-text");
  const signedOut = client.state === "unauthorized" || client.state === "closed";
  text.disabled = ended || signedOut;
  text.placeholder = signedOut ? "Sign in to chat" : ended ? "This conversation has ended. Start a new chat." : "Write a message…";
  // Offline, a first message waits as a draft (shown queued) until the
  // connection is back; one draft at a time. Files must be uploaded before
  // they are sent.
  const files = tray.ready.length > 0;
  $("send").disabled = text.disabled || streaming || tray.uploading > 0 || (!text.value.trim() && !files) || (!online && !conv && !!ui.draft);
  $("attach").disabled = text.disabled || !online;
  $("send").hidden = streaming;
  $("stop").hidden = !streaming;
  $("model").disabled = !!conv;
  const reply = streaming ? conv.messages.get(conv.replyId) : null;
  // Nothing of the reply shown yet (a reply waiting for approval shows its prompt).
  const typing = (reply && !reply.text && !reply.parts?.length) || ui.otherTyping;
  $("typing").hidden = !typing;
  const person = conv?.operator?.name || "The operator";
  $("typing-text").textContent = ui.otherTyping === "operator" ? `${person} is typing…` : "Assistant is typing…";
  const withPerson = conv?.mode === "operator";
  $("hint-who").textContent = withPerson ? `You are talking to ${conv.operator?.name || "a person from the team"}.` : "Replies are written by an AI model and may be wrong.";
  const help = $("help");
  help.hidden = ended || signedOut || (conv && conv.mode !== "ai");
  help.disabled = !online || ui.helping;
}

$("older").addEventListener("click", async () => {
  if (!ui.current) return;
  const t = $("thread");
  const before = t.scrollHeight;
  try { await client.loadOlder(ui.current); } catch (err) { showBanner(`Could not load earlier messages: ${err.message}`); }
  t.scrollTop = t.scrollHeight - before;
});

// ---- attachments ----

const tray = new AttachmentTray($("tray"), {
  upload: async (file, options) => ({ ...(await client.upload(ui.trayConv, file, options)), conversationId: ui.trayConv }),
  remove: (info) => client.deleteFile(info.conversationId, info.id).catch(() => {}), // an unsent upload expires anyway
  refused: (text, err) => showFileError(text, err),
  changed: () => updateComposer(),
});

// showFileError says, near the message box, why a file was not attached.
function showFileError(text, err = null) {
  const box = $("file-errors");
  const p = el("p", "file-error", text);
  if (err) {
    p.dataset.code = err.code || "";
    p.dataset.field = err.field || "";
  }
  const dismiss = box.querySelector(".file-errors-dismiss") || Object.assign(el("button", "file-errors-dismiss", "×"), { type: "button" });
  dismiss.setAttribute("aria-label", "Dismiss");
  dismiss.onclick = () => { clearFileErrors(); $("composer-text").focus(); };
  box.append(p, dismiss); // the button stays last
}

function clearFileErrors() { $("file-errors").replaceChildren(); }

// attach uploads files into the open conversation (one is started for
// them when there is none yet).
async function attach(list) {
  const files = [...(list || [])].filter(Boolean);
  if (!files.length) return;
  clearFileErrors();
  const conv = ui.current ? client.conversations.get(ui.current) : null;
  if (client.state !== "open") return showFileError("Not connected: attach the files again when the connection is back.");
  if (conv?.ended) return showFileError("This conversation has ended: start a new chat to send files.");
  try {
    ui.trayConv = await conversationForFiles(files[0].name);
  } catch (err) {
    return showFileError(err.code === "disconnected" ? "Not connected: attach the files again when the connection is back." : `Could not start a conversation for the files: ${err.message}`);
  }
  for (const f of files) tray.add(f, f.name || "pasted-image.png");
}

// conversationForFiles returns the open conversation, or starts one (once,
// however many files arrive meanwhile).
let opening = null;
function conversationForFiles(name) {
  if (ui.current) return Promise.resolve(ui.current);
  const title = titleOf($("composer-text").value.trim() || name || "Files");
  opening ||= client.open({ title, model: $("model").value || undefined }).then((conv) => {
    showConversation(conv.id);
    refreshListSoon();
    return conv.id;
  }).finally(() => { opening = null; });
  return opening;
}

$("attach").addEventListener("click", () => $("file-input").click());
$("file-input").addEventListener("change", () => {
  const files = [...$("file-input").files];
  $("file-input").value = ""; // the same file may be chosen again
  attach(files);
  $("composer-text").focus();
});

// A pasted screenshot (an image on the clipboard) is attached; pasted text
// goes into the message as usual, also when the clipboard holds a picture
// of it besides (as spreadsheets and word processors put there).
$("composer-text").addEventListener("paste", (e) => {
  const files = [...(e.clipboardData?.files || [])];
  if (!files.length || [...(e.clipboardData.types || [])].includes("text/plain")) return;
  e.preventDefault();
  attach(files);
});

// Files dropped on the message box are attached; dropped anywhere else
// they are ignored rather than opened by the browser in place of the chat.
const dragsFiles = (e) => [...(e.dataTransfer?.types || [])].includes("Files");
let dragDepth = 0;
const composer = $("composer");
composer.addEventListener("dragenter", (e) => {
  if (!dragsFiles(e)) return;
  e.preventDefault();
  dragDepth++;
  composer.dataset.drop = "true";
});
composer.addEventListener("dragover", (e) => {
  if (!dragsFiles(e)) return;
  e.preventDefault();
  e.dataTransfer.dropEffect = $("attach").disabled ? "none" : "copy";
});
composer.addEventListener("dragleave", (e) => {
  if (!dragsFiles(e)) return;
  dragDepth = Math.max(0, dragDepth - 1);
  if (!dragDepth) delete composer.dataset.drop;
});
composer.addEventListener("drop", (e) => {
  if (!dragsFiles(e)) return;
  e.preventDefault();
  dragDepth = 0;
  delete composer.dataset.drop;
  attach(e.dataTransfer.files);
});
for (const type of ["dragover", "drop"]) {
  window.addEventListener(type, (e) => { if (dragsFiles(e) && !composer.contains(e.target)) e.preventDefault(); });
}

// ---- composing ----

async function sendText(raw, files = []) {
  const text = raw.trim();
  if (!ui.current && client.state !== "open") {
    // No conversation yet and no connection: keep the message, show it
    // waiting, and send it once connected.
    ui.draft = text;
    showDraft();
    return true;
  }
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
    client.send(ui.current, text, { attachments: files });
  } catch (err) {
    showBanner(err.message);
    return false;
  }
  thread.toEnd(true);
  return true;
}

function showDraft() {
  $("draft").hidden = !ui.draft;
  $("draft-text").textContent = ui.draft;
  updateEmpty();
  updateComposer();
}

async function sendDraft() {
  const text = ui.draft;
  ui.draft = "";
  showDraft();
  if (!(await sendText(text))) { ui.draft = text; showDraft(); }
}

$("draft-cancel").addEventListener("click", () => {
  $("composer-text").value ||= ui.draft;
  ui.draft = "";
  showDraft();
  autosize($("composer-text"));
  $("composer-text").focus();
});

function titleOf(text) {
  const words = text.trim().split(/\s+/).join(" ");
  return words.length > 60 ? words.slice(0, 57) + "…" : words;
}

$("composer").addEventListener("submit", async (e) => {
  e.preventDefault();
  const box = $("composer-text");
  const text = box.value;
  const files = tray.ready;
  if ((!text.trim() && !files.length) || $("send").disabled) return;
  box.value = "";
  autosize($("composer-text"));
  if (ui.current) client.typing(ui.current, false);
  if (await sendText(text, files)) {
    tray.take();
    clearFileErrors();
  } else box.value = text;
  updateComposer();
});

// Enter sends, Shift+Enter starts a new line. The line break Enter would
// insert is refused in beforeinput too: some input paths deliver it even
// after keydown was cancelled.
let enterSends = false;
$("composer-text").addEventListener("beforeinput", (e) => {
  if (enterSends && (e.inputType === "insertLineBreak" || e.inputType === "insertParagraph")) e.preventDefault();
});
$("composer-text").addEventListener("keyup", () => { enterSends = false; });
$("composer-text").addEventListener("keydown", (e) => {
  enterSends = e.key === "Enter" && !e.shiftKey && !e.isComposing;
  if (enterSends) {
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

window.chatbox = client; // for the host page and for debugging
client.connect();
