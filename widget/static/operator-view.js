// operator-view.js: DOM helpers of the operator console: rows of the
// conversation lists, the statistics of a conversation, waiting times.
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

// statsList returns the <dl> entries of a conversation summary's figures.
export function statsList(s) {
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
    ["Operator wrote", st.operator_assisted === undefined ? "" : st.operator_assisted ? "Yes" : "No"],
    ["Last activity", when(s.updated_at)],
  ];
  return items.filter(([, v]) => v).map(([k, v]) => {
    const d = el("div");
    d.append(el("dt", null, k), el("dd", null, v));
    return d;
  });
}
