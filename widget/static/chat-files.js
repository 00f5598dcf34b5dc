// chat-files.js: the chat page's attachments. The tray above the message
// box holds the files the user attached (with the button, by dropping them
// on the message box or by pasting a screenshot): each is uploaded at once,
// with a progress bar, and shown as a thumbnail (images) or a chip (name,
// type, size) with a Remove button. Send takes the uploaded ones. A file
// the server refuses leaves the tray, and refusalText says why in a
// sentence. Every node is built with createElement and textContent.
import { el } from "./page.js";
import { IMAGE_TYPES, typeLabel, formatBytes, fileChip } from "./file-parts.js";

// A number the server wrote in its message ("at most 10485760 bytes").
const numberIn = (text, re) => {
  const m = re.exec(String(text || ""));
  return m ? Number(m[1]) : 0;
};

const wait = (ms) => (ms > 0 ? ` in ${ms >= 3600_000 ? `about ${Math.ceil(ms / 3600_000)} h` : ms >= 60_000 ? `${Math.ceil(ms / 60_000)} min` : `${Math.ceil(ms / 1000)} s`}` : " later");

// refusalText says, in a sentence for the user, why the file name could
// not be attached, from the error chatbox.js's upload rejected with.
export function refusalText(err, name) {
  const n = `“${name || "The file"}”`;
  const code = err?.code || "";
  switch (code) {
    case "too_large": {
      const limit = numberIn(err.message, /at most (\d+) bytes/);
      return `${n} is too large: ${limit ? `files may have at most ${formatBytes(limit)}` : "it is over the size limit for files"}.`;
    }
    case "file_refused":
      switch (err.field) {
        case "type_not_allowed": {
          const type = /\(([^)\s]+)\)|type (\S+) are/.exec(err.message || "");
          return `${n} cannot be sent: this type of file${type ? ` (${type[1] || type[2]})` : ""} is not accepted.`;
        }
        case "invalid_file":
          return `${n} cannot be sent: its content does not match its type (the file may be damaged).`;
        case "too_many_pixels": {
          const max = numberIn(err.message, /at most (\d+) pixels/);
          return `${n} is too big an image${max ? `: at most ${(max / 1e6).toLocaleString("en", { maximumFractionDigits: 1 })} million pixels are accepted` : ""}. Make it smaller and attach it again.`;
        }
        case "too_many_pages": {
          const max = numberIn(err.message, /more than (\d+) pages/);
          return `${n} has too many pages${max ? `: PDFs may have at most ${max}` : ""}. Send a shorter document.`;
        }
        case "check":
          return `${n} was refused by a safety check.`;
        default:
          return `${n} was refused${err.message ? `: ${err.message}` : ""}.`;
      }
    case "limit_reached": {
      const limit = numberIn(err.message, /limit of (\d+) bytes/);
      return `${n} was not sent: you reached today's limit for files${limit ? ` (${formatBytes(limit)} a day)` : ""}. You can send more${wait(err.retryAfterMs)}.`;
    }
    case "rate_limited":
      return `Too many files at once: attach ${n} again${wait(err.retryAfterMs)}.`;
    case "conversation_ended":
      return "This conversation has ended: start a new chat to send files.";
    case "not_found":
      return "This conversation cannot take files any more: start a new chat.";
    case "unavailable":
      return err.status === 501 ? "This chat does not accept files." : `${n} could not be stored just now. Try again in a moment.`;
    case "shutting_down":
      return `${n} was not sent: the chat server is restarting. Try again in a moment.`;
    case "unauthorized":
    case "token_unavailable":
      return `${n} was not sent: you are signed out. Sign in again, then attach it.`;
    case "forbidden_origin":
      return "This page may not send files to the chat server.";
    case "disconnected":
      return `${n} could not be uploaded: the connection failed. Try again.`;
    case "invalid_field":
      if (/empty/.test(err.message || "")) return `${n} is empty.`;
      return `${n} could not be uploaded${err.message ? `: ${err.message}` : ""}.`;
    default:
      return `${n} could not be uploaded${err?.message ? `: ${err.message}` : ""}.`;
  }
}

let keys = 0;

export class AttachmentTray {
  // list is the tray's <ul>. hooks:
  //   upload(file, {onProgress, signal}) -> Promise<{id, name, mediaType, size}>
  //   remove(info)        deletes an upload taken back before sending
  //   refused(text, err, file)   a file was refused: show text
  //   changed()           the tray changed (Send may be enabled...)
  //   previewURL(file) -> url, revokeURL(url)   local previews of images
  //                       (default URL.createObjectURL and revokeObjectURL)
  constructor(list, hooks) {
    this.list = list;
    this.hooks = hooks;
    this.items = []; // {key, file, name, state, loaded, total, info, url, li, bar, controller}
    list.hidden = true;
  }

  get size() { return this.items.length; }
  // uploading counts the files still on their way.
  get uploading() { return this.items.filter((i) => i.state === "uploading").length; }
  // ready lists the uploaded files, in the order they were attached.
  get ready() { return this.items.filter((i) => i.state === "ready").map((i) => i.info); }

  // add attaches file (shown as name, default its own) and uploads it; it
  // resolves once the upload ended, with the file's info or null.
  async add(file, name = file.name) {
    const item = { key: "a" + ++keys, file, name: name || "file", state: "uploading", loaded: 0, total: file.size, info: null, url: "", li: null, controller: new AbortController() };
    if (IMAGE_TYPES.has(file.type)) item.url = (this.hooks.previewURL || ((f) => URL.createObjectURL(f)))(file);
    this.items.push(item);
    this.draw(item);
    this.list.append(item.li);
    this.changed();
    try {
      item.info = await this.hooks.upload(file, {
        name: item.name,
        signal: item.controller.signal,
        onProgress: ({ loaded, total }) => {
          item.loaded = loaded;
          item.total = total || item.total;
          this.progress(item);
        },
      });
    } catch (err) {
      if (!this.items.includes(item)) return null; // removed meanwhile
      this.drop(item);
      if (err?.code !== "aborted") this.hooks.refused?.(refusalText(err, item.name), err, file);
      this.changed();
      return null;
    }
    if (!this.items.includes(item)) {
      this.hooks.remove?.(item.info); // removed while uploading: take it back
      return null;
    }
    item.state = "ready";
    item.loaded = item.total;
    this.draw(item);
    this.changed();
    return item.info;
  }

  // remove takes a file back: an upload on its way is cancelled, an
  // uploaded file is deleted from the server.
  remove(key) {
    const item = this.items.find((i) => i.key === key);
    if (!item) return;
    this.drop(item);
    if (item.state === "uploading") item.controller.abort();
    else this.hooks.remove?.(item.info);
    this.changed();
  }

  // take empties the tray and returns the uploaded files (for a send: they
  // are not deleted). Uploads still on their way are cancelled.
  take() {
    const ready = this.ready;
    for (const item of [...this.items]) {
      this.drop(item);
      if (item.state === "uploading") item.controller.abort();
    }
    this.changed();
    return ready;
  }

  // discard removes every file, deleting the uploaded ones (the user left
  // the conversation they were for).
  discard() {
    for (const item of [...this.items]) this.remove(item.key);
  }

  drop(item) {
    this.items.splice(this.items.indexOf(item), 1);
    item.li?.remove();
    if (item.url) (this.hooks.revokeURL || ((u) => URL.revokeObjectURL(u)))(item.url);
    item.url = "";
  }

  changed() {
    this.list.hidden = this.items.length === 0;
    this.hooks.changed?.();
  }

  // draw fills an item's <li>, again once it is uploaded.
  draw(item) {
    const li = (item.li ||= el("li", "tray-item"));
    li.dataset.key = item.key;
    li.dataset.state = item.state;
    const type = item.info?.mediaType || item.file.type;
    if (item.info) li.dataset.fileId = item.info.id;
    const details = item.state === "uploading" ? "Uploading…" : [typeLabel(type, item.name), formatBytes(item.info?.size ?? item.file.size)].filter(Boolean).join(" · ");
    let thumb = null;
    if (item.url) {
      thumb = el("img", "tray-thumb"); // the picture instead of the type badge
      thumb.alt = "";
      thumb.src = item.url;
    }
    const chip = fileChip(item.name, details, typeLabel(type, item.name, true), thumb);
    const remove = el("button", "tray-remove", "×");
    remove.type = "button";
    remove.setAttribute("aria-label", `Remove ${item.name}`);
    remove.addEventListener("click", () => this.remove(item.key));
    chip.append(remove);
    li.replaceChildren(chip);
    if (item.state === "uploading") {
      const bar = el("progress", "tray-progress");
      bar.max = 100;
      bar.value = 0;
      bar.setAttribute("aria-label", `Uploading ${item.name}`);
      li.append(bar);
      item.bar = bar;
    } else item.bar = null;
    this.progress(item);
  }

  progress(item) {
    if (!item.bar) return;
    const pct = item.total > 0 ? Math.min(100, Math.round((item.loaded / item.total) * 100)) : 0;
    item.bar.value = pct;
    const meta = item.li.querySelector(".file-meta");
    if (meta) meta.textContent = `Uploading… ${pct}%`;
  }
}
