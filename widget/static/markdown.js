// markdown.js: renders the Markdown that language models write (paragraphs,
// headings, lists, quotes, tables, fenced code, emphasis, inline code, links)
// into DOM nodes, in time linear in the text.
//
// Safe by construction: the text is never parsed as HTML. Every node is made
// with createElement and filled with textContent, so "<img onerror=...>" in a
// reply is shown as those characters. Links are kept only when their target
// is http, https or mailto; any other link is shown as plain text. A link's
// text never holds another link, and a link whose text is not its target is
// followed by the target's host, so "[your bank](https://evil.example)" says
// where it goes.
//
//   import { renderMarkdown, MarkdownView } from "./markdown.js";
//   body.replaceChildren(renderMarkdown(text));
//   const view = new MarkdownView(body); view.update(streamingText); // re-renders only the last block
//
// The work is split in two: parseMarkdown turns text into a small tree of
// plain objects ({tag, cls, attrs, children} elements and strings), toNode
// turns that tree into DOM nodes. What a line is comes from
// markdown-lines.js, what is within a line from markdown-inline.js.

import { MAX_DEPTH, node, inline, safeHref } from "./markdown-inline.js";
import { SPACE, HASH, GT, isDigit, blank, spaces, leadingSpace, fenceAt, fenceLang, closesFence, heading, isRule, item, isTableSep, startsBlock, isQuote, indented, cells } from "./markdown-lines.js";

export { safeHref };

// ---- the tree ----

// parseMarkdown returns the top-level blocks of src: [{start, node}], start
// being the offset in src where the block's first line begins.
export function parseMarkdown(src) {
  let text = String(src);
  if (text.includes("\r")) text = text.replace(/\r\n?/g, "\n");
  const lines = text.split("\n");
  const nodes = [], firsts = [];
  blocks(lines, 0, nodes, firsts);
  const out = new Array(nodes.length);
  for (let k = 0, line = 0, at = 0; k < nodes.length; k++) {
    for (; line < firsts[k]; line++) at += lines[line].length + 1;
    out[k] = { start: at, node: nodes[k] };
  }
  return out;
}

// ---- blocks ----

// blocks parses lines into block nodes, pushed to out in order, and the
// index of each one's first line to firsts (when given).
function blocks(lines, depth, out, firsts) {
  const n = lines.length;
  let i = 0;
  while (i < n) {
    const line = lines[i];
    if (blank(line)) { i++; continue; }
    if (firsts) firsts.push(i);
    const sp = spaces(line);
    const c = line.charCodeAt(sp);
    if (sp <= 3) {
      const f = fenceAt(line, sp);
      if (f) {
        const fence = line.slice(sp, sp + f);
        const from = ++i;
        while (i < n && !closesFence(lines[i], fence)) i++;
        out.push({ code: lines.slice(from, i).join("\n"), lang: fenceLang(line, sp + f) });
        i++; // the closing fence (absent while a reply is still streaming)
        continue;
      }
      const h = c === HASH && heading(line, sp);
      if (h) {
        out.push(node("h" + Math.min(h[0] + 2, 6), null, inline(h[1], 0, false)));
        i++;
        continue;
      }
    }
    if (isRule(line)) { out.push(node("hr", undefined, NONE)); i++; continue; }
    if (sp <= 3 && c === GT) {
      const inner = [];
      for (; i < n && !blank(lines[i]) && isQuote(lines[i]); i++) {
        const l = lines[i], at = spaces(l) + 1;
        inner.push(l.slice(l.charCodeAt(at) === SPACE ? at + 1 : at));
      }
      const q = node("blockquote");
      if (depth < MAX_DEPTH) blocks(inner, depth + 1, q.children, null);
      else q.children.push(inner.join("\n"));
      out.push(q);
      continue;
    }
    if (depth < MAX_DEPTH && sp <= 3 && item(line, sp) !== -1) {
      i = list(lines, i, depth, out);
      continue;
    }
    if (i + 1 < n && line.includes("|") && lines[i + 1].includes("-") && isTableSep(lines[i + 1])) {
      i = table(lines, i, out);
      continue;
    }
    const p = node("p", undefined, inline(line.trim(), 0, false));
    for (i++; i < n && !blank(lines[i]) && !startsBlock(lines[i]); i++) {
      p.children.push(node("br", undefined, NONE));
      for (const x of inline(lines[i].trim(), 0, false)) p.children.push(x);
    }
    out.push(p);
  }
}

const NONE = Object.freeze([]); // the children of <br> and <hr>

// list parses the list whose first item is lines[i] into out, and returns
// the index of the line after it.
function list(lines, i, depth, out) {
  const n = lines.length;
  const indent = spaces(lines[i]);
  const ordered = isDigit(lines[i].charCodeAt(indent));
  let attrs;
  if (ordered) {
    let v = 0;
    for (let j = indent, d; isDigit((d = lines[i].charCodeAt(j))); j++) v = v * 10 + d - 48;
    if (v !== 1) attrs = { start: String(v) };
  }
  const items = []; // the lines of each item
  let last = null; // the lines of the item being read
  let tight = true;
  while (i < n) {
    const line = lines[i];
    const sp = spaces(line);
    const at = sp <= 3 && sp <= indent + 1 ? item(line, sp) : -1;
    if (at !== -1 && isDigit(line.charCodeAt(sp)) === ordered) {
      items.push((last = [line.slice(at)]));
      i++;
      continue;
    }
    if (blank(line)) {
      // A blank line continues the list only if an indented line follows.
      if (i + 1 < n && indented(lines[i + 1])) { last.push(""); tight = false; i++; continue; }
      break;
    }
    const ws = leadingSpace(line);
    if ((ws >= 2 && ws < line.length) || !startsBlock(line)) { // indented, or a lazy continuation
      last.push(ws >= 2 ? line.slice(ws < 4 ? ws : 4) : line); // without up to four leading white space characters
      i++;
      continue;
    }
    break;
  }
  const l = node(ordered ? "ol" : "ul", null, [], attrs);
  for (const content of items) {
    const li = node("li");
    if (tight && content.length === 1) li.children = inline(content[0], 0, false);
    else blocks(content, depth + 1, li.children, null);
    l.children.push(li);
  }
  out.push(l);
  return i;
}

function row(line, tag) {
  const tr = node("tr", null);
  for (const c of cells(line)) tr.children.push(node(tag, null, inline(c, 0, false)));
  return tr;
}

// table parses the table whose header is lines[i] into out, and returns
// the index of the line after it.
function table(lines, i, out) {
  const head = node("thead", null, [row(lines[i], "th")]);
  const body = node("tbody");
  for (i += 2; i < lines.length && lines[i].includes("|") && !blank(lines[i]); i++) body.children.push(row(lines[i], "td"));
  // tabindex: a table that scrolls sideways can be scrolled with the keyboard.
  out.push(node("div", "table-wrap", [node("table", null, [head, body])], { tabindex: "0" }));
  return i;
}

// ---- DOM ----

// The DOM is built with as few calls as the tree allows: an element's
// children go in with one append call, strings among them as they are (the
// browser makes their text nodes), and attributes are set from the tree
// without intermediate arrays.

// toNode builds the DOM node of a tree node. options.onCopy(text, button)
// is called by the copy button of code blocks (default: the clipboard API).
export function toNode(n, options = {}) {
  return typeof n === "string" ? document.createTextNode(n) : build(n, options);
}

function build(n, options) {
  if (n.code !== undefined) return codeBlock(n.code, n.lang, options);
  const e = document.createElement(n.tag);
  if (n.cls) e.className = n.cls;
  const attrs = n.attrs;
  if (attrs) for (const k in attrs) e.setAttribute(k, attrs[k]);
  const ch = n.children;
  if (ch.length === 1) e.append(typeof ch[0] === "string" ? ch[0] : build(ch[0], options));
  else if (ch.length) appendAll(e, ch, options);
  return e;
}

// appendAll appends the DOM of nodes to parent, up to BATCH of them a call
// (a spread of a long array would overflow the stack).
const BATCH = 256;
function appendAll(parent, nodes, options) {
  for (let from = 0; from < nodes.length; from += BATCH) {
    const to = Math.min(nodes.length, from + BATCH);
    const args = new Array(to - from);
    for (let k = from; k < to; k++) {
      const c = nodes[k];
      args[k - from] = typeof c === "string" ? c : build(c, options);
    }
    parent.append(...args);
  }
}

// renderMarkdown returns a DocumentFragment for the Markdown text src.
export function renderMarkdown(src, options = {}) {
  const frag = document.createDocumentFragment();
  const parsed = parseMarkdown(src);
  const nodes = new Array(parsed.length);
  for (let k = 0; k < parsed.length; k++) nodes[k] = parsed[k].node;
  appendAll(frag, nodes, options);
  return frag;
}

// MarkdownView keeps an element showing Markdown text that grows (a reply
// streaming in): update(text) re-renders only the last block when text
// extends the previous text, and keeps the DOM of the blocks before it,
// which appended text cannot change.
export class MarkdownView {
  constructor(element, options = {}) {
    this.element = element;
    this.options = options;
    this.text = null;
    // {start, dom, node, key}: node is kept for the last two blocks only
    // (the ones a longer text parses again), and key, the node as JSON,
    // made when first compared.
    this.blocks = [];
  }

  update(text) {
    text = String(text);
    if (text.includes("\r")) text = text.replace(/\r\n?/g, "\n");
    if (text === this.text) return;
    let from = 0, old = [];
    if (this.text !== null && this.blocks.length && text.startsWith(this.text)) {
      // The last block may grow. Where a block ends can depend on the first
      // line of the next one, so when the last block starts on the line
      // that was still being written, the block before it is parsed again
      // too (and its DOM kept when it came out the same).
      const lastLine = this.text.lastIndexOf("\n") + 1;
      let redo = this.blocks.length - 1;
      if (redo > 0 && this.blocks[redo].start >= lastLine) redo--;
      from = this.blocks[redo].start;
      old = this.blocks.splice(redo);
    } else {
      this.blocks = [];
      this.element.replaceChildren();
    }
    this.text = text;
    const parsed = parseMarkdown(text.slice(from));
    const added = [];
    let k = 0;
    for (; k < parsed.length && k < old.length; k++) {
      const b = old[k], n = parsed[k].node;
      if (b.start !== from + parsed[k].start || (b.key ??= JSON.stringify(b.node)) !== JSON.stringify(n)) break;
      this.blocks.push(b);
    }
    for (const o of old.slice(k)) o.dom.remove();
    for (; k < parsed.length; k++) {
      const n = parsed[k].node, dom = toNode(n, this.options);
      this.blocks.push({ start: from + parsed[k].start, dom, node: n, key: undefined });
      added.push(dom);
    }
    for (let j = this.blocks.length - 3; j >= 0 && this.blocks[j].node; j--) this.blocks[j].node = this.blocks[j].key = undefined;
    appendDoms(this.element, added);
  }
}

function appendDoms(parent, doms) {
  for (let from = 0; from < doms.length; from += BATCH) parent.append(...doms.slice(from, from + BATCH));
}

const el = (tag, cls, text) => {
  const n = document.createElement(tag);
  if (cls) n.className = cls;
  if (text !== undefined) n.textContent = text;
  return n;
};

function codeBlock(text, lang, opts) {
  const wrap = el("div", "code");
  const bar = el("div", "code-bar");
  const copy = el("button", "copy");
  copy.type = "button";
  copy.setAttribute("aria-label", lang ? `Copy code (${lang})` : "Copy code");
  copy.append("Copy");
  copy.addEventListener("click", () => (opts.onCopy || copyText)(text, copy));
  bar.append(el("span", "code-lang", lang || "code"), copy);
  const pre = document.createElement("pre");
  pre.tabIndex = 0; // a code block that scrolls sideways can be scrolled with the keyboard
  const code = el("code", null, text);
  if (lang) code.setAttribute("data-lang", lang);
  pre.append(code);
  wrap.append(bar, pre);
  return wrap;
}

// copyText copies text and says so on the button.
export async function copyText(text, button) {
  let ok = false;
  try {
    await navigator.clipboard.writeText(text);
    ok = true;
  } catch {
    const area = el("textarea", "offscreen");
    area.value = text;
    document.body.append(area);
    area.select();
    try { ok = document.execCommand("copy"); } catch { ok = false; }
    area.remove();
  }
  if (!button) return ok;
  button.textContent = ok ? "Copied" : "Copy failed";
  setTimeout(() => { button.textContent = "Copy"; }, 1500);
  return ok;
}
