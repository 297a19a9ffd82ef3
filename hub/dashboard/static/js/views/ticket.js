// Crew: one ticket — where (open it in a maps app), why (the lamp's last readings), what
// happened so far, and big buttons to move it on with a note.

import { api, ApiError, blobUrl } from "../api.js";
import { clear, h } from "../dom.js";
import { chart } from "../chart.js";
import { label, number, qty, relative, t, time, when } from "../i18n.js";
import { actorName, areaNames, loading, noteText, place, priorityBadge, statusBadge } from "./common.js";
import { showError } from "../app.js";
import { dismiss, isNetworkError, kept, loadKept, newKey, onOutbox, outbox, queue, send, withPending } from "../offline.js";
import { shrink } from "../photos.js";

// What a person may move a ticket to (hub/tickets.py PEOPLE_MAY); the hub checks again.
const MOVES = {
  open: ["assigned", "in_progress", "fixed"],
  assigned: ["in_progress", "fixed"],
  in_progress: ["fixed"],
  reopened: ["assigned", "in_progress", "fixed"],
  fixed: [],
  verified: [],
};

export function mapsLinks(node) {
  if (node?.lat == null || node?.lon == null) return null;
  const at = `${node.lat.toFixed(6)},${node.lon.toFixed(6)}`;
  const name = encodeURIComponent(node.pole ? `Pole ${node.pole}` : node.id);
  return h("div", { class: "actions" },
    h("a", { class: "button primary big", id: "open-in-maps", href: `geo:${at}?q=${at}(${name})`, text: t("open_in_maps") }),
    h("a", { class: "button big", id: "open-web-map", href: `https://www.google.com/maps/search/?api=1&query=${at}`,
      target: "_blank", rel: "noopener noreferrer", text: t("open_web_map") }));
}

export function evidenceCharts(rows) {
  if (!rows.length) return h("p", { class: "muted", text: t("no_evidence") });
  const points = (field, f = (v) => v) => rows.map((r) => ({ t: r.ts, v: r[field] == null ? null : f(r[field]) }));
  const from = rows[0].ts;
  const to = rows[rows.length - 1].ts;
  const out = [chart(points("lamp_on", (v) => (v ? 1 : 0)), { kind: "share", from, to, max: 1, title: t("lamp_state") })];
  if (rows.some((r) => r.lamp_w != null)) out.push(chart(points("lamp_w"), { from, to, title: t("lamp_power") }));
  if (rows.some((r) => r.lux != null)) out.push(chart(points("lux"), { from, to, digits: 1, title: t("chart_lux") }));
  const last = rows[rows.length - 1];
  // each figure isolated with its unit: in Urdu "0.3 W · 0 lux" must not become "W · 0 lux 0.3"
  out.push(h("p", { class: "small muted" },
    when(last.ts), `: ${t("lamp_state")} ${last.lamp_on ? t("on") : t("off")}`,
    last.lamp_w != null ? [" · ", qty(last.lamp_w, 1, "W")] : "",
    last.lux != null ? [" · ", qty(last.lux, 1, "lux")] : ""));
  return h("div", { class: "evidence" }, out);
}

export function render(root, ctx, id) {
  const names = areaNames(ctx.me);
  const mayMove = ctx.me.permissions?.includes("tickets:write");
  const head = h("div");
  const where = h("section", { class: "card" });
  const evidence = h("section", { class: "card" });
  const moves = h("section", { class: "card", id: "moves" });
  const history = h("section", { class: "card" });
  const note = h("textarea", { id: "note", name: "note", maxlength: 2000, dir: "auto" });
  // the one line citizens read on the city's Open311 feed; the note above stays inside
  const publicNote = h("input", { id: "public-note", name: "public_note", maxlength: 280, dir: "auto", autocomplete: "off" });
  // What the crew typed outlives the page being drawn again (the user's details refreshed
  // from the hub, a language switch) and a reload, until the update is sent or kept.
  const draftKey = `roshni:draft:ticket:${id}`;
  // Read when the fields are put on the page, not when they are made: a page drawn again
  // makes its fields before the old page (which the crew may still be typing in) goes.
  const restoreDraft = () => {
    if (note.value || publicNote.value) return;
    const draft = JSON.parse(sessionStorage.getItem(draftKey) || "{}");
    note.value = draft.note || "";
    publicNote.value = draft.public_note || "";
  };
  const keepDraft = () => sessionStorage.setItem(draftKey,
    JSON.stringify({ note: note.value, public_note: publicNote.value }));
  note.addEventListener("input", keepDraft);
  publicNote.addEventListener("input", keepDraft);
  const dropDraft = () => {
    const sent = { key: draftKey, note: note.value, public_note: publicNote.value };
    note.value = "";
    publicNote.value = "";
    sessionStorage.removeItem(draftKey);
    // The page may have been drawn again while the update was on its way, and put the
    // draft on the new page before it was sent: that copy goes too.
    window.dispatchEvent(new CustomEvent("roshni:draft-sent", { detail: sent }));
  };
  const onDraftSent = ({ detail }) => {
    if (detail.key !== draftKey) return;
    if (note.value === detail.note) note.value = "";
    if (publicNote.value === detail.public_note) publicNote.value = "";
  };
  window.addEventListener("roshni:draft-sent", onDraftSent);
  const message = h("p", { role: "status" });
  // photos for the next update: taken with the camera, made smaller at once
  let chosen = []; // [{key, blob, url}]
  const previews = h("ul", { class: "photos", id: "photo-previews" });
  // the browser's own file button speaks its language, not the page's: the label is the button
  const picker = h("input", { type: "file", id: "photo-input", class: "file-input", accept: "image/*", capture: "environment",
    multiple: true, onchange: () => addPhotos(picker) });
  const stale = h("p", { class: "notice", id: "stale", hidden: true, text: t("offline") });
  const unsent = h("section", { id: "outbox" }); // this ticket's updates not sent or refused
  // Where to go first, then what to do, then why and what happened so far.
  root.append(h("p", {}, h("a", { href: "#/tickets", text: t("back") })), stale, head, unsent, where, moves,
    evidence, history);
  let loaded = null; // the ticket as the hub last said
  let ticket = null; // …with this phone's unsent updates on top
  let entries = []; // this ticket's entries in the outbox
  let closed = false;
  let busyMove = false;

  function drawHead() {
    clear(head).append(
      h("h1", { class: "row" },
        h("span", { class: "grow", text: label("rule", ticket.fault) }),
        priorityBadge(ticket.priority)),
      h("p", { class: "row" },
        statusBadge(ticket.status),
        h("span", { class: "ltr muted", text: t("ticket_n", { id: ticket.id }) }),
        h("span", { class: ticket.sla_due < Date.now() / 1000 && MOVES[ticket.status]?.length ? "error" : "muted",
          text: t("due", { rel: relative(ticket.sla_due) }) })));
  }

  function drawWhere() {
    // the lamp's place comes with the ticket (no second request on a slow network)
    const lamp = { id: ticket.node, pole: ticket.pole, lat: ticket.lat, lon: ticket.lon };
    clear(where).append(h("h2", { text: t("location") }),
      place({ ...ticket, area_name: ticket.area_name ?? names.get(ticket.area) ?? ticket.area }),
      h("p", { class: "small muted" }, label("district", ticket.district),
        lamp.lat != null ? [" · ", h("span", { class: "ltr", text: `${lamp.lat.toFixed(5)}, ${lamp.lon.toFixed(5)}` })] : null),
      mapsLinks(lamp) || "");
  }

  const buttons = h("div", { class: "moves" });

  function drawMoves() {
    if (!mayMove) return moves.remove();
    const next = MOVES[ticket.status] || [];
    if (!next.length) {
      clear(moves).append(h("p", { class: "notice", text: ticket.status === "verified" ? t("done_verified") : t("done_fixed") }), message);
      return;
    }
    // The fields stay on the page while the ticket changes under them (a live update, the
    // hub's answer after what was kept): taken off and put back, a field loses the focus,
    // and what the crew goes on typing goes nowhere (on a phone, the keyboard closes).
    if (note.parentNode !== moves) {
      restoreDraft();
      clear(moves).append(h("h2", { text: t("move_status") }),
        h("label", { for: "note", text: t("note") }), note,
        h("label", { for: "public-note", text: t("public_note") }), publicNote,
        picker, h("label", { for: "photo-input", class: "button big", text: t("add_photos") }), previews,
        buttons, message);
    }
    clear(buttons).append(...next.map((to) => h("button", {
      type: "button", class: to === "fixed" ? "primary" : "", dataset: { to }, text: t(`to_${to}`),
      onclick: (ev) => move(to, ev.currentTarget),
    })));
  }

  function drawHistory() {
    clear(history).append(h("h2", { text: t("history") }),
      h("ol", { class: "history", id: "history" }, [...ticket.history].reverse().map((e) => h("li", {},
        h("div", { class: "row small" },
          h("bdi", { class: "actor", text: actorName(e.actor) }),
          e.from_status ? [statusBadge(e.from_status), h("span", { "aria-hidden": "true", text: document.dir === "rtl" ? "←" : "→" })] : null,
          statusBadge(e.to_status),
          h("span", { class: "muted grow", text: time(e.at) }),
          e.pending ? h("span", { class: "badge pending", text: t("not_sent_yet") }) : null),
        e.note ? h("p", { class: "note", dir: "auto" }, noteText(e)) : null,
        photoList(e)))));
  }

  // A history entry's photos: kept on this phone (not sent yet), or fetched behind the login.
  function photoList(e) {
    const local = e.localPhotos || [];
    const sent = e.photos || [];
    if (!local.length && !sent.length) return null;
    const list = h("ul", { class: "photos" });
    let n = 0;
    for (const blob of local) {
      list.append(h("li", {}, h("img", { src: URL.createObjectURL(blob), alt: t("photo_n", { n: ++n }) })));
    }
    for (const p of sent) {
      const img = h("img", { alt: t("photo_n", { n: ++n }), dataset: { photoId: p.id } });
      blobUrl(p.url).then((url) => { img.src = url; }).catch(() => {});
      list.append(h("li", {}, img));
    }
    return list;
  }

  async function addPhotos(input) {
    for (const file of [...input.files].slice(0, 4 - chosen.length)) {
      try {
        const blob = await shrink(file);
        chosen.push({ key: newKey(), blob, url: URL.createObjectURL(blob) });
      } catch {
        say("error", t("photo_failed"));
      }
    }
    input.value = "";
    drawPreviews();
  }

  function drawPreviews() {
    clear(previews).append(...chosen.map((p, i) => h("li", {},
      h("img", { src: p.url, alt: t("photo_n", { n: i + 1 }) }))));
  }

  // What the hub refused of this phone's updates, with the crew's own note, until seen.
  function drawOutbox() {
    clear(unsent);
    for (const e of entries.filter((x) => x.state !== "pending")) {
      unsent.append(h("div", { class: "card conflict", role: "alert", dataset: { seq: e.seq } },
        h("p", { class: "error" }, t(e.state === "conflict" ? "update_conflict" : "update_refused",
          { to: label("status", e.status), time: time(e.acted_at) })),
        h("p", { class: "small muted", dir: "auto", text: e.detail }),
        e.note ? h("p", { class: "note", dir: "auto", text: e.note }) : null,
        h("button", { type: "button", onclick: async () => { await dismiss(e.seq); }, text: t("dismiss") })));
    }
  }

  function draw() {
    ticket = withPending(loaded, entries);
    drawOutbox();
    drawHead();
    drawWhere();
    drawMoves();
    drawHistory();
  }

  function say(kind, text) {
    message.className = kind;
    message.textContent = text;
  }

  async function move(to, button) {
    if (busyMove) return;
    busyMove = true;
    for (const b of moves.querySelectorAll("button")) b.disabled = true;
    say("", "");
    // Made now, with its key: sent now if the network lets it, else kept and sent later
    // (the same key, so the hub applies it once even if this attempt did reach it).
    const update = { key: newKey(), user: ctx.me.name, ticket: loaded.id, status: to,
      note: note.value.trim(), public_note: publicNote.value.trim(), acted_at: Date.now() / 1000,
      photos: chosen.map(({ key, blob }) => ({ key, blob })) };
    const pending = entries.some((e) => e.state === "pending");
    try {
      if (navigator.onLine === false || pending) throw new TypeError("offline"); // keep the order
      loaded = await send(update);
      dropDraft();
      chosen = [];
      drawPreviews();
      draw();
      say("notice", t("saved"));
    } catch (err) {
      if (isNetworkError(err)) {
        await queue(update);
        dropDraft();
        chosen = [];
        drawPreviews();
        await reloadOutbox();
        say("notice", t("saved_offline"));
        return;
      }
      for (const b of moves.querySelectorAll("button")) b.disabled = false;
      if (err instanceof ApiError && err.status === 409 && err.body?.ticket) {
        // overtaken (the sensor verified it, say): show the ticket as it is, keep the note
        loaded = err.body.ticket;
        draw();
      }
      say("error", err.status === 409 || err.status === 400 || err.status === 422
        ? err.message : t("error", { detail: err.message }));
      button.focus();
    } finally {
      busyMove = false;
    }
  }

  // The outbox is read again on every change to it, and the reads may finish in any
  // order: only the latest read's entries count (an older one would bring back a conflict
  // card the crew has just dismissed).
  let reads = 0;
  async function ticketEntries() {
    const mine = ++reads;
    const all = await outbox();
    return mine === reads ? all.filter((e) => e.ticket === Number(id)) : null;
  }

  async function reloadOutbox() {
    const now = await ticketEntries();
    if (now === null) return;
    entries = now;
    if (loaded && !closed) draw();
  }

  async function keptTicket() {
    return (await kept(`ticket:${id}`)) ?? (await kept("tickets"))?.find((tk) => tk.id === Number(id));
  }

  async function load() {
    const busy = loading(head);
    if (!loaded) {
      // what this phone kept (this ticket, or the queue it was in), at once
      const old = await keptTicket();
      entries = (await ticketEntries()) ?? entries;
      if (old && !loaded && !closed) {
        loaded = old;
        draw();
        drawEvidence();
        head.append(busy);
      }
    }
    try {
      const got = await loadKept(`ticket:${id}`, () => api(`/api/v1/tickets/${encodeURIComponent(id)}`))
        .catch(async (err) => {
          const old = isNetworkError(err) && (await keptTicket());
          if (!old) throw err;
          return { data: old, stale: true };
        });
      loaded = got.data;
      stale.hidden = !got.stale;
      entries = (await ticketEntries()) ?? entries;
      if (closed) return;
      busy.remove();
      draw();
      drawEvidence();
    } catch (err) {
      busy.remove();
      showError(head, err);
    }
  }

  function drawEvidence() {
    clear(evidence).append(h("h2", { text: t("evidence") }), evidenceCharts(loaded.evidence || []));
  }

  const unsubscribe = ctx.live.subscribe(({ type, data }) => {
    if (type === "refresh") return load();
    if (type === "ticket" && loaded && data.id === loaded.id && !busyMove) {
      loaded = data;
      draw();
    }
  });
  const unwatch = onOutbox(({ type, entry, ticket: now }) => {
    if (now && now.id === Number(id)) {
      loaded = now; // the hub's word: no longer only what was kept
      stale.hidden = true;
    }
    if (!entry || entry.ticket === Number(id)) {
      if (type === "sent") say("notice", t("sent_now"));
      else if (type !== "queued") say("", "");
      reloadOutbox();
    }
  });
  window.addEventListener("online", load); // the network is back: what the hub says now
  load();
  return { cleanup() {
    closed = true; unsubscribe(); unwatch(); window.removeEventListener("online", load);
    window.removeEventListener("roshni:draft-sent", onDraftSent);
  } };
}
