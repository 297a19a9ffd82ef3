// Admin: the people who use the hub, the nodes it heard from but nobody registered, and
// the audit log — three tabs of one page (#/admin/users, #/admin/pending, #/admin/audit).

import { ApiError } from "../api.js";
import { h } from "../dom.js";
import { t, tx } from "../i18n.js";

const TABS = {
  users: () => import("./admin-users.js"),
  pending: () => import("./admin-pending.js"),
  audit: () => import("./admin-audit.js"),
};

// The districts a user or a node can be placed in (DESIGN.md §7: contract ids).
export const DISTRICTS = ["central", "east", "keamari", "korangi", "malir", "south", "west"];

/**
 * What went wrong, in plain words: the hub's own sentence for a refusal (validation
 * errors from the API's schema become "field: message"), or why nothing was sent.
 */
export function problem(err) {
  if (!(err instanceof ApiError)) {
    return t(navigator.onLine === false || err instanceof TypeError ? "offline" : "error", { detail: String(err) });
  }
  if (err.status === 403) return t("admin_forbidden");
  if (err.status === 404) return t("not_found");
  const detail = Array.isArray(err.detail)
    ? err.detail.map((d) => `${(d.loc || []).filter((x) => x !== "body").join(".")}: ${d.msg}`).join("; ")
    : err.message;
  return err.status < 500 ? tx("admin_refused", { detail }) : t("error", { detail });
}

/** A message line that shows either a notice or an error (as text, never markup). */
export function messageLine(id) {
  const p = h("p", { id, role: "status", hidden: true });
  return {
    el: p,
    ok(parts) { p.className = "notice"; p.replaceChildren(...[parts].flat()); p.hidden = false; },
    // an error from the hub, or a sentence of our own
    fail(err) {
      p.className = "error";
      p.replaceChildren(...[typeof err === "string" ? err : problem(err)].flat());
      p.hidden = false;
    },
    clear() { p.hidden = true; p.replaceChildren(); },
  };
}

/** A labelled field: [label, control]. */
export function field(id, text, control) {
  control.id = id;
  return [h("label", { for: id, text }), control];
}

export function render(root, ctx, tab = "users") {
  root.append(h("h1", { text: t("admin_title") }),
    h("nav", { class: "tabs", "aria-label": t("admin_title") }, Object.keys(TABS).map((key) =>
      h("a", { href: `#/admin/${key}`, class: ["button", key === tab && "active"],
        "aria-current": key === tab ? "page" : null, text: t(`admin_tab_${key}`) }))));
  const body = h("div", { class: "admin-body" });
  root.append(body);
  let handle = null;
  let closed = false;
  TABS[tab]().then((mod) => {
    if (!closed) handle = mod.render(body, ctx) || null;
  });
  return { cleanup() { closed = true; handle?.cleanup?.(); } };
}
