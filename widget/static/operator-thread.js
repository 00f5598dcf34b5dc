// operator-thread.js: the operator console's view of one conversation's
// messages, updated live as chatbox.js reports them. Message content is
// drawn by message-parts.js, at most every 40 ms while a reply streams;
// tool calls and approval prompts by tool-parts.js.
// The view follows new messages while the operator is at the end of it.
import { copyText } from "./markdown.js";
import { MessageBody, finishNote } from "./message-parts.js";
import { el } from "./page.js";

export class Thread {
  // list is the <ol> of messages, scroller the element that scrolls it.
  // names(m) returns {who, avatar} for a message; onRetry(m) resends a
  // message of this operator that failed; approve(m, call, approved)
  // answers an approval request, answerable(m, call) returns "" when this
  // operator may answer it, or why not; loadFile(file) -> Promise<{url,
  // release}> fetches an attached file to show.
  constructor(list, scroller, { names, onRetry, approve, answerable, loadFile }) {
    this.list = list;
    this.scroller = scroller;
    this.names = names;
    this.onRetry = onRetry;
    this.ctx = { approve, answerable, loadFile };
    this.nodes = new Map(); // message id -> {li, who, body, meta}
    this.dirty = new Map(); // message id -> streaming message to paint
    this.timer = 0;
    // Whether the operator is at the end, as of their last scroll. Read
    // from scroll events, not measured before each change: a scroll still
    // under way (smooth scrolling) would look like the operator scrolled up.
    this.following = true;
    scroller.addEventListener("scroll", () => {
      this.following = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 80;
    });
  }

  // toEnd scrolls to the newest message, at once (a smooth scroll would
  // leave the view short of the end when more arrives during it).
  toEnd(force) {
    if (!force && !this.following) return;
    this.scroller.scrollTo({ top: this.scroller.scrollHeight, behavior: "instant" });
    this.following = true;
  }

  // show replaces the view with every message of conv (null: none).
  show(conv) {
    for (const n of this.nodes.values()) n.body.destroy();
    this.list.replaceChildren();
    this.nodes.clear();
    this.dirty.clear();
    if (conv) for (const m of conv.messages.values()) this.render(m);
    this.toEnd(true);
  }

  // render adds message m or updates it in place.
  render(m) {
    let n = this.nodes.get(m.id);
    const role = ["user", "assistant", "operator"].includes(m.role) ? m.role : "other";
    const { who, avatar } = this.names(m);
    if (!n) {
      const li = el("li", "msg msg-" + role);
      li.dataset.id = m.id;
      const head = el("div", "msg-head");
      const time = m.createdAt ? new Date(m.createdAt).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) : "";
      const body = el("div", "body");
      n = { li, who: el("span", "msg-who"), body: new MessageBody(body, this.ctx), meta: el("div", "meta"), m };
      head.append(n.who, el("time", "msg-time", time));
      const bubble = el("div", "bubble");
      bubble.append(head, body, n.meta);
      li.append(el("div", "avatar", avatar), bubble);
      this.nodes.set(m.id, n);
      this.list.append(li);
    }
    n.m = m;
    n.li.dataset.status = m.status;
    n.li.dataset.finish = m.finishReason || "";
    n.who.textContent = who;
    if (m.status === "streaming") {
      this.dirty.set(m.id, m);
      if (!this.timer) this.timer = setTimeout(() => this.flush(), 40);
    } else {
      this.dirty.delete(m.id);
      n.body.update(m);
    }
    n.meta.replaceChildren(...this.notes(m));
    n.meta.hidden = !n.meta.firstChild;
    this.toEnd(false);
  }

  notes(m) {
    const out = [];
    if (m.status === "queued" || m.status === "sending") out.push(el("span", "note", m.status === "queued" ? "Waiting for the connection…" : "Sending…"));
    if (m.status === "failed") {
      out.push(el("span", "note error", `Not sent: ${m.error?.code === "conflict" ? "you no longer hold this conversation" : m.error?.message || "error"}`));
      out.push(button("Retry", "Retry: send the message again", () => this.onRetry(m)));
    }
    const note = m.status === "complete" ? finishNote(m) : null;
    if (note) out.push(el("span", "note" + (note.error ? " error" : ""), note.text));
    if (m.status === "complete" && m.role === "assistant" && m.text) out.push(button("Copy", "Copy the reply", (b) => copyText(m.text, b)));
    return out;
  }

  // refreshCalls redraws the approval prompts shown, after whether this
  // operator may answer them changed (a takeover, a release).
  refreshCalls() {
    for (const n of this.nodes.values()) {
      if ([...(n.m.calls?.values() || [])].some((c) => c.status === "awaiting_approval")) n.body.update(n.m);
    }
  }

  flush() {
    this.timer = 0;
    for (const [id, m] of this.dirty) this.nodes.get(id)?.body.update(m);
    this.dirty.clear();
    this.toEnd(false);
  }
}

function button(label, aria, fn) {
  const b = el("button", "meta-btn", label);
  b.type = "button";
  b.setAttribute("aria-label", aria);
  b.addEventListener("click", () => fn(b));
  return b;
}
