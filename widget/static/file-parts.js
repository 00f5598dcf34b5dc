// file-parts.js: how a file attached to a message is drawn, on both pages
// (registered by message-parts.js as the "file" part), and the words both
// pages use for files. An image is a thumbnail that opens the full image in
// a new tab; any other file is a chip with its name and type and a
// Download button. Files are fetched with the token (never by URL alone)
// through ctx.loadFile(file) -> Promise<{url, release}> (chatbox.js
// loadFile), and released when the part is no longer shown. Every node is
// built with createElement and textContent.
import { el } from "./page.js";

// The image types shown as thumbnails (the ones the server accepts).
export const IMAGE_TYPES = new Set(["image/png", "image/jpeg", "image/gif", "image/webp"]);

const TYPE_NAMES = {
  "application/pdf": ["PDF", "PDF document"],
  "text/plain": ["TXT", "Text"],
  "text/markdown": ["MD", "Markdown"],
  "text/csv": ["CSV", "CSV table"],
  "image/png": ["PNG", "PNG image"],
  "image/jpeg": ["JPG", "JPEG image"],
  "image/gif": ["GIF", "GIF image"],
  "image/webp": ["WEBP", "WebP image"],
};

// typeLabel names a file's type in a word or two ("PDF document", "PNG
// image"); short gives the badge of a chip ("PDF"). Without a known media
// type, the name's extension says it.
export function typeLabel(mediaType, name = "", short = false) {
  const known = TYPE_NAMES[String(mediaType || "").split(";")[0].trim().toLowerCase()];
  if (known) return known[short ? 0 : 1];
  const ext = /\.([a-z0-9]{1,5})$/i.exec(name || "")?.[1]?.toUpperCase();
  if (ext) return short ? ext : `${ext} file`;
  return short ? "FILE" : "File";
}

// formatBytes writes a size for people: "900 bytes", "48 KB", "2.5 MB"
// (units of 1024, one decimal below 10).
export function formatBytes(n) {
  if (typeof n !== "number" || !isFinite(n) || n < 0) return "";
  if (n < 1024) return `${n} ${n === 1 ? "byte" : "bytes"}`;
  const units = ["KB", "MB", "GB", "TB"];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  const shown = v < 10 ? Math.round(v * 10) / 10 : Math.round(v);
  return `${shown} ${units[i]}`;
}

// fileChip builds the chip of a file: a type badge (or lead, an element
// in its place), the name and a line of details. The caller appends its
// actions.
export function fileChip(name, details, badge, lead = null) {
  const chip = el("div", "file-chip");
  let icon = lead;
  if (!icon) {
    icon = el("span", "file-icon", badge);
    icon.setAttribute("aria-hidden", "true");
  }
  const info = el("span", "file-info");
  info.append(el("span", "file-name", name), el("span", "file-meta", details));
  chip.append(icon, info);
  return chip;
}

// The "file" part: part.file is {id, name, mediaType}.
export const filePart = {
  create() {
    const element = el("div", "part file");
    element.dataset.kind = "file";
    return { element, id: "", handle: null, shown: true };
  },
  update(state, part, m, ctx) {
    const f = part.file || {};
    if (state.id === f.id) return;
    forget(state);
    state.id = f.id;
    state.element.dataset.fileId = f.id || "";
    state.element.dataset.mediaType = f.mediaType || "";
    const name = f.name || "file";
    if (IMAGE_TYPES.has(f.mediaType) && ctx?.loadFile) drawImage(state, f, name, ctx);
    else drawChip(state, f, name, ctx);
    void m;
  },
  // remove runs when the part stops being shown: its blob: URL is released.
  remove(state) {
    state.shown = false;
    forget(state);
  },
};

function forget(state) {
  state.handle?.release();
  state.handle = null;
  state.element.replaceChildren();
}

function drawImage(state, f, name, ctx) {
  const link = el("a", "file-thumb");
  link.dataset.state = "loading";
  link.target = "_blank";
  link.rel = "noopener";
  link.setAttribute("aria-label", `Open image ${name}`);
  const img = el("img");
  img.alt = name;
  link.append(img);
  state.element.append(link);
  const id = f.id;
  ctx.loadFile(f).then((h) => {
    if (!state.shown || state.id !== id) return h.release();
    state.handle = h;
    img.src = h.url;
    link.href = h.url;
    link.dataset.state = "ready";
  }, (err) => {
    if (!state.shown || state.id !== id) return;
    state.element.replaceChildren();
    const chip = fileChip(name, `${typeLabel(f.mediaType, name)} · could not be loaded${err?.code === "not_found" ? " (deleted)" : ""}`, typeLabel(f.mediaType, name, true));
    chip.dataset.state = "failed";
    state.element.append(chip);
  });
}

function drawChip(state, f, name, ctx) {
  const chip = fileChip(name, typeLabel(f.mediaType, name), typeLabel(f.mediaType, name, true));
  state.element.append(chip);
  if (!ctx?.loadFile) return;
  const button = el("button", "file-download", "Download");
  button.type = "button";
  button.setAttribute("aria-label", `Download ${name}`);
  const note = el("span", "file-note");
  note.setAttribute("role", "status");
  chip.append(button, note);
  button.addEventListener("click", async () => {
    button.disabled = true;
    note.textContent = "";
    try {
      const h = await ctx.loadFile(f);
      const a = el("a");
      a.href = h.url;
      a.download = name;
      a.hidden = true;
      document.body.append(a);
      a.click();
      a.remove();
      h.release(); // the URL outlives the release by some seconds: the download has it
    } catch (err) {
      note.textContent = err?.code === "not_found" ? "This file no longer exists." : `Could not download: ${err?.message || "error"}`;
    } finally {
      button.disabled = false;
    }
  });
}
