"""The dashboard as its people use it (issue 11): the committee's map tells the whole
truth (each lamp coloured by its worst open alert, a count per area, only posts that
stand, a stray post does not zoom out to the world); a node has one status everywhere and
its charts draw no data where there was none; and every page in Urdu is Urdu, with the
sensor's and the node's words translated and numbers isolated from the text around them."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import update

from hub import alerts, open311, registry, tickets
from hub.auth import users
from hub.db import writing
from hub.models import Node
from hub.rules.policy import POLICIES
from tests.browser.conftest import PASSWORD, PHONE, World, login, shot
from tests.browser.test_commissioning import FAILING_CHECKS, PASSING_CHECKS, api, publish_selftest
from tests.support import Publisher, wait_for

FLICKERING = "khi-kor-0031"
REVOKED = "khi-kor-0032"
STRAY = "khi-kor-0033"  # a post whose latitude and longitude were typed the wrong way round
RETESTED = "khi-kor-0034"  # commissioned, then its latest self-test failed
SILENT = "khi-kor-0035"  # reported for two minutes an hour ago, then went offline
URDU_TECH = "tech-urdu"
URDU_CREW = "crew-urdu"


def provision(world: World, node: str, pole: str) -> None:
    """Registered as `roshni provision` registers a pole (in this process: no broker
    credentials are needed, the test broker lets anyone in)."""
    registry.provision(world.db, node, district="korangi", area="Korangi 5", lat=24.8350,
                       lon=67.1360, rated_w=60, pole=pole)


def citizen_report(world: World, node: str) -> int:
    """A citizen's report about `node`'s lamp that its sensor disagrees with, as Open311
    stores it: it stays open for a person to check."""
    area = world.area_id(node)
    lamp = world.lamp(node)
    readings = [{"ts": time.time() - 600 + 60 * i, "lamp_on": True, "lamp_w": 58.0,
                 "lux": 14.0} for i in range(5)]
    verdict = open311.Verdict("disagrees", "The lamp's sensor reports it burning.",
                              node=SimpleNamespace(id=node, district_id="korangi", area_id=area),
                              distance_m=12.0, evidence=readings)
    with writing(world.db) as conn:
        return open311.submit(conn, verdict, open311.SERVICE_BY_CODE["street_light_out"],
                              {"description": "Dark outside the mosque for three nights",
                               "address_string": "Street 4, near Jamia Masjid"},
                              lat=lamp.lat, lon=lamp.lon, client="test")


def open_by_sensor(world: World, rule: str, node: str, ticket: bool = True) -> int | None:
    """An alert, and its ticket with the note the sensor writes when it opens one."""
    area = world.area_id(node)
    started = time.time() - 2 * 3600
    with writing(world.db) as conn:
        alert_id, _ = alerts.open_alert(conn, rule=rule, node=node, district="korangi",
                                        area=area, started_at=started, detail={})
        if not ticket:
            return None
        ticket_id, _ = tickets.open_ticket(
            conn, alert_id=alert_id, node=node, district="korangi", area=area, fault=rule,
            priority=2, opened_at=started, sla_due=started + 48 * 3600,
            evidence=[{"ts": started - 60 * (5 - i), "lamp_on": False, "lamp_w": 0.3,
                       "mains_v": 229.0, "lux": 0.0, "footfall": 2} for i in range(5)],
            note=f"{POLICIES[rule].title}, found by the sensor")
        alerts.link_ticket(conn, alert_id, ticket_id)
    return ticket_id


@pytest.fixture(scope="module")
def scene(world: World) -> Iterator[dict[str, Any]]:
    for node, pole in [(FLICKERING, "K5-131"), (REVOKED, "K5-132"), (STRAY, "K5-133"),
                       (RETESTED, "K5-134"), (SILENT, "K5-135")]:
        provision(world, node, pole)
    registry.revoke(world.db, REVOKED)
    with writing(world.db) as conn:  # as an older registration left it
        conn.execute(update(Node).where(Node.id == STRAY).values(lat=67.1333, lon=24.8327))
        for name, role, district in [(URDU_TECH, "technician", None),
                                     (URDU_CREW, "crew", "korangi")]:
            users.create_user(conn, name, role=role, password=PASSWORD, district=district,
                              language="ur")
    open_by_sensor(world, "flicker", FLICKERING, ticket=False)
    ticket_id = open_by_sensor(world, "low_power", "khi-kor-0004")
    publish_selftest(world, RETESTED, 1, PASSING_CHECKS)
    publish_selftest(world, RETESTED, 2, FAILING_CHECKS)
    # two minutes of a burning lamp with people passing, an hour ago; then silence
    now = time.time()
    pub = Publisher(world.broker.host, world.broker.port, client_id="committee-tests")
    pub.send(f"roshni/v1/{SILENT}/status", {"v": 1, "state": "online", "session": 1,
                                            "ts": now - 3660, "fw": "1.4.2",
                                            "profile": "pi4-relay"}, retain=True)
    pub.send(f"roshni/v1/{SILENT}/reading", [
        {"v": 1, "node": SILENT, "seq": i + 1, "ts": now - 3660 + 60 * i, "interval_s": 60,
         "lamp_on": True, "lamp_w": 58.0, "mains_v": 230.0, "lux": 14.0, "footfall": 4}
        for i in range(2)])
    pub.send(f"roshni/v1/{SILENT}/status", {"v": 1, "state": "offline", "session": 1,
                                            "ts": now - 3500}, retain=True)
    pub.close()
    wait_for(lambda: api(world, f"/nodes/{SILENT}")["status"] == "offline", timeout=60,
             interval=0.5, what=f"{SILENT} offline at the hub")
    yield {"ticket": ticket_id, "report": citizen_report(world, "khi-kor-0002"),
           "report_ur": citizen_report(world, "khi-kor-0003")}


def test_the_map_colours_each_lamp_by_its_worst_alert_and_counts_them_per_area(
        world, scene, open_page, guard):
    page = open_page(PHONE)
    login(page, world, "k5-committee")
    korangi = page.locator("#area-summary li", has_text="Korangi 5").first
    # the flickering lamp is not "off", the failing one not "burning": each counted as it is
    expect(korangi.locator('[data-state="flicker"]')).to_have_attribute("data-n", "1")
    expect(korangi.locator('[data-state="flicker"]')).to_have_text("1 flickering")
    expect(korangi.locator('[data-state="low_power"]')).to_have_attribute("data-n", "1")
    # revoked posts are gone from the map and from the count
    lamps = int(korangi.locator(".lamps").get_attribute("data-n"))
    assert lamps == 4 + 4  # khi-kor-0001..0004 and the four new active posts
    mapped = page.locator("#map")
    expect(mapped).to_have_attribute("data-lamps", re.compile(f"{FLICKERING}:flicker"))
    drawn = dict(p.split(":") for p in mapped.get_attribute("data-lamps").split())
    assert drawn["khi-kor-0004"] == "low_power"
    assert REVOKED not in drawn
    # a post with swapped coordinates is drawn where it says, but the view stays on the street
    assert STRAY in drawn
    assert int(mapped.get_attribute("data-zoom")) >= 12
    # without a tile server, the area itself is outlined and named on the map
    expect(mapped).to_have_attribute("data-areas", re.compile(r"\bkorangi-5\b"))
    expect(page.locator("#map .area-label", has_text="Korangi 5")).to_be_visible()
    for rule in ("flicker", "low_power", "power_cut", "tamper", "day_burner", "dark"):
        expect(page.locator(f".legend .lamp-{rule}")).to_have_count(1)
    shot(page, "committee-area-summary-phone")

    # a citizen's report the sensor disagrees with waits for the committee to check it
    page.locator("#nav a", has_text="Citizens' reports").click()
    card = page.locator(f'#reports [data-report-id="{scene["report"]}"]')
    expect(card).to_contain_text("Street light out")
    expect(card).to_contain_text("Sensor disagrees")
    expect(card).to_contain_text("Dark outside the mosque for three nights")
    expect(card.locator("a.mono")).to_have_text("khi-kor-0002")
    card.locator("summary").click()
    expect(card.locator(".evidence .chart-share")).to_be_visible()
    expect(card.locator(".evidence bdi.qty").first).to_have_text("58\u00a0W")
    shot(page, "committee-reports-phone")
    card.locator("textarea").fill("Checked at 9 pm: the lamp burns")
    card.get_by_role("button", name="Checked: close").click()
    expect(card).to_have_count(0)
    closed = api(world, f"/reports/{scene['report']}", user="k5-committee")
    assert (closed["status"], closed["closed_by"]) == ("closed", "k5-committee")
    guard.check(page)


def test_a_node_has_one_status_and_its_charts_show_only_the_time_it_reported(
        world, scene, open_page, guard):
    page = open_page(PHONE)
    login(page, world, "tech-sana")
    page.goto(f"{world.url}/#/nodes/{SILENT}")
    expect(page.locator("#node-status [data-standing]")).to_have_attribute(
        "data-standing", "offline")
    expect(page.locator("#node-status")).to_contain_text("Offline since")
    expect(page.locator("#node-badge")).to_have_text("Node offline")
    share = page.locator("#charts .chart-share")
    expect(share).to_be_visible()
    text = page.locator("#main").inner_text()
    assert "No data" not in text
    # two minutes of readings are one 15-minute bar, not a lamp burning all day
    plot = share.evaluate("svg => svg.viewBox.baseVal.width - 40")
    bars = share.locator("rect.series").evaluate_all(
        "els => els.map(e => Number(e.getAttribute('width')))")
    assert bars and sum(bars) < plot * 0.05, (bars, plot)
    people = page.locator("#charts .chart-bars rect.series").evaluate_all(
        "els => els.map(e => Number(e.getAttribute('width')))")
    assert people and sum(people) < plot * 0.05
    shot(page, "technician-node-silent-phone")

    # commissioned once, but the latest self-test on the pole failed: no tick beside it
    page.goto(f"{world.url}/#/nodes/{RETESTED}")
    card = page.locator("#commissioning")
    expect(card.locator(".commissioned")).to_contain_text("latest self-test failed")
    expect(card.locator(".commissioned")).not_to_contain_text("✓")

    page.goto(f"{world.url}/#/fleet")
    # found among all nodes by its pole, revoked ones included, however many there are
    page.locator("#fleet-q").fill("k5-13")
    listed = page.locator("#fleet-list tbody tr")
    expect(listed).to_have_count(5)
    assert listed.evaluate_all("els => els.map(e => e.dataset.node)") == [
        FLICKERING, REVOKED, STRAY, RETESTED, SILENT]
    expect(page.locator("#fleet-range")).to_have_text("1–5 of 5")
    row = page.locator(f'#fleet-list tr[data-node="{SILENT}"]')
    expect(row).to_contain_text("Offline since")
    row.locator("a").click()
    expect(page).to_have_url(re.compile(f"#/nodes/{SILENT}$"))
    guard.check(page)


# Latin-script words allowed on an Urdu page: names of products and sensors, and units.
ALLOWED = {"W", "kWh", "lux", "lx", "PIR", "LD2410", "NTP", "InfluxDB", "LED", "DMC"}
# What people and devices wrote is shown as written (names, poles, ids, notes, the node's
# own report): the page isolates such text in <bdi>, marks the node's words lang="en",
# and sets ids in .mono; the language switch says "English" on purpose.
SKIP = "bdi, [lang=en], .mono, #lang, script, style, noscript"


def english_left(page: Any) -> list[str]:
    text = page.evaluate(f"""() => {{
        const root = document.body.cloneNode(true);
        root.querySelectorAll({SKIP!r}).forEach((e) => e.remove());
        return root.textContent;
    }}""")
    words = re.findall(r"[A-Za-z][A-Za-z0-9]*", text)
    return [w for w in words if w not in ALLOWED]


def walk(page: Any, world: World, routes: list[str], name: str) -> dict[str, list[str]]:
    left = {}
    for route in routes:
        page.goto(f"{world.url}/#/{route}")
        main = page.locator("#main > section.page")
        expect(main).to_have_count(1)
        expect(page.locator("#main .muted", has_text="لوڈ ہو رہا ہے")).to_have_count(0)
        if found := english_left(page):
            left[route] = found
        shot(page, f"urdu-{name}-{route.replace('/', '-')}-phone")
    return left


def test_every_page_in_urdu_is_urdu_but_for_names_ids_and_units(world, scene, open_page, guard):
    left: dict[str, list[str]] = {}
    page = open_page(PHONE, locale="ur-PK")
    page.goto(f"{world.url}/#/login")
    expect(page.locator("html")).to_have_attribute("lang", "ur")
    if found := english_left(page):
        left["login"] = found
    login(page, world, "k5-urdu")
    left |= {f"committee {k}": v for k, v in walk(
        page, world, ["area", "spots", "repairs", "reports"], "committee").items()}
    report = page.locator(f'#reports [data-report-id="{scene["report_ur"]}"]')
    expect(report).to_contain_text("سینسر متفق نہیں")
    # the sensor's note on the ticket is said in Urdu
    repair = page.locator(f'#repairs [data-ticket-id="{scene["ticket"]}"]')
    page.goto(f"{world.url}/#/repairs")
    expect(repair.locator(".note-text")).to_contain_text("سینسر نے پکڑا")

    for user, routes in [(URDU_TECH, ["fleet", f"nodes/{RETESTED}", "nodes/khi-kor-0001",
                                      f"nodes/{SILENT}", "area"]),
                         (URDU_CREW, ["reports", "tickets", f"tickets/{scene['ticket']}"])]:
        page = open_page(PHONE, locale="ur-PK")
        login(page, world, user)
        left |= {f"{user} {k}": v for k, v in walk(page, world, routes, user).items()}
    # the lamp's last reading: each figure keeps its unit on its right, left to right
    figures = page.locator(".evidence p bdi.qty")
    expect(figures).to_have_text(["0.3\u00a0W", "0\u00a0lux"])
    assert figures.evaluate_all("els => els.map(e => getComputedStyle(e).direction)") == [
        "ltr", "ltr"]
    assert left == {}, f"English left on Urdu pages: {left}"
    guard.check()
