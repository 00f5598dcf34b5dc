// Unit tests of admin.js, the operator API client, against a stand-in
// fetch that records the requests and answers as the server would.
import { test, beforeEach } from "node:test";
import assert from "node:assert/strict";

globalThis.location = { href: "http://ops.example/operator" };
const { AdminClient, AdminError } = await import("../static/admin.js");

// serve makes fetch answer every request with status and body, and
// returns the requests made ({url, init}).
function serve(status, body, headers = {}) {
  const seen = [];
  globalThis.fetch = async (url, init) => {
    seen.push({ url: new URL(url), init });
    return {
      ok: status >= 200 && status < 300, status,
      headers: { get: (k) => headers[k] ?? null },
      json: async () => body,
    };
  };
  return seen;
}

let api;
beforeEach(() => { api = new AdminClient("/chat/admin/", () => "op-token"); });

test("monthUsage asks for the user's usage since the first day of the UTC month and resolves with the totals", async () => {
  const totals = { replies: 3, estimated_replies: 1, input_tokens: 1200, output_tokens: 300, cost: 0.0231 };
  const seen = serve(200, { rows: [], totals });
  // Late on the 31st in New York is already the 1st of the next month in UTC.
  const got = await api.monthUsage("u 42/é", new Date("2030-02-01T03:30:00Z"));
  assert.deepEqual(got, totals);
  assert.equal(seen.length, 1);
  const { url, init } = seen[0];
  assert.equal(url.origin + url.pathname, "http://ops.example/chat/admin/usage");
  assert.deepEqual(Object.fromEntries(url.searchParams), { user: "u 42/é", from: "2030-02-01T00:00:00Z", limit: "1" });
  assert.ok(!url.searchParams.has("before") && !url.searchParams.has("model"));
  assert.equal(init.headers.Authorization, "Bearer op-token");
});

test("monthUsage starts the month at its first day in UTC, whatever the day and year", async () => {
  const seen = serve(200, { rows: [], totals: { replies: 0, input_tokens: 0, output_tokens: 0, cost: 0 } });
  await api.monthUsage("u1", new Date("2031-12-31T23:59:59.999Z"));
  await api.monthUsage("u1", new Date("2032-01-01T00:00:00Z"));
  assert.deepEqual(seen.map((r) => r.url.searchParams.get("from")), ["2031-12-01T00:00:00Z", "2032-01-01T00:00:00Z"]);
});

test("monthUsage resolves with null when the server keeps no usage (501)", async () => {
  serve(501, { error: { code: "unavailable", message: "this server's store keeps no usage", retryable: false } });
  assert.equal(await api.monthUsage("u1"), null);
  // An answer without totals is no figure either.
  serve(200, { rows: [] });
  assert.equal(await api.monthUsage("u1"), null);
});

test("monthUsage passes other failures on, as AdminErrors", async () => {
  serve(503, { error: { code: "unavailable", message: "store too slow", retryable: true } });
  await assert.rejects(api.monthUsage("u1"), (e) => e instanceof AdminError && e.status === 503 && e.retryable);
  serve(429, { error: { code: "rate_limited", message: "slow down" } }, { "Retry-After": "2" });
  await assert.rejects(api.monthUsage("u1"), (e) => e instanceof AdminError && e.code === "rate_limited" && e.retryAfterMs === 2000);
});
