// Technicians: fleet health — how many nodes are online, offline, pending (heard from but
// not assigned) or silent; which need a visit (offline, pending, clock faults); and how
// much the hub has spooled waiting for InfluxDB.

import { all, api } from "../api.js";
import { clear, h } from "../dom.js";
import { label, number, relative, t } from "../i18n.js";
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

function nodeRow(node) {
  return h("tr", { dataset: { node: node.id } },
    h("td", {}, h("a", { class: "mono", href: `#/nodes/${encodeURIComponent(node.id)}`, text: node.id })),
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
  root.append(h("h1", { text: t("fleet_title") }), counts, spool,
    h("h2", { text: t("filter_problems") }), table);
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
      table.append(h("table", { id: "fleet" },
        h("thead", {}, h("tr", {}, [t("node"), t("status"), t("area"), t("last_seen"), t("count_clock")]
          .map((c) => h("th", { scope: "col", text: c })))),
        h("tbody", {}, rows.map(nodeRow))));
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
  return { cleanup() { closed = true; clearTimeout(pending); unsubscribe(); } };
}
