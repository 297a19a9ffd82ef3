// Committee: the map of their areas (lamps coloured by state) and the alert feed with
// acknowledge and the repair ticket's progress. Changes arrive live.

import { all, api } from "../api.js";
import { clear, h } from "../dom.js";
import { number, t, tx } from "../i18n.js";
import { lampMap, lampStateOf, legend } from "../map.js";
import { alertCard, areaNames, loading } from "./common.js";
import { showError } from "../app.js";

export { lampStateOf };

// The summary names what is wrong, worst first; burning and switched-off lamps are fine.
const SUMMARY = ["dark", "power_cut", "flicker", "low_power", "tamper", "day_burner", "offline", "unknown"];

/** "Korangi 5: 12 lamps · 2 dark · 1 flickering" for each area, from the lamps on the map. */
export function areaSummary(nodes, names) {
  const byArea = new Map();
  for (const node of nodes) {
    if (node.state !== "active") continue;
    const counts = byArea.get(node.area) || new Map();
    const state = lampStateOf(node);
    counts.set("all", (counts.get("all") || 0) + 1);
    counts.set(state, (counts.get(state) || 0) + 1);
    byArea.set(node.area, counts);
  }
  const rows = [...byArea.entries()].sort(([a], [b]) => String(names.get(a) ?? a).localeCompare(String(names.get(b) ?? b)));
  return h("ul", { class: "area-summary", id: "area-summary", "aria-label": t("areas_summary") },
    rows.map(([area, counts]) => h("li", { dataset: { area } },
      h("bdi", { class: "area-name", text: names.get(area) ?? area }), ": ",
      h("span", { class: "lamps", dataset: { n: counts.get("all") } }, tx(counts.get("all") === 1 ? "area_summary_lamp" : "area_summary_lamps", { n: number(counts.get("all")) })),
      SUMMARY.filter((k) => counts.get(k)).map((k) => h("span", { class: "part", dataset: { state: k, n: counts.get(k) } },
        tx("area_summary_part", { n: number(counts.get(k)), what: t(`sum_${k}`) }))))));
}

// in common.js, so the crew's pages need not load this page (and its map) to have it
export { areaNames } from "./common.js";

export function render(root, ctx) {
  const mayAck = ctx.me.permissions?.includes("alerts:ack");
  const mayTickets = ctx.me.permissions?.includes("tickets:read");
  const names = areaNames(ctx.me);
  const state = { nodes: new Map(), alerts: new Map(), tickets: new Map() };
  const mapEl = h("div", { class: "map", id: "map", "aria-label": t("map") });
  const feed = h("div", { id: "alert-feed", "aria-live": "polite" });
  const status = h("div");
  const summary = h("div");
  root.append(
    h("div", { class: "area-layout" },
      h("div", {},
        h("div", { dir: "ltr" }, mapEl),
        summary,
        legend(),
        ctx.config.tiles?.url ? null : h("p", { class: "small muted", text: t("map_rough") })),
      h("div", {}, h("h1", { text: t("alerts") }), status, feed)));
  let map = null;
  let closed = false;

  const withName = (item) => ({ ...item, area_name: names.get(item.area) ?? item.area });

  function drawFeed() {
    const open = [...state.alerts.values()]
      .filter((a) => a.state !== "cleared")
      .sort((a, b) => b.started_at - a.started_at || b.id - a.id);
    clear(feed);
    if (!open.length) feed.append(h("p", { class: "muted", text: t("no_alerts") }));
    for (const alert of open) {
      feed.append(alertCard(withName(alert), {
        node: state.nodes.get(alert.node),
        ticket: alert.ticket_id ? state.tickets.get(alert.ticket_id) : null,
        onAck: mayAck ? acknowledge : null,
        onShow: map ? (node) => map.focus(node) : null,
      }));
    }
  }

  function drawMap() {
    if (closed) return;
    clear(summary).append(areaSummary(state.nodes.values(), names));
    if (!map) return;
    map.setNodes([...state.nodes.values()].map(withName), lampStateOf);
  }

  async function acknowledge(alert, button) {
    button.disabled = true;
    try {
      const updated = await api(`/api/v1/alerts/${alert.id}/ack`, { method: "POST" });
      state.alerts.set(updated.id, updated);
      drawFeed();
    } catch (err) {
      button.disabled = false;
      showError(status, err);
    }
  }

  async function load() {
    const busy = loading(status);
    try {
      const [alerts, nodes] = await Promise.all([
        all("/api/v1/alerts", { state: "open" }, 500),
        all("/api/v1/nodes", {}, 20000),
      ]);
      const tickets = mayTickets
        ? await Promise.all([...new Set(alerts.map((a) => a.ticket_id).filter(Boolean))]
          .slice(0, 100).map((id) => api(`/api/v1/tickets/${id}`).catch(() => null)))
        : [];
      if (closed) return;
      state.alerts = new Map(alerts.map((a) => [a.id, a]));
      state.nodes = new Map(nodes.map((n) => [n.id, n]));
      state.tickets = new Map(tickets.filter(Boolean).map((tk) => [tk.id, tk]));
      clear(status);
      drawFeed();
      drawMap();
    } catch (err) {
      busy.remove();
      showError(status, err);
    }
  }

  lampMap(mapEl, ctx.config).then((m) => {
    if (closed) return m.destroy();
    map = m;
    drawMap();
    drawFeed();
    // the outlines are orientation, not data: the page works without them
    api("/api/v1/areas/outlines").then((areas) => { if (!closed) map.setAreas(areas); }).catch(() => {});
  }).catch((err) => showError(status, err));

  const unsubscribe = ctx.live.subscribe(async ({ type, data }) => {
    if (type === "refresh") return load();
    if (type === "alert") {
      state.alerts.set(data.id, data);
      // A lamp's colour follows its alerts; the node list says it best.
      if (data.node && state.nodes.has(data.node)) {
        api(`/api/v1/nodes/${encodeURIComponent(data.node)}`).then((node) => {
          state.nodes.set(node.id, node);
          drawMap();
        }).catch(() => {});
      }
      drawFeed();
    } else if (type === "ticket") {
      state.tickets.set(data.id, data);
      drawFeed();
    }
  });

  load();
  return {
    cleanup() {
      closed = true;
      unsubscribe();
      map?.destroy();
    },
  };
}
