// Energy (DESIGN.md §11): per district, area or lamp, the kWh used, what full-on lighting
// (sunset to sunrise at rated power) would have used, the saving, and both at the tariff
// the hub is configured with; with a CSV of the same figures.

import { api, auth } from "../api.js";
import { clear, h } from "../dom.js";
import { label, number, t } from "../i18n.js";
import { loading } from "./common.js";
import { showError } from "../app.js";

let group = "area";

export function render(root, ctx) {
  const tabs = h("div", { class: "tabs", role: "group" });
  const totals = h("div", { class: "counts", id: "energy-totals" });
  const table = h("div", { class: "scroll" });
  const csv = h("button", { type: "button", id: "energy-csv", text: t("energy_csv"), onclick: download });
  root.append(h("h1", { text: t("energy_title") }), h("p", { class: "small muted", text: t("energy_explain") }),
    tabs, totals, table, h("p", {}, csv));
  let closed = false;

  // The export needs the bearer token, which a plain link would not send.
  async function download() {
    try {
      const r = await fetch(`/api/v1/export/energy.csv?group=${group}`, { headers: { Authorization: `Bearer ${auth.token}` } });
      if (!r.ok) throw new Error(r.statusText);
      const a = document.createElement("a");
      a.href = URL.createObjectURL(await r.blob());
      a.download = `energy-${group}.csv`;
      a.click();
      setTimeout(() => URL.revokeObjectURL(a.href), 10000);
    } catch (err) {
      showError(table, err);
    }
  }

  function name(r) {
    return r.group === "district" ? label("district", r.id) : r.name;
  }

  async function load() {
    clear(tabs);
    for (const g of ["district", "area", "node"]) {
      tabs.append(h("button", { type: "button", "aria-pressed": String(g === group), dataset: { group: g },
        text: t(`energy_by_${g}`), onclick: () => { group = g; load(); } }));
    }
    const busy = loading(table);
    try {
      const r = await api("/api/v1/energy", { query: { group, limit: 500 } });
      if (closed) return;
      busy.remove();
      clear(totals);
      const money = (v) => t("energy_pkr", { n: number(v) });
      for (const [key, value] of [["energy_used", `${number(r.total.used_kwh, 2)} kWh`],
        ["energy_saved", `${number(r.total.saved_kwh, 2)} kWh`], ["energy_cost", money(r.total.cost_pkr)],
        ["energy_saved_pkr", money(r.total.saved_pkr)]]) {
        totals.append(h("div", { class: "card count", dataset: { count: key } }, h("b", { text: value }), h("span", { text: t(key) })));
      }
      clear(table);
      if (!r.data.length) return table.append(h("p", { class: "muted", text: t("energy_none") }));
      table.append(h("table", { id: "energy" },
        h("thead", {}, h("tr", {}, [t(`energy_by_${group}`), t("energy_used"), t("energy_baseline"), t("energy_saved"),
          t("energy_cost"), t("energy_saved_pkr")].map((c) => h("th", { scope: "col", text: c })))),
        h("tbody", {}, r.data.map((row) => h("tr", { dataset: { id: row.id } },
          h("td", {}, row.group === "node"
            ? h("a", { class: "mono", href: `#/nodes/${encodeURIComponent(row.id)}`, text: row.id })
            : h("bdi", { text: name(row) })),
          h("td", { text: number(row.used_kwh, 2) }), h("td", { text: number(row.baseline_kwh, 2) }),
          h("td", { text: number(row.saved_kwh, 2) }), h("td", { text: money(row.cost_pkr) }),
          h("td", { text: money(row.saved_pkr) }))))));
    } catch (err) {
      busy.remove();
      showError(table, err);
    }
  }

  load();
  return { cleanup() { closed = true; } };
}
