"""A node's commissioning and commands on its page, in a real browser against a real hub:
the last self-test from the pole as its checklist (FAIL items with their remedy, node text
staying text), a technician sending a real simulated node `identify`, `selftest` and
`set_interval` and seeing its answers, crews and committees seeing no command buttons,
revoked nodes marked, a node that does not answer and a broker that is down said so."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from hub.supervise import NodeProcess
from tests.browser.conftest import PASSWORD, PHONE, World, _roshni_cmd, login, shot
from tests.support import Publisher, wait_for

LAMP_MODEL = "Philips BRP131 LED 60W"
XSS_DETAIL = '<img src=x onerror="window.__pwned=1;alert(5)"> photodiode 0.00'
XSS_REMEDY = "Check the photodiode's plug <b onmouseover=alert(6)>J3</b> at the lamp head."

FAILING_CHECKS = [
    {"name": "clock", "title": "clock is synchronised", "status": "pass",
     "detail": "NTP synchronised, offset 0.004 s"},
    {"name": "lamp_sensor", "title": "lamp sensor reads", "status": "fail",
     "detail": XSS_DETAIL, "remedy": XSS_REMEDY},
    {"name": "lamp_responds", "title": "lamp sensor responds", "status": "fail",
     "detail": "no change within 20 s (stayed at 0.00)",
     "remedy": "Check the photodiode and that it faces the lamp."},
    {"name": "energy_meter", "title": "energy meter reads", "status": "skip",
     "detail": "this profile has no energy meter"},
    {"name": "spool", "title": "spool is writable and has room", "status": "pass",
     "detail": "/var/lib/roshni/spool.db: 28 GB free, room for 365 days offline"},
]
PASSING_CHECKS = [{**c, "status": "pass", "detail": "fine"} if c["status"] == "fail" else c
                  for c in FAILING_CHECKS]
for _c in PASSING_CHECKS:
    _c.pop("remedy", None)


def provision(world: World, node: str, pole: str) -> None:
    """`roshni provision` on the running hub, as a technician registers a new pole."""
    _roshni_cmd(world.hub, "provision", node, "--district", "korangi", "--area", "Korangi 5",
                "--lat", "24.8350", "--lon", "67.1360", "--rated-w", "60", "--pole", pole,
                "--lamp-model", LAMP_MODEL)


_TOKENS: dict[tuple[str, str], str] = {}


def token(world: World, user: str) -> str:
    """A bearer token, logged in once per hub and user (logging in hashes the password)."""
    key = (world.url, user)
    if key not in _TOKENS:
        body = f"grant_type=password&username={user}&password={PASSWORD}".encode()
        with urllib.request.urlopen(f"{world.url}/api/v1/auth/token", body, timeout=10) as r:
            _TOKENS[key] = str(json.loads(r.read())["access_token"])
    return _TOKENS[key]


def api(world: World, path: str, user: str = "tech-sana") -> Any:
    req = urllib.request.Request(f"{world.url}/api/v1{path}",
                                 headers={"Authorization": f"Bearer {token(world, user)}"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


def send(world: World, node: str, body: dict[str, Any]) -> int:
    """POST a command as tech-sana; the status code."""
    req = urllib.request.Request(f"{world.url}/api/v1/nodes/{node}/commands",
                                 json.dumps(body).encode(), method="POST",
                                 headers={"Authorization": f"Bearer {token(world, 'tech-sana')}",
                                          "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return int(r.status)
    except urllib.error.HTTPError as err:
        return int(err.code)


def publish_selftest(world: World, node: str, seq: int, checks: list[dict[str, Any]]) -> None:
    """The `selftest` event `roshni node selftest` publishes from the pole; waits until the
    hub has stored it."""
    failed = sum(c["status"] == "fail" for c in checks)
    event = {"v": 1, "node": node, "seq": seq, "ts": time.time(), "type": "selftest",
             "id": str(uuid.uuid4()), "ok": failed == 0,
             "passed": sum(c["status"] == "pass" for c in checks), "failed": failed,
             "checks": checks}
    before = api(world, f"/nodes/{node}")["selftest_at"]
    pub = Publisher(world.broker.host, world.broker.port, client_id=f"{node}-selftest")
    try:
        pub.send(f"roshni/v1/{node}/event", event)
    finally:
        pub.close()
    wait_for(lambda: api(world, f"/nodes/{node}")["selftest_at"] not in (None, before),
             timeout=60, interval=0.5, what=f"{node}'s self-test stored by the hub")


@pytest.fixture(scope="module")
def pole(world: World, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """khi-kor-0021, provisioned and running the real node agent (`roshni node run
    --simulate default`) against the test broker, so commands are really answered."""
    node = "khi-kor-0021"
    provision(world, node, "K5-121")
    agent = NodeProcess(tmp_path_factory.mktemp("pole"), {
        "ROSHNI_NODE__ID": node, "ROSHNI_MQTT__URL": world.broker.url,
        "ROSHNI_NODE__INTERVAL_S": "10", "ROSHNI_NODE__LAT": "24.8350",
        "ROSHNI_NODE__LON": "67.1360"}, scenario="default")
    with agent:
        wait_for(lambda: api(world, f"/nodes/{node}")["status"] == "online", timeout=60,
                 interval=0.5, what=f"{node} online at the hub")
        yield node


@pytest.fixture(scope="module")
def failed_on_the_pole(world: World) -> str:
    """khi-kor-0022, whose technician's self-test on the pole failed (no agent runs); it
    stays failed."""
    node = "khi-kor-0022"
    provision(world, node, "K5-122")
    publish_selftest(world, node, 1, FAILING_CHECKS)
    return node


def top_shot(page: Any, name: str) -> None:
    """A full-page screenshot from the top (the sticky bar stays where it belongs)."""
    page.evaluate("window.scrollTo(0, 0)")
    shot(page, name)


def open_node(page: Any, world: World, node: str) -> None:
    page.goto(f"{world.url}/#/nodes/{node}")
    expect(page.locator("#commissioning")).to_be_visible()


def test_the_commissioning_card_shows_the_pole_self_test_with_remedies_as_text(
        world, open_page, guard):
    node = "khi-kor-0023"
    provision(world, node, "K5-123")
    publish_selftest(world, node, 1, FAILING_CHECKS)
    page = open_page(PHONE)
    login(page, world, "tech-sana")
    open_node(page, world, node)
    card = page.locator("#commissioning")
    expect(card.locator(".commissioned")).to_have_text("Not commissioned yet")
    expect(card.locator(".selftest-head .badge")).to_have_text("Failed")
    expect(card).to_contain_text("2 failed, 2 passed, 1 skipped")
    items = card.locator(".checklist li")
    expect(items).to_have_count(len(FAILING_CHECKS))
    # in the order the node ran them, each with its verdict
    assert items.evaluate_all("els => els.map(e => e.dataset.check)") == [
        c["name"] for c in FAILING_CHECKS]
    for check in FAILING_CHECKS:
        item = card.locator(f'.checklist li[data-check="{check["name"]}"]')
        expect(item.locator(".badge")).to_have_text(check["status"].upper())
        expect(item.locator(".check-title")).to_have_text(check["title"])
        expect(item.locator(".check-detail")).to_have_text(check["detail"])
        if check["status"] == "fail":
            expect(item.locator(".remedy-text")).to_have_text(check["remedy"])
        else:
            expect(item.locator(".remedy")).to_have_count(0)
    # what the node sent is text: no element came of it, no script ran
    assert page.locator("main img, main b, main script").count() == 0
    expect(page.locator("#facts")).to_contain_text(LAMP_MODEL)
    assert "null" not in page.locator("#main").inner_text()
    top_shot(page, "technician-node-commissioning-failed-phone")

    # the technician fixes the plug on the pole and runs the self-test again: it passes
    publish_selftest(world, node, 2, PASSING_CHECKS)
    page.locator("#commissioning-recheck").click()
    expect(card.locator(".commissioned.yes")).to_contain_text("Commissioned")
    expect(card.locator(".selftest-head .badge")).to_have_text("Passed")
    expect(card.locator(".checklist li.check-fail")).to_have_count(0)
    assert api(world, f"/nodes/{node}")["commissioned_at"] is not None
    top_shot(page, "technician-node-commissioned-phone")
    guard.check(page)


def test_a_technician_commands_a_real_node_and_sees_its_answers(world, open_page, guard, pole):
    page = open_page(PHONE)
    login(page, world, "tech-sana")
    open_node(page, world, pole)
    expect(page.locator("#commissioning .commissioned")).to_have_text("Not commissioned yet")
    expect(page.locator("#commissioning")).to_contain_text("No self-test received yet.")
    expect(page.locator("#cmd-hint")).to_be_hidden()  # the node is online
    progress = page.locator("#cmd-progress")

    page.get_by_role("button", name="Identify (blink LED)").click()
    answer = progress.locator('.cmd-answer[data-outcome="ok"]')
    expect(answer).to_contain_text("The node answered: done.")
    expect(answer).to_contain_text("The status LED (GPIO")
    expect(answer).to_contain_text("blinks for 30 s")
    first = page.locator("#cmd-list li").first
    expect(first).to_contain_text("Identify: blink 30 s")
    expect(first).to_contain_text("by tech-sana")
    expect(first.locator(".badge")).to_have_text("Done")
    stored = api(world, f"/nodes/{pole}/commands")["data"][0]
    assert (stored["cmd"], stored["status"], stored["ok"], stored["issued_by"]) == (
        "identify", "answered", True, "tech-sana")

    page.get_by_role("button", name="Run self-test").click()
    answer = progress.locator('.cmd-answer[data-outcome="ok"]')
    expect(answer).to_contain_text("Self-test on the node: passed.")
    expect(answer.locator('.checklist li[data-check="spool"] .badge')).to_have_text("PASS")
    checks = api(world, f"/nodes/{pole}/commands")["data"][0]["result"]["checks"]
    expect(answer.locator(".checklist li")).to_have_count(len(checks))
    for check in checks:
        expect(answer.locator(f'.checklist li[data-check="{check["name"]}"] .check-detail')
               ).to_have_text(check["detail"])
    expect(page.locator("#cmd-list li").first.locator("summary")).to_contain_text("0 failed")
    top_shot(page, "technician-node-remote-selftest-phone")

    # out of bounds: refused on the page, nothing sent
    count = api(world, f"/nodes/{pole}/commands")["count"]
    for bad in ("3", "4000", "12.5"):
        page.fill("#interval-s", bad)
        page.get_by_role("button", name="Set reporting interval").click()
        expect(page.locator("#interval-error")).to_be_visible()
        expect(page.locator("#interval-s")).to_have_attribute("aria-invalid", "true")
    assert api(world, f"/nodes/{pole}/commands")["count"] == count
    page.fill("#interval-s", "20")
    page.get_by_role("button", name="Set reporting interval").click()
    expect(page.locator("#interval-error")).to_be_hidden()
    expect(progress.locator('.cmd-answer[data-outcome="ok"]')).to_contain_text(
        "The node now reports every 20 s (before: 10 s).")
    expect(page.locator("#cmd-list li").first).to_contain_text("Reporting interval: 20 s")
    assert api(world, f"/nodes/{pole}/commands")["data"][0]["result"]["interval_s"] == 20
    guard.check(page)


@pytest.mark.parametrize("user", ["crew-korangi", "k5-urdu"])
def test_crews_and_committees_see_the_checklist_but_no_command_buttons(
        world, open_page, guard, failed_on_the_pole, user):
    page = open_page(PHONE)
    login(page, world, user)
    if user == "k5-urdu":
        # a committee lands on the map: let it finish drawing before leaving (Leaflet's
        # canvas can throw if its map is removed with a redraw still pending)
        expect(page.locator("#map.leaflet-container")).to_be_visible()
        expect(page.locator("#alert-feed > *").first).to_be_visible()
    open_node(page, world, failed_on_the_pole)
    expect(page.locator("#commissioning .checklist li")).to_have_count(len(FAILING_CHECKS))
    expect(page.locator("#commands")).to_have_count(0)
    assert page.locator("#main button").evaluate_all(
        "els => els.map(e => e.id)").count("cmd-identify") == 0
    if user == "k5-urdu":
        expect(page.locator("html")).to_have_attribute("dir", "rtl")
        expect(page.locator("#commissioning h2")).to_have_text("تنصیب کی جانچ")
        expect(page.locator('#commissioning li[data-check="lamp_sensor"] .badge')
               ).to_have_text("فیل")
        top_shot(page, "committee-node-commissioning-urdu-phone")
    guard.check(page)


def test_a_revoked_node_is_marked_and_offers_no_commands(world, open_page, guard):
    node = "khi-kor-0024"
    provision(world, node, "K5-124")
    _roshni_cmd(world.hub, "provision", node, "--revoke")
    page = open_page(PHONE)
    login(page, world, "tech-sana")
    open_node(page, world, node)
    expect(page.locator("#node-revoked")).to_have_text("Revoked")
    expect(page.locator(".revoked-notice")).to_contain_text("can no longer send readings")
    expect(page.locator("#facts")).to_contain_text("Revoked")
    expect(page.locator("#commands")).to_have_count(0)
    top_shot(page, "technician-node-revoked-phone")
    guard.check(page)


def test_a_node_that_does_not_answer_is_given_up_on_with_a_clear_message(
        world, open_page, guard):
    node = "khi-kor-0025"  # registered, but no agent runs: nothing will answer
    provision(world, node, "K5-125")
    page = open_page(PHONE)
    page.clock.install()  # so the page's minute of waiting can be skipped
    login(page, world, "tech-sana")
    open_node(page, world, node)
    expect(page.locator("#cmd-hint")).to_contain_text("has not heard from this node lately")
    # Never connected: the hub refuses a command the node could not receive.
    page.get_by_role("button", name="Identify (blink LED)").click()
    expect(page.locator("#cmd-progress [role=alert]")).to_have_text(
        "The node is not connected to the hub now, so it would not get the command. Send it "
        "when the node is online again.")
    # A node that comes online (its birth, from a real MQTT peer) but then never answers.
    birth = Publisher(world.broker.host, world.broker.port, client_id=f"{node}-birth")
    try:
        birth.send(f"roshni/v1/{node}/status", {"v": 1, "state": "online", "session": 1},
                   retain=True)
    finally:
        birth.close()
    wait_for(lambda: api(world, f"/nodes/{node}")["status"] == "online",
             what="the node online at the hub")
    page.get_by_role("button", name="Identify (blink LED)").click()
    expect(page.locator("#cmd-progress .cmd-waiting")).to_contain_text(
        "Sent. Waiting for the node to answer")
    expect(page.get_by_role("button", name="Run self-test")).to_be_disabled()
    page.clock.fast_forward("01:05")
    expect(page.locator("#cmd-progress .cmd-gave-up")).to_contain_text(
        "No answer from the node after 60 s. It may be offline")
    expect(page.get_by_role("button", name="Run self-test")).to_be_enabled()
    expect(page.locator("#cmd-list li").first.locator(".badge")).to_have_text(
        "Waiting for answer")
    sent = api(world, f"/nodes/{node}/commands")["data"][0]
    assert sent["status"] == "sent"
    top_shot(page, "technician-node-no-answer-phone")

    # the node comes back and answers late (a real MQTT peer on the node's topic): looking
    # again shows the answer
    pub = Publisher(world.broker.host, world.broker.port, client_id=f"{node}-late")
    try:
        pub.send(f"roshni/v1/{node}/cmd/result", {"v": 1, "id": sent["id"], "ok": True,
                                                  "detail": {"blinking_s": 30, "led": "GPIO23"}})
    finally:
        pub.close()
    page.get_by_role("button", name="Look for an answer again").click()
    expect(page.locator('#cmd-progress .cmd-answer[data-outcome="ok"]')).to_contain_text(
        "The status LED (GPIO23) blinks for 30 s.")
    expect(page.locator("#cmd-list li").first.locator(".badge")).to_have_text("Done")
    guard.check(page)


def test_a_broker_that_does_not_take_the_command_is_said_in_plain_words(
        world, open_page, guard, pole):
    page = open_page(PHONE)
    login(page, world, "tech-sana")
    open_node(page, world, pole)
    # Killed, not stopped: a broker shutting down sends its clients' wills, and the hub
    # would then refuse the command for an offline node instead (409).
    world.broker.kill()
    try:
        page.get_by_role("button", name="Identify (blink LED)").click()
        expect(page.locator("#cmd-progress [role=alert]")).to_have_text(
            "The hub could not pass the command on (the message broker did not take it). "
            "Try again in a minute.")
        expect(page.get_by_role("button", name="Identify (blink LED)")).to_be_enabled()
    finally:
        world.broker.start()
    # once the broker is back and the hub reconnected, the same button works again
    wait_for(lambda: send(world, pole, {"cmd": "identify", "seconds": 1}) == 202, timeout=90,
             interval=1, what="the hub sending commands again")
    page.get_by_role("button", name="Identify (blink LED)").click()
    expect(page.locator('#cmd-progress .cmd-answer[data-outcome="ok"]')).to_be_visible(
        timeout=60_000)
    guard.check(page)
