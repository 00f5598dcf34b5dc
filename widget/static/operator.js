// operator.js: the operator console. Lists come from the operator HTTP API
// (admin.js); the selected conversation is watched live over the socket
// (chatbox.js), where the operator takes it over, writes and hands it back.
// Settings come from the JSON in #chatbox-config (written by the widget
// handler): socket_url, admin_url, token_url (where to GET {"token": "..."};
// empty: the operator pastes a token, kept for the tab only).
import { ChatboxClient } from "./chatbox.js";
import { AdminClient } from "./admin.js";
import { $, STATE_TEXT, fetchToken, showBanner, hideBanner as hide, autosize, when, applyLook } from "./page.js";
import { since, statsList } from "./operator-view.js";
import { lists } from "./operator-lists.js";
import { Thread } from "./operator-thread.js";

const cfg = JSON.parse($("chatbox-config").textContent || "{}");
applyLook(cfg);
const TOKEN_KEY = "chatbox.operator.token";

const ui = {
  token: "",
  me: null, // ready.user
  current: "", // selected conversation id
  summary: null, // its summary from the API
  month: null, // {id, totals}: the usage this month of the user of conversation id
  held: new Set(), // conversations this page took over
  mine: new Set(), // message ids written on this page
  queue: [],
  list: [],
  cursor: "",
  paged: false, // "Load more" was used: the list is not refreshed behind the operator's back
  listAt: 0,
  pollTimer: 0,
  pausedUntil: 0, // after a 429, polling waits until then
  apiProblem: false, // the banner shows an API problem
  fatal: "", // "forbidden" or "unauthorized": nothing works until signing in again
  busy: false, // a takeover, release or end is on its way
  armed: "", // "end" or "force": that button waits for its confirmation…
  armedUntil: 0, // …until then
  typing: "", // who else types in the selected conversation
  answering: "", // holder() when the approval prompts were last drawn
  refreshed: false, // the token was fetched again after a 401
};

// ---- token and sign-in ----

let signinWaiter = null;
async function getToken() {
  if (cfg.token_url) return (ui.token = await fetchToken(cfg.token_url));
  const saved = sessionStorage.getItem(TOKEN_KEY);
  if (saved) return (ui.token = saved);
  return new Promise((resolve) => { signinWaiter = resolve; showSignin(""); });
}

function showSignin(error) {
  $("signin").hidden = false;
  $("panes").hidden = true;
  $("signin-error").hidden = !error;
  $("signin-error").textContent = error;
  $("signin-token").value = "";
  $("signin-token").focus();
}

$("signin").addEventListener("submit", (e) => {
  e.preventDefault();
  const token = $("signin-token").value.trim();
  if (!token) return;
  sessionStorage.setItem(TOKEN_KEY, token);
  ui.token = token;
  ui.fatal = "";
  $("signin").hidden = true;
  $("panes").hidden = false;
  hideBanner();
  if (signinWaiter) { signinWaiter(token); signinWaiter = null; } else client.connect();
});

function signOut(why = "") {
  sessionStorage.removeItem(TOKEN_KEY);
  ui.token = "";
  if (ui.current) deselect();
  client.close();
  $("me").textContent = "";
  $("signout").hidden = true;
  if (cfg.token_url) {
    showBanner(why || "Signed out.", "Sign in again", () => { hideBanner(); ui.fatal = ""; client.connect(); });
    $("panes").hidden = true;
  } else showSignin(why);
}
$("signout").addEventListener("click", () => signOut());

// forbidden: the token is valid but not an operator's.
function forbidden() {
  if (ui.fatal === "forbidden") return;
  ui.fatal = "forbidden";
  clearTimeout(ui.pollTimer);
  signOut("This account is not an operator: its token lacks the operator role. Sign in with an operator's token.");
}

const api = new AdminClient(cfg.admin_url || "/chat/admin/", () => ui.token || getToken());
const client = new ChatboxClient({ url: cfg.socket_url || "/chat/ws", getToken });

// ---- banners and connection state ----

function hideBanner() { hide(); ui.apiProblem = false; }

client.addEventListener("statechange", (e) => {
  const { state } = e.detail;
  document.body.dataset.state = state;
  $("status-text").textContent = STATE_TEXT[state] || state;
  if (state === "reconnecting") showBanner("Connection lost. Reconnecting — the conversation view resumes where it was.", "Reconnect now", () => client.connect());
  if (state === "open" && !ui.apiProblem) hideBanner();
  if (state === "unauthorized" && ui.fatal !== "forbidden") {
    ui.fatal = "unauthorized";
    signOut("The server refused this token. Check it and sign in again.");
  }
  renderHead();
});

client.addEventListener("error", (e) => {
  const { error, request } = e.detail;
  if (error.code === "forbidden") return forbidden();
  if (error.code === "token_unavailable") return showBanner(`Could not get a sign-in token (${error.message}). Retrying…`);
  // Requests the console awaits report their own errors.
  if (!["watch", "takeover", "release", "end", "send", "hello", "resume", "approve"].includes(request) && error.code !== "unauthorized") {
    showBanner(`${error.message} (${error.code})`);
  }
});

client.addEventListener("ready", (e) => {
  ui.me = e.detail.user;
  $("me").textContent = `Signed in as ${ui.me.name || ui.me.id}`;
  $("signout").hidden = false;
  poll(true);
  const wanted = location.hash.slice(1);
  if (wanted && !ui.current) select(wanted);
});

// ---- lists: polled from the API (operator-lists.js) ----

const { poll, apiError, renderQueue, renderList } = lists({ ui, api, client, cfg, select, signOut, forbidden, hideBanner });

// ---- the selected conversation ----

async function select(id) {
  if (!id || ui.current === id) return;
  if (ui.current) client.leave(ui.current);
  ui.current = id;
  ui.summary = ui.queue.find((c) => c.id === id) || ui.list.find((c) => c.id === id) || null;
  ui.month = null;
  ui.typing = "";
  ui.armed = ""; // a confirmation is for the conversation it was asked on
  history.replaceState(null, "", "#" + id);
  document.body.classList.add("detail-open");
  $("placeholder").hidden = true;
  $("view").hidden = false;
  renderThread();
  renderQueue();
  renderList();
  loadSummary(id).then(() => loadMonth(id));
  try {
    await client.watch(id, { limit: 50 });
  } catch (err) {
    if (ui.current !== id) return;
    if (err.code === "forbidden") return forbidden();
    showBanner(err.code === "not_found" ? "That conversation does not exist." : `Could not open the conversation: ${err.message}`);
    return;
  }
  if (ui.current === id) renderThread();
}

function deselect() {
  if (ui.current) client.leave(ui.current);
  ui.current = "";
  ui.summary = null;
  ui.month = null;
  history.replaceState(null, "", location.pathname + location.search);
  document.body.classList.remove("detail-open");
  $("placeholder").hidden = false;
  $("view").hidden = true;
  renderQueue();
  renderList();
}
$("back").addEventListener("click", deselect);

let summaryTimer = 0;
async function loadSummary(id) {
  try {
    const body = await api.conversation(id);
    if (ui.current !== id) return;
    ui.summary = body.conversation || body;
    renderHead();
  } catch (err) {
    if (ui.current === id && err.status !== 404) apiError(err, "load the conversation's details");
  }
}
// loadSummarySoon loads the summary again shortly, and the user's usage
// this month too when withMonth (a reply ended) was asked since the last load.
let monthDue = false;
function loadSummarySoon(withMonth = false) {
  clearTimeout(summaryTimer);
  monthDue ||= withMonth;
  const id = ui.current;
  summaryTimer = setTimeout(async () => {
    const month = monthDue;
    monthDue = false;
    await loadSummary(id);
    if (month) loadMonth(id);
  }, 500);
}

// loadMonth loads the usage this month of conversation id's user. It is
// extra: when it fails, or the server keeps no usage, nothing is shown and
// the console carries on.
async function loadMonth(id) {
  const conv = client.conversations.get(id);
  const user = (ui.summary?.id === id && ui.summary.user_id) || conv?.info?.user_id;
  if (!user || ui.current !== id) return;
  let totals = null;
  try { totals = await api.monthUsage(user); } catch { /* shown as nothing */ }
  if (ui.current !== id) return;
  ui.month = totals ? { id, totals } : null;
  renderHead();
}

// holder says who answers the conversation: "me", "other" or "".
// A takeover this page made counts at once (its mode event may follow the
// answer); otherwise the API's summary names the holder.
function holder(conv) {
  if (!conv) return "";
  if (ui.held.has(conv.id)) return "me";
  if (conv.mode !== "operator") return "";
  const s = ui.summary;
  return s?.id === conv.id && s.mode === "operator" && s.operator && s.operator === ui.me?.id ? "me" : "other";
}

function renderHead() {
  if (!ui.current) return;
  const conv = client.conversations.get(ui.current);
  const s = ui.summary?.id === ui.current ? ui.summary : null;
  const ended = !!conv?.ended || s?.status === "ended";
  const mode = conv?.mode || s?.mode || "ai";
  const who = holder(conv);
  const otherName = conv?.operator?.name || s?.operator || "another operator";
  const userId = s?.user_id || conv?.info?.user_id || "";
  $("d-title").textContent = s?.title || conv?.info?.title || "Untitled conversation";
  $("d-sub").textContent = [userId && `User ${userId}`, s?.model || conv?.info?.model, (s?.created_at || conv?.info?.created_at) && `started ${when(s?.created_at || conv.info.created_at)}`].filter(Boolean).join(" · ");
  const chip = $("d-mode");
  chip.dataset.mode = ended ? "ended" : who === "me" ? "mine" : mode;
  chip.textContent = ended ? "Ended"
    : mode === "waiting" ? `Waiting for a person${s?.mode_changed_at ? " · " + since(s.mode_changed_at) : ""}`
    : who === "me" ? "You are answering"
    : mode === "operator" ? `${otherName} is answering`
    : "The assistant is answering";
  const online = client.state === "open" && !!conv?.attached;
  const take = $("takeover");
  take.hidden = ended || who === "me";
  take.disabled = !online || ui.busy || who === "other";
  take.title = who === "other" ? `${otherName} holds this conversation` : "";
  // Taking it anyway is for a holder who left without handing it back.
  const force = $("force");
  const forceArmed = armed("force");
  force.hidden = ended || who !== "other";
  force.disabled = !online || ui.busy;
  force.textContent = forceArmed ? "Click again to take it over" : "Take over anyway";
  force.title = `Take this conversation from ${otherName}, for when they left without handing it back`;
  force.classList.toggle("armed", forceArmed);
  $("release").hidden = ended || who !== "me";
  $("release").disabled = !online || ui.busy;
  const end = $("end");
  end.hidden = ended;
  end.disabled = !online || ui.busy;
  const endArmed = armed("end");
  end.textContent = endArmed ? "Click again to end it" : "End conversation";
  end.classList.toggle("armed", endArmed);
  $("d-stats").replaceChildren(...statsList(s, ui.month?.id === ui.current ? ui.month.totals : null));
  const box = $("composer-text");
  box.disabled = ended || who !== "me" || client.state === "unauthorized";
  box.placeholder = ended ? "This conversation has ended."
    : who === "me" ? `Write to ${userId || "the user"} as ${ui.me?.name || "operator"}…`
    : who === "other" ? `${otherName} holds this conversation.`
    : "Take the conversation over to write to the user.";
  $("send").disabled = box.disabled || !box.value.trim();
  $("typing").hidden = !ui.typing;
  // Approval prompts offer their buttons to the operator holding the conversation only.
  if (who !== ui.answering) { ui.answering = who; thread.refreshCalls(); }
  $("typing-text").textContent = ui.typing === "operator" ? "Another operator is typing…" : `${userId || "The user"} is typing…`;
}

// armed says whether button kind waits for its confirming second click.
function armed(kind) { return ui.armed === kind && ui.armedUntil > Date.now(); }

// act runs an action on the selected conversation: "takeover", "force" (a
// takeover from another operator), "release" or "end". "force" and "end"
// wait for a second click within 4 seconds.
async function act(kind) {
  const id = ui.current;
  if (!id) return;
  if ((kind === "end" || kind === "force") && !armed(kind)) {
    ui.armed = kind;
    ui.armedUntil = Date.now() + 4000;
    setTimeout(renderHead, 4100);
    return renderHead();
  }
  ui.armed = "";
  ui.busy = true;
  renderHead();
  try {
    if (kind === "takeover" || kind === "force") {
      await client.takeover(id, { force: kind === "force" });
      ui.held.add(id);
      ui.busy = false;
      renderHead();
      $("composer-text").focus();
    } else if (kind === "release") {
      await client.release(id);
      ui.held.delete(id);
    } else await client.end(id);
  } catch (err) {
    if (err.code === "forbidden") return forbidden();
    const text = {
      conflict: kind === "takeover" ? "Another operator already holds this conversation. If they have left, use “Take over anyway”." : "You no longer hold this conversation.",
      conversation_ended: "The conversation has ended.",
      not_open: "The conversation is no longer open on this console: select it again.",
      disconnected: "Not connected: try again when the connection is back.",
    }[err.code] || `Could not ${kind === "takeover" || kind === "force" ? "take the conversation over" : kind === "release" ? "hand the conversation back" : "end the conversation"}: ${err.message}`;
    showBanner(text);
  } finally {
    ui.busy = false;
    if (ui.current === id) { renderHead(); loadSummary(id); }
    setTimeout(() => poll(true), 300);
  }
}
$("takeover").addEventListener("click", () => act("takeover"));
$("force").addEventListener("click", () => act("force"));
$("release").addEventListener("click", () => act("release"));
$("end").addEventListener("click", () => act("end"));

// ---- live messages ----

client.addEventListener("conversation", (e) => { if (e.detail.conversation.id === ui.current) renderThread(); });
client.addEventListener("message", (e) => {
  const { conversation, message } = e.detail;
  if (conversation.id !== ui.current) return;
  thread.render(message);
  // The figures moved; a reply that ended moved its user's usage too.
  if (message.status === "complete" || message.status === "sent") loadSummarySoon(message.role === "assistant" && message.status === "complete");
  renderHead();
});
client.addEventListener("mode", (e) => {
  const { conversationId, mode, operator, previous } = e.detail;
  // Another operator may take over a conversation this page holds (with
  // force): the event names them. The summary, loaded again, says who.
  if (mode !== "operator" || (operator?.name && operator.name !== (ui.me?.name || "Operator"))) ui.held.delete(conversationId);
  if (conversationId !== ui.current) return;
  if (ui.summary && (mode !== ui.summary.mode || mode === previous)) ui.summary = { ...ui.summary, mode, operator: "" };
  renderHead();
  loadSummary(conversationId);
  setTimeout(() => poll(true), 300);
});
client.addEventListener("ended", (e) => { if (e.detail.conversation.id === ui.current) { renderHead(); loadSummarySoon(); } });
client.addEventListener("typing", (e) => {
  const { conversationId, role, active } = e.detail;
  if (conversationId !== ui.current) return;
  ui.typing = active ? role : "";
  renderHead();
});

const thread = new Thread($("messages"), $("thread"), {
  names: (m) => {
    const conv = client.conversations.get(ui.current);
    const userId = ui.summary?.user_id || conv?.info?.user_id || "User";
    if (m.role === "user") return { who: userId, avatar: userId.slice(0, 1).toUpperCase() };
    if (m.role === "operator") return { who: ui.mine.has(m.id) ? `You (${ui.me?.name || "operator"})` : "Operator", avatar: "OP" };
    return { who: m.role === "assistant" ? "Assistant" : m.role, avatar: "AI" };
  },
  onRetry: (m) => client.retry(ui.current, m.id),
  approve: (m, call, approved) => client.approve(ui.current, m.id, call.id, approved),
  loadFile: (file) => client.loadFile(ui.current, file.id),
  answerable: () => {
    const who = holder(client.conversations.get(ui.current));
    return who === "me" ? "" : who === "other" ? "Waiting for the user or the operator holding this conversation to answer."
      : "Waiting for the user to answer. Take the conversation over to answer it yourself.";
  },
});

function renderThread() {
  const conv = client.conversations.get(ui.current);
  thread.show(conv);
  $("older").hidden = !conv?.cursor;
  renderHead();
}

$("older").addEventListener("click", async () => {
  const t = $("thread");
  const before = t.scrollHeight;
  try { await client.loadOlder(ui.current); } catch (err) { showBanner(`Could not load earlier messages: ${err.message}`); }
  t.scrollTop = t.scrollHeight - before;
});

// ---- writing as the operator ----

let typingTimer = 0;
$("composer").addEventListener("submit", (e) => {
  e.preventDefault();
  const box = $("composer-text");
  const text = box.value.trim();
  if (!text || $("send").disabled) return;
  try {
    const msg = client.send(ui.current, text);
    ui.mine.add(msg.id);
    thread.render(msg);
  } catch (err) {
    return showBanner(err.message);
  }
  box.value = "";
  client.typing(ui.current, false);
  autosize($("composer-text"));
  renderHead();
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
});
$("composer-text").addEventListener("input", () => {
  autosize($("composer-text"));
  renderHead();
  if (!ui.current || client.state !== "open") return;
  client.typing(ui.current, true);
  clearTimeout(typingTimer);
  typingTimer = setTimeout(() => client.typing(ui.current, false), 3000);
});

setInterval(() => { if (ui.current) renderHead(); if (ui.queue.length) renderQueue(); }, 30000); // "waiting 3 min" ages
window.chatbox = client; // for debugging
client.connect();
