// Citizens' reports (Open311) kept open for a person to check, for the committee and the
// crew of their place: what was reported, where, what the nearest lamp's sensor said (its
// verdict and last readings), the repair ticket it joined; closed with what was found.
// Who reported is never shown.

import { api, all } from "../api.js";
import { clear, h } from "../dom.js";
import { label, qty, relative, t, time, tx } from "../i18n.js";
import { loading } from "./common.js";
import { areaNames } from "./area.js";
import { evidenceCharts } from "./ticket.js";
import { showError } from "../app.js";

function reportCard(report, names, { mayClose, onClosed }) {
  const card = h("article", { class: `card report verdict-${report.verdict}`, dataset: { reportId: report.id } },
    h("div", { class: "row" },
      h("strong", { class: "grow", text: label("service", report.service_code) }),
      h("span", { class: "badge", text: label("verdict", report.verdict) })),
    h("p", { class: "place" },
      report.area ? h("bdi", { class: "area-name", text: names.get(report.area) ?? report.area }) : null,
      report.node ? [report.area ? " · " : null,
        h("a", { class: "mono", dir: "ltr", href: `#/nodes/${encodeURIComponent(report.node)}`, text: report.node })] : null,
      report.distance_m != null ? [" · ", tx("report_distance", { m: qty(report.distance_m, 0, "m") })] : null),
    report.address ? h("p", { class: "small" }, h("bdi", { class: "address", text: report.address })) : null,
    report.description ? h("p", { class: "note citizen-words" }, h("bdi", { text: report.description })) : null,
    h("p", { class: "small muted" }, tx("report_received", { time: time(report.requested_at) }),
      ` (${relative(report.requested_at)})`),
    report.ticket_id ? h("p", { class: "small" },
      h("a", { href: `#/tickets/${report.ticket_id}`, text: t("ticket_n", { id: report.ticket_id }) })) : null,
    h("details", { class: "report-evidence" },
      h("summary", { text: t("report_evidence") }), evidenceCharts(report.evidence || [])));
  if (mayClose) {
    const note = h("textarea", { name: "note", maxlength: 2000, dir: "auto", required: true,
      "aria-label": t("report_close_note") });
    const message = h("p", { role: "status" });
    card.append(h("form", { class: "report-close", onsubmit: async (ev) => {
      ev.preventDefault();
      const button = ev.currentTarget.querySelector("button");
      if (!note.value.trim()) return note.focus();
      button.disabled = true;
      try {
        await api(`/api/v1/reports/${report.id}`, { method: "PATCH",
          body: { status: "closed", note: note.value.trim() } });
        onClosed(report);
      } catch (err) {
        button.disabled = false;
        clear(message);
        showError(message, err);
      }
    } }, h("label", { text: t("report_close_note") }), note,
    h("button", { type: "submit", class: "primary", text: t("report_close") }), message));
  }
  return card;
}

export function render(root, ctx) {
  const names = areaNames(ctx.me);
  const mayClose = ctx.me.permissions?.includes("reports:write");
  const list = h("div", { id: "reports", "aria-live": "polite" });
  root.append(h("h1", { text: t("reports_title") }), h("p", { class: "small muted", text: t("reports_intro") }), list);
  let closed = false;

  async function load() {
    const busy = loading(list);
    try {
      const reports = await all("/api/v1/reports", { checked: "false" }, 200);
      if (closed) return;
      clear(list);
      if (!reports.length) list.append(h("p", { class: "muted", text: t("reports_none") }));
      for (const report of reports) {
        list.append(reportCard(report, names, { mayClose, onClosed: (r) => {
          list.querySelector(`[data-report-id="${r.id}"]`)?.remove();
          if (!list.children.length) list.append(h("p", { class: "muted", text: t("reports_none") }));
        } }));
      }
    } catch (err) {
      busy.remove();
      showError(list, err);
    }
  }

  const unsubscribe = ctx.live.subscribe(({ type }) => { if (type === "refresh") load(); });
  load();
  return { cleanup() { closed = true; unsubscribe(); } };
}
