// Crew: one ticket — where (open it in a maps app), why (the lamp's last readings), what
// happened so far, and big buttons to move it on with a note.

import { api } from "../api.js";
import { clear, h } from "../dom.js";
import { chart } from "../chart.js";
import { label, qty, relative, t, time, when } from "../i18n.js";
import { actorName, loading, noteText, place, priorityBadge, statusBadge } from "./common.js";
import { areaNames } from "./area.js";
import { showError } from "../app.js";

// What a person may move a ticket to (hub/tickets.py PEOPLE_MAY); the hub checks again.
const MOVES = {
  open: ["assigned", "in_progress", "fixed"],
  assigned: ["in_progress", "fixed"],
  in_progress: ["fixed"],
  reopened: ["assigned", "in_progress", "fixed"],
  fixed: [],
  verified: [],
};

export function mapsLinks(node) {
  if (node?.lat == null || node?.lon == null) return null;
  const at = `${node.lat.toFixed(6)},${node.lon.toFixed(6)}`;
  const name = encodeURIComponent(node.pole ? `Pole ${node.pole}` : node.id);
  return h("div", { class: "actions" },
    h("a", { class: "button primary big", id: "open-in-maps", href: `geo:${at}?q=${at}(${name})`, text: t("open_in_maps") }),
    h("a", { class: "button big", id: "open-web-map", href: `https://www.google.com/maps/search/?api=1&query=${at}`,
      target: "_blank", rel: "noopener noreferrer", text: t("open_web_map") }));
}

export function evidenceCharts(rows) {
  if (!rows.length) return h("p", { class: "muted", text: t("no_evidence") });
  const points = (field, f = (v) => v) => rows.map((r) => ({ t: r.ts, v: r[field] == null ? null : f(r[field]) }));
  const from = rows[0].ts;
  const to = rows[rows.length - 1].ts;
  const out = [chart(points("lamp_on", (v) => (v ? 1 : 0)), { kind: "share", from, to, max: 1, title: t("lamp_state") })];
  if (rows.some((r) => r.lamp_w != null)) out.push(chart(points("lamp_w"), { from, to, title: t("lamp_power") }));
  if (rows.some((r) => r.lux != null)) out.push(chart(points("lux"), { from, to, digits: 1, title: t("chart_lux") }));
  const last = rows[rows.length - 1];
  // each figure isolated with its unit: in Urdu "0.3 W · 0 lux" must not become "W · 0 lux 0.3"
  out.push(h("p", { class: "small muted" },
    when(last.ts), `: ${t("lamp_state")} ${last.lamp_on ? t("on") : t("off")}`,
    last.lamp_w != null ? [" · ", qty(last.lamp_w, 1, "W")] : "",
    last.lux != null ? [" · ", qty(last.lux, 1, "lux")] : ""));
  return h("div", { class: "evidence" }, out);
}

export function render(root, ctx, id) {
  const names = areaNames(ctx.me);
  const mayMove = ctx.me.permissions?.includes("tickets:write");
  const head = h("div");
  const where = h("section", { class: "card" });
  const evidence = h("section", { class: "card" });
  const moves = h("section", { class: "card", id: "moves" });
  const history = h("section", { class: "card" });
  const note = h("textarea", { id: "note", name: "note", maxlength: 2000, dir: "auto" });
  const message = h("p", { role: "status" });
  // Where to go first, then what to do, then why and what happened so far.
  root.append(h("p", {}, h("a", { href: "#/tickets", text: t("back") })), head, where, moves, evidence, history);
  let ticket = null;
  let node = null;
  let closed = false;
  let busyMove = false;

  function drawHead() {
    clear(head).append(
      h("h1", { class: "row" },
        h("span", { class: "grow", text: label("rule", ticket.fault) }),
        priorityBadge(ticket.priority)),
      h("p", { class: "row" },
        statusBadge(ticket.status),
        h("span", { class: "ltr muted", text: t("ticket_n", { id: ticket.id }) }),
        h("span", { class: ticket.sla_due < Date.now() / 1000 && MOVES[ticket.status]?.length ? "error" : "muted",
          text: t("due", { rel: relative(ticket.sla_due) }) })));
  }

  function drawWhere() {
    clear(where).append(h("h2", { text: t("location") }),
      place({ ...ticket, pole: node?.pole, area_name: names.get(ticket.area) ?? ticket.area }),
      h("p", { class: "small muted" }, label("district", ticket.district),
        node?.lat != null ? [" · ", h("span", { class: "ltr", text: `${node.lat.toFixed(5)}, ${node.lon.toFixed(5)}` })] : null),
      mapsLinks(node));
  }

  function drawMoves() {
    clear(moves);
    const next = MOVES[ticket.status] || [];
    if (!mayMove) return moves.remove();
    if (!next.length) {
      moves.append(h("p", { class: "notice", text: ticket.status === "verified" ? t("done_verified") : t("done_fixed") }), message);
      return;
    }
    moves.append(h("h2", { text: t("move_status") }),
      h("label", { for: "note", text: t("note") }), note,
      h("div", { class: "moves" }, next.map((to) => h("button", {
        type: "button", class: to === "fixed" ? "primary" : "", dataset: { to }, text: t(`to_${to}`),
        onclick: (ev) => move(to, ev.currentTarget),
      }))), message);
  }

  function drawHistory() {
    clear(history).append(h("h2", { text: t("history") }),
      h("ol", { class: "history", id: "history" }, [...ticket.history].reverse().map((e) => h("li", {},
        h("div", { class: "row small" },
          h("bdi", { class: "actor", text: actorName(e.actor) }),
          e.from_status ? [statusBadge(e.from_status), h("span", { "aria-hidden": "true", text: document.dir === "rtl" ? "←" : "→" })] : null,
          statusBadge(e.to_status),
          h("span", { class: "muted grow", text: time(e.at) })),
        e.note ? h("p", { class: "note", dir: "auto" }, noteText(e)) : null))));
  }

  function draw() {
    drawHead();
    drawWhere();
    drawMoves();
    drawHistory();
  }

  async function move(to, button) {
    if (busyMove) return;
    busyMove = true;
    for (const b of moves.querySelectorAll("button")) b.disabled = true;
    message.className = "";
    message.textContent = "";
    try {
      ticket = await api(`/api/v1/tickets/${ticket.id}`, { method: "PATCH", body: { status: to, note: note.value.trim() } });
      note.value = "";
      draw();
      message.className = "notice";
      message.textContent = t("saved");
    } catch (err) {
      for (const b of moves.querySelectorAll("button")) b.disabled = false;
      message.className = "error";
      message.textContent = err.status === 409 || err.status === 400 || err.status === 422
        ? err.message : t("error", { detail: err.message });
      button.focus();
    } finally {
      busyMove = false;
    }
  }

  async function load() {
    const busy = loading(head);
    try {
      ticket = await api(`/api/v1/tickets/${encodeURIComponent(id)}`);
      node = await api(`/api/v1/nodes/${encodeURIComponent(ticket.node)}`).catch(() => null);
      if (closed) return;
      draw();
      clear(evidence).append(h("h2", { text: t("evidence") }), evidenceCharts(ticket.evidence || []));
    } catch (err) {
      busy.remove();
      showError(head, err);
    }
  }

  const unsubscribe = ctx.live.subscribe(({ type, data }) => {
    if (type === "refresh") return load();
    if (type === "ticket" && ticket && data.id === ticket.id && !busyMove) {
      ticket = data;
      draw();
    }
  });
  load();
  return { cleanup() { closed = true; unsubscribe(); } };
}
