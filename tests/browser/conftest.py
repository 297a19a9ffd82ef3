"""Browser tests: Debian's Chromium driven by Playwright against a real hub process (with
real Mosquitto and InfluxDB behind it), users made with `roshni user add`, nodes with
`roshni provision`, alerts and tickets opened through the hub's own services in its
database, readings sent over MQTT.

One hub serves the whole module; each test opens the alerts and tickets it acts on, so
tests do not depend on each other's order. Screenshots go to artifacts/screenshots/.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from astral import Observer
from astral.sun import elevation
from playwright import sync_api as playwright_api
from sqlalchemy import Engine, insert, select, update

from hub import alerts, tickets
from hub.db import make_engine, writing
from hub.models import Node, NodeSeq, SpotScore
from hub.supervise import HubProcess, Influxd, Mosquitto, _roshni
from tests.support import Publisher, add_users, wait_for, wait_judged

# How long an expectation waits for the page to get there (not a timing requirement).
playwright_api.expect.set_options(timeout=15_000)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 860}
PASSWORD = "lamp-post-42-karachi"

# Text a person could type into a pole number, an area name or a note. Each would run
# script if the page ever parsed it as HTML; `alert(…)` would open a dialog.
XSS_POLE = "<img src=x onerror=alert(1)>"
XSS_AREA = '<script>alert("area")</script><b onmouseover=alert(2)>Lane 9</b>'
XSS_NOTE = '<img src=x onerror="window.__pwned=1;alert(3)"> cable cut <script>alert(4)</script>'


@dataclass(frozen=True)
class Lamp:
    id: str
    district: str
    area: str
    lat: float
    lon: float
    pole: str


LAMPS = [
    Lamp("khi-kor-0001", "korangi", "Korangi 5", 24.8315, 67.1311, "K5-101"),
    Lamp("khi-kor-0002", "korangi", "Korangi 5", 24.8321, 67.1322, "K5-102"),
    Lamp("khi-kor-0003", "korangi", "Korangi 5", 24.8327, 67.1333, "K5-103"),
    Lamp("khi-kor-0004", "korangi", "Korangi 5", 24.8333, 67.1344, "K5-104"),
    Lamp("khi-kor-0009", "korangi", XSS_AREA, 24.8400, 67.1400, XSS_POLE),
    Lamp("khi-mal-0001", "malir", "Model Colony", 24.8842, 67.1781, "MC-7"),
    Lamp("khi-mal-0002", "malir", "Model Colony", 24.8851, 67.1790, "MC-8"),
]
USERS = [
    # name, role, district, areas, language
    ("crew-korangi", "crew", "korangi", [], "en"),
    ("crew-malir", "crew", "malir", [], "en"),
    ("k5-committee", "committee", None, ["Korangi 5", XSS_AREA], "en"),
    ("k5-urdu", "committee", None, ["Korangi 5"], "ur"),
    ("tech-sana", "technician", None, [], "en"),
]


class World:
    """The running hub and what the tests put in it."""

    def __init__(self, hub: HubProcess, broker: Mosquitto) -> None:
        self.hub = hub
        self.broker = broker
        self.url = hub.url
        self.db: Engine = make_engine(f"sqlite:///{hub.workdir / 'data' / 'hub.db'}")

    def close(self) -> None:
        self.db.dispose()

    def lamp(self, node: str) -> Lamp:
        return next(lamp for lamp in LAMPS if lamp.id == node)

    def area_id(self, node: str) -> str:
        with self.db.connect() as conn:
            return str(conn.execute(select(Node.area_id).where(Node.id == node)).scalar_one())

    def open(self, rule: str, node: str, *, ticket: bool = True, priority: int = 2,
             ago_s: float = 3 * 3600, sla_h: float = 48) -> tuple[int, int | None]:
        """An alert (and its repair ticket) as the rules engine opens them."""
        lamp = self.lamp(node)
        area = self.area_id(node)
        now = time.time()
        started = now - ago_s
        evidence = [{"ts": started + i * 60 - 1200, "lamp_on": i < 20,
                     "lamp_w": 58.0 if i < 20 else 0.4, "mains_v": 229.0,
                     "lux": 14.0 if i < 20 else 1.2, "footfall": 3}
                    for i in range(30)]
        with writing(self.db) as conn:  # the hub commits meanwhile: take the lock first
            alert_id, created = alerts.open_alert(
                conn, rule=rule, node=node, district=lamp.district, area=area,
                started_at=started, detail={"raised_at": started + 600})
            assert created, f"an open {rule} alert for {node} already exists"
            ticket_id = None
            if ticket:
                ticket_id, _ = tickets.open_ticket(
                    conn, alert_id=alert_id, node=node, district=lamp.district, area=area,
                    fault=rule, priority=priority, opened_at=started + 600,
                    sla_due=started + 600 + sla_h * 3600, evidence=evidence)
                alerts.link_ticket(conn, alert_id, ticket_id)
        return alert_id, ticket_id

    def move(self, ticket_id: int, to: str, note: str, actor: str = "crew-korangi") -> None:
        with writing(self.db) as conn:
            tickets.transition(conn, ticket_id, to, actor, note)

    def ticket(self, ticket_id: int) -> dict[str, Any]:
        with self.db.connect() as conn:
            return tickets.get(conn, ticket_id)

    def alert(self, alert_id: int) -> dict[str, Any]:
        with self.db.connect() as conn:
            return alerts.get(conn, alert_id)


def _night_of(ts: float) -> str:
    """The local date of the evening a night belongs to (Karachi)."""
    local = dt.datetime.fromtimestamp(ts, dt.timezone(dt.timedelta(hours=5)))
    return (local.date() - dt.timedelta(days=1 if local.hour < 12 else 0)).isoformat()


def _publish_a_day(broker: Mosquitto, lamp: Lamp, hub: HubProcess) -> None:
    """A healthy day of readings every 15 minutes: the lamp burns while the sun is down
    (so the rules see nothing wrong), light and footfall follow the day."""
    observer = Observer(latitude=lamp.lat, longitude=lamp.lon)
    pub = Publisher(broker.host, broker.port, client_id="browser-tests")
    now = time.time()
    step = 900
    start = now - 26 * 3600
    seq = 0
    batch = []
    t = start
    while t < now - 60:
        seq += 1
        # burning whenever the sun is down at any point of the interval, so no
        # rule ever finds the lamp dark at night or burning by day
        night = any(elevation(observer, dt.datetime.fromtimestamp(t - d, dt.UTC)) < 0
                    for d in (0, step / 2, step))
        hour = dt.datetime.fromtimestamp(t, dt.timezone(dt.timedelta(hours=5))).hour
        busy = 2 + (12 if 7 <= hour <= 10 or 17 <= hour <= 22 else 0) + seq % 5
        batch.append({"v": 1, "node": lamp.id, "seq": seq, "ts": t, "interval_s": step,
                      "lamp_on": night, "lamp_w": 58.0 if night else 0.3, "mains_v": 230.0,
                      "lux": 12.0 + seq % 3 if night else 900.0 + 40 * (seq % 7),
                      "footfall": busy, "spool": 0})
        t += step
    pub.send(f"roshni/v1/{lamp.id}/status", {"v": 1, "state": "online", "session": 1,
                                             "ts": now, "fw": "1.4.2", "profile": "pi4-relay"},
             retain=True)
    pub.send(f"roshni/v1/{lamp.id}/reading", batch)
    pub.close()
    db = make_engine(f"sqlite:///{hub.workdir / 'data' / 'hub.db'}")
    try:
        def stored() -> int:
            with db.connect() as conn:
                return int(conn.execute(select(NodeSeq.max_seq).where(
                    NodeSeq.node_id == lamp.id, NodeSeq.kind == "reading")).scalar() or 0)
        def online() -> bool:
            with db.connect() as conn:
                return conn.execute(select(Node.status).where(Node.id == lamp.id)
                                    ).scalar() == "online"
        wait_for(lambda: stored() == seq, timeout=60, what=f"{lamp.id}'s readings stored")
        wait_for(online, timeout=60, what=f"{lamp.id} online")
        wait_judged(db)
    finally:
        db.dispose()


def _seed_spots(db: Engine) -> None:
    """Last night's unsafe-spot scores, as the scorer would have left them."""
    night = _night_of(time.time() - 12 * 3600)
    rows = [("khi-kor-0002", 95.0, 410.0, 820.0), ("khi-kor-0009", 60.0, 150.0, 300.0),
            ("khi-kor-0003", 20.0, 30.0, 30.0), ("khi-mal-0001", 120.0, 500.0, 1000.0)]
    with db.begin() as conn:
        conn.execute(insert(SpotScore), [
            dict(node_id=n, night=night, dark_minutes=m, exposure=e, score=s,
                 updated_at=time.time()) for n, m, e, s in rows])


def _roshni_cmd(hub: HubProcess, *args: str, stdin: str | None = None) -> None:
    done = subprocess.run([*_roshni(), *args], env=hub.env, input=stdin, text=True,
                          capture_output=True, timeout=120)
    assert done.returncode == 0, f"roshni {' '.join(args)}: {done.stderr}"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("browser")
    with Mosquitto(tmp / "mosquitto") as broker, Influxd(tmp / "influxd") as influx:
        hub = HubProcess(tmp / "hub", {"ROSHNI_MQTT__URL": broker.url,
                                       "ROSHNI_INFLUX__URL": influx.url,
                                       "ROSHNI_LOG_LEVEL": "WARNING"})
        week_ago = time.time() - 8 * 86400
        # The way a technician registers a street's nodes: one file, one command.
        lamps = tmp / "lamps.csv"
        with lamps.open("w", newline="") as f:
            out = csv.writer(f)
            out.writerow(["id", "district", "area", "lat", "lon", "rated_w", "pole"])
            out.writerows([lamp.id, lamp.district, lamp.area, lamp.lat, lamp.lon, 60, lamp.pole]
                          for lamp in LAMPS)
        _roshni_cmd(hub, "provision", "--csv", str(lamps))
        db = make_engine(f"sqlite:///{hub.workdir / 'data' / 'hub.db'}")
        with db.begin() as conn:  # installed a week ago: last night's readings are plausible
            conn.execute(update(Node).values(provisioned_at=week_ago))
        _seed_spots(db)
        add_users(db, USERS, PASSWORD)
        db.dispose()
        with hub:
            _publish_a_day(broker, LAMPS[0], hub)
            w = World(hub, broker)
            try:
                yield w
            finally:
                w.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium")
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


class Guard:
    """Fails the test if the page ever runs script that came from data: a dialog opening,
    or `window.__pwned` set by an injected handler. Also collects page errors."""

    def __init__(self) -> None:
        self.dialogs: list[str] = []
        self.errors: list[str] = []

    def watch(self, page: Any) -> None:
        def on_dialog(dialog: Any) -> None:
            self.dialogs.append(f"{dialog.type}: {dialog.message}")
            dialog.dismiss()

        page.on("dialog", on_dialog)
        page.on("pageerror", lambda err: self.errors.append(str(err)))

    def check(self, *pages: Any) -> None:
        assert self.dialogs == [], f"script from data ran: {self.dialogs}"
        for page in pages:
            assert page.evaluate("window.__pwned") is None, "an injected handler ran"
        assert self.errors == [], f"errors in the page: {self.errors}"


@pytest.fixture
def guard() -> Guard:
    return Guard()


@pytest.fixture
def open_page(browser: Any, world: World, guard: Guard) -> Iterator[Any]:
    """open_page(viewport=PHONE, locale="en-GB") -> a fresh browser context's page."""
    contexts = []

    def make(viewport: dict[str, int] = PHONE, locale: str = "en-GB") -> Any:
        context = browser.new_context(viewport=viewport, locale=locale,
                                      timezone_id="Asia/Karachi",
                                      device_scale_factor=2 if viewport == PHONE else 1,
                                      is_mobile=viewport == PHONE, has_touch=viewport == PHONE)
        context.set_default_timeout(20000)
        contexts.append(context)
        page = context.new_page()
        guard.watch(page)
        return page

    yield make
    for context in contexts:
        context.close()


def login(page: Any, world: World, user: str) -> None:
    page.goto(f"{world.url}/#/login")
    page.fill("#username", user)
    page.fill("#password", PASSWORD)
    page.click("form.login button[type=submit]")
    # on the role's home page, rendered
    playwright_api.expect(page).to_have_url(re.compile(r"#/(area|tickets|fleet)$"))
    playwright_api.expect(page.locator("#main > section.page")).to_have_count(1)
    playwright_api.expect(page.locator("#logout")).to_be_visible()


def wait_live(page: Any) -> None:
    """The page's live stream is connected (the hub said `ready`)."""
    playwright_api.expect(page.locator("#live")).to_have_attribute("data-mode", "on")


def shot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{re.sub(r'[^a-z0-9_-]+', '-', name.lower())}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def api_get(world: World, token: str, path: str) -> Any:
    import urllib.request

    req = urllib.request.Request(f"{world.url}{path}",
                                 headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())
