// Live updates without reloading: server-sent events from /api/v1/stream, and polling
// when the stream cannot be had (an old browser, a proxy that buffers, a dropped stream).
//
// The stream carries `alert` and `ticket` events (the API's shapes) for what changed in
// the user's scope, and `ready` on every (re)connection. On `ready` and on each poll the
// current page reloads its data, so nothing missed while disconnected stays missed.
//
// The stream is read with fetch, not EventSource: EventSource sends no headers, so the
// bearer token would have to travel in the URL, where proxies and server logs keep it.
// fetch sends it as `Authorization`, and this file does what EventSource would have
// done: parse the events, reconnect after the hub ends a stream, resume with
// Last-Event-ID.

import { auth } from "./api.js";
import { t } from "./i18n.js";

const POLL_S = 30;
// A stream that fails this many times in a row without ever opening is given up for polling.
const MAX_FAILURES = 3;
// While polling, try the stream again now and then (the proxy or network may have changed).
const RETRY_STREAM_S = 300;
const canStream = typeof fetch !== "undefined" && typeof ReadableStream !== "undefined"
  && typeof TextDecoderStream !== "undefined" && typeof AbortController !== "undefined";

/** Server-sent events from a text stream: onEvent(type, data, id) per event. */
async function readEvents(body, onEvent, onRetry) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let type = "message", data = [], id = null;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let nl;
    while ((nl = buffer.search(/\r\n|\r|\n/)) >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + (buffer.startsWith("\r\n", nl) ? 2 : 1));
      if (line === "") {
        if (data.length) onEvent(type, data.join("\n"), id);
        type = "message";
        data = [];
        continue;
      }
      if (line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      const val = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (field === "event") type = val;
      else if (field === "data") data.push(val);
      else if (field === "id") id = val;
      else if (field === "retry" && /^\d+$/.test(val)) onRetry(Number(val));
    }
  }
}

export class Live {
  constructor(indicator) {
    this.indicator = indicator;
    this.listeners = new Set();
    this.controller = null;
    this.timer = null;
    this.failures = 0;
    // The badge says so the moment the phone loses its network, and reconnects when it is back.
    window.addEventListener("offline", () => { if (this.indicator && !this.indicator.hidden) this.show("off"); });
    window.addEventListener("online", () => { if (this.controller || this.timer) this.start(); });
    this.lastId = null;
    this.retryMs = 2000;
  }

  /** listener({type: "alert"|"ticket"|"refresh", data}) */
  subscribe(listener) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(type, data) {
    for (const listener of [...this.listeners]) {
      try { listener({ type, data }); } catch (err) { console.error(err); }
    }
  }

  start() {
    this.stop();
    if (!auth.token) return;
    if (!canStream) return this.poll();
    this.lastId = null;
    this.connect(true);
  }

  async connect(first) {
    const controller = (this.controller = new AbortController());
    const headers = { Accept: "text/event-stream", Authorization: `Bearer ${auth.token}` };
    if (this.lastId) headers["Last-Event-ID"] = this.lastId;
    let opened = false;
    try {
      const r = await fetch("/api/v1/stream", { headers, signal: controller.signal,
                                                cache: "no-store" });
      if (!r.ok || !r.body) {
        // The hub refused the stream (expired token, no such endpoint): poll instead.
        if (r.status === 401) { auth.token = null; auth.onExpired(); }
        return this.giveUp(controller);
      }
      await readEvents(r.body, (type, data, id) => {
        if (id !== null) this.lastId = id;
        if (type === "ready") {
          opened = true;
          this.failures = 0;
          this.show("on");
          // The page loaded its data itself just now; after a reconnection it reloads
          // only when the hub could not replay what was missed.
          let resumed = false;
          try { resumed = JSON.parse(data).resumed; } catch { /* reload */ }
          if (!first && !resumed) this.emit("refresh");
          first = false;
        } else if (type === "refresh") {
          this.emit("refresh");
        } else if (type === "alert" || type === "ticket") {
          let body;
          try { body = JSON.parse(data); } catch { return; }
          this.emit(type, body);
        }
      }, (ms) => { this.retryMs = ms; });
    } catch (err) {
      if (controller.signal.aborted) return;  // stopped on purpose
    }
    if (controller !== this.controller) return;
    // The hub ends every stream after a while (or the network dropped it): reconnect, as
    // EventSource would, unless it keeps failing before it ever opens.
    this.show("off");
    if (!opened) this.failures += 1;
    if (this.failures >= MAX_FAILURES) return this.giveUp(controller);
    this.timer = setTimeout(() => this.connect(false), this.retryMs);
  }

  giveUp(controller) {
    if (controller !== this.controller) return;
    this.controller = null;
    this.poll();
  }

  poll() {
    this.show("polling");
    clearInterval(this.timer);
    const since = Date.now();
    this.timer = setInterval(() => {
      if (!auth.token) return this.stop();
      if (canStream && Date.now() - since > RETRY_STREAM_S * 1000) {
        this.failures = 0;
        return this.start();
      }
      this.emit("refresh");
    }, POLL_S * 1000);
  }

  stop() {
    if (this.controller) this.controller.abort();
    this.controller = null;
    clearInterval(this.timer);
    clearTimeout(this.timer);
    this.timer = null;
    this.show(null);
  }

  show(mode) {
    const el = this.indicator;
    if (!el) return;
    if (mode && navigator.onLine === false) mode = "off";
    el.hidden = mode === null;
    el.dataset.mode = mode || "";
    el.textContent = mode === "on" ? t("live_on") : mode === "polling"
      ? t("live_polling", { n: POLL_S }) : t("live_off");
  }
}
