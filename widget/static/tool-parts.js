// tool-parts.js: the renderers of a reply's reasoning and tool calls, used
// by message-parts.js on both pages. Every node is built with createElement
// and filled with textContent: model and tool output is never markup.
//
// A tool call is a compact card: its name and status, then a <details>
// "Details" with its arguments and result. A call waiting for approval
// shows a prompt with Approve and Deny buttons; the answer replaces it. The
// page passes, in ctx:
//   approve(message, call, approved) -> Promise   sends the answer
//   answerable(message, call) -> ""               or why this viewer cannot
//                                                 answer (no buttons then)
// The call's state (status, answer) comes from chatbox.js.
import { el } from "./page.js";

const WAITING = "awaiting_approval";

const STATUS = {
  started: "Preparing…",
  running: "Running…",
  [WAITING]: "Needs approval",
  done: "Done",
  denied: "Denied",
  expired: "Expired",
};

// Why a call failed, by error_code.
const FAILED = {
  invalid_arguments: "Failed: invalid arguments",
  timeout: "Timed out",
  cancelled: "Cancelled",
  unknown_tool: "Unknown tool",
};

// statusText says where a call stands, in a few words.
export function statusText(call, m) {
  const finished = ["done", "error", "denied", "expired"].includes(call.status);
  if (!finished && m?.status === "complete") return "Not finished";
  if (call.status === "error") return FAILED[call.errorCode] || "Failed";
  return STATUS[call.status] || STATUS.started;
}

// outcome returns how an approval request ended, {kind, text}, or null
// while it waits (or when the call needed none).
export function outcome(call, m) {
  const waiting = call.status === WAITING;
  if (waiting && call.answer?.state === "sent") {
    return call.answer.approved ? { kind: "approved", text: "Approved." } : { kind: "denied", text: "Denied." };
  }
  if (waiting) return m?.status === "complete" ? { kind: "ended", text: "Not answered: the reply ended." } : null;
  if (!call.approval) return null;
  if (call.status === "denied") return { kind: "denied", text: "Denied." };
  if (call.status === "expired") return { kind: "expired", text: "Expired: nobody answered in time." };
  return { kind: "approved", text: "Approved." };
}

// Why an answer was refused, by error code.
const REFUSED = {
  conflict: "This request was already answered, or it expired.",
  forbidden: "You may not answer this request.",
  not_found: "This request no longer exists.",
  disconnected: "Not connected: answer again when the connection is back.",
  timeout: "No answer from the server: try again.",
};

// pretty shows JSON arguments indented, and anything else as it is (a call
// still being written, or arguments the model got wrong).
function pretty(text) {
  if (!text) return "";
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

function section(label, cls) {
  const box = el("div", "tool-section");
  const value = el("pre", cls);
  box.append(el("div", "tool-label", label), value);
  return { box, label: box.firstChild, value };
}

function button(cls, text, aria) {
  const b = el("button", cls, text);
  b.type = "button";
  b.setAttribute("aria-label", aria);
  return b;
}

export const toolPart = {
  create() {
    const element = el("div", "part tool");
    element.dataset.kind = "tool";
    const head = el("div", "tool-head");
    const name = el("span", "tool-name");
    const status = el("span", "tool-status");
    head.append(el("span", "tool-icon", "⚙"), name, status);
    head.firstChild.setAttribute("aria-hidden", "true");
    const details = el("details", "tool-details");
    const args = section("Arguments", "tool-args");
    const result = section("Result", "tool-result");
    details.append(el("summary", null, "Details"), args.box, result.box);
    element.append(head, details);
    return { element, name, status, details, args, result, prompt: null, outcome: null, busy: false, opened: false, last: null };
  },

  update(state, part, m, ctx = {}) {
    const call = part.call || {};
    state.last = { part, m, ctx };
    state.element.dataset.callId = call.id || "";
    state.element.dataset.status = call.status || "started";
    state.name.textContent = call.name || "tool";
    state.status.textContent = statusText(call, m);

    const args = pretty(call.arguments);
    if (state.args.value.textContent !== args) state.args.value.textContent = args;
    state.args.box.hidden = !args;
    const failed = call.status !== "done" && (call.errorCode || call.status === "error");
    state.result.label.textContent = failed ? "Error" : "Result";
    const result = call.result || (failed ? call.errorCode : "");
    if (state.result.value.textContent !== result) state.result.value.textContent = result;
    state.result.box.hidden = !result;
    state.details.hidden = !args && !result;

    const waiting = call.status === WAITING && m?.status !== "complete" && call.answer?.state !== "sent";
    if (waiting) {
      // What is to be approved is shown at once (the reader may close it).
      if (!state.opened) state.details.toggleAttribute("open", true);
      state.opened = true;
      state.outcome?.remove();
      state.outcome = null;
      renderPrompt(state, call, m, ctx);
      return;
    }
    state.prompt?.box.remove();
    state.prompt = null;
    const done = outcome(call, m);
    if (!done) {
      state.outcome?.remove();
      state.outcome = null;
      return;
    }
    if (!state.outcome) {
      state.outcome = el("p", "tool-outcome");
      state.outcome.setAttribute("role", "status");
      state.outcome.tabIndex = -1;
      state.element.append(state.outcome);
      // The buttons are gone: keep the keyboard where they were.
      if (state.focus) state.outcome.focus?.();
    }
    state.focus = false;
    state.outcome.dataset.outcome = done.kind;
    state.outcome.textContent = done.text;
  },
};

// renderPrompt draws (or refreshes) the approval prompt of a waiting call.
function renderPrompt(state, call, m, ctx) {
  let p = state.prompt;
  if (!p) {
    const box = el("div", "tool-approval");
    box.setAttribute("role", "group");
    const question = el("p", "tool-question");
    const expiry = el("p", "tool-expiry");
    const actions = el("div", "tool-actions");
    const approve = button("tool-approve", "Approve", "");
    const deny = button("tool-deny", "Deny", "");
    const note = el("p", "tool-answer");
    note.setAttribute("role", "status");
    actions.append(approve, deny);
    box.append(question, expiry, actions, note);
    p = state.prompt = { box, question, expiry, actions, approve, deny, note };
    approve.addEventListener("click", () => answer(state, true, approve));
    deny.addEventListener("click", () => answer(state, false, deny));
    state.element.append(box);
  }
  const name = call.name || "a tool";
  p.box.setAttribute("aria-label", `Approval needed: ${name}`);
  p.question.textContent = `The assistant wants to run ${name}. Allow it?`;
  const at = call.expiresAt ? new Date(call.expiresAt) : null;
  p.expiry.textContent = at && !isNaN(at) ? `Answer by ${at.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })}.` : "";
  p.expiry.hidden = !p.expiry.textContent;
  p.approve.setAttribute("aria-label", `Approve ${name}`);
  p.deny.setAttribute("aria-label", `Deny ${name}`);

  const why = ctx.approve ? ctx.answerable?.(m, call) || "" : "Waiting for an answer.";
  p.actions.hidden = !!why;
  const a = call.answer;
  const sending = state.busy || a?.state === "sending";
  p.approve.disabled = p.deny.disabled = sending;
  let note = why;
  let error = false;
  if (!why && sending) note = (a ? a.approved : state.approved) ? "Approving…" : "Denying…";
  else if (!why && a?.state === "failed") {
    note = REFUSED[a.error?.code] || `Could not send the answer: ${a.error?.message || "error"}`;
    error = true;
  }
  p.note.textContent = note; // a live region: present (empty) before it speaks
  p.note.className = error ? "tool-answer error" : "tool-answer";
}

// answer sends the viewer's answer; the buttons stay disabled until the
// server took it or refused it (then the keyboard is back on the button).
function answer(state, approved, button) {
  const { part, m, ctx } = state.last;
  if (state.busy || !ctx.approve) return;
  state.busy = true;
  state.approved = approved;
  state.focus = true;
  toolPart.update(state, part, m, ctx);
  Promise.resolve()
    .then(() => ctx.approve(m, part.call, approved))
    .catch(() => {}) // the call's answer (and the error event) say what went wrong
    .finally(() => {
      state.busy = false;
      const l = state.last;
      toolPart.update(state, l.part, l.m, l.ctx);
      if (state.focus && state.prompt) {
        state.focus = false; // the prompt stays
        if (!button.disabled) button.focus?.();
      }
    });
}

// Reasoning is folded away by default: a <details> "Reasoning" the reader
// may open. Plain text, as the model wrote it.
export const reasoningPart = {
  create() {
    const element = el("details", "part reasoning");
    element.dataset.kind = "reasoning";
    const text = el("div", "reasoning-text");
    element.append(el("summary", null, "Reasoning"), text);
    return { element, text };
  },
  update(state, part) {
    if (state.text.textContent !== part.text) state.text.textContent = part.text || "";
  },
};
