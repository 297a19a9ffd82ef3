// A node's commissioning as the hub has it: commissioned (when) or not yet, and the last
// self-test from the pole (`roshni node selftest`) as the checklist the person on the
// ladder saw: each item PASS, FAIL or SKIP with what was seen, and for a FAIL what to do.
// The checklist's text comes from the node: it is shown as text, in its own direction.

import { h } from "../dom.js";
import { hasKey, label, language, relative, t, time, tx } from "../i18n.js";

const STATUSES = new Set(["pass", "fail", "skip"]);

// The checklist's ids are the node's (node/selftest), its text English. On a page in
// another language, a title or remedy the dashboard knows by id is shown translated (the
// key returned here); one it does not know, as the node wrote it.
function mine(what, check) {
  const key = `check_${what}_${check.name}`;
  return language() !== "en" && hasKey(key) ? key : null;
}

/** Text from the node, in English: marked so (lang="en"), in its own direction. */
function fromNode(tag, cls, text) {
  return h(tag, { class: cls, dir: "auto", lang: "en", text });
}

function items(checks) {
  return (Array.isArray(checks) ? checks : []).filter((c) => c && typeof c === "object");
}

/** "1 failed, 6 passed, 1 skipped" */
export function checkSummary(checks) {
  const n = (status) => items(checks).filter((c) => c.status === status).length;
  return t("check_summary", { failed: n("fail"), passed: n("pass"), skipped: n("skip") });
}

/** The checklist in the order the node ran it. */
export function checklist(checks) {
  return h("ol", { class: "checklist" }, items(checks).map((c) => {
    const status = STATUSES.has(c.status) ? c.status : "unknown";
    return h("li", { class: ["check", `check-${status}`], dataset: { check: String(c.name ?? "") } },
      h("div", { class: "row" },
        h("span", { class: `badge check-${status}`, text: label("check", c.status) }),
        mine("title", c)
          ? h("strong", { class: "grow check-title", text: t(mine("title", c)) })
          : fromNode("strong", "grow check-title", c.title || c.name || "")),
      c.detail ? fromNode("p", "small check-detail", c.detail) : null,
      status === "fail" && (c.remedy || mine("remedy", c))
        ? h("p", { class: "remedy" }, h("span", { text: t("remedy") }), " ",
          mine("remedy", c)
            ? h("span", { class: "remedy-text", text: t(mine("remedy", c)) })
            : fromNode("bdi", "remedy-text", c.remedy))
        : null,
      // The node's own words keep what a translation leaves out (paths, pins, commands).
      status === "fail" && c.remedy && mine("remedy", c)
        ? h("p", { class: "small node-text" }, h("span", { text: t("node_text") }), " ", fromNode("bdi", "remedy-node", c.remedy))
        : null);
  }));
}

export function verdictBadge(ok) {
  if (ok === null || ok === undefined) return null;
  return h("span", { class: `badge check-${ok ? "pass" : "fail"}`, text: t(ok ? "selftest_passed" : "selftest_failed") });
}

/** The "Commissioning" card of a node page; `onRecheck` loads the node again. */
export function commissioningCard(node, { onRecheck } = {}) {
  const card = h("section", { class: "card", id: "commissioning" }, h("h2", { text: t("commissioning") }));
  if (node.commissioned_at && node.selftest_ok === false) {
    // commissioned once, but the pole's latest self-test says something is wrong now
    card.append(h("p", { class: "commissioned warn" }, "⚠ ", tx("commissioned_but_failed", { time: time(node.commissioned_at) })));
  } else if (node.commissioned_at) {
    card.append(h("p", { class: "commissioned yes" }, "✓ ", tx("commissioned_at", { time: time(node.commissioned_at) })));
  } else {
    card.append(h("p", { class: "commissioned no", text: t("not_commissioned") }),
      // how to get there; pointless for a node whose credentials are gone
      node.state === "revoked" ? null
        : h("p", { class: "small muted commissioning-hint" }, tx("not_commissioned_hint", { cmd: "roshni node selftest" })));
  }
  if (node.selftest_at) {
    card.append(h("p", { class: "row selftest-head" },
      h("span", { class: "grow" }, tx("selftest_last", { time: time(node.selftest_at) }), ` (${relative(node.selftest_at)})`),
      verdictBadge(node.selftest_ok)));
    if (items(node.selftest).length) {
      card.append(h("p", { class: "small muted", text: checkSummary(node.selftest) }), checklist(node.selftest));
    }
  } else {
    card.append(h("p", { class: "muted", text: t("selftest_none") }));
  }
  if (onRecheck) {
    card.append(h("div", { class: "actions" },
      h("button", { type: "button", id: "commissioning-recheck", text: t("check_again"), onclick: onRecheck })));
  }
  return card;
}
