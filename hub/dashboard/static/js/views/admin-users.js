// Admin: the people who use the hub. A table (name, role, scope, language, disabled), a
// form to add someone, and for each person: change role/scope/language, reset the
// password (their sessions end), disable or enable. The hub checks every change (a crew
// has one district, a committee its areas); its refusal is shown as it says it.

import { all, api } from "../api.js";
import { clear, h } from "../dom.js";
import { label, t } from "../i18n.js";
import { loading } from "./common.js";
import { DISTRICTS, field, messageLine, problem } from "./admin.js";

const ROLES = ["crew", "committee", "technician", "admin"];
const LANGS = { en: "English", ur: "اردو" };

function select(options, value) {
  return h("select", {}, options.map(([v, text]) =>
    h("option", { value: v, selected: v === value ? true : null, text })));
}

function areasOf(text) {
  return text.split(/[,،\n]/).map((a) => a.trim()).filter(Boolean);
}

/** Role, district and areas fields, the district and areas shown as the role needs them. */
function scopeFields(prefix, user = {}) {
  const role = select(ROLES.map((r) => [r, t(`role_${r}`)]), user.role || "crew");
  const district = select([["", "—"], ...DISTRICTS.map((d) => [d, label("district", d)])], user.district || "");
  const areas = h("input", { autocomplete: "off", value: (user.areas || []).join(", "), dir: "auto" });
  const districtBox = h("div", {}, field(`${prefix}-district`, t("district"), district));
  const areasBox = h("div", {}, field(`${prefix}-areas`, t("admin_areas"), areas),
    h("p", { class: "small muted", text: t("admin_areas_hint") }));
  const show = () => {
    districtBox.hidden = !["crew", "committee"].includes(role.value);
    areasBox.hidden = role.value !== "committee";
  };
  role.addEventListener("change", show);
  show();
  return {
    els: [field(`${prefix}-role`, t("admin_role"), role), districtBox, areasBox],
    value() {
      const r = role.value;
      return {
        role: r,
        district: ["crew", "committee"].includes(r) && district.value ? district.value : null,
        areas: r === "committee" ? areasOf(areas.value) : [],
      };
    },
  };
}

function scopeText(user) {
  if (user.role === "crew") return label("district", user.district);
  if (user.role === "committee") return user.areas.join(", ");
  return t("admin_everywhere");
}

function userRow(user, onEdit) {
  return h("tr", { dataset: { user: user.name }, class: user.disabled ? "disabled-user" : null },
    h("td", { class: "lead" }, h("bdi", { class: "user-name", text: user.name })),
    h("td", { text: t(`role_${user.role}`) }),
    h("td", { class: "scope" }, h("bdi", { text: scopeText(user) })),
    h("td", { text: LANGS[user.language] || user.language }),
    h("td", {}, user.disabled
      ? h("span", { class: "badge check-fail", text: t("admin_disabled") })
      : h("span", { class: "badge check-pass", text: t("admin_active") })),
    h("td", { class: "end" }, h("button", { type: "button", class: "edit", text: t("admin_edit"), onclick: () => onEdit(user) })));
}

function addForm(onAdded) {
  const name = h("input", { autocomplete: "off", autocapitalize: "none", spellcheck: "false", required: true });
  const scope = scopeFields("new");
  const lang = select(Object.entries(LANGS), "en");
  const password = h("input", { type: "password", autocomplete: "new-password", required: true, minlength: 8 });
  const msg = messageLine("add-user-msg");
  const button = h("button", { type: "submit", class: "primary", text: t("admin_add") });
  const form = h("form", { id: "add-user", onsubmit: async (ev) => {
    ev.preventDefault();
    msg.clear();
    button.disabled = true;
    try {
      const user = await api("/api/v1/users", { method: "POST", body: {
        name: name.value.trim(), ...scope.value(), language: lang.value, password: password.value } });
      form.reset();
      msg.ok([t("admin_added"), " ", h("bdi", { text: user.name })]);
      onAdded();
    } catch (err) {
      msg.fail(err);
    } finally {
      button.disabled = false;
    }
  } },
  field("new-name", t("username"), name), scope.els, field("new-language", t("admin_language"), lang),
  field("new-password", t("password"), password), h("div", { class: "actions" }, button), msg.el);
  return h("details", { class: "card", id: "add-user-box" }, h("summary", { text: t("admin_add_user") }), form);
}

function editor(user, me, onChanged) {
  const box = h("section", { class: "card", id: "edit-user", dataset: { user: user.name } },
    h("h2", {}, t("admin_change"), " ", h("bdi", { text: user.name })));
  const msg = messageLine("edit-user-msg");

  async function patch(body, done, button) {
    msg.clear();
    button.disabled = true;
    try {
      const after = await api(`/api/v1/users/${user.id}`, { method: "PATCH", body });
      msg.ok([done, " ", h("bdi", { text: after.name })]);
      onChanged(after);
    } catch (err) {
      msg.fail(err);
    } finally {
      button.disabled = false;
    }
  }

  const scope = scopeFields("edit", user);
  const lang = select(Object.entries(LANGS), user.language);
  const save = h("button", { type: "submit", class: "primary", text: t("admin_save_scope") });
  box.append(h("form", { id: "scope-form", onsubmit: (ev) => {
    ev.preventDefault();
    patch({ ...scope.value(), language: lang.value }, t("admin_saved"), save);
  } }, scope.els, field("edit-language", t("admin_language"), lang), h("div", { class: "actions" }, save)));

  const password = h("input", { type: "password", autocomplete: "new-password", required: true, minlength: 8 });
  const reset = h("button", { type: "submit", text: t("admin_reset_password") });
  box.append(h("form", { id: "password-form", onsubmit: (ev) => {
    ev.preventDefault();
    patch({ password: password.value }, t("admin_password_set"), reset);
  } }, field("edit-password", t("admin_new_password"), password),
  h("p", { class: "small muted", text: t("admin_password_hint") }), h("div", { class: "actions" }, reset)));

  if (user.id !== me.id) {
    const toggle = h("button", { type: "button", id: "toggle-disabled", class: user.disabled ? "primary" : "danger",
      text: t(user.disabled ? "admin_enable" : "admin_disable"),
      onclick: () => patch({ disabled: !user.disabled },
        t(user.disabled ? "admin_enabled_done" : "admin_disabled_done"), toggle) });
    box.append(h("div", { class: "actions" }, toggle));
  }
  box.append(msg.el);
  return box;
}

export function render(root, ctx) {
  const table = h("div", { class: "scroll", id: "users" });
  const editBox = h("div");
  root.append(addForm(() => load()), table, editBox);
  let closed = false;
  let editing = null; // the user id whose editor is open

  function edit(user) {
    editing = user.id;
    clear(editBox).append(editor(user, ctx.me, (after) => { editing = after.id; load(after); }));
    editBox.scrollIntoView({ block: "start" });
  }

  async function load(changed) {
    const busy = loading(table);
    try {
      const users = await all("/api/v1/users", {}, 1000);
      if (closed) return;
      clear(table).append(h("table", { class: "stack" },
        h("thead", {}, h("tr", {}, [t("username"), t("admin_role"), t("admin_scope"), t("admin_language"),
          t("status"), ""].map((c) => h("th", { scope: "col", text: c })))),
        h("tbody", {}, users.map((u) => userRow(u, edit)))));
      // the editor shows the user as they are now, keeping its message
      if (changed && editing === changed.id) {
        const msg = editBox.querySelector("#edit-user-msg");
        clear(editBox).append(editor(changed, ctx.me, (after) => load(after)));
        if (msg) editBox.querySelector("#edit-user-msg").replaceWith(msg);
      }
    } catch (err) {
      busy.remove();
      table.append(h("p", { class: "error", role: "alert" }, problem(err)));
    }
  }

  load();
  return { cleanup() { closed = true; } };
}
