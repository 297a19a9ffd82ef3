"""The dashboard as its people use it (issue 11): a crew on a phone, on a bad network or
none, and each role seeing only the pages it may use. Real hub, real Chromium; the network
is cut with Playwright's `set_offline` and slowed with the DevTools protocol."""

from __future__ import annotations

import json
import re
import struct
import time
import zlib

from playwright.sync_api import expect
from sqlalchemy import select

from hub import tickets
from hub.db import writing
from hub.models import TicketPhoto
from tests.browser.conftest import PASSWORD, PHONE, SCREENSHOTS, login, shot, wait_live


def test_a_technician_sees_only_the_pages_it_may_use(world, open_page, guard):
    page = open_page(PHONE)
    login(page, world, "tech-sana")
    nav = page.locator("#nav a")
    expect(nav).to_have_count(4)
    assert nav.evaluate_all("els => els.map(e => e.getAttribute('href'))") == [
        "#/fleet", "#/area", "#/programs", "#/energy"]
    # no page that only says "a technician may not do tickets:read", even by its address
    page.goto(f"{world.url}/#/tickets")
    expect(page).to_have_url(f"{world.url}/#/fleet")
    expect(page.locator("#main > section.page-fleet")).to_have_count(1)
    expect(page.locator("[role=alert]")).to_have_count(0)
    guard.check(page)


def test_the_crew_queue_names_the_pole_and_the_area(world, open_page, guard):
    _, ticket_id = world.open("lamp_out", "khi-kor-0003", priority=2)
    page = open_page(PHONE)
    login(page, world, "crew-korangi")
    item = page.locator(f'#tickets [data-ticket-id="{ticket_id}"]')
    expect(item.locator(".place")).to_contain_text("Korangi 5")
    expect(item.locator(".place .pole")).to_contain_text("K5-103")
    assert "korangi-5" not in item.inner_text()
    shot(page, "crew-queue-pole-area-phone")
    item.click()
    expect(page.locator(".place .area-name")).to_have_text("Korangi 5")
    expect(page.locator(".place .pole")).to_contain_text("K5-103")
    page.click("#lang")  # the same page in Urdu, for the screenshot; then back
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(page.locator("label[for=photo-input]")).to_have_text("تصویریں لگائیں")
    # the live badge, written while the page was English, speaks Urdu too
    expect(page.locator("#live")).not_to_have_text("Live")
    expect(page.locator("#live")).to_have_text(re.compile("^[^A-Za-z]+$"))
    shot(page, "crew-ticket-urdu-phone")
    page.click("#lang")
    expect(page.locator("html")).to_have_attribute("dir", "ltr")
    guard.check(page)


def big_png(width: int, height: int) -> bytes:
    """A real PNG as large as a phone camera's photo (one colour, so a small file)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data)))
    rows = (b"\0" + b"\x40\x80\xc0" * width) * height
    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def sensor_verifies(world, ticket_id: int) -> None:
    with writing(world.db) as conn:
        assert tickets.sensor_transition(conn, ticket_id, tickets.VERIFIED,
                                         "the lamp has worked at night", at=time.time())


def test_a_crew_without_a_network_keeps_working_and_its_updates_go_once_when_it_returns(
        world, open_page, guard, browser):
    _, first = world.open("lamp_out", "khi-kor-0001", priority=1)
    _, overtaken = world.open("lamp_out", "khi-kor-0004", priority=2)
    page = open_page(PHONE)
    context = page.context
    login(page, world, "crew-korangi")
    wait_live(page)
    expect(page.locator(f'#tickets [data-ticket-id="{overtaken}"]')).to_be_visible()
    # the app shell is kept on the phone, and it is installable
    assert page.evaluate("navigator.serviceWorker.ready.then(r => !!r.active)")
    manifest = page.evaluate("fetch('/manifest.webmanifest').then(r => r.json())")
    assert manifest["start_url"] == "/" and manifest["display"] == "standalone"
    page.goto(f"{world.url}/#/tickets/{first}")
    expect(page.locator("#moves")).to_be_visible()

    context.set_offline(True)
    expect(page.locator("#live")).to_have_attribute("data-mode", "off")
    expect(page.locator("#live")).to_have_text("Offline")
    page.fill("#note", "offline 1: fuse box opened")
    page.locator('#moves button[data-to="in_progress"]').click()
    expect(page.locator("#moves [role=status]")).to_contain_text("saved on this phone")
    page.fill("#note", "offline 2: new fuse, lamp burns")
    # a photo from the camera (here a 2000 × 1500 file), made smaller on the phone
    page.set_input_files("#photo-input", files=[{"name": "IMG_2041.png", "mimeType": "image/png",
                                                 "buffer": big_png(2000, 1500)}])
    expect(page.locator("#photo-previews img")).to_have_count(1)
    page.locator('#moves button[data-to="fixed"]').click()
    expect(page.locator("#history li").first).to_contain_text("offline 2: new fuse")
    expect(page.locator("#history .badge.pending")).to_have_count(2)
    expect(page.locator("h1 + p .badge.status-fixed")).to_be_visible()
    acted = time.time()
    shot(page, "crew-ticket-offline-phone")

    # a reload without a network opens the app, not the browser's offline page
    page.reload()
    expect(page.locator("#open-in-maps")).to_be_visible()  # the lamp was kept too
    page.locator("a[href='#/tickets']").first.click()
    expect(page.locator("#main > section.page-tickets")).to_have_count(1)
    expect(page.locator("#stale")).to_be_visible()
    # fixed on this phone: among the done ones, marked as not sent yet
    expect(page.locator(f'#tickets [data-ticket-id="{first}"]')).to_have_count(0)
    page.locator(".tabs button", has_text="Done").click()
    item = page.locator(f'#tickets [data-ticket-id="{first}"]')
    expect(item.locator(".badge.pending")).to_have_text("Not sent yet")
    expect(item.locator(".badge.status-fixed")).to_be_visible()
    page.locator(".tabs button", has_text="To do").click()
    # a ticket never opened on this phone opens from the queue it kept
    page.locator(f'#tickets [data-ticket-id="{overtaken}"]').click()
    expect(page.locator("#moves")).to_be_visible()
    expect(page.locator("#open-in-maps")).to_be_visible()
    page.fill("#note", "offline 3: cleaned the photocell")
    page.locator('#moves button[data-to="fixed"]').click()
    expect(page.locator("#moves [role=status]")).to_contain_text("saved on this phone")
    shot(page, "crew-queue-offline-phone")
    assert world.ticket(first)["status"] == "open"  # nothing reached the hub yet

    sensor_verifies(world, overtaken)  # meanwhile the lamp burnt all night
    context.set_offline(False)
    # the conflict is shown to the crew with their note, not lost
    conflict = page.locator("#outbox .conflict")
    expect(conflict).to_contain_text("was not applied")
    expect(conflict).to_contain_text("offline 3: cleaned the photocell")
    expect(page.locator("h1 + p .badge.status-verified")).to_be_visible()
    expect(page.locator("#stale")).to_be_hidden()  # no longer "showing what was loaded"
    wait_live(page)
    shot(page, "crew-ticket-conflict-phone")
    conflict.locator("button").click()
    expect(conflict).to_have_count(0)

    # each update once, in order, at the time the crew acted
    stored = world.ticket(first)
    assert stored["status"] == "fixed"
    mine = [e for e in stored["history"] if e["actor"] == "crew-korangi"]
    assert [(e["to_status"], e["note"]) for e in mine] == [
        ("in_progress", "offline 1: fuse box opened"),
        ("fixed", "offline 2: new fuse, lamp burns")]
    assert all(e["at"] <= acted < e["recorded_at"] for e in mine)
    # the photo went with its update, as a JPEG at most 1280 px wide, and shows in the history
    assert [len(e["photos"]) for e in mine] == [0, 1]
    with world.db.connect() as conn:
        kind, data = conn.execute(select(TicketPhoto.content_type, TicketPhoto.data)).one()
    assert kind == "image/jpeg" and data[:3] == b"\xff\xd8\xff" and len(data) < 300_000
    assert [e["note"] for e in world.ticket(overtaken)["history"]].count(
        "offline 3: cleaned the photocell") == 0
    page.goto(f"{world.url}/#/tickets/{first}")
    photo = page.locator("#history li").first.locator(".photos img")
    expect(photo).to_have_attribute("src", re.compile("^blob:"))
    assert photo.evaluate("img => img.decode().then(() => img.naturalWidth)") == 1280
    shot(page, "crew-ticket-photo-phone")
    page.goto(f"{world.url}/#/tickets")
    page.locator(".tabs button", has_text="Done").click()
    expect(page.locator(f'#tickets [data-ticket-id="{first}"] .badge.status-fixed')).to_be_visible()
    expect(page.locator("#tickets .badge.pending")).to_have_count(0)
    guard.check(page)


def test_a_photo_the_quick_decoder_refuses_is_still_attached_and_made_smaller(
        world, open_page, guard):
    """createImageBitmap refuses some photos: some phones' browsers lack it for a format,
    and Chromium under memory pressure answers "The source image cannot be decoded" (seen
    in this suite's own runs). The photo is then decoded another way, not lost."""
    _, ticket = world.open("flicker", "khi-kor-0003", priority=4)
    page = open_page(PHONE)
    page.add_init_script("""window.createImageBitmap = () => Promise.reject(
        new DOMException("The source image cannot be decoded.", "EncodingError"));""")
    login(page, world, "crew-korangi")
    page.goto(f"{world.url}/#/tickets/{ticket}")
    expect(page.locator("#moves")).to_be_visible()
    page.set_input_files("#photo-input", files=[{"name": "IMG_2042.png", "mimeType": "image/png",
                                                 "buffer": big_png(2000, 1500)}])
    preview = page.locator("#photo-previews img")
    expect(preview).to_have_count(1)
    expect(page.locator("#moves [role=status]")).not_to_have_class("error")
    kept = preview.evaluate("img => img.decode().then(() => [img.naturalWidth, img.naturalHeight])")
    assert kept == [1280, 960]  # from 2000 × 1500
    guard.check(page)


# "Slow 3G" as the issue measured it: 2 s latency, 400 kbit/s each way.
SLOW_3G = {"offline": False, "latency": 2000, "downloadThroughput": 400_000 / 8,
           "uploadThroughput": 400_000 / 8}
FIGURES = SCREENSHOTS.parent / "slow3g.json"


def test_on_slow_3g_the_crew_queue_paints_from_few_requests_and_the_kept_shell(
        world, open_page, guard):
    """Speed is measured and recorded (artifacts/slow3g.json, README), not asserted; what
    is asserted is what the page fetches to show the queue."""
    world.open("lamp_out", "khi-kor-0002", priority=2)
    page = open_page(PHONE)
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", SLOW_3G)
    fetched: list[str] = []
    page.on("request", lambda r: fetched.append(r.url.removeprefix(world.url).split("?")[0]))
    figures = {}

    start = time.monotonic()
    page.goto(f"{world.url}/#/login", wait_until="commit")
    expect(page.locator("#username")).to_be_visible(timeout=60_000)
    figures["login_form_s"] = time.monotonic() - start
    page.fill("#username", "crew-korangi")
    page.fill("#password", PASSWORD)
    start = time.monotonic()
    page.click("form.login button[type=submit]")
    expect(page.locator("#tickets a.ticket").first).to_be_visible(timeout=60_000)
    figures["login_to_queue_s"] = time.monotonic() - start
    first_visit = list(fetched)
    page.wait_for_load_state("load")
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")

    fetched.clear()
    shell: list[bool] = []
    page.on("response", lambda r: shell.append(r.from_service_worker)
            if "/static/" in r.url else None)
    start = time.monotonic()
    page.reload(wait_until="commit")
    expect(page.locator("#tickets a.ticket").first).to_be_visible(timeout=60_000)
    figures["reload_to_queue_s"] = time.monotonic() - start
    cdp.send("Network.emulateNetworkConditions", {**SLOW_3G, "latency": 0,
                                                  "downloadThroughput": -1,
                                                  "uploadThroughput": -1})
    figures = {k: round(v, 2) for k, v in figures.items()}
    FIGURES.parent.mkdir(parents=True, exist_ok=True)
    FIGURES.write_text(json.dumps({"profile": SLOW_3G, **figures,
                                   "first_visit_requests": first_visit}, indent=1))
    print(f"\nslow 3G (2 s, 400 kbit/s): {figures}")

    # the queue needs no map library, no district outlines
    assert not [u for u in first_visit if "leaflet" in u or ".geojson" in u], first_visit
    # a second visit takes the app's files from the phone (the service worker), not the network
    assert shell and all(shell), shell
    guard.check(page)


def test_a_note_being_typed_survives_the_page_being_drawn_again(world, open_page, guard):
    """The page is drawn again when the user's details change on the hub or the language
    is switched — also while a crew member is halfway through a note."""
    # (a flicker: the module's lamp_out tickets of Korangi 5's lamps are other tests')
    _, ticket = world.open("flicker", "khi-kor-0002", priority=3)
    page = open_page(PHONE)
    login(page, world, "crew-korangi")
    page.goto(f"{world.url}/#/tickets/{ticket}")
    # Typing once the ticket is on the page: in one fresh-clone run of three on 2026-12-05
    # the first keystrokes, typed as the page opened, reached no field (not understood).
    expect(page.locator("#history li").first).to_be_visible()
    page.fill("#note", "replaced the photocell, ")
    page.fill("#public-note", "Repair under way")
    page.click("#lang")  # اردو: the whole page is drawn again
    expect(page.locator("html")).to_have_attribute("lang", "ur")
    expect(page.locator("#note")).to_have_value("replaced the photocell, ")
    expect(page.locator("#public-note")).to_have_value("Repair under way")
    page.reload()
    expect(page.locator("#note")).to_have_value("replaced the photocell, ")
    page.locator('#moves button[data-to="in_progress"]').click()
    expect(page.locator("#history li").first).to_contain_text("replaced the photocell")
    expect(page.locator("#note")).to_have_value("")  # sent: the draft is gone
    page.click("#lang")
    assert world.ticket(ticket)["history"][-1]["note"] == "replaced the photocell,"


def test_typing_goes_on_in_the_note_while_the_ticket_changes_under_it(world, open_page,
                                                                      guard):
    """A crew member is typing a note when the ticket changes on the hub (a colleague took
    it): the page shows the change, and the keyboard stays in the note — what is typed
    next lands there, not nowhere."""
    _, ticket = world.open("low_power", "khi-kor-0002", priority=3)
    page = open_page(PHONE)
    login(page, world, "crew-korangi")
    page.goto(f"{world.url}/#/tickets/{ticket}")
    wait_live(page)
    expect(page.locator('#moves button[data-to="assigned"]')).to_be_visible()
    page.click("#note")
    page.keyboard.type("driver burnt, ")
    world.move(ticket, "assigned", "", actor="crew-korangi-2")
    expect(page.locator('#moves button[data-to="assigned"]')).to_have_count(0)
    expect(page.locator("#history li").first).to_contain_text("crew-korangi-2")
    page.keyboard.type("replacing it")
    expect(page.locator("#note")).to_have_value("driver burnt, replacing it")
    expect(page.locator("#note")).to_be_focused()
    guard.check(page)


def test_after_a_language_switch_a_reload_draws_the_page_once(world, open_page, guard):
    """A reload opens with the user's details kept on the phone, then asks the hub: the
    language just switched must be in the kept copy, or the page is drawn twice (on a slow
    phone, twice the requests; and a note being typed went with the first page)."""
    _, ticket = world.open("day_burner", "khi-kor-0002", priority=4)
    page = open_page(PHONE)
    login(page, world, "crew-korangi")
    page.goto(f"{world.url}/#/tickets/{ticket}")
    expect(page.locator("#moves")).to_be_visible()
    before = page.locator("html").get_attribute("lang")
    with page.expect_response(lambda r: r.request.method == "PATCH"
                              and r.url.endswith("/api/v1/me")):
        page.click("#lang")
    after = page.locator("html").get_attribute("lang")
    assert after != before
    # as a user would reload: not within the milliseconds before the phone has kept it
    page.wait_for_function(
        """lang => new Promise((ok) => {
             const open = indexedDB.open("roshni");
             open.onsuccess = () => {
               const get = open.result.transaction("kept").objectStore("kept").get("me");
               get.onsuccess = () => {
                 open.result.close();
                 ok(get.result?.me?.language === lang);
               };
               get.onerror = () => { open.result.close(); ok(false); };
             };
             open.onerror = () => ok(false);
           })""", arg=after)
    fetched: list[str] = []
    page.on("request", lambda r: fetched.append(r.url.removeprefix(world.url).split("?")[0]))
    with page.expect_response(lambda r: r.request.method == "GET"
                              and r.url.endswith("/api/v1/me")):
        page.reload()
    expect(page.locator("html")).to_have_attribute("lang", after)
    expect(page.locator("#moves")).to_be_visible()
    page.wait_for_timeout(500)  # what the hub said is on the page: a second drawing is due now
    assert fetched.count(f"/api/v1/tickets/{ticket}") == 1, fetched
    page.click("#lang")  # back, for the module's other tests
    guard.check(page)
