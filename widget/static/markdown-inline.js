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
// point where the character ch stands and a fixed local test holds:
// queries only move forward, so all queries on one string cost O(length)
// together.
class Scanner {
  constructor(text, ch, test) { this.text = text; this.ch = ch; this.test = test; this.at = 0; }
  next(from) {
    const t = this.text;
    if (this.at < from) this.at = from;
    while (this.at < t.length) {
      const j = t.indexOf(this.ch, this.at);
      if (j === -1) break;
      if (this.test(t, j)) return (this.at = j);
      this.at = j + 1;
    }
    this.at = t.length;
    return -1;
  }
}

// closer tests whether a run of delim (c, once or twice) at j can close
// emphasis.
function closer(c, double) {
  return (t, j) => {
    if (ws(t[j - 1])) return false;
    if (double) return t[j + 1] === c && (c !== "_" || !word(t[j + 2]));
    return t[j + 1] !== c && t[j - 1] !== c && (c !== "_" || !word(t[j + 1]));
  };
}
const CLOSERS = {};
for (const c of "*_~") for (const d of [false, true]) CLOSERS[c + d] = closer(c, d);
const any = () => true;

// Backtick runs of one line, by length, for code spans: each length keeps
// a pointer that only moves forward.
function backtickRuns(text) {
  const runs = new Map();
  for (let j = text.indexOf("`"); j !== -1; j = text.indexOf("`", j)) {
    let len = 0;
    while (text[j + len] === "`") len++;
    if (!runs.has(len)) runs.set(len, { at: [], k: 0 });
    runs.get(len).at.push(j);
    j += len;
  }
  return runs;
}

function nextRun(runs, n, from) {
  const r = runs.get(n);
  if (!r) return -1;
  while (r.k < r.at.length && r.at[r.k] < from) r.k++;
  return r.k < r.at.length ? r.at[r.k] : -1;
}

// inline returns the inline nodes (strings and elements) of one line:
// emphasis, code spans, links and autolinks. Within a link's text (noLinks)
// no further link is made. Linear in the length of text: every lookup
// ahead goes through a Scanner or is remembered. Literal text is not
// copied as it is met: lit is where the pending literal run starts, and
// text[lit:i] is added once a node follows.
export function inline(text, depth, noLinks) {
  const out = [];
  let lit = 0;
  let scanners = null; // delimiter -> Scanner, made when first needed
  let runs = null; // backtick runs, found when the first backtick is met
  let destAt = -1, dest = null; // the last "](" looked at and its destination: every "[" before it ends there
  let i = 0;
  while (i < text.length) {
    SPECIAL.lastIndex = i;
    if (!SPECIAL.test(text)) break;
    i = SPECIAL.lastIndex - 1;
    const c = text[i];
    let to = -1, nodes = null; // a construct from i to to, made of nodes
    if (c === "\\") {
      if (ESCAPABLE.test(text[i + 1] || "")) {
        if (i > lit) out.push(text.slice(lit, i));
        lit = i + 1;
        i += 2;
      } else i++;
      continue;
    }
    if (c === "`") {
      let n = 1;
      while (text[i + n] === "`") n++;
      const close = nextRun((runs ||= backtickRuns(text)), n, i + n);
      if (close === -1) { i += n; continue; }
      let code = text.slice(i + n, close);
      if (code.length > 2 && code[0] === " " && code[code.length - 1] === " ") code = code.slice(1, -1);
      to = close + n;
      nodes = [node("code", null, [code])];
    } else if (c === "[") {
      if (!noLinks) {
        const j = ((scanners ||= {})["]"] ||= new Scanner(text, "]", any)).next(i + 1);
        if (j !== -1 && text[j + 1] === "(") {
          if (destAt !== j) { destAt = j; dest = destination(text, j + 2); }
          if (dest) { to = dest.end; nodes = link(text.slice(i + 1, j), dest.url, depth); }
        }
      }
    } else if (c === "<") {
      if (!noLinks) {
        AUTOLINK.lastIndex = i;
        const m = AUTOLINK.exec(text);
        if (m) {
          const href = safeHref(m[1]);
          if (!href) { i += m[0].length; continue; }
          to = i + m[0].length;
          nodes = [anchor(href, [m[1]])];
        }
      }
    } else if (c === "h") {
      if (!noLinks && !word(text[i - 1]) && text.startsWith("http", i)) {
        BARE_URL.lastIndex = i;
        const m = BARE_URL.exec(text);
        if (m) {
          const href = safeHref(m[0]);
          if (!href) { i += m[0].length; continue; }
          to = i + m[0].length;
          nodes = [anchor(href, [m[0]])];
        }
      }
    } else if (depth < MAX_DEPTH) { // * _ ~
      const double = text[i + 1] === c;
      const start = i + (double ? 2 : 1);
      const opens = (c !== "~" || double) && text[start] !== undefined && !ws(text[start]) && (c !== "_" || !word(text[i - 1]));
      if (opens) {
        const key = c + double;
        const end = ((scanners ||= {})[key] ||= new Scanner(text, double ? c + c : c, CLOSERS[key])).next(start + 1);
        if (end !== -1) {
          to = end + (double ? 2 : 1);
          nodes = [node(c === "~" ? "del" : double ? "strong" : "em", null, inline(text.slice(start, end), depth + 1, noLinks))];
        }
      }
    }
    if (nodes) {
      if (i > lit) out.push(text.slice(lit, i));
      for (const n of nodes) out.push(n);
      i = lit = to;
    } else i++;
  }
  if (text.length > lit) out.push(lit ? text.slice(lit) : text);
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
