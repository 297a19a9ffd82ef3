// A crew works where the network comes and goes. This keeps, in IndexedDB on the phone:
//   - what was last loaded (who I am, the queue, each ticket and its lamp), so the pages
//     open without a network and say they show what was loaded;
//   - the outbox: ticket updates made without a network, sent when it returns — in the
//     order they were made, each with the time the crew acted and a key the hub uses to
//     apply it once however often it is sent. An update the ticket can no longer take
//     (the sensor verified it meanwhile) stays here as a conflict, with the crew's note,
//     until they have seen it.

import { api, ApiError, auth } from "./api.js";

const DB_NAME = "roshni";
const OUTBOX = "outbox"; // {seq, key, user, ticket, status, note, public_note, acted_at, photos: [{key, blob}], state, detail, current}
const KEPT = "kept"; // what was last loaded: "me", "tickets", "ticket:<id>"
const RETRY_S = 30;

let dbPromise = null;
function db() {
  if (!dbPromise) {
    dbPromise = new Promise((resolve, reject) => {
      const req = indexedDB.open(DB_NAME, 1);
      req.onupgradeneeded = () => {
        req.result.createObjectStore(OUTBOX, { keyPath: "seq", autoIncrement: true });
        req.result.createObjectStore(KEPT);
      };
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
  }
  return dbPromise;
}

async function tx(store, mode, work) {
  const d = await db();
  return new Promise((resolve, reject) => {
    const t = d.transaction(store, mode);
    const out = work(t.objectStore(store));
    t.oncomplete = () => resolve(out?.result);
    t.onerror = () => reject(t.error);
    t.onabort = () => reject(t.error);
  });
}

// --- what was last loaded ---

export function keep(key, value) {
  return tx(KEPT, "readwrite", (s) => s.put(value, key)).catch(() => {});
}

export function kept(key) {
  return tx(KEPT, "readonly", (s) => s.get(key)).catch(() => undefined);
}

/** Forget what this user loaded (logging out); their unsent updates stay. */
export function forget() {
  return tx(KEPT, "readwrite", (s) => s.clear()).catch(() => {});
}

/** A failed request that means "no network", not "the hub said no". */
export function isNetworkError(err) {
  return !(err instanceof ApiError) && (err instanceof TypeError || navigator.onLine === false);
}

/** api() when there is a network; what was kept under `key` when there is none. The
 * answer says which: {data, stale}. */
export async function loadKept(key, load) {
  try {
    const data = await load();
    keep(key, data);
    return { data, stale: false };
  } catch (err) {
    if (!isNetworkError(err)) throw err;
    const data = await kept(key);
    if (data === undefined) throw err;
    return { data, stale: true };
  }
}

// --- the outbox ---

const listeners = new Set();
/** listener({type: "queued"|"sent"|"conflict"|"refused", entry, ticket}) */
export function onOutbox(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}
function emit(event) {
  for (const l of [...listeners]) {
    try { l(event); } catch (err) { console.error(err); }
  }
}

export async function outbox() {
  const all = await tx(OUTBOX, "readonly", (s) => s.getAll()).catch(() => []);
  return all.sort((a, b) => a.seq - b.seq);
}

export function newKey() {
  return crypto.randomUUID ? crypto.randomUUID()
    : Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Keep an update that could not be sent; it goes when the network returns. */
export async function queue(update) {
  const entry = { ...update, state: "pending" };
  entry.seq = await tx(OUTBOX, "readwrite", (s) => s.add(entry));
  emit({ type: "queued", entry });
  return entry;
}

/** The crew has seen a conflict or refusal: let it go. */
export async function dismiss(seq) {
  await tx(OUTBOX, "readwrite", (s) => s.delete(seq));
  emit({ type: "dismissed" });
}

/** The body of PATCH /api/v1/tickets/<id> for an update. */
export function patchBody(u) {
  return { status: u.status, note: u.note, idempotency_key: u.key, acted_at: u.acted_at,
    photos: (u.photos || []).map((p) => p.key), public_note: u.public_note || null };
}

/** Send an update: its photos first (each under its key: a retry stores it once), then
 * the change naming them. */
export async function send(u) {
  for (const photo of u.photos || []) {
    await api(`/api/v1/tickets/${u.ticket}/photos/${photo.key}`, { method: "PUT", body: photo.blob });
  }
  return api(`/api/v1/tickets/${u.ticket}`, { method: "PATCH", body: patchBody(u) });
}

let flushing = null;
/** Send what waits, oldest first, one at a time; stop at the first that cannot be sent
 * for want of a network (the rest wait behind it, keeping their order). */
export function flush() {
  if (!flushing) {
    const run = () => sendAll().finally(() => { flushing = null; });
    // one sender across this browser's tabs (the hub would apply each once anyway)
    flushing = navigator.locks ? navigator.locks.request("roshni-outbox", run) : run();
  }
  return flushing;
}

async function sendAll() {
  for (const entry of await outbox()) {
    if (entry.state !== "pending") continue;
    if (!auth.token) return;
    let ticket;
    try {
      ticket = await send(entry);
    } catch (err) {
      if (isNetworkError(err) || !(err instanceof ApiError) || err.status === 401 || err.status >= 500) return;
      // the hub said no: keep it, with why, for the crew to see
      const state = err.status === 409 ? "conflict" : "refused";
      const done = { ...entry, state, detail: err.message, current: err.body?.ticket ?? null };
      await tx(OUTBOX, "readwrite", (s) => s.put(done));
      emit({ type: state, entry: done, ticket: done.current });
      continue;
    }
    await tx(OUTBOX, "readwrite", (s) => s.delete(entry.seq));
    keep(`ticket:${ticket.id}`, ticket);
    emit({ type: "sent", entry, ticket });
  }
}

/** The ticket as the crew will see it once what waits is sent. */
export function withPending(ticket, entries) {
  const mine = entries.filter((e) => e.ticket === ticket.id && e.state === "pending");
  if (!mine.length) return ticket;
  const history = [...ticket.history];
  let status = ticket.status;
  for (const e of mine) {
    history.push({ at: e.acted_at, actor: e.user, from_status: status, to_status: e.status, note: e.note,
      pending: true, localPhotos: (e.photos || []).map((p) => p.blob) });
    status = e.status;
  }
  return { ...ticket, status, history };
}

let started = false;
/** Send what waits now, whenever the network returns, and every RETRY_S while any waits. */
export function startSending() {
  if (started) return flush();
  started = true;
  window.addEventListener("online", () => flush());
  setInterval(() => { if (navigator.onLine !== false) flush(); }, RETRY_S * 1000);
  return flush();
}
