// markdown-inline.js: the inline part of markdown.js (emphasis, code
// spans, links and autolinks within one line), in time linear in the line.
// It builds the same small tree of plain objects as markdown.js.

export const MAX_DEPTH = 8; // nesting of quotes, lists and emphasis

export const node = (tag, cls, children = [], attrs) => ({ tag, cls, children, attrs });

// safeHref returns the normalised URL when it is an http, https or mailto
// link, and null for anything else (javascript:, data:, relative...).
export function safeHref(raw) {
  const s = String(raw).trim();
  if (!/^(https?:\/\/|mailto:)/i.test(s)) return null;
  let u;
  try { u = new URL(s); } catch { return null; }
  return ["http:", "https:", "mailto:"].includes(u.protocol) ? u.href : null;
}

const WS = /\s/;
const WORD = /\w/;
const ws = (c) => c !== undefined && WS.test(c);
const word = (c) => c !== undefined && WORD.test(c);
const SPECIAL = /[\\`*_~[<h]/g;
const ESCAPABLE = /[!-/:-@[-`{-~]/;
const AUTOLINK = /<((?:https?:\/\/|mailto:)[^\s<>]+)>/y;
const BARE_URL = /https?:\/\/[^\s<>]*[^\s<>.,;:!?'")\]]/y;

// Scanner finds, in one left-to-right pass, the next position at or after a
// point that satisfies a fixed local test: queries only move forward, so
// all queries on one string cost O(length) together.
class Scanner {
  constructor(text, test) { this.text = text; this.test = test; this.at = 0; }
  next(from) {
    if (this.at < from) this.at = from;
    const t = this.text;
    while (this.at < t.length && !this.test(t, this.at)) this.at++;
    return this.at < t.length ? this.at : -1;
  }
}

// closer tests whether a run of delim (c, once or twice) at j can close
// emphasis.
function closer(c, double) {
  return (t, j) => {
    if (t[j] !== c || ws(t[j - 1])) return false;
    if (double) return t[j + 1] === c && (c !== "_" || !word(t[j + 2]));
    return t[j + 1] !== c && t[j - 1] !== c && (c !== "_" || !word(t[j + 1]));
  };
}

// inline returns the inline nodes (strings and elements) of one line:
// emphasis, code spans, links and autolinks. Within a link's text (noLinks)
// no further link is made. Linear in the length of text: every lookup
// ahead goes through a Scanner or is remembered.
export function inline(text, depth, noLinks) {
  const out = [];
  // Literal text is not copied as it is met: lit is where the pending
  // literal run starts, and emit(to) adds text[lit:to] once a node follows.
  let lit = 0;
  const emit = (to) => { if (to > lit) out.push(text.slice(lit, to)); };
  const scanners = {};
  const scan = (key, test, from) => (scanners[key] ||= new Scanner(text, test)).next(from);
  let runs = null; // run length -> {at: [positions of backtick runs of that length], k: next to look at}
  const nextRun = (n, from) => {
    if (!runs) {
      runs = new Map();
      for (let j = text.indexOf("`"); j !== -1; j = text.indexOf("`", j)) {
        let len = 0;
        while (text[j + len] === "`") len++;
        if (!runs.has(len)) runs.set(len, { at: [], k: 0 });
        runs.get(len).at.push(j);
        j += len;
      }
    }
    const r = runs.get(n);
    if (!r) return -1;
    while (r.k < r.at.length && r.at[r.k] < from) r.k++;
    return r.k < r.at.length ? r.at[r.k] : -1;
  };
  let dest = { at: -1, d: null }; // the last "](" looked at and its destination: every "[" before it ends there
  const add = (from, to, ...nodes) => { emit(from); out.push(...nodes); lit = to; return to; };
  let i = 0;
  while (i < text.length) {
    SPECIAL.lastIndex = i;
    if (!SPECIAL.test(text)) break;
    i = SPECIAL.lastIndex - 1;
    const c = text[i];
    if (c === "\\") {
      if (ESCAPABLE.test(text[i + 1] || "")) { emit(i); lit = i + 1; i += 2; } else i++;
      continue;
    }
    if (c === "`") {
      let n = 1;
      while (text[i + n] === "`") n++;
      const close = nextRun(n, i + n);
      if (close === -1) { i += n; continue; }
      let code = text.slice(i + n, close);
      if (code.length > 2 && code[0] === " " && code[code.length - 1] === " ") code = code.slice(1, -1);
      i = add(i, close + n, node("code", null, [code]));
      continue;
    }
    if (c === "[" && !noLinks) {
      const j = scan("]", (t, x) => t[x] === "]", i + 1);
      if (j !== -1 && text[j + 1] === "(") {
        if (dest.at !== j) dest = { at: j, d: destination(text, j + 2) };
        const d = dest.d;
        if (d) { i = add(i, d.end, ...link(text.slice(i + 1, j), d.url, depth)); continue; }
      }
      i++;
      continue;
    }
    if (c === "<" && !noLinks) {
      AUTOLINK.lastIndex = i;
      const m = AUTOLINK.exec(text);
      if (m) {
        const href = safeHref(m[1]);
        i = href ? add(i, i + m[0].length, anchor(href, [m[1]])) : i + m[0].length;
        continue;
      }
    }
    if (c === "h" && !noLinks && !word(text[i - 1]) && text.startsWith("http", i)) {
      BARE_URL.lastIndex = i;
      const m = BARE_URL.exec(text);
      if (m) {
        const href = safeHref(m[0]);
        i = href ? add(i, i + m[0].length, anchor(href, [m[0]])) : i + m[0].length;
        continue;
      }
    }
    if ((c === "*" || c === "_" || c === "~") && depth < MAX_DEPTH) {
      const double = text[i + 1] === c;
      const start = i + (double ? 2 : 1);
      const opens = (c !== "~" || double) && text[start] !== undefined && !ws(text[start]) && (c !== "_" || !word(text[i - 1]));
      const end = opens ? scan(c + double, closer(c, double), start + 1) : -1;
      if (end !== -1) {
        const tag = c === "~" ? "del" : double ? "strong" : "em";
        i = add(i, end + (double ? 2 : 1), node(tag, null, inline(text.slice(start, end), depth + 1, noLinks)));
        continue;
      }
    }
    i++;
  }
  emit(text.length);
  return out;
}

// destination parses "url)" or "<url> "title")" from p (just after "](")
// and returns {url, end} (end: just after ")"), or null.
function destination(t, p) {
  const skip = () => { while (p < t.length && (t[p] === " " || t[p] === "\t")) p++; };
  skip();
  const angle = t[p] === "<";
  if (angle) p++;
  const from = p;
  for (; p < t.length; p++) {
    const c = t[p];
    if (c === "(") {
      let q = p + 1;
      while (q < t.length && t[q] !== ")" && t[q] !== "(" && !WS.test(t[q])) q++;
      if (t[q] !== ")") return null;
      p = q;
      continue;
    }
    if (c === ")" || c === "<" || c === ">" || WS.test(c)) break;
  }
  const url = t.slice(from, p);
  if (angle && t[p] === ">") p++;
  const beforeTitle = p;
  skip();
  if (p > beforeTitle && t[p] === '"') {
    const q = t.indexOf('"', p + 1);
    if (q === -1) return null;
    p = q + 1;
    skip();
  }
  return t[p] === ")" ? { url, end: p + 1 } : null;
}

// link returns the nodes of [label](url): an anchor followed by the
// target's host when the label says something else, or a marked span for
// a target that is not allowed.
function link(label, url, depth) {
  const href = safeHref(url);
  const children = depth < MAX_DEPTH ? inline(label || url, depth + 1, true) : [label];
  if (!href) {
    return [node("span", "link-blocked", children, { title: "link removed: only http, https and mailto links are shown" })];
  }
  const host = shownHost(href);
  const said = plain(children).trim().toLowerCase().replace(/^(https?:\/\/|mailto:)/, "").replace(/^www\./, "").replace(/\/$/, "");
  const target = href.toLowerCase().replace(/^(https?:\/\/|mailto:)/, "").replace(/^www\./, "").replace(/\/$/, "");
  const out = [anchor(href, children)];
  if (label && said !== target && said !== host.replace(/^www\./, "")) out.push(" ", node("span", "link-host", [host]));
  return out;
}

function shownHost(href) {
  const u = new URL(href);
  return u.protocol === "mailto:" ? decodeURIComponent(u.pathname) : u.host;
}

function plain(nodes) {
  return nodes.map((n) => (typeof n === "string" ? n : n.code !== undefined ? n.code : plain(n.children))).join("");
}

function anchor(href, children) {
  return node("a", null, children, { href, rel: "noopener noreferrer nofollow", target: "_blank" });
}
