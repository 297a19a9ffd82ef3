// Admin: the audit log, newest first — who changed what, when, from where — filtered by
// person and kind of change, a page at a time.

import { api } from "../api.js";
import { clear, h } from "../dom.js";
import { label, number, t, time } from "../i18n.js";
import { loading } from "./common.js";
import { field, problem } from "./admin.js";

const PAGE = 25;
// Kinds of change people look for; the log may hold others, shown by their code.
const ACTIONS = ["user.add", "user.disable", "user.enable", "user.password", "user.scope",
  "user.language", "node.register", "node.assign", "node.command", "ticket.transition", "alert.ack", "report.create",
  "report.close"];
const filters = { actor: "", action: "", offset: 0 }; // kept while the page is open

function detailText(detail) {
  // what was left empty says nothing
  const entries = Object.entries(detail || {}).filter(([, v]) => v !== null && v !== "");
  return entries.map(([k, v]) => `${k}: ${typeof v === "string" ? v : JSON.stringify(v)}`).join(" · ");
}

function entryRow(e) {
  return h("tr", { dataset: { action: e.action, actor: e.actor } },
    h("td", { class: "muted" }, h("bdi", { text: time(e.at) })),
    h("td", {}, h("bdi", { class: "actor", text: e.actor })),
    h("td", { class: "wide" }, h("strong", { text: label("audit", e.action) }), " ",
      h("bdi", { class: "mono small muted", text: e.action })),
    h("td", { class: "wide" }, h("bdi", { class: "mono", text: e.target })),
    h("td", { class: "small audit-detail wide" }, h("bdi", { dir: "ltr", text: detailText(e.detail) })));
}

export function render(root) {
  const actor = h("input", { autocomplete: "off", autocapitalize: "none", spellcheck: "false", value: filters.actor, dir: "auto" });
  const action = h("select", {}, h("option", { value: "", text: t("admin_all_actions") }),
    ACTIONS.map((a) => h("option", { value: a, selected: a === filters.action ? true : null, text: label("audit", a) })));
  const table = h("div", { class: "scroll", id: "audit" });
  const pager = h("div", { class: "actions pager" });
  root.append(h("form", { class: "card", id: "audit-filter", onsubmit: (ev) => {
    ev.preventDefault();
    Object.assign(filters, { actor: actor.value.trim(), action: action.value, offset: 0 });
    load();
  } }, h("div", { class: "row" },
    h("div", { class: "grow" }, field("audit-actor", t("admin_actor"), actor)),
    h("div", { class: "grow" }, field("audit-action", t("admin_action"), action))),
  h("div", { class: "actions" }, h("button", { type: "submit", class: "primary", text: t("admin_filter") }))),
  table, pager);
  let closed = false;
  let latest = 0; // a slow unfiltered answer must not overwrite the filtered one asked for after it

  async function load() {
    const asked = ++latest;
    const busy = loading(table);
    try {
      const page = await api("/api/v1/audit", { query: {
        actor: filters.actor, action: filters.action, limit: PAGE, offset: filters.offset } });
      if (closed || asked !== latest) return;
      clear(table);
      clear(pager);
      if (!page.data.length) return table.append(h("p", { class: "muted", text: t("admin_no_entries") }));
      table.append(h("table", { class: "stack" },
        h("thead", {}, h("tr", {}, [t("admin_when"), t("admin_actor"), t("admin_action"), t("admin_target"),
          t("admin_detail")].map((c) => h("th", { scope: "col", text: c })))),
        h("tbody", {}, page.data.map(entryRow))));
      const first = filters.offset + 1;
      const last = filters.offset + page.data.length;
      const move = (offset) => { filters.offset = Math.max(0, offset); load(); };
      pager.append(
        h("button", { type: "button", class: "newer", disabled: filters.offset === 0 ? true : null,
          text: t("admin_newer"), onclick: () => move(filters.offset - PAGE) }),
        h("span", { class: "grow page-of" }, h("bdi", {
          text: t("admin_page_of", { first: number(first), last: number(last), count: number(page.count) }) })),
        h("button", { type: "button", class: "older", disabled: last >= page.count ? true : null,
          text: t("admin_older"), onclick: () => move(filters.offset + PAGE) }));
    } catch (err) {
      if (closed || asked !== latest) return;
      busy.remove();
      table.append(h("p", { class: "error", role: "alert" }, problem(err)));
    }
  }

  load();
  return { cleanup() { closed = true; } };
}
