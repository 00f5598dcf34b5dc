// Unit tests of the page helpers that need no server: the message parts
// and the console's figures (tokens, cost, the user's usage this month),
// on dom.js's stand-in DOM.
import { test } from "node:test";
import assert from "node:assert/strict";
import { installDOM } from "./dom.js";

installDOM();
const { MessageBody, finishNote, registerPart } = await import("../static/message-parts.js");
const { statsList } = await import("../static/operator-view.js");
const { readableOn } = await import("../static/page.js");

test("a part kind maps to its renderer; unknown kinds are named, not dropped", () => {
  registerPart("tool_call", {
    create: (part) => { const element = document.createElement("div"); element.className = "tool"; return { element }; },
    update: (s, part) => { s.element.textContent = `${part.name}(${part.args})`; },
  });
  const body = new MessageBody(document.createElement("div"));
  body.update({ role: "assistant", parts: [{ kind: "text", text: "Let me look." }, { kind: "tool_call", name: "lookup", args: "42" }, { kind: "hologram" }] });
  assert.equal(body.element.innerHTML, `<div class="part md" data-kind="text"><p>Let me look.</p></div><div class="tool">lookup(42)</div><div class="part part-unknown" data-kind="hologram">[hologram]</div>`);
  const user = new MessageBody(document.createElement("div"));
  user.update({ role: "user", text: "plain <b>text</b>" });
  assert.equal(user.element.innerHTML, `<div class="part plain" data-kind="text">plain &lt;b&gt;text&lt;/b&gt;</div>`);
});

test("finished replies are explained in a sentence, with the reference of internal errors", () => {
  assert.equal(finishNote({ finishReason: "stop" }), null);
  assert.equal(finishNote({ finishReason: "error", error: { code: "provider_error", message: "the model failed to answer (rate_limited)" } }).text,
    "The assistant could not answer just now. Try again in a moment.");
  assert.equal(finishNote({ finishReason: "error", error: { code: "internal", ref: "K7Q2M4" } }).text, "Something went wrong on our side. Reference: K7Q2M4.");
  assert.equal(finishNote({ finishReason: "error", error: null }).text, "The reply failed.");
  assert.match(finishNote({ finishReason: "length" }).text, /length limit/);
  for (const r of ["abort", "length", "content_filter", "timeout", "interrupted", "handoff"]) assert.doesNotMatch(finishNote({ finishReason: r }).text, /_/);
});

test("the console shows no token figure when usage is unknown", () => {
  const row = (s) => Object.fromEntries(statsList(s).map((d) => [d.children[0].textContent, d.children[1].textContent]));
  assert.equal(row({ stats: { message_count: 2, input_tokens: 0, output_tokens: 0 } }).Tokens, undefined);
  assert.equal(row({ stats: { message_count: 2 } }).Tokens, undefined);
  assert.equal(row({ stats: { input_tokens: 1200, output_tokens: 30 } }).Tokens, `${(1200).toLocaleString()} in · 30 out`);
});

// figures returns the console's statistics of a summary as {label: text}.
const figures = (s, month) => Object.fromEntries(statsList(s, month).map((d) => [d.children[0].textContent, d.children[1].textContent]));
const dec = (v, most) => v.toLocaleString(undefined, { minimumFractionDigits: 2, maximumFractionDigits: most });

test("the console shows a conversation's cost when its model has a price", () => {
  assert.equal(figures({ stats: { input_tokens: 1200, output_tokens: 30 } }).Cost, undefined);
  assert.equal(figures({ stats: { input_tokens: 1200, output_tokens: 30, cost: 0.0231 } }).Cost, dec(0.0231, 4));
  assert.equal(figures({ stats: { cost: 0.5 } }).Cost, dec(0.5, 4)); // "0.50": two decimals at least
  assert.equal(figures({ stats: { cost: 0.123456 } }).Cost, dec(0.1235, 4)); // four at most
  assert.equal(figures({ stats: { cost: 1234.5 } }).Cost, dec(1234.5, 2)); // "1,234.50"
  assert.equal(figures({ stats: { cost: 0.00000123 } }).Cost, "< " + dec(0.0001, 4));
  assert.equal(figures({ stats: { cost: 0 } }).Cost, "0"); // priced, and free so far
  // No currency sign: the unit is the host's.
  assert.doesNotMatch(figures({ stats: { cost: 12.5 } }).Cost, /[$€£¥]/);
  // The entry is a dt and its dd, as every figure of the panel.
  const entry = statsList({ stats: { cost: 2 } }).find((d) => d.children[0].textContent === "Cost");
  assert.deepEqual(entry.children.map((c) => c.tagName), ["DT", "DD"]);
});

test("the console shows the user's usage this month when it is known", () => {
  const s = { stats: { message_count: 2 } };
  const label = "This month (user)";
  assert.equal(figures(s)[label], undefined);
  assert.equal(figures(s, null)[label], undefined);
  assert.equal(figures(s, { replies: 4, input_tokens: 12000, output_tokens: 3400, cost: 0.077 })[label],
    `${(15400).toLocaleString()} tokens · ${dec(0.077, 4)}`);
  // A server without prices sums a cost of 0: tokens only.
  assert.equal(figures(s, { replies: 1, input_tokens: 1, output_tokens: 0, cost: 0 })[label], "1 token");
  assert.equal(figures(s, { replies: 0, input_tokens: 0, output_tokens: 0, cost: 0 })[label], "0 tokens");
  // Replies counted with the server's estimate are said to be.
  assert.equal(figures(s, { replies: 3, estimated_replies: 1, input_tokens: 900, output_tokens: 100, cost: 2.5 })[label],
    `${(1000).toLocaleString()} tokens · ${dec(2.5, 2)} (some estimated)`);
  assert.equal(figures(s, { replies: 3, estimated_replies: 0, input_tokens: 900, output_tokens: 100 })[label], `${(1000).toLocaleString()} tokens`);
  // It comes after the conversation's own figures.
  const labels = Object.keys(figures({ stats: { message_count: 2, cost: 1 }, updated_at: "2030-01-02T09:00:00Z" }, { input_tokens: 5, output_tokens: 5, cost: 1 }));
  assert.equal(labels.at(-1), label);
  assert.ok(labels.indexOf("Cost") < labels.indexOf(label));
});

test("text on the accent colour is whichever of black and white reads better", () => {
  assert.equal(readableOn("#ffd400"), "#000000");
  assert.equal(readableOn("#0a3d91"), "#ffffff");
  assert.equal(readableOn("#fff"), "#000000");
});
