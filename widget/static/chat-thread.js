// chat-thread.js: the chat page's list of messages. Each message's content
// is drawn by message-parts.js (tool calls and their approval prompts by
// tool-parts.js); this file adds who wrote it, its state (sending, failed,
// stopped...) and its actions (retry, copy), and keeps the list scrolled to
// the newest message while the reader is there.
import { copyText } from "./markdown.js";
import { MessageBody, finishNote } from "./message-parts.js";
import { el } from "./page.js";

const ROLE_NAME = { user: "You", assistant: "Assistant", operator: "Operator", system: "System" };
const RETRYABLE = ["error", "timeout", "interrupted", "abort", "length"];

export class ChatThread {
  // list is the <ol> of messages, scroller the element that scrolls it.
  // hooks: operatorName(conv) -> display name of the conversation's
  // operator ("" when unknown), retry(conv, m), ask(text, files) (files:
  // the question's attachments, {id, name, mediaType}),
  // approve(conv, m, call, approved) -> Promise (answers an approval request),
  // loadFile(conv, file) -> Promise<{url, release}> (a file to show).
  constructor(list, scroller, hooks) {
    this.list = list;
    this.scroller = scroller;
    this.hooks = hooks;
    this.nodes = new Map(); // message id -> {li, body, meta, label, who}
    this.dirty = new Map(); // streaming messages waiting for a paint
    this.timer = 0;
    this.following = true; // the reader is at the newest message
    scroller.addEventListener("scroll", () => { this.following = this.distance() < 80; });
  }

  distance() { const s = this.scroller; return s.scrollHeight - s.scrollTop - s.clientHeight; }

  // toEnd scrolls to the newest message (force: even when the reader
  // scrolled up). Instantly: a smooth scroll still running would make the
  // next "is the reader at the end?" look wrong.
  toEnd(force) {
    if (!force && !this.following) return;
    this.scroller.scrollTo({ top: this.scroller.scrollHeight, behavior: "instant" });
    this.following = true;
  }

  clear() {
    for (const n of this.nodes.values()) n.body.destroy();
    this.list.replaceChildren();
    this.nodes.clear();
    this.dirty.clear();
  }

  get size() { return this.nodes.size; }

  // render adds message m of conv, or brings it up to date.
  render(conv, m) {
    let n = this.nodes.get(m.id);
    if (!n) n = this.create(m);
    n.conv = conv;
    n.li.dataset.status = m.status;
    n.li.dataset.finish = m.finishReason || "";
    if (m.role === "operator") {
      const name = (n.name ||= this.hooks.operatorName(conv));
      n.label.textContent = name || "Operator";
      n.who.textContent = `${name ? name + " (operator)" : "Operator"}: `;
    }
    if (m.status === "streaming") {
      this.dirty.set(m.id, m);
      if (!this.timer) this.timer = setTimeout(() => this.flush(), 40);
    } else {
      this.dirty.delete(m.id);
      n.body.update(m);
    }
    this.meta(conv, m, n.meta);
    this.toEnd(false);
  }

  create(m) {
    const li = el("li", "msg msg-" + (ROLE_NAME[m.role] ? m.role : "other"));
    li.dataset.id = m.id;
    const who = el("span", "visually-hidden", (ROLE_NAME[m.role] || m.role) + ": ");
    const bubble = el("div", "bubble");
    const body = el("div", "body");
    const meta = el("div", "meta");
    bubble.append(who, body, meta);
    if (m.role !== "user") li.append(el("div", "avatar", m.role === "operator" ? "OP" : "AI"));
    let label = null;
    if (m.role === "operator") {
      label = el("div", "who");
      label.setAttribute("aria-hidden", "true"); // the hidden "Name (operator): " says it
      bubble.prepend(label);
    }
    li.append(bubble);
    const n = { li, body: null, meta, label, who, name: "", conv: null };
    n.body = new MessageBody(body, {
      approve: (msg, call, approved) => this.hooks.approve(n.conv, msg, call, approved),
      loadFile: this.hooks.loadFile ? (file) => this.hooks.loadFile(n.conv, file) : null,
    });
    this.nodes.set(m.id, n);
    this.list.append(li);
    return n;
  }

  flush() {
    this.timer = 0;
    for (const [id, m] of this.dirty) this.nodes.get(id)?.body.update(m);
    this.dirty.clear();
    this.toEnd(false);
  }

  meta(conv, m, meta) {
    const parts = [];
    if (m.role === "user") {
      if (m.status === "queued") parts.push(el("span", "note", "Waiting for the connection…"));
      if (m.status === "sending") parts.push(el("span", "note", "Sending…"));
      if (m.status === "failed") {
        parts.push(el("span", "note error", `Not sent: ${m.error?.message || "error"}`));
        parts.push(action("Retry", "Retry: send the message again", () => this.hooks.retry(conv, m)));
      }
    } else if (m.status === "complete") {
      const note = finishNote(m);
      if (note) {
        parts.push(el("span", "note" + (note.error ? " error" : ""), note.text));
        const question = conv?.messages.get(m.replyTo);
        if (question && RETRYABLE.includes(m.finishReason) && !conv.ended) {
          const files = (question.parts || []).filter((p) => p.kind === "file").map((p) => p.file);
          parts.push(action("Retry", "Retry: ask again", () => this.hooks.ask(question.text, files)));
        }
      }
      if (m.text) parts.push(action("Copy", "Copy the reply", (b) => copyText(m.text, b)));
    }
    meta.replaceChildren(...parts);
    meta.hidden = parts.length === 0;
  }
}

function action(label, aria, fn) {
  const b = el("button", "meta-btn", label);
  b.type = "button";
  b.setAttribute("aria-label", aria);
  b.addEventListener("click", () => fn(b));
  return b;
}
