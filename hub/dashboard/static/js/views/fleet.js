// Technicians: fleet health — how many nodes are online, offline, pending (heard from but
// not assigned) or silent; which need a visit (offline, pending, clock faults); and how
// much the hub has spooled waiting for InfluxDB.

import { all, api } from "../api.js";
import { clear, h } from "../dom.js";
import { label, number, relative, t, tx } from "../i18n.js";
import { loading, nodeStatusText } from "./common.js";
import { showError } from "../app.js";

// Clock faults are counted per node; nodes are scanned for them up to this many.
const SCAN = 2000;

async function hubMetrics() {
  try {
    const r = await fetch("/metrics");
    if (!r.ok) return {};
    const out = {};
    for (const line of (await r.text()).split("\n")) {
      const m = line.match(/^(roshni_spool_depth|roshni_clock_faults_total) (\S+)$/);
      if (m) out[m[1]] = Number(m[2]);
    }
    return out;
  } catch {
    return {};
  }
}

function count(query) {
  return api("/api/v1/nodes", { query: { ...query, limit: 1 } }).then((p) => p.count);
}

// All nodes, a page at a time: the fleet may be 100 000 strong.
const PAGE = 50;

function nodeTable(id, rows) {
  return h("table", { id },
    h("thead", {}, h("tr", {}, [t("node"), t("status"), t("area"), t("last_seen"), t("count_clock")]
      .map((c) => h("th", { scope: "col", text: c })))),
    h("tbody", {}, rows.map(nodeRow)));
}

/** The "All nodes" card: search by id, pole or area name, and pages of PAGE. */
function allNodes() {
  const input = h("input", { type: "search", id: "fleet-q", name: "q", maxlength: 100, dir: "auto",
    "aria-label": t("fleet_search"), placeholder: t("fleet_search") });
  const out = h("div", { class: "scroll", id: "fleet-all" });
  const pager = h("div", { class: "pager" });
  let offset = 0;
  let seq = 0;

  async function show() {
    const mine = ++seq;
    const q = input.value.trim();
    try {
      const page = await api("/api/v1/nodes", { query: { q, limit: PAGE, offset } });
      if (mine !== seq) return; // a newer search was typed meanwhile
      clear(out).append(page.data.length ? nodeTable("fleet-list", page.data) : h("p", { class: "muted", text: t("nodes_none") }));
      clear(pager);
      if (!page.count) return;
      pager.append(
        h("button", { type: "button", id: "fleet-prev", disabled: offset === 0, text: t("prev_page"),
          onclick: () => { offset = Math.max(0, offset - PAGE); show(); } }),
        h("span", { class: "small muted", id: "fleet-range" }, tx("fleet_page", {
          from: number(offset + 1), to: number(offset + page.data.length), n: number(page.count) })),
        h("button", { type: "button", id: "fleet-next", disabled: offset + PAGE >= page.count, text: t("next_page"),
          onclick: () => { offset += PAGE; show(); } }));
    } catch (err) {
      if (mine === seq) { clear(out); showError(out, err); }
    }
  }

  input.addEventListener("input", () => { offset = 0; show(); });
  const form = h("form", { class: "search", role: "search",
    onsubmit: (ev) => { ev.preventDefault(); offset = 0; show(); } },
    input, h("button", { type: "submit", text: t("search") }));
  return { el: h("section", {}, h("h2", { text: t("fleet_all") }), form, out, pager), show };
}

function nodeRow(node) {
  return h("tr", { dataset: { node: node.id } },
    h("td", {}, h("a", { class: "mono", dir: "ltr", href: `#/nodes/${encodeURIComponent(node.id)}`, text: node.id })),
    h("td", {}, nodeStatusText(node)),
    h("td", {}, label("district", node.district), " · ", h("bdi", { text: node.area }),
      node.pole ? [" · ", h("bdi", { class: "pole", text: node.pole })] : null),
    h("td", { text: node.last_seen ? relative(node.last_seen) : t("never") }),
    h("td", { class: node.clock_faults ? "error" : "", text: number(node.clock_faults) }));
}

export function render(root, ctx) {
  const counts = h("div", { class: "counts", id: "fleet-counts" });
  const spool = h("p", { class: "muted" });
  const table = h("div", { class: "scroll" });
  const everyNode = allNodes();
  root.append(h("h1", { text: t("fleet_title") }), counts, spool,
    h("h2", { text: t("filter_problems") }), table, everyNode.el);
  let closed = false;

  async function load() {
    const busy = loading(table);
    try {
      const [online, offline, unknown, pending, uncommissioned, metrics, offlineNodes, pendingNodes, scanned, control] = await Promise.all([
        count({ status: "online", state: "active" }), count({ status: "offline", state: "active" }),
        count({ status: "unknown", state: "active" }), count({ state: "pending" }),
        count({ state: "active", commissioned: "false" }), hubMetrics(),
        all("/api/v1/nodes", { status: "offline" }, 200), all("/api/v1/nodes", { state: "pending" }, 200),
        all("/api/v1/nodes", {}, SCAN), api("/api/v1/control/summary").catch(() => ({ outdated: 0 })),
      ]);
      if (closed) return;
      const clockFaulty = scanned.filter((n) => n.clock_faults > 0);
      clear(counts);
      for (const [key, value, bad] of [["count_online", online], ["count_offline", offline, offline > 0],
        ["count_pending", pending, pending > 0], ["count_unknown", unknown],
        ["count_uncommissioned", uncommissioned, uncommissioned > 0],
        ["count_clock", clockFaulty.length, clockFaulty.length > 0],
        ["control_count_outdated", control.outdated, control.outdated > 0]]) {
        counts.append(h("div", { class: ["card", "count", bad && "bad"], dataset: { count: key } },
          h("b", { text: number(value) }), h("span", { text: t(key) })));
      }
      spool.textContent = metrics.roshni_spool_depth !== undefined
        ? t("hub_spool", { n: number(metrics.roshni_spool_depth) }) : "";
      const seen = new Set();
      const rows = [...offlineNodes, ...pendingNodes, ...clockFaulty.sort((a, b) => b.clock_faults - a.clock_faults)]
        .filter((n) => !seen.has(n.id) && seen.add(n.id));
      clear(table);
      if (!rows.length) return table.append(h("p", { class: "muted", text: t("nodes_none") }));
      table.append(nodeTable("fleet", rows));
    } catch (err) {
      busy.remove();
      showError(table, err);
    }
  }

  // A node going offline changes the counts; many at once (a power cut) reload once.
  let pending = null;
  const unsubscribe = ctx.live.subscribe(({ type, data }) => {
    if (type === "refresh" || (type === "alert" && data.rule === "node_offline")) {
      clearTimeout(pending);
      pending = setTimeout(load, 2000);
    }
  });
  load();
  everyNode.show();
  return { cleanup() { closed = true; clearTimeout(pending); unsubscribe(); } };
}
