// Pieces several pages share: badges, where a thing is, an alert card, a repair verdict.

import { h } from "../dom.js";
import { hasKey, label, number, relative, t, time, tx } from "../i18n.js";

/** Area id -> the name people use, for the areas of the user's scope (/api/v1/me). */
export function areaNames(me) {
  return new Map((me.area_names || []).map((a) => [a.id, a.name]));
}

export function statusBadge(status) {
  return h("span", { class: `badge status-${status}`, text: label("status", status) });
}

export function stateBadge(state) {
  return h("span", { class: `badge state-${state}`, text: label("state", state) });
}

/**
 * A node's one standing, the same on every page: revoked or pending (registry), offline
 * (the hub says so, or a node_offline alert is open), never heard from, heard from without
 * a status message, else online.
 */
export function nodeStanding(node) {
  if (node.state === "revoked") return "revoked";
  if (node.state === "pending") return "pending";
  if (node.status === "offline" || (node.open_alerts || []).includes("node_offline")) return "offline";
  if (!node.last_seen) return "never";
  return node.status === "online" ? "online" : "unknown";
}

export function nodeStatusText(node) {
  const standing = nodeStanding(node);
  return t(`standing_${standing}`, { time: node.last_seen ? time(node.last_seen) : t("never") });
}

export function priorityBadge(p) {
  return h("span", { class: `badge p${Math.min(p, 4)}`, text: t("priority", { p }) });
}

/** "Korangi 5 · Pole K5-101 · khi-kor-0002": names people typed are text nodes. */
export function place(item, node) {
  const areaName = item.area_name ?? node?.area_name ?? item.area;
  const pole = item.pole ?? node?.pole;
  const id = item.node === undefined ? item.id : item.node;
  // <bdi>: a name in one script inside a sentence in the other keeps its own order.
  const parts = [h("bdi", { class: "area-name", text: areaName })];
  if (id === null) parts.push(" · ", t("whole_area"));
  if (pole) parts.push(" · ", h("span", { class: "pole" }, tx("pole", { pole })));
  if (id) parts.push(" · ", h("bdi", { class: "mono", text: id }));
  return h("p", { class: "place" }, parts);
}

/** What the committee wants to know about a ticket: was the lamp repaired? */
export function repairVerdict(ticket) {
  const key = {
    verified: "repaired_verified", fixed: "repaired_claimed", in_progress: "repaired_working",
    assigned: "repaired_working", open: "repaired_waiting", reopened: "repaired_reopened",
  }[ticket.status] || "repaired_waiting";
  return h("p", { class: `repair ${ticket.status}` },
    h("span", { class: "ltr", text: t("ticket_n", { id: ticket.id }) }), ": ",
    statusBadge(ticket.status), " ", t(key));
}

/** The last note on the ticket: a person's as they wrote it, the sensor's translated. */
export function lastNote(ticket) {
  const entry = [...(ticket.history || [])].reverse().find((e) => e.note);
  if (!entry) return null;
  return h("p", { class: "small muted note" },
    h("bdi", { class: "actor", text: actorName(entry.actor) }), ": ",
    noteText(entry));
}

/**
 * A history entry's note. The hub sends the sensor's notes as a code with parameters
 * (note_code, note_params) besides the English text; people's notes are their own words.
 */
export function noteText(entry) {
  const params = entry.note_params || {};
  if (entry.note_code && hasKey(`note_${entry.note_code}`)) {
    return h("span", { class: "note-text" }, tx(`note_${entry.note_code}`, {
      ...params,
      ...(params.fault ? { fault: label("rule", params.fault) } : {}),
      ...(params.minutes !== undefined ? { minutes: number(params.minutes) } : {}),
    }));
  }
  return h("bdi", { class: "note-text", text: entry.note });
}

export function actorName(actor) {
  return actor === "sensor" || actor === "system" ? t(`actor_${actor}`) : actor;
}

/**
 * An alert as a card: rule, state, place, since when, the repair ticket's progress,
 * and (for people who may) the acknowledge button.
 */
export function alertCard(alert, { node, ticket, onAck, onShow } = {}) {
  const card = h("article", { class: `alert card state-${alert.state}`, dataset: { alertId: alert.id } },
    h("div", { class: "row" },
      h("strong", { class: "grow rule", text: label("rule", alert.rule) }),
      stateBadge(alert.state)),
    place(alert, node),
    h("p", { class: "small muted" },
      t("started", { time: time(alert.started_at) }), " (", relative(alert.started_at), ")",
      alert.ended_at ? [" · ", t("ended", { time: time(alert.ended_at) })] : null),
    alert.historical ? h("p", { class: "small muted", text: t("historical") }) : null,
    alert.acknowledged_by
      ? h("p", { class: "small muted ack-by" }, tx("acknowledged_by", { who: alert.acknowledged_by }))
      : null,
    ticket ? [repairVerdict(ticket), lastNote(ticket)]
      : (alert.ticket_id ? h("p", { class: "repair ltr", text: t("ticket_n", { id: alert.ticket_id }) }) : null));
  const actions = h("div", { class: "actions" });
  if (onAck && alert.state === "active") {
    actions.append(h("button", { type: "button", class: "primary ack", text: t("acknowledge"),
      onclick: (ev) => onAck(alert, ev.currentTarget) }));
  }
  if (onShow && node?.lat != null) {
    actions.append(h("button", { type: "button", text: t("show_on_map"), onclick: () => onShow(node) }));
  }
  if (actions.childElementCount) card.append(actions);
  return card;
}

export function loading(root) {
  const p = h("p", { class: "muted", text: t("loading") });
  root.append(p);
  return p;
}
