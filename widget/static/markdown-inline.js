// markdown-inline.js: the inline part of markdown.js (emphasis, code
// spans, links and autolinks within one line), in time linear in the line.
// It builds the same small tree of plain objects as markdown.js.
//
// The text is read by character code, once from left to right: no regular
// expression runs over the line, and literal text is sliced out only once,
// when a node follows it or the line ends.

export const MAX_DEPTH = 8; // nesting of quotes, lists and emphasis

export const node = (tag, cls, children = [], attrs) => ({ tag, cls, children, attrs });

// isSpace tells whether the character code c is white space as /\s/ has
// it; isWord, whether it is a /\w/ character. Both are false for NaN (what
// charCodeAt gives past either end).
export const isSpace = (c) => (c <= 32 ? c === 32 || (c >= 9 && c <= 13) :
  c >= 160 && (c === 160 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff));
export const isWord = (c) => (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95;

// safeHref returns the normalised URL when it is an http, https or mailto
// link, and null for anything else (javascript:, data:, relative...).
export function safeHref(raw) {
  const u = safeURL(raw);
  return u ? u.href : null;
}

function safeURL(raw) {
  const s = String(raw).trim();
  if (!/^(https?:\/\/|mailto:)/i.test(s)) return null;
  let u;
  try { u = new URL(s); } catch { return null; }
  return u.protocol === "http:" || u.protocol === "https:" || u.protocol === "mailto:" ? u : null;
}

// Character codes.
const BACKSLASH = 92, BACKTICK = 96, STAR = 42, UNDERSCORE = 95, TILDE = 126, LBRACKET = 91, RBRACKET = 93, LPAREN = 40, RPAREN = 41, LT = 60, GT = 62, QUOTE = 34, H = 104;

// SPECIAL marks the characters where an inline construct may begin.
const SPECIAL = new Uint8Array(128);
for (const c of "\\`*_~[<h") SPECIAL[c.charCodeAt(0)] = 1;

// escapable: ASCII punctuation, which a backslash makes literal.
const escapable = (c) => (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126);

// urlChar: a character a URL may hold (not white space, "<" or ">").
const urlChar = (c) => c === c && c !== LT && c !== GT && !isSpace(c);

// trailing: characters a bare URL does not end with (. , ; : ! ? ' " ) ]).
const trailing = (c) => c === 46 || c === 44 || c === 59 || c === 58 || c === 33 || c === 63 || c === 39 || c === QUOTE || c === RPAREN || c === RBRACKET;

// scheme returns the length of "http://", "https://" or (with mailto)
// "mailto:" at i in t, or 0.
function scheme(t, i, mailto) {
  if (t.startsWith("http", i)) {
    const s = t.charCodeAt(i + 4) === 115 ? 1 : 0;
    return t.startsWith("://", i + 4 + s) ? 7 + s : 0;
  }
  return mailto && t.startsWith("mailto:", i) ? 7 : 0;
}

// Emphasis closers: a run of the delimiter c, once or twice, at j in t.
// Single runs are looked for with indexOf(c), double ones with
// indexOf(c + c).
function closes(t, j, c, double) {
  if (isSpace(t.charCodeAt(j - 1))) return false;
  if (double) return c !== UNDERSCORE || !isWord(t.charCodeAt(j + 2));
  return t.charCodeAt(j + 1) !== c && t.charCodeAt(j - 1) !== c && (c !== UNDERSCORE || !isWord(t.charCodeAt(j + 1)));
}

// Closers finds, for each delimiter, the next closer at or after a point:
// queries only move forward, so all the queries on one line cost O(length)
// together. at[k] is where the search of delimiter k stopped (k: 0-2 for
// * _ ~ once, 3-5 twice); found there, or nothing before it.
const DELIMS = ["*", "_", "~", "**", "__", "~~"];
class Closers {
  constructor(text) { this.text = text; this.at = [0, 0, 0, 0, 0, 0]; }
  next(c, double, from) {
    const t = this.text, k = (c === STAR ? 0 : c === UNDERSCORE ? 1 : 2) + (double ? 3 : 0);
    const s = DELIMS[k];
    let at = this.at[k] < from ? from : this.at[k];
    let found = -1;
    while (at < t.length) {
      const j = t.indexOf(s, at);
      if (j === -1) { at = t.length; break; }
      if (closes(t, j, c, double)) { found = at = j; break; }
      at = j + 1;
    }
    this.at[k] = at;
    return found;
  }
}

// Backtick runs of one line, by length, for code spans: each length keeps
// a pointer that only moves forward.
function backtickRuns(text) {
  const runs = new Map();
  for (let j = text.indexOf("`"); j !== -1; j = text.indexOf("`", j)) {
    let len = 0;
    while (text.charCodeAt(j + len) === BACKTICK) len++;
    let r = runs.get(len);
    if (!r) runs.set(len, (r = { at: [], k: 0 }));
    r.at.push(j);
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
// ahead goes through Closers or is remembered. Literal text is not copied
// as it is met: lit is where the pending literal run starts, and
// text[lit:i] is added once a node follows.
export function inline(text, depth, noLinks) {
  const out = [];
  const len = text.length;
  let lit = 0;
  let closers = null; // made when the first emphasis opens
  let runs = null; // backtick runs, found when the first backtick is met
  let bracket = -1; // the next "]" at or after the last one looked for (len: none)
  let destAt = -1, dest = null; // the last "](" looked at and its destination: every "[" before it ends there
  let i = 0;
  for (;;) {
    let c = 0;
    while (i < len && ((c = text.charCodeAt(i)) >= 128 || SPECIAL[c] === 0)) i++;
    if (i >= len) break;
    let to = -1, made = null, made2 = null; // a construct from i to to: one node, or several
    if (c === BACKSLASH) {
      if (escapable(text.charCodeAt(i + 1))) {
        if (i > lit) out.push(text.slice(lit, i));
        lit = i + 1;
        i += 2;
      } else i++;
      continue;
    }
    if (c === BACKTICK) {
      let n = 1;
      while (text.charCodeAt(i + n) === BACKTICK) n++;
      const close = nextRun((runs ||= backtickRuns(text)), n, i + n);
      if (close === -1) { i += n; continue; }
      let from = i + n, end = close;
      if (end - from > 2 && text.charCodeAt(from) === 32 && text.charCodeAt(end - 1) === 32) { from++; end--; }
      to = close + n;
      made = node("code", null, [text.slice(from, end)]);
    } else if (c === LBRACKET) {
      if (!noLinks) {
        if (bracket <= i) { bracket = text.indexOf("]", i + 1); if (bracket === -1) bracket = len; }
        const j = bracket;
        if (j < len && text.charCodeAt(j + 1) === LPAREN) {
          if (destAt !== j) { destAt = j; dest = destination(text, j + 2); }
          if (dest) { to = dest.end; made2 = link(text.slice(i + 1, j), dest.url, depth); }
        }
      }
    } else if (c === LT) {
      const s = noLinks ? 0 : scheme(text, i + 1, true);
      if (s) {
        let q = i + 1 + s;
        while (q < len && urlChar(text.charCodeAt(q))) q++;
        if (q > i + 1 + s && text.charCodeAt(q) === GT) {
          const raw = text.slice(i + 1, q);
          const href = safeHref(raw);
          if (!href) { i = q + 1; continue; }
          to = q + 1;
          made = anchor(href, [raw]);
        }
      }
    } else if (c === H) {
      const s = noLinks || isWord(text.charCodeAt(i - 1)) ? 0 : scheme(text, i, false);
      if (s) {
        const from = i + s;
        let q = from;
        while (q < len && urlChar(text.charCodeAt(q))) q++;
        while (q > from && trailing(text.charCodeAt(q - 1))) q--;
        if (q > from) {
          const raw = text.slice(i, q);
          const href = safeHref(raw);
          if (!href) { i = q; continue; }
          to = q;
          made = anchor(href, [raw]);
        }
      }
    } else if (depth < MAX_DEPTH) { // * _ ~
      const double = text.charCodeAt(i + 1) === c;
      const start = i + (double ? 2 : 1);
      const opens = (c !== TILDE || double) && start < len && !isSpace(text.charCodeAt(start)) && (c !== UNDERSCORE || !isWord(text.charCodeAt(i - 1)));
      if (opens) {
        const end = (closers ||= new Closers(text)).next(c, double, start + 1);
        if (end !== -1) {
          to = end + (double ? 2 : 1);
          made = node(c === TILDE ? "del" : double ? "strong" : "em", null, inline(text.slice(start, end), depth + 1, noLinks));
        }
      }
    }
    if (made || made2) {
      if (i > lit) out.push(text.slice(lit, i));
      if (made) out.push(made);
      else for (const n of made2) out.push(n);
      i = lit = to;
    } else i++;
  }
  if (len > lit) out.push(lit ? text.slice(lit) : text);
  return out;
}

// destination parses "url)" or "<url> "title")" from p (just after "](")
// and returns {url, end} (end: just after ")"), or null.
function destination(t, p) {
  const len = t.length;
  while (p < len && (t.charCodeAt(p) === 32 || t.charCodeAt(p) === 9)) p++;
  const angle = t.charCodeAt(p) === LT;
  if (angle) p++;
  const from = p;
  for (; p < len; p++) {
    const c = t.charCodeAt(p);
    if (c === LPAREN) {
      let q = p + 1;
      while (q < len && t.charCodeAt(q) !== RPAREN && t.charCodeAt(q) !== LPAREN && !isSpace(t.charCodeAt(q))) q++;
      if (t.charCodeAt(q) !== RPAREN) return null;
      p = q;
      continue;
    }
    if (c === RPAREN || c === LT || c === GT || isSpace(c)) break;
  }
  const url = t.slice(from, p);
  if (angle && t.charCodeAt(p) === GT) p++;
  const beforeTitle = p;
  while (p < len && (t.charCodeAt(p) === 32 || t.charCodeAt(p) === 9)) p++;
  if (p > beforeTitle && t.charCodeAt(p) === QUOTE) {
    const q = t.indexOf('"', p + 1);
    if (q === -1) return null;
    p = q + 1;
    while (p < len && (t.charCodeAt(p) === 32 || t.charCodeAt(p) === 9)) p++;
  }
  return t.charCodeAt(p) === RPAREN ? { url, end: p + 1 } : null;
}

// link returns the nodes of [label](url): an anchor followed by the
// target's host when the label says something else, or a marked span for
// a target that is not allowed.
function link(label, url, depth) {
  const u = safeURL(url);
  const children = depth < MAX_DEPTH ? inline(label || url, depth + 1, true) : [label];
  if (!u) {
    return [node("span", "link-blocked", children, { title: "link removed: only http, https and mailto links are shown" })];
  }
  const href = u.href;
  const a = anchor(href, children);
  if (!label) return [a];
  const said = bare(plain(children).trim().toLowerCase());
  if (said === bare(href.toLowerCase())) return [a];
  const host = u.protocol === "mailto:" ? mailbox(u.pathname) : u.host;
  return said === host.replace(/^www\./, "") ? [a] : [a, " ", node("span", "link-host", [host])];
}

// mailbox is a mailto link's address as people read it; a malformed %
// escape (which decodeURIComponent refuses) leaves it as written.
function mailbox(path) {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

// bare drops a URL's scheme, a leading "www." and a trailing "/".
const bare = (s) => s.replace(/^(https?:\/\/|mailto:)/, "").replace(/^www\./, "").replace(/\/$/, "");

function plain(nodes) {
  let s = "";
  for (const n of nodes) s += typeof n === "string" ? n : n.code !== undefined ? n.code : plain(n.children);
  return s;
}

function anchor(href, children) {
  return node("a", null, children, { href, rel: "noopener noreferrer nofollow", target: "_blank" });
}
