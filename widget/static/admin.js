// admin.js: a small client of chatbox's operator HTTP API (JSON over GET,
// Authorization: Bearer <token>), used by the operator console.
//
//   const api = new AdminClient("/chat/admin/", () => token);
//   const page = await api.conversations({ needs_help: true, limit: 50 });

// AdminError is a refused or failed request: status is the HTTP status (0
// when the server could not be reached), code the API's error code.
export class AdminError extends Error {
  constructor(status, body = {}, retryAfterMs = 0) {
    super(body.message || (status ? `the server answered ${status}` : "the server cannot be reached"));
    this.name = "AdminError";
    this.status = status;
    this.code = body.code || (status ? `http_${status}` : "network");
    this.retryable = !!body.retryable || status === 0 || status === 429 || status === 503;
    this.retryAfterMs = body.retry_after_ms || retryAfterMs;
  }
}

export class AdminClient {
  // base is the API's URL ending with "/"; getToken returns the bearer
  // token (or a promise of it).
  constructor(base, getToken, { timeoutMs = 15000 } = {}) {
    this.base = new URL(base, location.href);
    this._getToken = getToken;
    this._timeout = timeoutMs;
  }

  // get requests path (relative to the base) with the query params whose
  // value is not "" or undefined, and resolves with the decoded JSON.
  async get(path, params = {}) {
    const url = new URL(path, this.base);
    for (const [k, v] of Object.entries(params)) if (v !== "" && v !== undefined && v !== null) url.searchParams.set(k, String(v));
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), this._timeout);
    let res;
    try {
      res = await fetch(url, {
        headers: { Accept: "application/json", Authorization: "Bearer " + (await this._getToken()) },
        cache: "no-store", credentials: "omit", signal: ctl.signal,
      });
    } catch {
      throw new AdminError(0);
    } finally {
      clearTimeout(timer);
    }
    let body = null;
    try { body = await res.json(); } catch { /* not JSON */ }
    if (!res.ok) {
      const after = Number(res.headers.get("Retry-After"));
      throw new AdminError(res.status, body?.error, after > 0 ? after * 1000 : 0);
    }
    if (!body) throw new AdminError(res.status, { code: "bad_response", message: "the server sent no JSON" });
    return body;
  }

  // conversations lists conversations: filters needs_help, mode, user,
  // status, operator_assisted, model; sort, order, limit, cursor.
  conversations(query = {}) { return this.get("conversations", query); }

  // conversation resolves with one conversation's summary.
  conversation(id) { return this.get("conversations/" + encodeURIComponent(id)); }

  // metrics resolves with the figures of a time range (from, before).
  metrics(query = {}) { return this.get("metrics", query); }

  // usage lists usage by user, model and UTC day: filters user, model,
  // from, before (RFC 3339); limit, cursor. With user (and no model) the
  // answer's totals sum every matching day.
  usage(query = {}) { return this.get("usage", query); }

  // monthUsage resolves with user's usage totals for the current UTC month
  // ({replies, estimated_replies, input_tokens, output_tokens, cost...}),
  // or null when the server keeps no usage (501). now is the clock.
  async monthUsage(user, now = new Date()) {
    const from = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1)).toISOString().replace(".000Z", "Z");
    try {
      // One row is enough: the totals cover every day, not only the page.
      const body = await this.usage({ user, from, limit: 1 });
      return body.totals || null;
    } catch (err) {
      if (err instanceof AdminError && err.status === 501) return null;
      throw err;
    }
  }
}
