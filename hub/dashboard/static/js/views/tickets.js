// Crew: the district's repair queue, most urgent first (priority, then SLA due time),
// as big links a thumb can hit; each opens the ticket's page.

import { all } from "../api.js";
import { clear, h } from "../dom.js";
import { label, relative, t } from "../i18n.js";
import { areaNames, loading, place, priorityBadge, statusBadge } from "./common.js";
import { showError } from "../app.js";
import { kept, loadKept, onOutbox, outbox, withPending } from "../offline.js";

const FILTERS = {
  outstanding: (tk) => ["open", "assigned", "in_progress", "reopened"].includes(tk.status),
  fixed: (tk) => ["fixed", "verified"].includes(tk.status),
  all: () => true,
};
let chosen = "outstanding"; // kept while the page is open, for the back button

export function byUrgency(a, b) {
  return a.priority - b.priority || a.sla_due - b.sla_due || a.id - b.id;
}

export function ticketItem(ticket, names, now = Date.now() / 1000, unsent = null) {
  const overdue = ["open", "assigned", "in_progress", "reopened"].includes(ticket.status) && ticket.sla_due < now;
  return h("li", {},
    h("a", { class: ["card", "ticket", overdue && "overdue"], href: `#/tickets/${ticket.id}`, dataset: { ticketId: ticket.id } },
      h("div", { class: "row" },
        priorityBadge(ticket.priority),
        h("strong", { class: "grow", text: label("rule", ticket.fault) }),
        statusBadge(ticket.status)),
      place({ ...ticket, area_name: ticket.area_name ?? names.get(ticket.area) ?? ticket.area }),
      h("p", { class: "small muted row" },
        h("span", { class: "ltr", text: t("ticket_n", { id: ticket.id }) }),
        h("span", { text: t("due", { rel: relative(ticket.sla_due, now) }) }),
        overdue ? h("span", { class: "badge overdue", text: t("overdue") }) : null,
        unsent ? h("span", { class: `badge ${unsent}`, text: t(unsent === "pending" ? "not_sent_yet" : "not_applied") }) : null)));
}

export function render(root, ctx) {
  const names = areaNames(ctx.me);
  const title = ctx.me.district_name
    ? `${t("queue_title")} — ${label("district", ctx.me.district)}` : t("queue_title");
  const tabs = h("div", { class: "tabs", role: "group" });
  const list = h("ul", { class: "queue", id: "tickets", "aria-live": "polite" });
  const stale = h("p", { class: "notice", id: "stale", hidden: true, text: t("offline") });
  root.append(h("h1", { text: title }), stale, tabs, list);
  const tickets = new Map();
  let entries = []; // the outbox: updates made here not sent yet, or refused
  let closed = false;

  function draw() {
    clear(tabs);
    for (const key of Object.keys(FILTERS)) {
      tabs.append(h("button", { type: "button", "aria-pressed": String(key === chosen), text: t(`filter_${key}`),
        onclick: () => { chosen = key; draw(); } }));
    }
    clear(list);
    const rows = [...tickets.values()].map((tk) => withPending(tk, entries)).filter(FILTERS[chosen]).sort(byUrgency);
    if (!rows.length) list.append(h("li", { class: "muted", text: t("no_tickets") }));
    const now = Date.now() / 1000;
    for (const ticket of rows) {
      const mine = entries.filter((e) => e.ticket === ticket.id);
      const unsent = mine.some((e) => e.state !== "pending") ? "refused" : mine.length ? "pending" : null;
      list.append(ticketItem(ticket, names, now, unsent));
    }
  }

  async function load() {
    const busy = loading(list);
    if (!tickets.size) {
      // what this phone kept, at once, while the hub is asked (a slow network takes seconds)
      const old = await kept("tickets");
      entries = await outbox();
      if (old && !closed && !tickets.size) {
        for (const tk of old) tickets.set(tk.id, tk);
        draw();
        list.append(busy);
      }
    }
    try {
      // kept on the phone: without a network the queue is what was loaded last
      const { data, stale: old } = await loadKept("tickets", async () => {
        const [outstanding, fixed] = await Promise.all([
          all("/api/v1/tickets", { status: "outstanding" }, 1000),
          all("/api/v1/tickets", { status: "fixed" }, 200),
        ]);
        return [...outstanding, ...fixed];
      });
      entries = await outbox();
      if (closed) return;
      stale.hidden = !old;
      tickets.clear();
      for (const tk of data) tickets.set(tk.id, tk);
      draw();
    } catch (err) {
      busy.remove();
      showError(list, err);
    }
  }

  const unsubscribe = ctx.live.subscribe(({ type, data }) => {
    if (type === "refresh") return load();
    if (type === "ticket") {
      tickets.set(data.id, data);
      draw();
    }
  });
  const unwatch = onOutbox(async ({ ticket }) => {
    if (ticket) tickets.set(ticket.id, ticket);
    entries = await outbox();
    if (!closed) draw();
  });
  window.addEventListener("online", load); // the network is back: what the hub says now
  load();
  return { cleanup() { closed = true; unsubscribe(); unwatch(); window.removeEventListener("online", load); } };
}
