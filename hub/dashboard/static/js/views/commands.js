// Commands to a node, for technicians and admins (permission `nodes:command`): identify
// (blink the status LED), a remote self-test, the reporting interval. The hub answers
// 202 once the broker has the command; the node's answer arrives later, so the page
// polls `…/commands/{id}` until it is there or WAIT_S have passed (the node may be
// offline: a late answer still shows in the list of recent commands).

import { api, ApiError } from "../api.js";
import { clear, h } from "../dom.js";
import { label, number, t, time, tx } from "../i18n.js";
import { checklist, checkSummary } from "./commissioning.js";

export const WAIT_S = 60;
const POLL_MS = 1500;
const IDENTIFY_S = 30;
export const INTERVAL_MIN = 5;
export const INTERVAL_MAX = 3600;
const RECENT = 10;

/** A whole number of seconds within the node's bounds, or null. */
export function intervalValue(text) {
  const v = String(text).trim();
  if (!/^\d{1,4}$/.test(v)) return null;
  const n = Number(v);
  return n >= INTERVAL_MIN && n <= INTERVAL_MAX ? n : null;
}

/** What went wrong sending a command, in plain words. */
export function commandError(err) {
  let text;
  if (!(err instanceof ApiError)) {
    text = navigator.onLine === false || err instanceof TypeError ? t("offline") : t("error", { detail: String(err) });
  } else if (err.status === 403) {
    text = t("err_403");
  } else if (err.status === 404) {
    text = t("not_found");
  } else if (err.status === 422) {
    const detail = Array.isArray(err.detail)
      ? err.detail.map((e) => `${(e.loc || []).filter((l) => l !== "body").join(".")}: ${e.msg}`).join("; ")
      : String(err.detail);
    text = t("err_422", { detail });
  } else if (err.status === 409) {
    text = t("err_409");
  } else if (err.status === 503) {
    return h("div", { class: "cmd-error" },
      h("p", { class: "error", role: "alert", text: t("err_503") }),
      h("p", { class: "small muted", text: String(err.detail) }));
  } else {
    text = t("error", { detail: err.message });
  }
  return h("p", { class: "error cmd-error", role: "alert", text });
}

function describe(c) {
  if (c.cmd === "identify" && c.args?.seconds != null) return t("cmd_desc_identify", { n: number(c.args.seconds) });
  if (c.cmd === "set_interval" && c.args?.interval_s != null) return t("cmd_desc_set_interval", { n: number(c.args.interval_s) });
  return label("cmd_name", c.cmd);
}

function outcome(c) {
  if (c.status === "answered") return c.ok ? "ok" : "failed";
  return c.status === "not_sent" ? "not_sent" : "sent";
}

function statusBadge(c) {
  const key = outcome(c);
  return h("span", { class: `badge cmd-${key}`, text: t(`cmd_status_${key}`) });
}

function selftestOk(c) {
  return typeof c.result?.ok === "boolean" ? c.result.ok : c.ok;
}

/** The node's answer to a command, as shown right after it arrives. */
export function answerView(c) {
  const r = c.result || {};
  const out = h("div", { class: "cmd-answer", dataset: { commandId: c.id, outcome: outcome(c) } });
  if (c.status === "not_sent") {
    out.append(h("p", { class: "error", text: t("cmd_status_not_sent") }));
    return out;
  }
  if (c.cmd === "selftest" && Array.isArray(r.checks)) {
    const ok = selftestOk(c);
    out.append(h("p", { class: ok ? "notice" : "error", text: t(ok ? "selftest_remote_passed" : "selftest_remote_failed") }),
      h("p", { class: "small muted", text: checkSummary(r.checks) }), checklist(r.checks));
  } else {
    out.append(h("p", { class: c.ok ? "notice" : "error", text: t(c.ok ? "cmd_ok" : "cmd_failed") }));
  }
  if (r.error) out.append(h("p", {}, tx("cmd_reason", { detail: r.error })));
  if (c.ok && c.cmd === "identify" && r.blinking_s != null) {
    out.append(h("p", {}, tx("cmd_did_identify", { led: r.led ?? "LED", n: number(r.blinking_s) })));
  }
  if (c.ok && c.cmd === "set_interval" && r.interval_s != null) {
    out.append(h("p", {}, tx("cmd_did_interval", { n: number(r.interval_s), was: number(r.was_s) })));
  }
  return out;
}

function commandItem(c) {
  const checks = c.cmd === "selftest" && Array.isArray(c.result?.checks) ? c.result.checks : null;
  return h("li", { dataset: { commandId: c.id, outcome: outcome(c) } },
    h("div", { class: "row" }, h("strong", { class: "grow", text: describe(c) }), statusBadge(c)),
    h("p", { class: "small muted" },
      h("span", { class: "actor" }, tx("cmd_by", { who: c.issued_by })), " · ", time(c.issued_at),
      c.answered_at ? [" · ", t("answered_at", { time: time(c.answered_at) })] : null),
    c.result?.error ? h("p", { class: "small" }, tx("cmd_reason", { detail: c.result.error })) : null,
    checks ? h("details", {}, h("summary", { text: checkSummary(checks) }), checklist(checks)) : null);
}

/**
 * The commands card of a node page. Returns {el, update(node), cleanup()}: `update`
 * refreshes the warning about a node the hub has not heard from; the card keeps a
 * command in progress across reloads of the node.
 */
export function commandsCard(nodeId) {
  const base = `/api/v1/nodes/${encodeURIComponent(nodeId)}/commands`;
  let closed = false;
  let busy = false;
  let timer = null;

  const hint = h("p", { class: "small warn", id: "cmd-hint", hidden: true });
  const identify = h("button", { type: "button", class: "primary", id: "cmd-identify", text: t("cmd_identify"),
    onclick: () => send({ cmd: "identify", seconds: IDENTIFY_S }) });
  const selftest = h("button", { type: "button", id: "cmd-selftest", text: t("cmd_selftest"),
    onclick: () => send({ cmd: "selftest" }) });
  const input = h("input", { type: "number", id: "interval-s", name: "interval_s", min: INTERVAL_MIN,
    max: INTERVAL_MAX, step: 1, inputmode: "numeric", required: true, "aria-describedby": "interval-error" });
  const invalid = h("p", { class: "error", id: "interval-error", hidden: true, text: t("interval_invalid") });
  const setButton = h("button", { type: "submit", id: "cmd-set-interval", text: t("cmd_set_interval") });
  const form = h("form", { id: "interval-form", novalidate: true, onsubmit: (ev) => {
    ev.preventDefault();
    const value = intervalValue(input.value);
    invalid.hidden = value !== null;
    input.setAttribute("aria-invalid", String(value === null));
    if (value === null) return input.focus();
    send({ cmd: "set_interval", interval_s: value });
  } },
  h("label", { for: "interval-s", text: t("interval_label") }),
  h("div", { class: "row" }, input, setButton), invalid);
  const progress = h("div", { id: "cmd-progress", role: "status", "aria-live": "polite" });
  const list = h("ul", { class: "history", id: "cmd-list" });
  const el = h("section", { class: "card", id: "commands" },
    h("h2", { text: t("commands") }), hint,
    h("div", { class: "actions" }, identify, selftest), form, progress,
    h("h3", { text: t("recent_commands") }), list);

  const show = (...children) => clear(progress).append(...children);
  function setBusy(value) {
    busy = value;
    for (const b of [identify, selftest, setButton]) b.disabled = value;
  }
  const sleep = (ms) => new Promise((resolve) => { timer = setTimeout(resolve, ms); });

  async function loadList() {
    try {
      const r = await api(base, { query: { limit: RECENT } });
      if (closed) return;
      clear(list);
      if (!r.data.length) list.append(h("li", { class: "muted", text: t("no_commands") }));
      else list.append(...r.data.map(commandItem));
    } catch {
      // the list is a convenience; the command itself reports its own errors
    }
  }

  async function send(body) {
    if (busy) return;
    setBusy(true);
    show(h("p", { class: "muted", text: t("cmd_sending") }));
    let command;
    try {
      command = await api(base, { method: "POST", body });
    } catch (err) {
      if (closed) return;
      setBusy(false);
      show(commandError(err));
      loadList();
      return;
    }
    follow(command);
  }

  /** Poll until the node answers, or give up after WAIT_S (with a way to look again). */
  async function follow(command) {
    setBusy(true);
    loadList();
    const since = Date.now();
    let c = command;
    while (!closed && c.status === "sent") {
      const waited = Math.round((Date.now() - since) / 1000);
      if (waited >= WAIT_S) {
        setBusy(false);
        show(h("p", { class: "warn cmd-gave-up", text: t("cmd_gave_up", { n: WAIT_S }) }),
          h("div", { class: "actions" }, h("button", { type: "button", id: "cmd-look-again", text: t("cmd_look_again"),
            onclick: () => { if (!busy) follow(c); } })));
        loadList();
        return;
      }
      show(h("p", { class: "muted cmd-waiting", text: t("cmd_waiting", { n: number(waited) }) }));
      await sleep(POLL_MS);
      if (closed) return;
      try {
        c = await api(`${base}/${encodeURIComponent(c.id)}`);
      } catch {
        // a dropped poll on a poor network: the next one may get through
      }
    }
    if (closed) return;
    setBusy(false);
    show(answerView(c));
    loadList();
  }

  loadList();
  return {
    el,
    update(node) {
      const quiet = node.status !== "online";
      hint.hidden = !quiet;
      hint.textContent = quiet ? t("cmd_not_online", { status: label("count", node.status) }) : "";
    },
    cleanup() { closed = true; clearTimeout(timer); },
  };
}
