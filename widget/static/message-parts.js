// message-parts.js: how one message's content is drawn, shared by the chat
// page and the operator console. A message is a list of parts, each of a
// kind; each kind has a renderer. A plain message is one "text" part; a
// reply that reasoned or called tools has message.parts from chatbox.js
// ("text", "reasoning", "tool", drawn by tool-parts.js), a message with
// files has "file" parts (file-parts.js). New kinds add a renderer with
// registerPart and need no change elsewhere.
//
// A renderer is {create(part, message, ctx) -> state,
// update(state, part, message, ctx), remove(state, ctx) (optional)}:
// create returns {element, ...} once, update brings it up to date as the
// message changes (a streaming reply calls it every few tens of ms),
// remove runs when the part is no longer shown (to release what it holds).
// ctx is what the page gave MessageBody (tool-parts.js: approve,
// answerable; file-parts.js: loadFile).
import { MarkdownView } from "./markdown.js";
import { el } from "./page.js";
import { toolPart, reasoningPart } from "./tool-parts.js";
import { filePart } from "./file-parts.js";

const renderers = new Map();

// registerPart sets the renderer of a part kind.
export function registerPart(kind, renderer) { renderers.set(kind, renderer); }

// partsOf returns the parts of a message: its parts when the client
// carries them, else one text part.
export function partsOf(m) {
  return Array.isArray(m.parts) && m.parts.length ? m.parts : [{ kind: "text", text: m.text || "" }];
}

// Text a user wrote is shown as written; replies and operator messages are
// Markdown, re-rendered block by block while they stream.
registerPart("text", {
  create(part, m) {
    const element = el("div", m.role === "user" ? "part plain" : "part md");
    element.dataset.kind = "text";
    return { element, view: m.role === "user" ? null : new MarkdownView(element) };
  },
  update(state, part, m) {
    if (state.view) state.view.update(part.text || "");
    else if (state.text !== part.text) state.element.textContent = part.text || "";
    state.text = part.text;
    void m;
  },
});

registerPart("tool", toolPart);
registerPart("reasoning", reasoningPart);
registerPart("file", filePart);

// A part of a kind this page does not know says so rather than vanishing.
const unknown = {
  create(part) {
    const element = el("div", "part part-unknown", `[${part.kind}]`);
    element.dataset.kind = part.kind;
    return { element };
  },
  update() {},
};

// MessageBody keeps a message's body element in step with its parts. ctx
// is handed to the renderers (tool-parts.js: approve, answerable;
// file-parts.js: loadFile). destroy() releases what the parts hold, when
// the message is no longer shown.
export class MessageBody {
  constructor(element, ctx = {}) {
    this.element = element;
    this.ctx = ctx;
    this.parts = []; // {kind, state}
  }

  update(m) {
    const parts = partsOf(m);
    parts.forEach((part, i) => {
      let slot = this.parts[i];
      if (slot && slot.kind !== part.kind) {
        for (const s of this.parts.splice(i)) this.drop(s);
        slot = null;
      }
      if (!slot) {
        const r = renderers.get(part.kind) || unknown;
        slot = { kind: part.kind, r, state: r.create(part, m, this.ctx) };
        this.parts.push(slot);
        this.element.append(slot.state.element);
      }
      slot.r.update(slot.state, part, m, this.ctx);
    });
    for (const s of this.parts.splice(parts.length)) this.drop(s);
  }

  destroy() {
    for (const s of this.parts.splice(0)) this.drop(s);
  }

  drop(slot) {
    slot.r.remove?.(slot.state, this.ctx);
    slot.state.element.remove();
  }
}

// What a reply's end means, in a sentence for the person reading it.
const FINISH = {
  abort: "Stopped.",
  length: "The reply was cut short: it reached the model's length limit.",
  content_filter: "The model's provider withheld the rest of this reply.",
  timeout: "The reply took too long and was cut short.",
  interrupted: "The reply was interrupted: the server restarted before it finished.",
  handoff: "A person took over the conversation, so the assistant stopped.",
  max_steps: "The assistant stopped: it used tools more times than one reply allows.",
  budget: "The reply was cut short: your usage allowance is spent for now.",
};

// Why a reply failed (finish reason "error"), by error code.
const FAILED = {
  provider_error: "The assistant could not answer just now. Try again in a moment.",
  unavailable: "The service is briefly unavailable. Try again in a moment.",
  timeout: "The assistant took too long to answer.",
  rate_limited: "Too many requests right now. Wait a moment, then try again.",
  internal: "Something went wrong on our side.",
  shutting_down: "The server was restarting. Try again in a moment.",
};

// finishNote returns {text, error} for a finished reply, or null when it
// ended normally. error: the note reports a failure.
export function finishNote(m) {
  const reason = m.finishReason;
  if (!reason || reason === "stop") return null;
  if (reason === "error") {
    const code = m.error?.code || "";
    let text = FAILED[code] || "The reply failed.";
    if (m.error?.ref) text += ` Reference: ${m.error.ref}.`;
    return { text, error: true };
  }
  return { text: FINISH[reason] || `The reply ended (${reason}).`, error: reason === "timeout" };
}
