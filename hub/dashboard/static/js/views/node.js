// A lamp's own page: where it is, how it is, and charts of lamp state, light on the
// street and people passing over 24 hours or 7 days (downsampled by the API from
// InfluxDB), with its burning hours, switch-ons and energy; its commissioning (the last
// self-test from the pole) and, for technicians and admins, commands to the node.

import { api } from "../api.js";
import { clear, h } from "../dom.js";
import { chart } from "../chart.js";
import { label, qty, relative, t, tx, when } from "../i18n.js";
import { loading, nodeStanding, nodeStatusText } from "./common.js";
import { commissioningCard } from "./commissioning.js";
import { commandsCard } from "./commands.js";
import { controlCard } from "./control.js";
import { areaNames, lampStateOf } from "./area.js";
import { mapsLinks } from "./ticket.js";
import { showError } from "../app.js";

const RANGES = {
  "24h": { start: "-24h", every: "15m", every_s: 900, withDay: false },
  "7d": { start: "-7d", every: "2h", every_s: 7200, withDay: true },
};
let chosen = "24h";

/** The header's one badge: the lamp's state while the node reports, else why it does not. */
function standingBadge(node) {
  const standing = nodeStanding(node);
  if (standing === "revoked") {
    return h("span", { class: "badge node-revoked", id: "node-revoked", text: t("node_state_revoked") });
  }
  if (standing === "online" || standing === "unknown") {
    const lamp = lampStateOf(node);
    return h("span", { class: `badge lamp-${lamp}`, id: "node-badge", dataset: { state: lamp }, text: t(`legend_${lamp}`) });
  }
  const look = { offline: "offline", pending: "pending", never: "unknown" }[standing];
  return h("span", { class: `badge lamp-${look}`, id: "node-badge", dataset: { state: standing },
    text: standing === "offline" ? t("legend_offline") : t(standing === "pending" ? "count_pending" : "standing_never") });
}

export function render(root, ctx, id) {
  const names = areaNames(ctx.me);
  const head = h("div");
  const facts = h("section", { class: "card", id: "facts" });
  const commissioning = h("div");
  const tabs = h("div", { class: "tabs", role: "group" });
  const charts = h("section", { class: "card", id: "charts" });
  root.append(head, facts, commissioning, tabs, charts);
  const mayCommand = (ctx.me.permissions || []).includes("nodes:command");
  let commands = null; // made once, so a command in progress survives reloads of the node
  const control = controlCard(id, { mayCommand });
  let closed = false;

  function drawNode(node) {
    // (DOM append would show a null as the text "null"; h() skips it)
    clear(head).append(...[
      h("h1", { class: "row" },
        h("span", { class: "grow mono", text: t("node_title", { id: node.id }) }),
        standingBadge(node)),
      h("p", { class: "place" },
        h("bdi", { class: "area-name", text: names.get(node.area) ?? node.area }),
        node.pole ? [" · ", h("span", { class: "pole" }, tx("pole", { pole: node.pole }))] : null),
      node.state === "revoked" ? h("p", { class: "card revoked-notice", role: "note", text: t("revoked_notice") }) : null,
    ].filter(Boolean));
    const stats = node.lamp_stats;
    const rows = [
      [t("status"), h("span", { dataset: { standing: nodeStanding(node) } }, nodeStatusText(node))],
      [t("district"), label("district", node.district)],
      [t("last_seen"), node.last_seen ? [when(node.last_seen), ` (${relative(node.last_seen)})`] : t("never")],
      [t("burning_hours"), stats ? qty(stats.burning_hours, 1) : "–"],
      [t("switch_ons"), stats ? qty(stats.switch_on_count) : "–"],
      [t("energy"), stats ? qty(stats.energy_wh / 1000, 2, "kWh") : "–"],
      [t("count_clock"), qty(node.clock_faults)],
      [t("firmware"), node.fw ? h("bdi", { class: "mono", text: node.fw }) : "–"],
      [t("lamp_model"), node.lamp_model ? h("bdi", { text: node.lamp_model }) : "–"],
    ];
    // node_offline is already the status above: one status, said once
    const faults = (node.open_alerts || []).filter((r) => r !== "node_offline");
    clear(facts).append(...[h("dl", { class: "kv" }, rows.map(([k, v]) => [h("dt", { text: k }), h("dd", { id: k === t("status") ? "node-status" : null }, v)])),
      faults.length ? h("p", { id: "node-faults" }, faults.map((r) => [h("span", { class: "badge state-active", text: label("rule", r) }), " "])) : null,
      mapsLinks(node)].filter(Boolean));
    clear(commissioning).append(commissioningCard(node, { onRecheck: load }), control.el);
    if (mayCommand && node.state !== "revoked") {
      if (!commands) commands = commandsCard(node.id);
      commands.update(node);
      commissioning.append(commands.el);
    }
  }

  async function drawCharts() {
    clear(tabs);
    for (const key of Object.keys(RANGES)) {
      tabs.append(h("button", { type: "button", "aria-pressed": String(key === chosen), text: t(`range_${key}`),
        onclick: () => { chosen = key; drawCharts(); } }));
    }
    const range = RANGES[chosen];
    clear(charts);
    const busy = loading(charts);
    try {
      const r = await api(`/api/v1/nodes/${encodeURIComponent(id)}/readings`, {
        query: { start: range.start, every: range.every, fields: "lamp_on,lux,footfall,spool", limit: 1000 },
      });
      if (closed) return;
      busy.remove();
      if (!r.data.length) return charts.append(h("p", { class: "muted", text: t("no_readings") }));
      // InfluxDB stamps a bucket with its start; the charts draw a bar ending at its time.
      const at = (p) => p.ts + range.every_s;
      const series = (field) => r.data.map((p) => ({ t: at(p), v: p[field] ?? null }));
      // Each bar is one bucket wide: two minutes of readings are one bar, not a whole day.
      const opts = { from: r.start, to: r.stop, withDay: range.withDay, step: range.every_s };
      charts.append(
        chart(series("lamp_on_ratio"), { ...opts, kind: "share", max: 1, title: t("chart_lamp") }),
        chart(series("lux"), { ...opts, digits: 1, title: t("chart_lux") }),
        chart(series("footfall"), { ...opts, kind: "bars", title: t("chart_footfall") }));
      const last = [...r.data].reverse().find((p) => p.spool != null);
      if (last) charts.append(h("p", { class: "small muted" }, `${t("spool")}: `, qty(last.spool)));
    } catch (err) {
      busy.remove();
      showError(charts, err);
    }
  }

  async function load() {
    const busy = loading(head);
    try {
      const node = await api(`/api/v1/nodes/${encodeURIComponent(id)}`);
      if (closed) return;
      drawNode(node);
    } catch (err) {
      busy.remove();
      showError(head, err);
    }
  }

  const unsubscribe = ctx.live.subscribe(({ type, data }) => {
    if (type === "refresh" || (type === "alert" && data.node === id)) load();
  });
  load();
  drawCharts();
  return { cleanup() { closed = true; unsubscribe(); commands?.cleanup(); control.cleanup(); } };
}
