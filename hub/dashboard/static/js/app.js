// The dashboard: log in, learn who you are (/api/v1/me), show the pages of your role.
// Routes live in the URL hash (#/tickets/12), so the hub serves one page and the back
// button works.

import { api, auth, ApiError } from "./api.js";
import { $, clear, h } from "./dom.js";
import { language, setLanguage, t } from "./i18n.js";
import { Live } from "./live.js";
import { loginView } from "./views/login.js";

const config = JSON.parse($("#roshni-config").textContent);
const LANG_KEY = "roshni.lang";

// Which pages each role has, in nav order; the first is its home page.
const PAGES = {
  committee: ["area", "spots", "repairs", "reports"],
  crew: ["tickets", "reports"],
  technician: ["fleet", "tickets", "area"],
  admin: ["fleet", "area", "spots", "repairs", "tickets", "reports"],
};

const ROUTES = [
  // [pattern, page module, nav item it belongs to]
  [/^area$/, () => import("./views/area.js"), "area"],
  [/^spots$/, () => import("./views/spots.js"), "spots"],
  [/^repairs$/, () => import("./views/repairs.js"), "repairs"],
  [/^tickets$/, () => import("./views/tickets.js"), "tickets"],
  [/^tickets\/(\d+)$/, () => import("./views/ticket.js"), "tickets"],
  [/^fleet$/, () => import("./views/fleet.js"), "fleet"],
  [/^reports$/, () => import("./views/reports.js"), "reports"],
  // A lamp's own page is open to every role (the API shows it within their scope).
  [/^nodes\/([a-z0-9][a-z0-9-]{2,62})$/, () => import("./views/node.js"), "fleet", true],
];

const main = $("#main");
const live = new Live($("#live"));
const ctx = { me: null, config, live, refresh: () => {} };
let current = null; // {cleanup}
let generation = 0;

auth.onExpired = () => {
  ctx.me = null;
  live.stop();
  if (!location.hash.startsWith("#/login")) location.hash = "#/login";
};

// A user's language is theirs (/api/v1/me), wherever they log in; before logging in, the
// page speaks the language last chosen on this device, else the browser's.
function chooseLanguage() {
  const lang = ctx.me?.language || localStorage.getItem(LANG_KEY) || navigator.language?.slice(0, 2) || "en";
  setLanguage(lang, config.timezone);
  $("#lang").textContent = t("other_language");
  $("#lang").setAttribute("lang", language() === "ur" ? "en" : "ur");
}

$("#lang").addEventListener("click", async () => {
  const next = language() === "ur" ? "en" : "ur";
  localStorage.setItem(LANG_KEY, next);
  if (ctx.me) {
    ctx.me = { ...ctx.me, language: next };
    // Kept on the hub, so the user gets it on any phone; if that fails, this page still switches.
    api("/api/v1/me", { method: "PATCH", body: { language: next } })
      .then((me) => { ctx.me = me; })
      .catch(() => {});
  }
  chooseLanguage();
  route();
});

$("#logout").addEventListener("click", () => {
  auth.token = null;
  ctx.me = null;
  live.stop();
  location.hash = "#/login";
});

function renderNav(active) {
  const nav = clear($("#nav"));
  $("#logout").hidden = !ctx.me;
  if (!ctx.me) return;
  for (const page of PAGES[ctx.me.role] || []) {
    nav.append(h("a", {
      href: `#/${page}`, class: page === active ? "active" : null,
      "aria-current": page === active ? "page" : null, text: t(`nav_${page}`),
    }));
  }
}

async function loadMe() {
  try {
    ctx.me = await api("/api/v1/me");
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return null;
    throw err;
  }
  chooseLanguage();
  live.start();
  return ctx.me;
}

export function showError(root, err) {
  const msg = err instanceof ApiError
    ? (err.status === 404 ? t("not_found") : t("error", { detail: err.message }))
    : (navigator.onLine === false || err instanceof TypeError ? t("offline") : t("error", { detail: String(err) }));
  root.append(h("p", { class: "error", role: "alert", text: msg }));
}

async function route() {
  const mine = ++generation;
  if (current?.cleanup) current.cleanup();
  current = null;
  ctx.refresh = () => {};
  const path = location.hash.replace(/^#\/?/, "");
  if (path === "login" || !auth.token) {
    ctx.me = null;
    live.stop();
    renderNav(null);
    clear(main);
    current = loginView(main, { ...ctx, onLogin: () => { location.hash = "#/"; } });
    return;
  }
  if (!ctx.me) {
    clear(main).append(h("p", { class: "muted", text: t("loading") }));
    try {
      if (!(await loadMe())) return auth.onExpired();
    } catch (err) {
      clear(main);
      showError(main, err);
      main.append(h("button", { type: "button", onclick: route, text: t("retry") }));
      return;
    }
    if (mine !== generation) return;
  }
  const pages = PAGES[ctx.me.role] || [];
  const match = ROUTES.map(([re, load, nav, open]) => [path.match(re), load, nav, open])
    .find(([m]) => m);
  if (!match || !(match[3] || pages.includes(match[2]))) {
    location.replace(`#/${pages[0] || "login"}`);
    return;
  }
  const [m, load, nav] = match;
  renderNav(nav);
  const view = await load();
  if (mine !== generation) return;
  clear(main);
  const page = h("section", { class: `page page-${nav}` });
  main.append(page);
  current = view.render(page, ctx, ...m.slice(1).map(decodeURIComponent)) || {};
}

chooseLanguage();
window.addEventListener("hashchange", route);
route();
