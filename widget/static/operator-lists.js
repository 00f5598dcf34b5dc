// operator-lists.js: the console's needs-help queue and conversation list,
// polled from the operator HTTP API (admin.js). It shares the console's
// state (ui) and acts through the console's functions, passed in ctx.
import { $, showBanner } from "./page.js";
import { row } from "./operator-view.js";

const QUEUE_EVERY_MS = 4000; // the needs-help queue
const LIST_EVERY_MS = 15000; // the filtered list

// lists wires the queue, the list and their filters, and returns poll (the
// refresh, which schedules itself) and apiError (reports a failed API call).
// ctx: {ui, api, client, cfg, select, signOut, forbidden, hideBanner}.
export function lists({ ui, api, client, cfg, select, signOut, forbidden, hideBanner }) {
  function filters() {
    return {
      status: $("f-status").value, mode: $("f-mode").value, operator_assisted: $("f-assisted").value,
      user: $("f-user").value.trim(), sort: $("f-sort").value, order: "desc", limit: 30,
    };
  }

  // poll refreshes the queue (and, every LIST_EVERY_MS or when forced, the
  // list), then schedules itself. It rests while the tab is hidden, after a
  // 429 until the server's Retry-After, and once access is refused.
  async function poll(forceList = false) {
    clearTimeout(ui.pollTimer);
    if (ui.fatal || client.state !== "open") return;
    const now = Date.now();
    if (now < ui.pausedUntil) { ui.pollTimer = setTimeout(poll, ui.pausedUntil - now); return; }
    if (!document.hidden || forceList) {
      try {
        const q = await api.conversations({ needs_help: true, status: "active", sort: "created", order: "asc", limit: 50 });
        ui.queue = (q.conversations || []).sort((a, b) => Date.parse(a.mode_changed_at || a.created_at) - Date.parse(b.mode_changed_at || b.created_at));
        renderQueue();
        if (forceList || (!ui.paged && now - ui.listAt > LIST_EVERY_MS)) await loadList(false);
        ui.refreshed = false;
        if (ui.apiProblem) hideBanner();
      } catch (err) {
        apiError(err, "load the conversations");
      }
    }
    clearTimeout(ui.pollTimer); // one schedule, even when polls overlapped
    if (!ui.fatal) ui.pollTimer = setTimeout(poll, Math.max(QUEUE_EVERY_MS, ui.pausedUntil - Date.now()));
  }

  async function loadList(more) {
    const page = await api.conversations({ ...filters(), cursor: more ? ui.cursor : undefined });
    const got = page.conversations || [];
    ui.list = more ? ui.list.concat(got.filter((c) => !ui.list.some((o) => o.id === c.id))) : got;
    ui.cursor = page.next_cursor || "";
    ui.paged = more;
    ui.listAt = Date.now();
    $("list-count").textContent = typeof page.total === "number" && page.total >= 0 ? String(page.total) : "";
    renderList();
  }

  function apiError(err, doing) {
    if (err.status === 401) {
      // A short-lived token from the token endpoint may have expired: the
      // next poll fetches a fresh one, once.
      if (cfg.token_url && !ui.refreshed) { ui.refreshed = true; ui.token = ""; return; }
      ui.fatal = "unauthorized";
      return signOut("The server refused this token. Check it and sign in again.");
    }
    if (err.status === 403) return forbidden();
    ui.apiProblem = true;
    if (err.status === 429) {
      const wait = err.retryAfterMs || 5000;
      ui.pausedUntil = Date.now() + wait;
      return showBanner(`Too many requests: the console waits ${Math.ceil(wait / 1000)} s before refreshing again.`);
    }
    showBanner(`Could not ${doing}: ${err.message}.${err.retryable ? " Retrying…" : ""}`, "Retry now", () => poll(true));
  }

  function renderQueue() {
    $("queue").replaceChildren(...ui.queue.map((c) => row(c, { current: ui.current, me: ui.me?.id, onSelect: select, waiting: true })));
    $("queue-empty").hidden = ui.queue.length > 0;
    $("queue-count").textContent = String(ui.queue.length);
    $("queue-count").dataset.some = ui.queue.length > 0;
    document.title = (ui.queue.length ? `(${ui.queue.length}) ` : "") + document.title.replace(/^\(\d+\) /, "");
  }

  function renderList() {
    $("list").replaceChildren(...ui.list.map((c) => row(c, { current: ui.current, me: ui.me?.id, onSelect: select })));
    $("list-empty").hidden = ui.list.length > 0;
    $("more").hidden = !ui.cursor;
  }

  let filterTimer = 0;
  for (const id of ["f-status", "f-mode", "f-assisted", "f-sort"]) $(id).addEventListener("change", () => refreshList());
  $("f-user").addEventListener("input", () => { clearTimeout(filterTimer); filterTimer = setTimeout(refreshList, 350); });
  $("filters").addEventListener("submit", (e) => { e.preventDefault(); refreshList(); });
  $("more").addEventListener("click", () => loadList(true).catch((err) => apiError(err, "load more conversations")));

  function refreshList() {
    if (ui.fatal) return;
    loadList(false).catch((err) => apiError(err, "load the conversations"));
  }
  document.addEventListener("visibilitychange", () => { if (!document.hidden) poll(); });

  return { poll, apiError, renderQueue, renderList };
}
