// Committee: what they reported and whether the DMC repaired it — each alert that opened
// a repair ticket with the ticket's status, as the sensor (not only the crew) sees it.

import { all, api } from "../api.js";
import { clear, h } from "../dom.js";
import { label, relative, t, time } from "../i18n.js";
import { lastNote, loading, place, repairVerdict, stateBadge } from "./common.js";
import { areaNames } from "./area.js";
import { showError } from "../app.js";

// Most in need of attention first: reopened, not started, in progress, claimed, verified.
const ORDER = { reopened: 0, open: 1, assigned: 2, in_progress: 3, fixed: 4, verified: 5 };

export function render(root, ctx) {
  const names = areaNames(ctx.me);
  const list = h("div", { id: "repairs", "aria-live": "polite" });
  root.append(h("h1", { text: t("repairs_title") }), list);
  const state = { tickets: new Map(), alerts: new Map() };
  let closed = false;

  function draw() {
    clear(list);
    const rows = [...state.tickets.values()].sort((a, b) =>
      (ORDER[a.status] ?? 9) - (ORDER[b.status] ?? 9) || b.opened_at - a.opened_at);
    if (!rows.length) list.append(h("p", { class: "muted", text: t("repairs_none") }));
    for (const ticket of rows) {
      const alert = ticket.alert_id ? state.alerts.get(ticket.alert_id) : null;
      list.append(h("article", { class: `card repair-card status-${ticket.status}`, dataset: { ticketId: ticket.id } },
        h("div", { class: "row" },
          h("strong", { class: "grow", text: label("rule", ticket.fault) }),
          alert ? stateBadge(alert.state) : null),
        place({ ...ticket, area_name: names.get(ticket.area) ?? ticket.area }),
        h("p", { class: "small muted" },
          t("reported", { time: time(alert?.started_at ?? ticket.opened_at) }),
          " (", relative(alert?.started_at ?? ticket.opened_at), ")"),
        repairVerdict(ticket),
        lastNote(ticket)));
    }
  }

  async function load() {
    const busy = loading(list);
    try {
      // The last 200 tickets in the committee's areas, and the alerts that opened them.
      const [open, recent, alerts] = await Promise.all([
        all("/api/v1/tickets", { status: "outstanding" }, 200),
        all("/api/v1/tickets", { status: "fixed" }, 100),
        all("/api/v1/alerts", {}, 300),
      ]);
      const verified = await api("/api/v1/tickets", { query: { status: "verified", limit: 50 } });
      if (closed) return;
      state.tickets = new Map([...open, ...recent, ...verified.data].map((tk) => [tk.id, tk]));
      state.alerts = new Map(alerts.map((a) => [a.id, a]));
      draw();
    } catch (err) {
      busy.remove();
      showError(list, err);
    }
  }

  const unsubscribe = ctx.live.subscribe(({ type, data }) => {
    if (type === "refresh") return load();
    if (type === "ticket") state.tickets.set(data.id, data);
    if (type === "alert") state.alerts.set(data.id, data);
    draw();
  });
  load();
  return { cleanup() { closed = true; unsubscribe(); } };
}
