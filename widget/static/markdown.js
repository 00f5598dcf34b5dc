// markdown.js: renders the Markdown that language models write (paragraphs,
// headings, lists, quotes, tables, fenced code, emphasis, inline code, links)
// into DOM nodes.
//
// Safe by construction: the text is never parsed as HTML. Every node is made
// with createElement and filled with textContent, so "<img onerror=...>" in a
// reply is shown as those characters. Links are kept only when their target
// is http, https or mailto; any other link is shown as plain text.
//
//   import { renderMarkdown } from "./markdown.js";
//   body.replaceChildren(renderMarkdown(text));

const MAX_DEPTH = 8; // nesting of quotes and lists

// safeHref returns the normalised URL when it is an http, https or mailto
// link, and null for anything else (javascript:, data:, relative...).
export function safeHref(raw) {
  const s = String(raw).trim();
  if (!/^(https?:\/\/|mailto:)/i.test(s)) return null;
  let u;
  try { u = new URL(s); } catch { return null; }
  return ["http:", "https:", "mailto:"].includes(u.protocol) ? u.href : null;
}

// renderMarkdown returns a DocumentFragment for the Markdown text src.
// options.onCopy(text, button) is called by the copy button of code blocks
// (default: the clipboard API).
export function renderMarkdown(src, options = {}) {
  const frag = document.createDocumentFragment();
  blocks(String(src).replace(/\r\n?/g, "\n").split("\n"), frag, 0, options);
  return frag;
}

const el = (tag, cls, text) => {
  const n = document.createElement(tag);
  if (cls) n.className = cls;
  if (text !== undefined) n.textContent = text;
  return n;
};

const FENCE = /^ {0,3}(`{3,}|~{3,})\s*([\w+#.-]*)/;
const HEADING = /^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$/;
const RULE = /^ {0,3}([-*_])(\s*\1){2,}\s*$/;
const QUOTE = /^ {0,3}> ?/;
const ITEM = /^( {0,3})([-*+]|\d{1,9}[.)])\s+(.*)$/;
const TABLE_SEP = /^ {0,3}\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$/;

function blocks(lines, parent, depth, opts) {
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    let m;
    if (!line.trim()) { i++; continue; }
    if ((m = FENCE.exec(line))) {
      const fence = m[1];
      const body = [];
      for (i++; i < lines.length && !lines[i].trim().startsWith(fence); i++) body.push(lines[i]);
      i++; // the closing fence (absent while a reply is still streaming)
      parent.append(codeBlock(body.join("\n"), m[2], opts));
      continue;
    }
    if ((m = HEADING.exec(line))) {
      const h = el("h" + Math.min(m[1].length + 2, 6));
      inline(m[2], h, 0);
      parent.append(h);
      i++;
      continue;
    }
    if (RULE.test(line)) { parent.append(el("hr")); i++; continue; }
    if (QUOTE.test(line)) {
      const inner = [];
      for (; i < lines.length && lines[i].trim() && QUOTE.test(lines[i]); i++) inner.push(lines[i].replace(QUOTE, ""));
      const q = el("blockquote");
      if (depth < MAX_DEPTH) blocks(inner, q, depth + 1, opts);
      else q.textContent = inner.join("\n");
      parent.append(q);
      continue;
    }
    if ((m = ITEM.exec(line)) && depth < MAX_DEPTH) { i = list(lines, i, parent, depth, opts); continue; }
    if (line.includes("|") && i + 1 < lines.length && TABLE_SEP.test(lines[i + 1]) && lines[i + 1].includes("-")) {
      i = table(lines, i, parent);
      continue;
    }
    const para = [];
    for (; i < lines.length && lines[i].trim() && !startsBlock(lines[i]); i++) para.push(lines[i].trim());
    if (!para.length) { para.push(line.trim()); i++; }
    const p = el("p");
    para.forEach((l, k) => {
      if (k) p.append(el("br"));
      inline(l, p, 0);
    });
    parent.append(p);
  }
}

function startsBlock(line) {
  return FENCE.test(line) || HEADING.test(line) || RULE.test(line) || QUOTE.test(line) || ITEM.test(line);
}

function list(lines, i, parent, depth, opts) {
  const first = ITEM.exec(lines[i]);
  const ordered = /\d/.test(first[2]);
  const node = el(ordered ? "ol" : "ul");
  if (ordered && parseInt(first[2], 10) !== 1) node.start = parseInt(first[2], 10);
  const indent = first[1].length;
  let item = null;
  let tight = true;
  while (i < lines.length) {
    const line = lines[i];
    const m = ITEM.exec(line);
    if (m && m[1].length <= indent + 1 && /\d/.test(m[2]) === ordered) {
      item = [m[3]];
      node.append(Object.assign(el("li"), { _lines: item }));
      i++;
      continue;
    }
    if (!line.trim()) {
      // A blank line continues the list only if an indented line follows.
      if (i + 1 < lines.length && /^\s{2,}\S/.test(lines[i + 1])) { item.push(""); tight = false; i++; continue; }
      break;
    }
    if (/^\s{2,}\S/.test(line) || (!startsBlock(line) && item)) {
      item.push(line.replace(/^\s{2,4}/, ""));
      i++;
      continue;
    }
    break;
  }
  for (const li of node.children) {
    const content = li._lines;
    delete li._lines;
    if (tight && content.length === 1) inline(content[0], li, 0);
    else blocks(content, li, depth + 1, opts);
  }
  parent.append(node);
  return i;
}

function cells(line) {
  let s = line.trim();
  if (s.startsWith("|")) s = s.slice(1);
  if (s.endsWith("|") && !s.endsWith("\\|")) s = s.slice(0, -1);
  return s.split(/(?<!\\)\|/).map((c) => c.trim().replace(/\\\|/g, "|"));
}

function table(lines, i, parent) {
  const wrap = el("div", "table-wrap");
  const t = el("table");
  const head = t.createTHead().insertRow();
  for (const c of cells(lines[i])) inline(c, head.appendChild(el("th")), 0);
  const body = t.createTBody();
  for (i += 2; i < lines.length && lines[i].includes("|") && lines[i].trim(); i++) {
    const row = body.insertRow();
    for (const c of cells(lines[i])) inline(c, row.insertCell(), 0);
  }
  wrap.append(t);
  parent.append(wrap);
  return i;
}

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

const INLINE_SPECIAL = /[\\`*_~[<h]/;

// inline renders emphasis, code spans, links and autolinks of one line.
function inline(text, parent, depth) {
  let buf = "";
  const flush = () => { if (buf) { parent.append(document.createTextNode(buf)); buf = ""; } };
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (!INLINE_SPECIAL.test(c)) { buf += c; i++; continue; }
    const rest = text.slice(i);
    let m;
    if (c === "\\" && /^\\[!-/:-@[-`{-~]/.test(rest)) { buf += rest[1]; i += 2; continue; }
    if (c === "`" && (m = /^(`+)([^]*?[^`])\1(?!`)/.exec(rest))) {
      flush();
      parent.append(el("code", null, m[2].replace(/^ (.*) $/, "$1")));
      i += m[0].length;
      continue;
    }
    if (c === "[" && (m = /^\[([^\]]*)\]\(\s*<?([^\s<>()]*(?:\([^\s()]*\)[^\s<>()]*)*)>?(?:\s+"[^"]*")?\s*\)/.exec(rest))) {
      flush();
      const href = safeHref(m[2]);
      const node = href ? el("a") : el("span", "link-blocked");
      if (href) {
        node.href = href;
        node.rel = "noopener noreferrer nofollow";
        node.target = "_blank";
      } else node.title = "link removed: only http, https and mailto links are shown";
      if (depth < MAX_DEPTH) inline(m[1] || m[2], node, depth + 1);
      else node.textContent = m[1];
      parent.append(node);
      i += m[0].length;
      continue;
    }
    if ((c === "<" && (m = /^<((?:https?:\/\/|mailto:)[^\s<>]+)>/i.exec(rest))) ||
        (c === "h" && /\W|^$/.test(text[i - 1] || "") && (m = /^(https?:\/\/[^\s<>]*[^\s<>.,;:!?'")\]])/.exec(rest)))) {
      const href = safeHref(m[1]);
      if (href) {
        flush();
        const a = el("a", null, m[1]);
        a.href = href;
        a.rel = "noopener noreferrer nofollow";
        a.target = "_blank";
        parent.append(a);
        i += m[0].length;
        continue;
      }
    }
    if ((c === "*" || c === "_" || c === "~") && depth < MAX_DEPTH) {
      const span = emphasis(text, i);
      if (span) {
        flush();
        const node = el(span.tag);
        inline(text.slice(span.start, span.end), node, depth + 1);
        parent.append(node);
        i = span.next;
        continue;
      }
    }
    buf += c;
    i++;
  }
  flush();
}

// emphasis finds **strong**, *em*, _em_, __strong__ or ~~del~~ starting at i.
function emphasis(text, i) {
  const c = text[i];
  const double = text[i + 1] === c;
  if (c === "~" && !double) return null;
  const delim = double ? c + c : c;
  const start = i + delim.length;
  if (!text[start] || /\s/.test(text[start])) return null;
  if (c === "_" && /\w/.test(text[i - 1] || "")) return null; // snake_case stays as it is
  let j = start;
  while ((j = text.indexOf(delim, j + 1)) !== -1) {
    if (/\s/.test(text[j - 1])) continue;
    if (!double && text[j + 1] === c) { j++; continue; }
    if (c === "_" && /\w/.test(text[j + delim.length] || "")) continue;
    return { tag: c === "~" ? "del" : double ? "strong" : "em", start, end: j, next: j + delim.length };
  }
  return null;
}
