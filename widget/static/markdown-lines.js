// markdown-lines.js: what one line of Markdown is, for markdown.js: blank,
// a fence, a heading, a rule, a list item, a quote, a table row. Each
// line is looked at from its start, by character code: what it can begin
// is told by its first character after at most three spaces, and no
// regular expression runs over it.

import { isSpace, isWord } from "./markdown-inline.js";

// Character codes.
export const SPACE = 32, TAB = 9, BACKTICK = 96, TILDE = 126, HASH = 35, GT = 62, DASH = 45, STAR = 42, PLUS = 43, UNDERSCORE = 95, DOT = 46, RPAREN = 41;
export const isDigit = (c) => c >= 48 && c <= 57;

// blank: only white space.
export function blank(line) {
  for (let i = 0; i < line.length; i++) if (!isSpace(line.charCodeAt(i))) return false;
  return true;
}

// spaces returns how many spaces line starts with.
export function spaces(line) {
  let i = 0;
  while (line.charCodeAt(i) === SPACE) i++;
  return i;
}

// leadingSpace returns how many white space characters line starts with.
export function leadingSpace(line) {
  let i = 0;
  while (isSpace(line.charCodeAt(i))) i++;
  return i;
}

// fenceAt returns the length of the fence (three or more ` or ~) at i.
export function fenceAt(line, i) {
  const c = line.charCodeAt(i);
  if (c !== BACKTICK && c !== TILDE) return 0;
  let j = i + 1;
  while (line.charCodeAt(j) === c) j++;
  return j - i >= 3 ? j - i : 0;
}

// fenceLang returns the info word after the fence that ends at i.
export function fenceLang(line, i) {
  while (line.charCodeAt(i) === SPACE || line.charCodeAt(i) === TAB) i++;
  let j = i;
  for (let c; j < line.length && (isWord((c = line.charCodeAt(j))) || c === PLUS || c === HASH || c === DOT || c === DASH); j++);
  return line.slice(i, j);
}

// closesFence tells whether line, after its white space, starts with fence.
export function closesFence(line, fence) {
  const c = line.charCodeAt(0);
  if (c === fence.charCodeAt(0)) return line.startsWith(fence);
  return isSpace(c) && line.trimStart().startsWith(fence);
}

// heading returns [level, text] for an ATX heading line whose "#" is at
// i, or null.
export function heading(line, i) {
  let j = i;
  while (line.charCodeAt(j) === HASH) j++;
  const level = j - i;
  if (level > 6 || (j < line.length && line.charCodeAt(j) !== SPACE && line.charCodeAt(j) !== TAB)) return null;
  while (line.charCodeAt(j) === SPACE || line.charCodeAt(j) === TAB) j++;
  let s = line.slice(j).trimEnd();
  let k = s.length;
  while (k > 0 && s.charCodeAt(k - 1) === HASH) k--;
  if (k < s.length && (k === 0 || s.charCodeAt(k - 1) === SPACE || s.charCodeAt(k - 1) === TAB)) s = s.slice(0, k).trimEnd(); // a closing "###"
  return [level, s];
}

// isRule: three or more of one of - * _, with optional spaces between.
export function isRule(line) {
  let ch = 0, n = 0;
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c === SPACE || c === TAB) continue;
    if (c !== DASH && c !== STAR && c !== UNDERSCORE) return false;
    if (ch && c !== ch) return false;
    if (!ch && i > 3) return false;
    ch = c;
    n++;
  }
  return n >= 3;
}

// item returns where the text of a list item begins when line is one
// ("- ", "* ", "+ ", "1. ", "1) " after at most three spaces, i of them),
// or -1.
export function item(line, i) {
  let j = i;
  const c = line.charCodeAt(j);
  if (c === DASH || c === STAR || c === PLUS) j++;
  else {
    while (j - i < 10 && isDigit(line.charCodeAt(j))) j++;
    const d = line.charCodeAt(j);
    if (j === i || j - i > 9 || (d !== DOT && d !== RPAREN)) return -1;
    j++;
  }
  const marker = j;
  while (line.charCodeAt(j) === SPACE || line.charCodeAt(j) === TAB) j++;
  if (j === marker) return -1;
  for (let k = j; k < line.length; k++) { // the text holds no line terminator
    const t = line.charCodeAt(k);
    if (t === 10 || t === 13 || t === 0x2028 || t === 0x2029) return -1;
  }
  return j;
}

// isTableSep: |? :?-+:? ( | :?-+:? )* |? with optional spaces.
export function isTableSep(line) {
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
export function startsBlock(line) {
  const i = spaces(line);
  if (i > 3) return false;
  const c = line.charCodeAt(i);
  if (c === BACKTICK || c === TILDE) return fenceAt(line, i) > 0;
  if (c === HASH) return heading(line, i) !== null;
  if (c === GT) return true;
  if (c === UNDERSCORE) return isRule(line);
  if (c === DASH || c === STAR) return isRule(line) || item(line, i) !== -1;
  return (c === PLUS || isDigit(c)) && item(line, i) !== -1;
}

export function isQuote(line) {
  const i = spaces(line);
  return i <= 3 && line.charCodeAt(i) === GT;
}

// indented: two or more white space characters, then something else.
export function indented(line) {
  const ws = leadingSpace(line);
  return ws >= 2 && ws < line.length;
}

// cells returns the cells of a table row: split at each "|" that is not
// escaped ("\|" stands for a "|" within a cell).
export function cells(line) {
  let s = line.trim();
  if (s.startsWith("|")) s = s.slice(1);
  if (s.endsWith("|") && !s.endsWith("\\|")) s = s.slice(0, -1);
  const out = [];
  let from = 0;
  for (let j = s.indexOf("|"); j !== -1; j = s.indexOf("|", j + 1)) {
    if (j > 0 && s.charCodeAt(j - 1) === 92) continue;
    out.push(cell(s.slice(from, j)));
    from = j + 1;
  }
  out.push(cell(s.slice(from)));
  return out;
}

function cell(s) {
  s = s.trim();
  return s.includes("\\|") ? s.replaceAll("\\|", "|") : s;
}
