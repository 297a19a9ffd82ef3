// The service worker: keeps the app shell (the page, its scripts, styles and icons of this
// version) so that the dashboard opens with no network at all. pages.py serves this file
// at /sw.js with this version's hash and file list filled in.
//
// Only the shell goes through here. Data stays the page's business (js/offline.js keeps
// the crew's queue and tickets in IndexedDB, and its outbox of updates made offline), so
// nothing one user may see is kept in a cache another could be served from.

const VERSION = "{{VERSION}}";
const SHELL = "{{SHELL}}";
const CACHE = `roshni-shell-${VERSION}`;

self.addEventListener("install", (event) => {
  // The files are in the browser's HTTP cache already (the page just loaded them, for a
  // year, immutable), so this costs a slow network little more than the page itself.
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith("roshni-shell-") && name !== CACHE) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate" && url.pathname === "/") {
    const { answer, update } = page(request);
    event.respondWith(answer);
    event.waitUntil(update); // the fetch for next time finishes after the answer went
  } else if (url.pathname.startsWith("/static/")) {
    event.respondWith(asset(request));
  }
  // everything else (the API, the live stream) goes to the network as usual
});

// The page: the one kept, at once (a slow network costs seconds per request), fetched
// meanwhile for next time (a new release's page names its files, and its worker); from
// the network when none is kept yet.
function page(request) {
  const update = caches.open(CACHE).then(async (cache) => {
    const fresh = await fetch(request);
    if (fresh.ok) await cache.put("/", fresh.clone());
    return fresh;
  });
  const answer = caches.open(CACHE).then((cache) => cache.match("/")).then((kept) => kept || update);
  return { answer, update: update.catch(() => {}) }; // no network: the kept page is all there is
}

// A versioned file never changes: the kept copy if there is one, else fetched and kept
// (the map's library, the first time a map is shown).
async function asset(request) {
  const cache = await caches.open(CACHE);
  const kept = await cache.match(request);
  if (kept) return kept;
  const fresh = await fetch(request);
  if (fresh.ok && new URL(request.url).pathname.startsWith(`/static/${VERSION}/`)) {
    await cache.put(request, fresh.clone());
  }
  return fresh;
}
