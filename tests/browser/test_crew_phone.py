"""The dashboard as its people use it (issue 11): a crew on a phone, on a bad network or
none, and each role seeing only the pages it may use. Real hub, real Chromium; the network
is cut with Playwright's `set_offline` and slowed with the DevTools protocol."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.conftest import PHONE, login, shot


def test_a_technician_sees_only_the_pages_it_may_use(world, open_page, guard):
    page = open_page(PHONE)
    login(page, world, "tech-sana")
    nav = page.locator("#nav a")
    expect(nav).to_have_count(2)
    assert nav.evaluate_all("els => els.map(e => e.getAttribute('href'))") == [
        "#/fleet", "#/area"]
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
    guard.check(page)
