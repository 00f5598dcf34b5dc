// Unit tests of the page helpers that need no server: the message parts
// and the console's figures, on dom.js's stand-in DOM.
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

test("text on the accent colour is whichever of black and white reads better", () => {
  assert.equal(readableOn("#ffd400"), "#000000");
  assert.equal(readableOn("#0a3d91"), "#ffffff");
  assert.equal(readableOn("#fff"), "#000000");
});
