// page.js: helpers shared by the chat page and the operator console. Every
// node is built with createElement and textContent.

export const $ = (id) => document.getElementById(id);

export const el = (tag, cls, text) => {
  const n = document.createElement(tag);
  if (cls) n.className = cls;
  if (text !== undefined) n.textContent = text;
  return n;
};

// STATE_TEXT names the client's connection states for the status pill.
export const STATE_TEXT = {
  idle: "Offline", connecting: "Connecting…", open: "Online", reconnecting: "Reconnecting…",
  unauthorized: "Signed out", failed: "Disconnected", closed: "Offline",
};

// fetchToken gets {"token": "..."} from the host's token endpoint with the
// browser's cookies (same origin only).
export async function fetchToken(url) {
  const res = await fetch(url, { credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" } });
  if (!res.ok) throw Object.assign(new Error(`the sign-in service answered ${res.status}`), { status: res.status });
  const body = await res.json();
  if (!body || typeof body.token !== "string" || !body.token) throw new Error("the sign-in service sent no token");
  return body.token;
}

// applyLook applies the host's theme settings (see widget.Config): theme
// ("light", "dark" or "auto"), accent colour, logo and, on the chat page,
// the welcome text.
export function applyLook(cfg) {
  const root = document.documentElement;
  if (cfg.theme === "light" || cfg.theme === "dark") root.dataset.theme = cfg.theme;
  if (/^#([0-9a-f]{3}){1,2}$/i.test(cfg.accent || "")) {
    root.style.setProperty("--accent", cfg.accent);
    root.style.setProperty("--user", cfg.accent);
    const text = readableOn(cfg.accent);
    root.style.setProperty("--accent-text", text);
    root.style.setProperty("--user-text", text);
  }
  if (cfg.logo_url) {
    const img = el("img", "logo");
    img.alt = "";
    img.src = cfg.logo_url;
    document.querySelector("h1")?.before(img);
  }
  if (cfg.welcome && $("welcome")) $("welcome").textContent = cfg.welcome;
}

// readableOn returns black or white, whichever contrasts more with the
// colour hex (WCAG relative luminance).
export function readableOn(hex) {
  let h = hex.slice(1);
  if (h.length === 3) h = [...h].map((c) => c + c).join("");
  const lin = (i) => { const c = parseInt(h.slice(i, i + 2), 16) / 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
  const L = 0.2126 * lin(0) + 0.7152 * lin(2) + 0.0722 * lin(4);
  return (L + 0.05) / 0.05 > 1.05 / (L + 0.05) ? "#000000" : "#ffffff";
}

// showBanner shows the page's #banner with text and an optional action.
export function showBanner(text, action, onAction) {
  $("banner").hidden = false;
  $("banner-text").textContent = text;
  const btn = $("banner-action");
  btn.hidden = !action;
  btn.textContent = action || "";
  btn.onclick = onAction || null;
}

export function hideBanner() { $("banner").hidden = true; }

// autosize grows a textarea with its text, up to 200 px.
export function autosize(t) {
  t.style.height = "auto";
  t.style.height = Math.min(t.scrollHeight, 200) + "px";
}

// when formats a past time relative to now ("5 min ago").
export function when(iso) {
  const d = new Date(iso);
  if (!iso || isNaN(d)) return "";
  const diff = (Date.now() - d) / 1000;
  if (diff < 60) return "just now";
  if (diff < 3600) return `${Math.floor(diff / 60)} min ago`;
  if (diff < 86400) return `${Math.floor(diff / 3600)} h ago`;
  return d.toLocaleDateString();
}
