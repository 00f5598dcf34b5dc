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
// plain objects ({tag, cls, attrs, children} elements and strings), toNodes
// turns that tree into DOM nodes.

import { MAX_DEPTH, node, inline, safeHref } from "./markdown-inline.js";

export { safeHref };

// ---- the tree ----

// parseMarkdown returns the top-level blocks of src: [{start, node}], start
// being the offset in src where the block's first line begins.
export function parseMarkdown(src) {
  const text = String(src).replace(/\r\n?/g, "\n");
  const lines = text.split("\n");
  const starts = new Array(lines.length);
  for (let i = 0, at = 0; i < lines.length; i++) { starts[i] = at; at += lines[i].length + 1; }
  const out = [];
  blocks(lines, 0, (n, line) => out.push({ start: starts[line], node: n }));
  return out;
}

// ---- blocks ----

const FENCE = /^ {0,3}(`{3,}|~{3,})[ \t]*([\w+#.-]*)/;
const QUOTE = /^ {0,3}> ?/;
const ITEM = /^( {0,3})([-*+]|\d{1,9}[.)])[ \t]+(.*)$/;
const INDENTED = /^\s{2,}\S/;
const NONBLANK = /\S/;
const blank = (line) => !NONBLANK.test(line);

// heading returns [level, text] for an ATX heading line, or null.
function heading(line) {
  const m = /^ {0,3}(#{1,6})(?:[ \t]+|$)/.exec(line);
  if (!m) return null;
  let s = line.slice(m[0].length).trimEnd();
  let k = s.length;
  while (k > 0 && s[k - 1] === "#") k--;
  if (k < s.length && (k === 0 || s[k - 1] === " " || s[k - 1] === "\t")) s = s.slice(0, k).trimEnd(); // a closing "###"
  return [m[1].length, s];
}

// isRule: three or more of one of - * _, with optional spaces between.
function isRule(line) {
  let ch = "", n = 0;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === " " || c === "\t") continue;
    if (c !== "-" && c !== "*" && c !== "_") return false;
    if (ch && c !== ch) return false;
    if (!ch && i > 3) return false;
    ch = c;
    n++;
  }
  return n >= 3;
}

// isTableSep: |? :?-+:? ( | :?-+:? )* |? with optional spaces.
function isTableSep(line) {
  let dashes = 0, cells = 0, inCell = false, colonEnd = false;
  let i = 0;
  while (i < line.length && i < 3 && line[i] === " ") i++;
  for (; i < line.length; i++) {
    const c = line[i];
    if (c === " " || c === "\t") { if (dashes) colonEnd = true; continue; }
    if (c === "|") {
      if (inCell && !dashes) return false;
      if (inCell) cells++;
      inCell = false; dashes = 0; colonEnd = false;
      continue;
    }
    if (c === ":") {
      if (dashes) { if (colonEnd) return false; colonEnd = true; } else if (inCell) return false;
      inCell = true;
      continue;
    }
    if (c !== "-" || colonEnd) return false;
    inCell = true;
    dashes++;
  }
  if (inCell) { if (!dashes) return false; cells++; }
  return cells > 0;
}

// startsBlock tells whether line begins a block that ends a paragraph.
function startsBlock(line) {
  let i = 0;
  while (line.charCodeAt(i) === 32) i++;
  if (i > 3 || !"`~#-*_>+0123456789".includes(line[i] || " ")) return false;
  return FENCE.test(line) || heading(line) !== null || isRule(line) || QUOTE.test(line) || ITEM.test(line);
}

// blocks parses lines into block nodes, calling emit(node, firstLine) for
// each in order.
function blocks(lines, depth, emit) {
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    const first = i;
    let m, h;
    if (blank(line)) { i++; continue; }
    if ((m = FENCE.exec(line))) {
      const fence = m[1];
      const body = [];
      for (i++; i < lines.length && !lines[i].trimStart().startsWith(fence); i++) body.push(lines[i]);
      i++; // the closing fence (absent while a reply is still streaming)
      emit({ code: body.join("\n"), lang: m[2] }, first);
      continue;
    }
    if ((h = heading(line))) {
      emit(node("h" + Math.min(h[0] + 2, 6), null, inline(h[1], 0, false)), first);
      i++;
      continue;
    }
    if (isRule(line)) { emit(node("hr"), first); i++; continue; }
    if (QUOTE.test(line)) {
      const inner = [];
      for (; i < lines.length && !blank(lines[i]) && QUOTE.test(lines[i]); i++) inner.push(lines[i].replace(QUOTE, ""));
      const q = node("blockquote");
      if (depth < MAX_DEPTH) blocks(inner, depth + 1, (n) => q.children.push(n));
      else q.children.push(inner.join("\n"));
      emit(q, first);
      continue;
    }
    if (depth < MAX_DEPTH && (m = ITEM.exec(line))) {
      const [n, next] = list(lines, i, depth);
      emit(n, first);
      i = next;
      continue;
    }
    if (i + 1 < lines.length && line.includes("|") && lines[i + 1].includes("-") && isTableSep(lines[i + 1])) {
      const [n, next] = table(lines, i);
      emit(n, first);
      i = next;
      continue;
    }
    const p = node("p");
    for (let k = 0; i < lines.length && !blank(lines[i]) && (k === 0 || !startsBlock(lines[i])); i++, k++) {
      if (k) p.children.push(node("br"));
      p.children.push(...inline(lines[i].trim(), 0, false));
    }
    emit(p, first);
  }
}

function list(lines, i, depth) {
  const first = ITEM.exec(lines[i]);
  const ordered = /\d/.test(first[2]);
  const attrs = ordered && parseInt(first[2], 10) !== 1 ? { start: String(parseInt(first[2], 10)) } : undefined;
  const n = node(ordered ? "ol" : "ul", null, [], attrs);
  const indent = first[1].length;
  const items = [];
  let item = null;
  let tight = true;
  while (i < lines.length) {
    const line = lines[i];
    const m = ITEM.exec(line);
    if (m && m[1].length <= indent + 1 && /\d/.test(m[2]) === ordered) {
      items.push((item = [m[3]]));
      i++;
      continue;
    }
    if (blank(line)) {
      // A blank line continues the list only if an indented line follows.
      if (i + 1 < lines.length && INDENTED.test(lines[i + 1])) { item.push(""); tight = false; i++; continue; }
      break;
    }
    if (INDENTED.test(line) || !startsBlock(line)) {
      item.push(line.replace(/^\s{2,4}/, ""));
      i++;
      continue;
    }
    break;
  }
  for (const content of items) {
    const li = node("li");
    if (tight && content.length === 1) li.children = inline(content[0], 0, false);
    else blocks(content, depth + 1, (c) => li.children.push(c));
    n.children.push(li);
  }
  return [n, i];
}

function cells(line) {
  let s = line.trim();
  if (s.startsWith("|")) s = s.slice(1);
  if (s.endsWith("|") && !s.endsWith("\\|")) s = s.slice(0, -1);
  return s.split(/(?<!\\)\|/).map((c) => c.trim().replace(/\\\|/g, "|"));
}

function table(lines, i) {
  const row = (line, tag) => node("tr", null, cells(line).map((c) => node(tag, null, inline(c, 0, false))));
  const head = node("thead", null, [row(lines[i], "th")]);
  const body = node("tbody");
  for (i += 2; i < lines.length && lines[i].includes("|") && !blank(lines[i]); i++) body.children.push(row(lines[i], "td"));
  // tabindex: a table that scrolls sideways can be scrolled with the keyboard.
  return [node("div", "table-wrap", [node("table", null, [head, body])], { tabindex: "0" }), i];
}

// ---- DOM ----

// toNodes builds the DOM node of a tree node. options.onCopy(text, button)
// is called by the copy button of code blocks (default: the clipboard API).
export function toNode(n, options = {}) {
  if (typeof n === "string") return document.createTextNode(n);
  if (n.code !== undefined) return codeBlock(n.code, n.lang, options);
  const e = document.createElement(n.tag);
  if (n.cls) e.className = n.cls;
  if (n.attrs) for (const [k, v] of Object.entries(n.attrs)) e.setAttribute(k, v);
  for (const c of n.children) e.append(toNode(c, options));
  return e;
}

// renderMarkdown returns a DocumentFragment for the Markdown text src.
export function renderMarkdown(src, options = {}) {
  const frag = document.createDocumentFragment();
  for (const b of parseMarkdown(src)) frag.append(toNode(b.node, options));
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
    this.blocks = []; // {start, dom}
  }

  update(text) {
    text = String(text).replace(/\r\n?/g, "\n");
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
    for (let k = 0; k < parsed.length; k++) {
      const start = from + parsed[k].start;
      const key = JSON.stringify(parsed[k].node);
      if (k < old.length && old[k].start === start && old[k].key === key) { this.blocks.push(old[k]); continue; }
      for (const o of old.splice(k)) o.dom.remove();
      const dom = toNode(parsed[k].node, this.options);
      this.blocks.push({ start, key, dom });
      this.element.append(dom);
    }
    for (const o of old.slice(parsed.length)) o.dom.remove();
  }
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
  bar.append(el("span", "code-lang", lang || "code"));
  const copy = el("button", "copy", "Copy");
  copy.type = "button";
  copy.setAttribute("aria-label", "Copy code" + (lang ? ` (${lang})` : ""));
  copy.addEventListener("click", () => (opts.onCopy || copyText)(text, copy));
  bar.append(copy);
  const pre = el("pre");
  pre.tabIndex = 0; // a code block that scrolls sideways can be scrolled with the keyboard
  const code = el("code", null, text);
  if (lang) code.dataset.lang = lang;
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
