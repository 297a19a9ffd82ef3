// Live updates without reloading: server-sent events from /api/v1/stream, and polling
// when the stream cannot be had (an old browser, a proxy that buffers, a dropped stream).
//
// The stream carries `alert` and `ticket` events (the API's shapes) for what changed in
// the user's scope, and `ready` on every (re)connection. On `ready` and on each poll the
// current page reloads its data, so nothing missed while disconnected stays missed.

import { auth } from "./api.js";
import { t } from "./i18n.js";

const POLL_S = 30;
// A stream that fails this many times in a row without ever opening is given up for polling.
const MAX_FAILURES = 3;
// While polling, try the stream again now and then (the proxy or network may have changed).
const RETRY_STREAM_S = 300;

export class Live {
  constructor(indicator) {
    this.indicator = indicator;
    this.listeners = new Set();
    this.source = null;
    this.timer = null;
    this.failures = 0;
    // The badge says so the moment the phone loses its network, and reconnects when it is back.
    window.addEventListener("offline", () => { if (this.indicator && !this.indicator.hidden) this.show("off"); });
    window.addEventListener("online", () => { if (this.source || this.timer) this.start(); });
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
    if (typeof EventSource === "undefined") return this.poll();
    const url = `/api/v1/stream?access_token=${encodeURIComponent(auth.token)}`;
    const source = (this.source = new EventSource(url));
    let first = true;
    source.addEventListener("ready", (ev) => {
      this.failures = 0;
      this.show("on");
      // The page loaded its data itself just now; after a reconnection it reloads only
      // when the hub could not replay what was missed.
      let resumed = false;
      try { resumed = JSON.parse(ev.data).resumed; } catch { /* reload */ }
      if (!first && !resumed) this.emit("refresh");
      first = false;
    });
    source.addEventListener("refresh", () => this.emit("refresh"));
    for (const type of ["alert", "ticket"]) {
      source.addEventListener(type, (ev) => {
        let data;
        try { data = JSON.parse(ev.data); } catch { return; }
        this.emit(type, data);
      });
    }
    source.addEventListener("error", () => {
      // EventSource reconnects by itself while readyState is CONNECTING; CLOSED means the
      // server refused the stream (expired token, no such endpoint): poll instead.
      this.show("off");
      this.failures += 1;
      if (source.readyState === EventSource.CLOSED || this.failures >= MAX_FAILURES) {
        source.close();
        this.source = null;
        this.poll();
      }
    });
  }

  poll() {
    this.show("polling");
    clearInterval(this.timer);
    const since = Date.now();
    this.timer = setInterval(() => {
      if (!auth.token) return this.stop();
      if (typeof EventSource !== "undefined" && Date.now() - since > RETRY_STREAM_S * 1000) {
        this.failures = 0;
        return this.start();
      }
      this.emit("refresh");
    }, POLL_S * 1000);
  }

  stop() {
    if (this.source) this.source.close();
    this.source = null;
    clearInterval(this.timer);
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
