// operator-thread.js: the operator console's view of one conversation's
// messages, updated live as chatbox.js reports them. Replies are painted
// with the safe Markdown renderer at most every 40 ms while they stream.
import { renderMarkdown, copyText } from "./markdown.js";
import { el } from "./page.js";

const FINISH_NOTE = {
  abort: "Stopped", length: "Cut short at the length limit", content_filter: "Filtered by the model provider",
  timeout: "Took too long and was cut short", interrupted: "Interrupted by a server restart",
  handoff: "Stopped: an operator took over", error: "The reply failed",
};

export class Thread {
  // list is the <ol> of messages, scroller the element that scrolls it.
  // names(m) returns {who, avatar} for a message; onRetry(m) resends a
  // message of this operator that failed.
  constructor(list, scroller, { names, onRetry }) {
    this.list = list;
    this.scroller = scroller;
    this.names = names;
    this.onRetry = onRetry;
    this.nodes = new Map(); // message id -> {li, who, body, meta, text}
    this.dirty = new Map(); // message id -> streaming message to paint
    this.timer = 0;
  }

  // show replaces the view with every message of conv (null: none).
  show(conv) {
    this.list.replaceChildren();
    this.nodes.clear();
    this.dirty.clear();
    if (conv) for (const m of conv.messages.values()) this.render(m);
    this.scroller.scrollTop = this.scroller.scrollHeight;
  }

  // render adds message m or updates it in place.
  render(m) {
    const sc = this.scroller;
    const stick = sc.scrollHeight - sc.scrollTop - sc.clientHeight < 80;
    let n = this.nodes.get(m.id);
    const role = ["user", "assistant", "operator"].includes(m.role) ? m.role : "other";
    const { who, avatar } = this.names(m);
    if (!n) {
      const li = el("li", "msg msg-" + role);
      li.dataset.id = m.id;
      const head = el("div", "msg-head");
      const time = m.createdAt ? new Date(m.createdAt).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) : "";
      n = { li, who: el("span", "msg-who"), body: el("div", role === "user" ? "body plain" : "body md"), meta: el("div", "meta"), text: null };
      head.append(n.who, el("time", "msg-time", time));
      const bubble = el("div", "bubble");
      bubble.append(head, n.body, n.meta);
      li.append(el("div", "avatar", avatar), bubble);
      this.nodes.set(m.id, n);
      this.list.append(li);
    }
    n.li.dataset.status = m.status;
    n.li.dataset.finish = m.finishReason || "";
    n.who.textContent = who;
    if (role === "user") {
      if (n.text !== m.text) n.body.textContent = n.text = m.text;
    } else if (m.status === "streaming") {
      this.dirty.set(m.id, m);
      if (!this.timer) this.timer = setTimeout(() => this.flush(), 40);
    } else {
      this.dirty.delete(m.id);
      this.paint(n, m.text);
    }
    n.meta.replaceChildren(...this.notes(m));
    n.meta.hidden = !n.meta.firstChild;
    if (stick) sc.scrollTop = sc.scrollHeight;
  }

  notes(m) {
    const out = [];
    if (m.status === "queued" || m.status === "sending") out.push(el("span", "note", m.status === "queued" ? "Waiting for the connection…" : "Sending…"));
    if (m.status === "failed") {
      out.push(el("span", "note error", `Not sent: ${m.error?.code === "conflict" ? "you no longer hold this conversation" : m.error?.message || "error"}`));
      out.push(button("Retry", "Send the message again", () => this.onRetry(m)));
    }
    if (m.status === "complete" && m.finishReason && m.finishReason !== "stop") {
      out.push(el("span", "note" + (m.finishReason === "error" ? " error" : ""), FINISH_NOTE[m.finishReason] || `Ended: ${m.finishReason}`));
    }
    if (m.status === "complete" && m.role === "assistant" && m.text) out.push(button("Copy", "Copy the reply", (b) => copyText(m.text, b)));
    return out;
  }

  paint(n, text) {
    if (n.text === text) return;
    n.text = text;
    n.body.replaceChildren(renderMarkdown(text));
  }

  flush() {
    const sc = this.scroller;
    const stick = sc.scrollHeight - sc.scrollTop - sc.clientHeight < 80;
    this.timer = 0;
    for (const [id, m] of this.dirty) {
      const n = this.nodes.get(id);
      if (n) this.paint(n, m.text);
    }
    this.dirty.clear();
    if (stick) sc.scrollTop = sc.scrollHeight;
  }
}

function button(label, aria, fn) {
  const b = el("button", "meta-btn", label);
  b.type = "button";
  b.setAttribute("aria-label", aria);
  b.addEventListener("click", () => fn(b));
  return b;
}
