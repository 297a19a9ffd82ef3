// Admin: nodes the hub heard from but nobody registered (pending). Each can be assigned
// its district, area, coordinates and pole; then it is an ordinary lamp and leaves the
// list. Its readings so far stay its history.

import { all, api } from "../api.js";
import { clear, h } from "../dom.js";
import { label, relative, t, time } from "../i18n.js";
import { loading } from "./common.js";
import { DISTRICTS, field, messageLine, problem } from "./admin.js";

function when(epoch) {
  if (!epoch) return t("never");
  return [h("bdi", { text: time(epoch) }), " ", h("span", { class: "muted small", text: `(${relative(epoch)})` })];
}

function assignForm(node, onDone) {
  const district = h("select", {}, DISTRICTS.map((d) => h("option", { value: d, text: label("district", d) })));
  const area = h("input", { required: true, autocomplete: "off", dir: "auto" });
  const lat = h("input", { required: true, inputmode: "decimal", autocomplete: "off", dir: "ltr" });
  const lon = h("input", { required: true, inputmode: "decimal", autocomplete: "off", dir: "ltr" });
  const pole = h("input", { autocomplete: "off", dir: "auto" });
  const msg = messageLine("assign-msg");
  const button = h("button", { type: "submit", class: "primary", text: t("admin_assign") });
  const form = h("form", { class: "card", id: "assign-form", dataset: { node: node.id }, onsubmit: async (ev) => {
    ev.preventDefault();
    msg.clear();
    const number = (input) => Number(input.value.trim().replace(",", "."));
    if (!Number.isFinite(number(lat)) || !Number.isFinite(number(lon))) {
      msg.fail(t("admin_bad_coordinates"));
      return;
    }
    button.disabled = true;
    try {
      const done = await api(`/api/v1/nodes/${encodeURIComponent(node.id)}/assign`, { method: "POST", body: {
        district: district.value, area: area.value.trim(), lat: number(lat), lon: number(lon),
        pole: pole.value.trim() || null } });
      onDone(done, area.value.trim());
    } catch (err) {
      msg.fail(err);
      button.disabled = false;
    }
  } },
  h("h2", {}, t("admin_assign_node"), " ", h("bdi", { class: "mono", text: node.id })),
  field("assign-district", t("district"), district), field("assign-area", t("area"), area),
  h("div", { class: "row coords" }, h("div", { class: "grow" }, field("assign-lat", t("admin_lat"), lat)),
    h("div", { class: "grow" }, field("assign-lon", t("admin_lon"), lon))),
  field("assign-pole", t("admin_pole"), pole), h("div", { class: "actions" }, button), msg.el);
  return form;
}

export function render(root) {
  const notice = messageLine("pending-msg");
  const list = h("div", { class: "scroll", id: "pending" });
  const formBox = h("div");
  root.append(h("p", { class: "muted", text: t("admin_pending_intro") }), notice.el, list, formBox);
  let closed = false;

  function assigned(node, areaName) {
    clear(formBox);
    notice.ok([t("admin_assigned"), " ", h("bdi", { class: "mono", text: node.id }),
      document.dir === "rtl" ? " ← " : " → ", label("district", node.district), " · ", h("bdi", { text: areaName })]);
    load();
  }

  async function load() {
    const busy = loading(list);
    try {
      const pending = await all("/api/v1/nodes", { state: "pending" }, 200);
      // when each was first heard is on its own page only
      const detail = await Promise.all(pending.map((n) => api(`/api/v1/nodes/${encodeURIComponent(n.id)}`).catch(() => n)));
      if (closed) return;
      clear(list);
      if (!detail.length) return list.append(h("p", { class: "muted", id: "no-pending", text: t("admin_no_pending") }));
      list.append(h("table", { class: "stack" },
        h("thead", {}, h("tr", {}, [t("node"), t("admin_first_seen"), t("last_seen"), ""]
          .map((c) => h("th", { scope: "col", text: c })))),
        h("tbody", {}, detail.map((node) => h("tr", { dataset: { node: node.id } },
          h("td", { class: "lead" }, h("bdi", { class: "mono", text: node.id })),
          h("td", { class: "wide", dataset: { label: t("admin_first_seen") } }, when(node.first_seen)),
          h("td", { class: "wide", dataset: { label: t("last_seen") } }, when(node.last_seen)),
          h("td", { class: "end" }, h("button", { type: "button", class: "assign", text: t("admin_assign"), onclick: () => {
            notice.clear();
            clear(formBox).append(assignForm(node, assigned));
            formBox.scrollIntoView({ block: "start" });
          } })))))));
    } catch (err) {
      busy.remove();
      list.append(h("p", { class: "error", role: "alert" }, problem(err)));
    }
  }

  load();
  return { cleanup() { closed = true; } };
}
