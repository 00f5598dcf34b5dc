// fake-http.js: stand-ins for XMLHttpRequest and fetch that record the
// requests chatbox.js makes for files and let a test answer them.
// Importing it installs XMLHttpRequest as a global; serveFetch installs
// fetch.

// FakeXHR records each upload and lets the test answer it.
export class FakeXHR {
  static all = [];
  constructor() {
    this.headers = {};
    this.upload = {};
    this.aborted = false;
    FakeXHR.all.push(this);
  }
  open(method, url) { this.method = method; this.url = url; }
  setRequestHeader(k, v) { this.headers[k] = v; }
  send(body) { this.body = body; }
  abort() { this.aborted = true; this.onabort?.(); }
  getResponseHeader(k) { return this.responseHeaders?.[k] ?? null; }
  // answer ends the request with status and a JSON body.
  answer(status, body, headers = {}) {
    this.status = status;
    this.responseText = typeof body === "string" ? body : JSON.stringify(body);
    this.responseHeaders = headers;
    this.onload?.();
  }
  progress(loaded, total) { this.upload.onprogress?.({ loaded, total, lengthComputable: true }); }
}
globalThis.XMLHttpRequest = FakeXHR;

// serveFetch makes fetch answer with respond(url, init) -> {status, body,
// type, headers}, and returns the requests made.
export function serveFetch(respond) {
  const seen = [];
  globalThis.fetch = async (url, init = {}) => {
    seen.push({ url: String(url), init });
    const { status = 200, body = "", type = "", headers = {} } = respond(String(url), init) || {};
    return {
      ok: status >= 200 && status < 300, status,
      headers: { get: (k) => headers[k] ?? null },
      text: async () => (typeof body === "string" ? body : JSON.stringify(body)),
      blob: async () => new Blob([typeof body === "string" ? body : JSON.stringify(body)], { type }),
    };
  };
  return seen;
}
