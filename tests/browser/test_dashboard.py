"""The dashboard in a real browser (headless Chromium) against a real hub: what crews,
committees and technicians do on their phones, live updates, Urdu, and people's text
never turning into markup. Screenshots of every page go to artifacts/screenshots/."""

from __future__ import annotations

import httpx
from playwright.sync_api import expect

from tests.browser.conftest import (
    DESKTOP,
    LAMPS,
    PHONE,
    XSS_AREA,
    XSS_NOTE,
    XSS_POLE,
    login,
    shot,
    wait_live,
)


def test_a_korangi_crew_sees_only_korangi_tickets_and_starts_work_with_a_note(
        world, open_page, guard):
    _, korangi = world.open("lamp_out", "khi-kor-0002", priority=1)
    _, malir = world.open("lamp_out", "khi-mal-0001", priority=1)
    _, low = world.open("flicker", "khi-kor-0003", priority=3)
    page = open_page(PHONE)
    login(page, world, "crew-korangi")

    queue = page.locator("#tickets")
    expect(queue.locator(f'[data-ticket-id="{korangi}"]')).to_be_visible()
    expect(queue.locator(f'[data-ticket-id="{low}"]')).to_be_visible()
    expect(queue.locator(f'[data-ticket-id="{malir}"]')).to_have_count(0)
    assert "khi-mal-0001" not in queue.inner_text()
    # most urgent first
    ids = queue.locator("a.ticket").evaluate_all("els => els.map(e => Number(e.dataset.ticketId))")
    assert ids.index(korangi) < ids.index(low)
    shot(page, "crew-queue-phone")

    queue.locator(f'[data-ticket-id="{korangi}"]').click()
    expect(page).to_have_url(f"{world.url}/#/tickets/{korangi}")
    expect(page.locator("#open-in-maps")).to_have_attribute(
        "href", "geo:24.832100,67.132200?q=24.832100,67.132200(Pole%20K5-102)")
    expect(page.locator("#open-web-map")).to_have_attribute(
        "href", "https://www.google.com/maps/search/?api=1&query=24.832100,67.132200")
    expect(page.locator(".evidence svg.chart")).to_have_count(3)
    shot(page, "crew-ticket-phone")

    page.fill("#note", "Fuse replaced at the pole box; waiting for dusk")
    page.fill("#public-note", "Crew at the pole, light back by tonight")
    page.locator('#moves button[data-to="in_progress"]').click()
    expect(page.locator("#moves [role=status]")).to_have_text("Saved.")
    expect(page.locator("#public-note")).to_have_value("")
    history = page.locator("#history li").first
    expect(history).to_contain_text("Fuse replaced at the pole box; waiting for dusk")
    expect(history).to_contain_text("crew-korangi")
    expect(page.locator("h1 + p .badge.status-in_progress")).to_have_text("In progress")
    # the hub has it, not only the page
    stored = world.ticket(korangi)
    assert stored["status"] == "in_progress"
    assert stored["history"][-1]["note"] == "Fuse replaced at the pole box; waiting for dusk"
    assert stored["history"][-1]["actor"] == "crew-korangi"
    # citizens read the crew's public line on Open311, never the crew's own note
    [public] = httpx.get(f"{world.url}/open311/v2/requests/ticket-{korangi}.json",
                         timeout=10).json()
    assert "Crew at the pole, light back by tonight" in public["status_notes"]
    assert "Fuse" not in public["status_notes"]
    shot(page, "crew-ticket-in-progress-phone")

    # and a Malir ticket is not there for a Korangi crew even by its address
    page.goto(f"{world.url}/#/tickets/{malir}")
    expect(page.locator("[role=alert]")).to_contain_text("Not found")
    assert world.ticket(malir)["status"] == "open"
    guard.check(page)


def test_a_committee_acknowledges_and_a_second_open_page_shows_it_without_reloading(
        world, open_page, guard):
    alert_id, ticket_id = world.open("lamp_out", "khi-kor-0004", priority=2)
    first, second = open_page(PHONE), open_page(DESKTOP)
    login(first, world, "k5-committee")
    login(second, world, "k5-committee")
    card1 = first.locator(f'#alert-feed [data-alert-id="{alert_id}"]')
    card2 = second.locator(f'#alert-feed [data-alert-id="{alert_id}"]')
    expect(card1.locator(".badge.state-active")).to_have_text("New")
    expect(card2.locator(".badge.state-active")).to_have_text("New")
    expect(card2.locator(".repair")).to_contain_text("Not repaired yet")
    wait_live(second)
    second.evaluate("window.__same_page = true")  # gone if the page reloads
    shot(second, "committee-area-desktop")

    card1.locator("button.ack").click()
    expect(card1.locator(".badge.state-acknowledged")).to_have_text("Acknowledged")
    expect(card2.locator(".badge.state-acknowledged")).to_have_text("Acknowledged")
    expect(card2.locator(".ack-by")).to_have_text("Acknowledged by k5-committee")
    expect(card2.locator("button.ack")).to_have_count(0)
    assert world.alert(alert_id)["state"] == "acknowledged"

    # the crew starts work: the committee sees the repair move, still without a reload
    world.move(ticket_id, "in_progress", "on our way")
    expect(card2.locator(".repair")).to_contain_text("Crew is working on it")
    expect(card2.locator(".note-text")).to_have_text("on our way")
    assert second.evaluate("window.__same_page") is True
    shot(second, "committee-area-live-desktop")
    shot(first, "committee-area-phone")
    guard.check(first, second)


def test_the_urdu_page_reads_right_to_left(world, open_page, guard):
    alert_id, _ = world.open("tamper", "khi-kor-0001", ticket=False)
    page = open_page(PHONE)
    login(page, world, "k5-urdu")
    html = page.locator("html")
    expect(html).to_have_attribute("dir", "rtl")
    expect(html).to_have_attribute("lang", "ur")
    expect(page.locator("#nav a.active")).to_have_text("نقشہ اور الرٹ")
    card = page.locator(f'#alert-feed [data-alert-id="{alert_id}"]')
    expect(card.locator(".rule")).to_have_text("چھیڑ چھاڑ")
    assert page.evaluate("getComputedStyle(document.body).direction") == "rtl"
    # laid out from the right: the brand at the right edge, a card's title right of its badge
    width = page.viewport_size["width"]
    brand = page.locator(".brand").bounding_box()
    assert brand["x"] + brand["width"] > width * 0.8 and brand["x"] > width / 2
    title, badge = card.locator(".rule").bounding_box(), card.locator(".badge").first.bounding_box()
    assert title["x"] > badge["x"] + badge["width"]
    # the map stays a map: left-to-right inside the right-to-left page
    assert page.locator("#map").evaluate("e => getComputedStyle(e).direction") == "ltr"
    shot(page, "committee-area-urdu-phone")

    # the switch turns the page to English for this user, and back
    page.locator("#lang").click()
    expect(html).to_have_attribute("dir", "ltr")
    expect(page.locator("#nav a.active")).to_have_text("Map & alerts")
    assert page.evaluate("getComputedStyle(document.body).direction") == "ltr"
    page.locator("#lang").click()
    expect(html).to_have_attribute("dir", "rtl")
    guard.check(page)


def test_names_and_notes_with_html_in_them_are_shown_as_text_and_never_run(
        world, open_page, guard):
    alert_id, ticket_id = world.open("lamp_out", "khi-kor-0009", priority=1)
    world.move(ticket_id, "in_progress", XSS_NOTE)

    committee = open_page(PHONE)
    login(committee, world, "k5-committee")
    card = committee.locator(f'#alert-feed [data-alert-id="{alert_id}"]')
    expect(card.locator(".area-name")).to_have_text(XSS_AREA)
    expect(card.locator(".pole")).to_have_text(f"Pole {XSS_POLE}")
    expect(card.locator(".note-text")).to_have_text(XSS_NOTE)
    committee.goto(f"{world.url}/#/repairs")
    repair = committee.locator(f'#repairs [data-ticket-id="{ticket_id}"]')
    expect(repair.locator(".note-text")).to_have_text(XSS_NOTE)
    committee.goto(f"{world.url}/#/spots")
    expect(committee.locator("#spots")).to_contain_text(XSS_AREA)
    expect(committee.locator("#spots")).to_contain_text(XSS_POLE)
    shot(committee, "committee-spots-phone")

    crew = open_page(PHONE)
    login(crew, world, "crew-korangi")
    crew.goto(f"{world.url}/#/tickets/{ticket_id}")
    expect(crew.locator("#history .note").first).to_have_text(XSS_NOTE)
    expect(crew.locator(".pole").first).to_have_text(f"Pole {XSS_POLE}")
    # nothing of it became an element
    for page in (committee, crew):
        assert page.locator("main img, main script, main b").count() == 0
    shot(crew, "crew-ticket-with-html-note-phone")
    guard.check(committee, crew)


def test_a_technician_sees_fleet_health_and_a_lamps_charts_from_influxdb(
        world, open_page, guard):
    page = open_page(PHONE)
    login(page, world, "tech-sana")
    counts = page.locator("#fleet-counts")
    expect(counts.locator('[data-count="count_online"] b')).to_have_text("1")
    expect(counts.locator('[data-count="count_unknown"] b')).to_have_text(str(len(LAMPS) - 1))
    # No self-test has come from any of them yet: all still to be commissioned.
    expect(counts.locator('[data-count="count_uncommissioned"] b')).to_have_text(str(len(LAMPS)))
    expect(page.locator("#main")).to_contain_text("Hub spool: 0 readings waiting for InfluxDB")
    shot(page, "technician-fleet-phone")

    page.goto(f"{world.url}/#/nodes/khi-kor-0001")
    charts = page.locator("#charts svg.chart")
    expect(charts).to_have_count(3)
    # a day of readings every 15 minutes, in 15-minute buckets: lamp state and footfall bars
    assert charts.nth(0).locator("rect").count() >= 90
    assert charts.nth(2).locator("rect").count() >= 90
    assert charts.nth(1).locator("path.series").get_attribute("d").count("L") >= 90
    expect(page.locator("#main")).to_contain_text("Burning hours")
    shot(page, "technician-node-24h-phone")
    page.get_by_role("button", name="7 days").click()
    expect(page.locator('#charts [role="img"]')).to_have_count(3)
    expect(page.get_by_role("button", name="7 days")).to_have_attribute("aria-pressed", "true")
    shot(page, "technician-node-7d-phone")
    guard.check(page)


def test_screenshots_of_every_page_on_a_phone_and_a_desktop(world, open_page, guard):
    """Artifacts for people to look at (artifacts/screenshots/), each page checked for
    the thing it is for before it is taken."""
    _, ticket = world.open("low_power", "khi-kor-0002", priority=3)
    for size, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
        page = open_page(viewport)
        page.goto(f"{world.url}/#/login")
        expect(page.locator("form.login")).to_be_visible()
        expect(page.locator("#logout")).to_be_hidden()
        shot(page, f"login-{size}")

        login(page, world, "k5-committee")
        expect(page.locator("#map.leaflet-container")).to_be_visible()
        expect(page.locator("#alert-feed article.alert").first).to_be_visible()
        shot(page, f"committee-area-{size}")
        page.goto(f"{world.url}/#/spots")
        expect(page.locator("#spots li.spot").first).to_be_visible()
        shot(page, f"committee-spots-{size}")
        page.goto(f"{world.url}/#/repairs")
        expect(page.locator("#repairs article").first).to_be_visible()
        shot(page, f"committee-repairs-{size}")
        page.locator("#logout").click()

        login(page, world, "crew-korangi")
        expect(page.locator(f'#tickets [data-ticket-id="{ticket}"]')).to_be_visible()
        shot(page, f"crew-queue-{size}")
        page.goto(f"{world.url}/#/tickets/{ticket}")
        expect(page.locator(".evidence svg.chart").first).to_be_visible()
        shot(page, f"crew-ticket-{size}")
        page.locator("#logout").click()

        login(page, world, "tech-sana")
        # online, offline, never heard from, pending, not commissioned, spool, older program
        expect(page.locator("#fleet-counts .count")).to_have_count(7)
        shot(page, f"technician-fleet-{size}")
        page.goto(f"{world.url}/#/nodes/khi-kor-0001")
        expect(page.locator("#charts svg.chart")).to_have_count(3)
        shot(page, f"technician-node-{size}")
        page.locator("#logout").click()

        login(page, world, "k5-urdu")
        expect(page.locator("html")).to_have_attribute("dir", "rtl")
        expect(page.locator("#alert-feed article.alert").first).to_be_visible()
        shot(page, f"committee-area-urdu-{size}")
        page.goto(f"{world.url}/#/repairs")
        expect(page.locator("#repairs article").first).to_be_visible()
        shot(page, f"committee-repairs-urdu-{size}")
        guard.check(page)
