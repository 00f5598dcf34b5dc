// dom.js: the few DOM calls the widget's modules make, for node's test
// runner (node has no DOM). Elements serialise with outerHTML/innerHTML
// the way a browser does for the markup the modules build.

const VOID = new Set(["br", "hr", "img", "input"]);
const escapeText = (s) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/\u00a0/g, "&nbsp;");
const escapeAttr = (s) => s.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/\u00a0/g, "&nbsp;");

class Node {
  constructor() { this.parentNode = null; this.childNodes = []; }
  append(...nodes) {
    for (let n of nodes) {
      if (typeof n === "string") n = new Text(n);
      if (n instanceof Fragment) {
        const moved = n.childNodes;
        n.childNodes = [];
        for (const c of moved) c.parentNode = null;
        this.append(...moved);
        continue;
      }
      n.remove();
      n.parentNode = this;
      this.childNodes.push(n);
    }
  }
  appendChild(n) { this.append(n); return n; }
  prepend(...nodes) { const rest = this.childNodes; this.childNodes = []; this.append(...nodes); for (const n of rest) this.childNodes.push(n); }
  remove() {
    if (!this.parentNode) return;
    const list = this.parentNode.childNodes;
    list.splice(list.indexOf(this), 1);
    this.parentNode = null;
  }
  replaceChildren(...nodes) { for (const n of [...this.childNodes]) n.remove(); this.append(...nodes); }
  get firstChild() { return this.childNodes[0] || null; }
  get lastChild() { return this.childNodes[this.childNodes.length - 1] || null; }
  get children() { return this.childNodes.filter((n) => n instanceof Element); }
  get textContent() { return this.childNodes.map((n) => n.textContent).join(""); }
  set textContent(v) { this.replaceChildren(); if (v !== "") this.append(String(v)); }
  get innerHTML() { return this.childNodes.map((n) => n.outerHTML).join(""); }
}

class Text extends Node {
  constructor(data) { super(); this.data = String(data); }
  get textContent() { return this.data; }
  get outerHTML() { return escapeText(this.data); }
}

class Fragment extends Node {}

class Element extends Node {
  constructor(tag) {
    super();
    this.tagName = tag.toUpperCase();
    this.attributes = new Map();
    this.listeners = {};
    this.dataset = new Proxy({}, {
      set: (_, k, v) => { this.setAttribute("data-" + String(k).replace(/[A-Z]/g, (c) => "-" + c.toLowerCase()), v); return true; },
      get: (_, k) => this.getAttribute("data-" + String(k).replace(/[A-Z]/g, (c) => "-" + c.toLowerCase())) ?? undefined,
    });
  }
  setAttribute(k, v) { this.attributes.set(k, String(v)); }
  getAttribute(k) { return this.attributes.has(k) ? this.attributes.get(k) : null; }
  removeAttribute(k) { this.attributes.delete(k); }
  hasAttribute(k) { return this.attributes.has(k); }
  toggleAttribute(k, on) { if (on ?? !this.hasAttribute(k)) this.setAttribute(k, ""); else this.removeAttribute(k); }
  get className() { return this.getAttribute("class") || ""; }
  set className(v) { this.setAttribute("class", v); }
  set type(v) { this.setAttribute("type", v); }
  set tabIndex(v) { this.setAttribute("tabindex", v); }
  set title(v) { this.setAttribute("title", v); }
  // Properties that reflect an attribute, as the modules set them.
  set src(v) { this.setAttribute("src", v); }
  get src() { return this.getAttribute("src") || ""; }
  set alt(v) { this.setAttribute("alt", v); }
  get alt() { return this.getAttribute("alt") || ""; }
  set href(v) { this.setAttribute("href", v); }
  get href() { return this.getAttribute("href") || ""; }
  set target(v) { this.setAttribute("target", v); }
  set rel(v) { this.setAttribute("rel", v); }
  set download(v) { this.setAttribute("download", v); }
  get download() { return this.getAttribute("download") || ""; }
  set max(v) { this.setAttribute("max", v); }
  set value(v) { this.setAttribute("value", v); } // a <progress>'s
  get value() { return Number(this.getAttribute("value") || 0); }
  set hidden(v) { this.toggleAttribute("hidden", !!v); }
  get hidden() { return this.hasAttribute("hidden"); }
  set disabled(v) { this.toggleAttribute("disabled", !!v); }
  get disabled() { return this.hasAttribute("disabled"); }
  addEventListener(type, fn) { (this.listeners[type] ||= []).push(fn); }
  // click runs the click listeners, as a browser does, unless disabled.
  click() { if (!this.disabled) for (const fn of this.listeners.click || []) fn({ target: this }); }
  // querySelectorAll takes the simple selectors the tests use: a tag, one
  // or more classes, or both ("pre", ".tool-args", "button.tool-approve").
  querySelectorAll(selector) {
    const [tag, ...classes] = selector.split(".");
    const match = (c) => (!tag || c.tagName === tag.toUpperCase()) && classes.every((k) => c.className.split(" ").includes(k));
    const out = [];
    const walk = (n) => { for (const c of n.children) { if (match(c)) out.push(c); walk(c); } };
    walk(this);
    return out;
  }
  querySelector(selector) { return this.querySelectorAll(selector)[0] || null; }
  get outerHTML() {
    const tag = this.tagName.toLowerCase();
    const attrs = [...this.attributes].map(([k, v]) => ` ${k}="${escapeAttr(v)}"`).join("");
    return `<${tag}${attrs}>` + (VOID.has(tag) ? "" : this.innerHTML + `</${tag}>`);
  }
}

// installDOM makes document (and the node classes) global.
export function installDOM() {
  globalThis.document = {
    createElement: (tag) => new Element(tag),
    createTextNode: (data) => new Text(data),
    createDocumentFragment: () => new Fragment(),
    body: new Element("body"),
  };
  return globalThis.document;
}
