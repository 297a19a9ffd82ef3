import { ApiError, login } from "../api.js";
import { h } from "../dom.js";
import { t } from "../i18n.js";

export function loginView(root, ctx) {
  const user = h("input", { id: "username", name: "username", autocomplete: "username", required: true, autocapitalize: "none", spellcheck: "false" });
  const pass = h("input", { id: "password", name: "password", type: "password", autocomplete: "current-password", required: true });
  const msg = h("p", { class: "error", role: "alert", hidden: true });
  const button = h("button", { type: "submit", class: "primary big", text: t("sign_in") });
  const form = h("form", { class: "login card", onsubmit: async (ev) => {
    ev.preventDefault();
    msg.hidden = true;
    button.disabled = true;
    try {
      await login(user.value.trim(), pass.value);
      ctx.onLogin();
    } catch (err) {
      msg.textContent = err instanceof ApiError
        ? (err.status === 429 ? t("login_limited") : err.status < 500 ? t("login_failed") : t("error", { detail: err.message }))
        : t("offline");
      msg.hidden = false;
    } finally {
      button.disabled = false;
    }
  } },
  h("h1", { text: t("login_title") }),
  h("label", { for: "username", text: t("username") }), user,
  h("label", { for: "password", text: t("password") }), pass,
  msg, button);
  root.append(form);
  user.focus();
  return {};
}
