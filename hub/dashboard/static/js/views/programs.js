// Technicians and admins: lighting programs (DESIGN.md §11). The list of programs at
// their newest version, a form that saves a new version (or a new program), assignments
// to a district, an area or a single node (the most specific wins), and how many nodes
// still run an older program than the one they were sent.

import { api } from "../api.js";
import { clear, h } from "../dom.js";
import { label, number, t, time } from "../i18n.js";
import { loading } from "./common.js";
import { commandError } from "./commands.js";
import { OVERRIDE_HOURS } from "./control.js";
import { showError } from "../app.js";

const STEP_RE = /^((?:sunset|sunrise)(?:[+-]\d{1,3})?|\d{2}:\d{2})\s+(\d{1,3})\s*%?$/;

/** "sunset 100\n23:00 30\nsunrise 0" -> [{at, level}], or null if a line is not a step. */
export function parseSteps(text) {
  const steps = [];
  for (const line of String(text).split(/[\n,;]+/).map((l) => l.trim()).filter(Boolean)) {
    const m = line.match(STEP_RE);
    if (!m || Number(m[2]) > 100) return null;
    steps.push({ at: m[1], level: Number(m[2]) });
  }
  return steps.length ? steps : null;
}

export function stepsText(steps) {
  return steps.map((s) => `${s.at} ${s.level}`).join(", ");
}

export function render(root, ctx) {
  const summary = h("div", { class: "counts", id: "control-counts" });
  const list = h("div", { class: "scroll", id: "programs" });
  const behind = h("div", { class: "scroll", id: "outdated" });
  const assigned = h("div", { class: "scroll", id: "assignments" });
  const saveResult = h("div", { role: "status", "aria-live": "polite" });
  const assignResult = h("div", { role: "status", "aria-live": "polite" });
  let closed = false;

  const name = h("input", { id: "program-name", name: "name", required: true, dir: "ltr", pattern: "[a-z0-9][a-z0-9-]{0,63}",
    autocomplete: "off", placeholder: "part-night" });
  const steps = h("textarea", { id: "program-steps", name: "steps", rows: 3, required: true, dir: "ltr",
    placeholder: "sunset 100\n23:00 30\nsunrise 0" });
  const minLevel = h("input", { type: "number", id: "program-min", name: "min_level", min: 0, max: 100, value: 0 });
  const saveForm = h("form", { id: "program-form", class: "card", onsubmit: (ev) => { ev.preventDefault(); save(); } },
    h("h2", { text: t("programs_new") }),
    h("label", { for: "program-name", text: t("programs_name") }), name,
    h("label", { for: "program-steps", text: t("programs_steps") }), steps,
    h("p", { class: "small muted", text: t("programs_steps_hint") }),
    h("label", { for: "program-min", text: t("control_min_level") }), minLevel,
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary", id: "program-save", text: t("programs_save") })),
    saveResult);

  const scope = h("select", { id: "assign-scope", name: "scope" },
    ["area", "district", "node"].map((s) => h("option", { value: s, text: t(`programs_scope_${s}`) })));
  const target = h("input", { id: "assign-target", name: "target", required: true, autocomplete: "off",
    placeholder: "Korangi 5" });
  const program = h("select", { id: "assign-program", name: "program" });
  const assignForm = h("form", { id: "assign-form", class: "card", onsubmit: (ev) => { ev.preventDefault(); assign(); } },
    h("h2", { text: t("programs_assign") }),
    h("label", { for: "assign-scope", text: t("programs_scope") }), scope,
    h("label", { for: "assign-target", text: t("programs_target") }), target,
    h("label", { for: "assign-program", text: t("programs_program") }), program,
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary", id: "assign-send", text: t("programs_assign_send") })),
    assignResult);

  // "Full light on this street for 2 hours, for the procession": every node of an area.
  const streetResult = h("div", { role: "status", "aria-live": "polite" });
  const street = h("input", { id: "street-area", name: "area", required: true, autocomplete: "off", placeholder: "Korangi 5" });
  const streetLevel = h("input", { type: "number", id: "street-level", name: "level", min: 0, max: 100, value: 100, required: true });
  const streetHours = h("select", { id: "street-hours", name: "hours" },
    OVERRIDE_HOURS.map((n) => h("option", { value: n, selected: n === 2, text: t("control_hours", { n: number(n) }) })));
  const streetForm = h("form", { id: "street-form", class: "card", onsubmit: (ev) => { ev.preventDefault(); overrideStreet(); } },
    h("h2", { text: t("programs_street") }),
    h("label", { for: "street-area", text: t("programs_scope_area") }), street,
    h("div", { class: "row" },
      h("label", { for: "street-level", text: t("control_level") }), streetLevel,
      h("label", { for: "street-hours", text: t("control_for") }), streetHours),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary", id: "street-send", text: t("control_override_send") })),
    streetResult);

  root.append(h("h1", { text: t("programs_title") }), summary, behind,
    h("h2", { text: t("programs_list") }), list, saveForm,
    h("h2", { text: t("programs_assignments") }), assigned, assignForm, streetForm);

  async function overrideStreet() {
    const level = Number(streetLevel.value);
    if (!Number.isInteger(level) || level < 0 || level > 100) {
      clear(streetResult).append(h("p", { class: "error", role: "alert", text: t("control_level_invalid") }));
      return streetLevel.focus();
    }
    try {
      const r = await api("/api/v1/overrides", { method: "POST",
        body: { area: street.value.trim(), level, minutes: Number(streetHours.value) * 60 } });
      if (closed) return;
      const sent = r.data.filter((o) => o.sent).length;
      clear(streetResult).append(h("p", { class: "notice", id: "street-done",
        text: t("programs_street_done", { sent: number(sent), all: number(r.count) }) }));
      load();
    } catch (err) {
      clear(streetResult).append(commandError(err));
    }
  }

  async function save() {
    const parsed = parseSteps(steps.value);
    if (!parsed) {
      clear(saveResult).append(h("p", { class: "error", role: "alert", text: t("programs_steps_invalid") }));
      return steps.focus();
    }
    try {
      const p = await api("/api/v1/programs", { method: "POST",
        body: { name: name.value.trim(), program: { steps: parsed, min_level: Number(minLevel.value) || 0 } } });
      if (closed) return;
      clear(saveResult).append(h("p", { class: "notice", id: "program-saved", text: t("programs_saved", { name: p.name, version: p.version }) }));
      load();
    } catch (err) {
      clear(saveResult).append(commandError(err));
    }
  }

  async function assign() {
    try {
      await api("/api/v1/program-assignments", { method: "PUT",
        body: { scope: scope.value, target: target.value.trim(), program: program.value || null } });
      if (closed) return;
      clear(assignResult).append(h("p", { class: "notice", id: "assign-done", text: t("programs_assigned") }));
      load();
    } catch (err) {
      clear(assignResult).append(commandError(err));
    }
  }

  async function load() {
    const busy = loading(list);
    try {
      const [programs, assignments, counts, outdated] = await Promise.all([
        api("/api/v1/programs"), api("/api/v1/program-assignments"), api("/api/v1/control/summary"),
        api("/api/v1/control/nodes", { query: { outdated: true, limit: 50 } })]);
      if (closed) return;
      busy.remove();
      clear(summary);
      for (const [key, value, bad] of [["control_count_configured", counts.configured],
        ["control_count_outdated", counts.outdated, counts.outdated > 0],
        ["control_count_overrides", counts.overrides]]) {
        summary.append(h("div", { class: ["card", "count", bad && "bad"], dataset: { count: key } },
          h("b", { text: number(value) }), h("span", { text: t(key) })));
      }
      // Which nodes run an older program than the one they were sent (the first 50).
      const wasOpen = behind.querySelector("details")?.open; // a reload keeps it open
      clear(behind);
      if (outdated.data.length) behind.append(h("details", { open: wasOpen },
        h("summary", { text: t("control_count_outdated") }),
        h("ul", { class: "history" }, outdated.data.map((n) => h("li", { dataset: { node: n.node } },
          h("a", { class: "mono", href: `#/nodes/${encodeURIComponent(n.node)}`, text: n.node }), " · ",
          h("bdi", { text: n.area }), " · ",
          t("control_sent_vs_run", { sent: n.version, run: n.acked_version ?? "–" }))))));
      clear(list).append(programs.data.length ? h("table", {},
        h("thead", {}, h("tr", {}, [t("programs_name"), t("programs_version"), t("programs_steps"), t("programs_assigned_n")]
          .map((c) => h("th", { scope: "col", text: c })))),
        h("tbody", {}, programs.data.map((p) => h("tr", { dataset: { program: p.name } },
          h("td", { class: "mono", text: p.name }), h("td", { text: `v${p.version}` }),
          h("td", { dir: "ltr", text: stepsText(p.program.steps) }), h("td", { text: number(p.assigned) })))))
        : h("p", { class: "muted", text: t("programs_none") }));
      const chosen = program.value;
      clear(program).append(h("option", { value: "", text: t("programs_none_assigned") }),
        ...programs.data.map((p) => h("option", { value: p.name, selected: p.name === chosen, text: p.name })));
      clear(assigned).append(assignments.data.length ? h("table", {},
        h("thead", {}, h("tr", {}, [t("programs_scope"), t("programs_target"), t("programs_program"), t("programs_by")]
          .map((c) => h("th", { scope: "col", text: c })))),
        h("tbody", {}, assignments.data.map((a) => h("tr", { dataset: { scope: a.scope, target: a.target } },
          h("td", { text: t(`programs_scope_${a.scope}`) }),
          h("td", { text: a.scope === "district" ? label("district", a.target) : a.target }),
          h("td", { class: "mono", text: a.program }),
          h("td", { class: "small", text: `${a.assigned_by} · ${time(a.assigned_at)}` })))))
        : h("p", { class: "muted", text: t("programs_no_assignments") }));
    } catch (err) {
      busy.remove();
      showError(list, err);
    }
  }

  const unsubscribe = ctx.live.subscribe(({ type }) => { if (type === "refresh") load(); });
  load();
  return { cleanup() { closed = true; unsubscribe(); } };
}
