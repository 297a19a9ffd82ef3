// The dashboard: log in, learn who you are (/api/v1/me), show the pages of your role.
// Routes live in the URL hash (#/tickets/12), so the hub serves one page and the back
// button works.

import { api, auth, ApiError } from "./api.js";
import { $, clear, h } from "./dom.js";
import { language, setLanguage, t } from "./i18n.js";
import { Live } from "./live.js";
import { forget, keep, kept, startSending } from "./offline.js";
import { loginView } from "./views/login.js";

const config = JSON.parse($("#roshni-config").textContent);
const LANG_KEY = "roshni.lang";

// Which pages each role works with, in nav order; the first is its home page. A page is
// shown only if the user may use it (NEEDS, against /api/v1/me's permissions).
const PAGES = {
  committee: ["area", "spots", "repairs", "reports", "energy"],
  crew: ["tickets", "reports"],
  technician: ["fleet", "tickets", "area", "programs", "energy"],
  admin: ["fleet", "area", "spots", "repairs", "tickets", "reports", "programs", "energy", "admin"],
};
const NEEDS = {
  area: ["alerts:read", "nodes:read"],
  spots: ["spots:read"],
  repairs: ["tickets:read", "alerts:read"],
  tickets: ["tickets:read"],
  fleet: ["nodes:read"],
};

function pagesOf(me) {
  const may = new Set(me?.permissions || []);
  return (PAGES[me?.role] || []).filter((page) => (NEEDS[page] || []).every((p) => may.has(p)));
}

const ROUTES = [
  // [pattern, page module, nav item it belongs to]
  [/^area$/, () => import("./views/area.js"), "area"],
  [/^spots$/, () => import("./views/spots.js"), "spots"],
  [/^repairs$/, () => import("./views/repairs.js"), "repairs"],
  [/^tickets$/, () => import("./views/tickets.js"), "tickets"],
  [/^tickets\/(\d+)$/, () => import("./views/ticket.js"), "tickets"],
  [/^fleet$/, () => import("./views/fleet.js"), "fleet"],
  // admin: users, pending nodes, audit log (views/admin.js shows them as tabs)
  [/^admin$/, () => import("./views/admin.js"), "admin"],
  [/^admin\/(users|pending|audit)$/, () => import("./views/admin.js"), "admin"],
  [/^programs$/, () => import("./views/programs.js"), "programs"],
  [/^energy$/, () => import("./views/energy.js"), "energy"],
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
  // The badge was written in the language it started in ("Live" on an Urdu page).
  const badge = $("#live");
  if (!badge.hidden && badge.dataset.mode) live.show(badge.dataset.mode);
}

$("#lang").addEventListener("click", async () => {
  const next = language() === "ur" ? "en" : "ur";
  localStorage.setItem(LANG_KEY, next);
  if (ctx.me) {
    ctx.me = { ...ctx.me, language: next };
    // Kept here too: the copy a reload opens with must not differ from what the hub then
    // says, or the page is drawn a second time (see refreshMe).
    keep("me", { me: ctx.me, token: auth.token });
    // Kept on the hub, so the user gets it on any phone; if that fails, this page still switches.
    api("/api/v1/me", { method: "PATCH", body: { language: next } })
      .then((me) => { ctx.me = me; keep("me", { me, token: auth.token }); })
      .catch(() => {});
  }
  chooseLanguage();
  route();
});

$("#logout").addEventListener("click", () => {
  auth.token = null;
  forget();
  // notes typed and not sent stay with the user who typed them (views/ticket.js)
  for (const key of Object.keys(sessionStorage)) {
    if (key.startsWith("roshni:draft:")) sessionStorage.removeItem(key);
  }
  ctx.me = null;
  live.stop();
  location.hash = "#/login";
});

function renderNav(active) {
  const nav = clear($("#nav"));
  $("#logout").hidden = !ctx.me;
  if (!ctx.me) return;
  for (const page of pagesOf(ctx.me)) {
    nav.append(h("a", {
      href: `#/${page}`, class: page === active ? "active" : null,
      "aria-current": page === active ? "page" : null, text: t(`nav_${page}`),
    }));
  }
}

async function loadMe() {
  const before = await kept("me"); // {me, token}: who was logged in here, with which token
  if (before?.me && before.token === auth.token) {
    // Known already: the page opens at once (and without a network); the hub is asked
    // meanwhile, and the page follows if anything changed (a role, a language).
    ctx.me = before.me;
    refreshMe();
  } else {
    const fresh = auth.loggedIn;
    auth.loggedIn = null;
    try {
      ctx.me = fresh?.token === auth.token ? fresh.me : await api("/api/v1/me");
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) return null;
      throw err;
    }
    // another user on this phone: nothing of the last one's is shown to them
    if (before?.me && before.me.id !== ctx.me.id) await forget();
    await keep("me", { me: ctx.me, token: auth.token });
  }
  chooseLanguage();
  live.start();
  if (ctx.me.permissions?.includes("tickets:write")) startSending();
  return ctx.me;
}

function refreshMe() {
  api("/api/v1/me").then((me) => {
    keep("me", { me, token: auth.token });
    const changed = JSON.stringify(me) !== JSON.stringify(ctx.me);
    ctx.me = me;
    if (changed) {
      chooseLanguage();
      route();
    }
  }).catch(() => {}); // 401: api() sends to the login; no network: the kept one stands
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
    // While the user types, fetch the home pages' code (small; a slow link then needs
    // only the data after signing in). Not the map's library: only a map page loads it.
    const homes = new Set(Object.values(PAGES).map((pages) => pages[0]));
    for (const [re, load] of ROUTES) if (homes.has(re.source.slice(1, -1))) load().catch(() => {});
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
  const pages = pagesOf(ctx.me);
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

// The app shell kept on the phone (sw.js): opens without a network, installable. After
// the page has loaded, so it never competes with the first paint on a slow link.
if ("serviceWorker" in navigator) {
  // A new release's worker took over from the one that served this page: load the new
  // page once, so its files (not a mix of two releases) run.
  if (navigator.serviceWorker.controller) {
    navigator.serviceWorker.addEventListener("controllerchange", () => location.reload(), { once: true });
  }
  window.addEventListener("load", () => {
    navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch((err) => console.warn("service worker", err));
  });
}
