// operator-view.js: DOM helpers of the operator console: rows of the
// conversation lists, the statistics of a conversation (with its cost and
// its user's usage this month), waiting times.
// Every node is built with createElement and textContent.
import { el, when } from "./page.js";

// since formats how long ago a time was, as a duration ("waiting 3 min").
export function since(iso) {
  const d = Date.parse(iso);
  if (!iso || isNaN(d)) return "";
  const s = Math.max(0, (Date.now() - d) / 1000);
  if (s < 60) return "< 1 min";
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

const num = (n) => (typeof n === "number" ? n.toLocaleString() : "");

// cost formats an amount in the host's price unit, with no currency sign
// (the unit is the host's choice): 2 decimals, up to 4 below 1, and
// "< 0.0001" for what is smaller but not nothing.
export function cost(n) {
  if (typeof n !== "number" || !isFinite(n)) return "";
  if (n === 0) return "0";
  const decimals = (v, most) => v.toLocaleString(undefined, { minimumFractionDigits: 2, maximumFractionDigits: most });
  if (n > 0 && n < 0.0001) return "< " + decimals(0.0001, 4);
  return decimals(n, Math.abs(n) < 1 ? 4 : 2);
}

// monthText is the line of a user's usage totals this month: tokens (input
// and output), the cost when there is one, and whether some replies were
// counted with the server's estimate.
export function monthText(t) {
  if (!t) return "";
  const tokens = (t.input_tokens || 0) + (t.output_tokens || 0);
  const parts = [`${num(tokens)} ${tokens === 1 ? "token" : "tokens"}`];
  // A server without prices reports a cost of 0: no figure then.
  if (t.cost > 0) parts.push(cost(t.cost));
  return parts.join(" · ") + (t.estimated_replies > 0 ? " (some estimated)" : "");
}

function badge(text, kind) {
  const b = el("span", "badge", text);
  b.dataset.kind = kind;
  return b;
}

// row is one conversation of a list, as a button that selects it. waiting
// rows (the needs-help queue) show how long the user has been waiting.
export function row(c, { current, me, onSelect, waiting = false }) {
  const li = el("li");
  const b = el("button", "row");
  b.type = "button";
  b.dataset.id = c.id;
  b.dataset.mode = c.status === "ended" ? "ended" : c.mode || "ai";
  if (c.id === current) b.setAttribute("aria-current", "true");
  const top = el("span", "row-top");
  const age = waiting ? `waiting ${since(c.mode_changed_at || c.updated_at)}` : when(c.updated_at);
  top.append(el("span", "row-title", c.title || "Untitled conversation"), el("span", "row-when", age));
  const sub = el("span", "row-sub");
  sub.append(el("span", "row-user", c.user_id || ""));
  if (c.status === "ended") sub.append(badge("Ended", "ended"));
  else if (c.mode === "waiting" && !waiting) sub.append(badge("Needs help", "waiting"));
  else if (c.mode === "operator") sub.append(badge(c.operator === me ? "With you" : c.operator ? `With ${c.operator}` : "With an operator", "operator"));
  if (c.stats?.operator_assisted && c.mode !== "operator") sub.append(badge("Assisted", "assisted"));
  if (typeof c.stats?.message_count === "number") sub.append(el("span", "row-count", `${num(c.stats.message_count)} msg`));
  b.append(top, sub);
  b.addEventListener("click", () => onSelect(c.id));
  li.append(b);
  return li;
}

// statsList returns the <dl> entries of a conversation summary's figures;
// month, when known, is its user's usage totals this month (admin.js's
// monthUsage).
export function statsList(s, month = null) {
  if (!s) return [];
  const st = s.stats || {};
  // No figure rather than "0 in · 0 out" when the provider reported no usage.
  const tokens = st.input_tokens > 0 || st.output_tokens > 0 ? `${num(st.input_tokens || 0)} in · ${num(st.output_tokens || 0)} out` : "";
  const avg = typeof st.response_ms_avg === "number" && st.responses ? `${(st.response_ms_avg / 1000).toFixed(1)} s` : "";
  const items = [
    ["Messages", num(st.message_count)],
    ["Replies", num(st.responses)],
    ["Avg. reply time", avg],
    ["Tokens", tokens],
    ["Cost", cost(st.cost)],
    ["Operator wrote", st.operator_assisted === undefined ? "" : st.operator_assisted ? "Yes" : "No"],
    ["Last activity", when(s.updated_at)],
    ["This month (user)", monthText(month)],
  ];
  return items.filter(([, v]) => v).map(([k, v]) => {
    const d = el("div");
    d.append(el("dt", null, k), el("dd", null, v));
    return d;
  });
}
