// A lamp's control on its own page: the program it was sent and whether it runs it
// ("older program" until the node acknowledges), the safety floor, the override running,
// and for technicians and admins an override form (level, duration) and "back to program".

import { api } from "../api.js";
import { clear, h } from "../dom.js";
import { number, t, time, tx } from "../i18n.js";
import { commandError } from "./commands.js";

export const OVERRIDE_HOURS = [1, 2, 4, 8];

/** {el, load()}: the control card of node `nodeId`. */
export function controlCard(nodeId, { mayCommand }) {
  const base = `/api/v1/nodes/${encodeURIComponent(nodeId)}`;
  const facts = h("div", { id: "control-facts" });
  const result = h("div", { id: "override-result", role: "status", "aria-live": "polite" });
  const el = h("section", { class: "card", id: "control" }, h("h2", { text: t("control_title") }), facts);
  let closed = false;

  if (mayCommand) {
    const level = h("input", { type: "number", id: "override-level", name: "level", min: 0, max: 100,
      step: 1, value: 100, inputmode: "numeric", required: true });
    const hours = h("select", { id: "override-hours", name: "hours" },
      OVERRIDE_HOURS.map((n) => h("option", { value: n, selected: n === 2, text: t("control_hours", { n: number(n) }) })));
    const go = h("button", { type: "submit", class: "primary", id: "override-send", text: t("control_override_send") });
    const resume = h("button", { type: "button", id: "override-resume", text: t("control_resume"),
      onclick: () => send({ cmd: "resume" }) });
    const form = h("form", { id: "override-form", onsubmit: (ev) => {
      ev.preventDefault();
      const v = Number(level.value);
      if (!Number.isInteger(v) || v < 0 || v > 100) {
        clear(result).append(h("p", { class: "error", role: "alert", text: t("control_level_invalid") }));
        return level.focus();
      }
      send({ cmd: "override", level: v, minutes: Number(hours.value) * 60 });
    } },
    h("h3", { text: t("control_override") }),
    h("div", { class: "row" },
      h("label", { for: "override-level", text: t("control_level") }), level,
      h("label", { for: "override-hours", text: t("control_for") }), hours),
    h("div", { class: "actions" }, go, resume));
    el.append(form, result);

    async function send(body) {
      go.disabled = resume.disabled = true;
      clear(result).append(h("p", { class: "muted", text: t("cmd_sending") }));
      try {
        await api(`${base}/commands`, { method: "POST", body });
        if (closed) return;
        clear(result).append(h("p", { class: "notice", text: t(body.cmd === "resume" ? "control_resumed" : "control_override_sent") }));
        load();
      } catch (err) {
        if (closed) return;
        clear(result).append(commandError(err));
      } finally {
        go.disabled = resume.disabled = false;
      }
    }
  }

  async function load() {
    try {
      const c = await api(`${base}/control`);
      if (closed) return;
      draw(c);
    } catch {
      // the rest of the page still shows; the card stays as it was
    }
  }

  function draw(c) {
    const rows = [
      [t("control_program"), c.program ? `${c.program} v${c.program_version}` : t("control_default")],
      [t("control_config"), c.version ? `#${c.version}` : "–"],
      [t("control_min_level"), c.content ? `${number(c.content.min_level)} %` : "–"],
    ];
    // (DOM append would show a null as the text "null")
    clear(facts).append(...[
      h("dl", { class: "kv" }, rows.map(([k, v]) => [h("dt", { text: k }), h("dd", { text: v })])),
      c.outdated ? h("p", { class: "warn", id: "control-outdated", text: t("control_outdated") }) : null,
      c.version && !c.outdated ? h("p", { class: "small muted", id: "control-current", text: t("control_current") }) : null,
      c.floor ? h("p", { class: "small", id: "control-floor", text: t("control_floor") }) : null,
      c.rejected_version === c.version && c.version ? h("p", { class: "error", text: t("control_rejected", { reason: c.rejected_reason || "" }) }) : null,
      c.override ? h("p", { class: "notice", id: "control-override" },
        tx("control_override_running", { level: number(c.override.level), until: time(c.override.until), who: c.override.issued_by })) : null,
    ].filter(Boolean));
  }

  load();
  return { el, load, cleanup() { closed = true; } };
}
