"""One real hub for the API tests: Mosquitto, InfluxDB and `roshni hub run` as processes,
users made with `roshni user add`, nodes, alerts and tickets seeded through the hub's own
services (hub.registry, hub.alerts, hub.tickets) in its state database, and requests sent
over HTTP the way the dashboard or a phone would send them. There are two worlds, one with
its state in SQLite and one in PostgreSQL: every API test runs in both.

The world, in two districts:

    korangi / Korangi 5   khi-kor-0001 (lamp out, ticket P2), khi-kor-0003 (lamp out, P1)
    korangi / Korangi 6   khi-kor-0002 (flicker, ticket P3)
    malir / Malir Cantt   khi-mal-0001 (lamp out, ticket P2; node offline alert)

People: ayesha (admin), tariq (technician), kamran (crew, korangi), mehwish (crew, malir),
kiran (committee, Korangi 5), zara (committee, Korangi 5 and Malir Cantt).
"""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, select, update

from hub import alerts, tickets
from hub.db import make_engine, writing
from hub.models import Node
from hub.registry import provision
from hub.supervise import HubProcess, Influxd, Mosquitto, Postgres, _roshni
from tests.hub.conftest import BACKENDS
from tests.support import Publisher, add_users, influx_rows, reading, wait_for

PASSWORD = "lamp-post-42"
SECRET_KEY = "test-signing-key-that-is-long-enough-0123456789"
FMS_KEY = "fixmystreet-test-key"
# The reverse proxy the hub trusts to name its clients (a loopback address of its own).
PROXY = "127.0.0.2"
ACCOUNT_LIMIT = 6
METRICS_TOKEN = "prometheus-scrape-token-0123456789"
ADDRESS_LIMIT = 12

USERS = [
    # name, role, district, areas, language
    ("ayesha", "admin", None, [], "en"),
    ("tariq", "technician", None, [], "en"),
    ("kamran", "crew", "korangi", [], "en"),
    ("mehwish", "crew", "malir", [], "en"),
    ("kiran", "committee", "korangi", ["Korangi 5"], "en"),
    # areas that exist already need no district; by name or by id
    ("zara", "committee", None, ["Malir Cantt", "korangi-5"], "en"),
]

NODES = {
    "khi-kor-0001": ("korangi", "Korangi 5", 24.8310, 67.1310, "K5-01"),
    "khi-kor-0003": ("korangi", "Korangi 5", 24.8320, 67.1320, "K5-03"),
    "khi-kor-0002": ("korangi", "Korangi 6", 24.8410, 67.1410, "K6-02"),
    "khi-mal-0001": ("malir", "Malir Cantt", 24.9410, 67.2010, "MC-01"),
    "khi-kor-0009": ("korangi", "Korangi 5", 24.8390, 67.1390, "K5-09"),  # for readings
}


def roshni_cmd(hub: HubProcess, *args: str, stdin: str | None = None
               ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*_roshni(), *args], env=hub.env, capture_output=True, text=True,
                          input=stdin, timeout=60)


def add_user(hub: HubProcess, name: str, role: str, *scope: str,
             password: str = PASSWORD) -> subprocess.CompletedProcess[str]:
    return roshni_cmd(hub, "user", "add", name, "--role", role, *scope, "--password-stdin",
                      stdin=password + "\n")


@dataclass
class World:
    hub: HubProcess
    db: Engine
    influxd: Influxd
    mosquitto: Mosquitto
    tickets: dict[str, int] = field(default_factory=dict)
    alerts: dict[str, int] = field(default_factory=dict)
    _tokens: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.hub.url

    def login(self, name: str, password: str = PASSWORD, *, address: str | None = None
              ) -> httpx.Response:
        """Log in, from `address` (another loopback address, as if from another machine)
        or from 127.0.0.1."""
        transport = httpx.HTTPTransport(local_address=address) if address else None
        with httpx.Client(transport=transport, timeout=30) as c:
            return c.post(f"{self.url}/api/v1/auth/token",
                          data={"username": name, "password": password})

    def token(self, name: str) -> str:
        if name not in self._tokens:
            r = self.login(name)
            assert r.status_code == 200, r.text
            self._tokens[name] = r.json()["access_token"]
        return self._tokens[name]

    def as_(self, name: str | None) -> httpx.Client:
        """An HTTP client logged in as `name` (None: nobody)."""
        headers = {} if name is None else {"Authorization": f"Bearer {self.token(name)}"}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)

    def get(self, name: str | None, path: str, **params: Any) -> httpx.Response:
        with self.as_(name) as c:
            return c.get(path, params=params)

    def new_ticket(self, node: str, fault: str = "lamp_out", *, priority: int = 2,
                   sla_h: float = 48, with_alert: bool = True) -> int:
        """A live alert and its repair ticket, opened as the rules engine opens them."""
        with self.db.connect() as conn:
            district, area = conn.execute(select(Node.district_id, Node.area_id)
                                          .where(Node.id == node)).one()
        now = time.time()
        with writing(self.db) as conn:
            alert_id = None
            if with_alert:
                alert_id, _ = alerts.open_alert(conn, rule=fault, node=node, district=district,
                                                area=area, started_at=now - 900)
            ticket_id, created = tickets.open_ticket(
                conn, alert_id=alert_id, node=node, district=district, area=area, fault=fault,
                priority=priority, opened_at=now - 300, sla_due=now + sla_h * 3600,
                evidence=[{"ts": now - 360, "lamp_on": False, "lux": 1.5, "footfall": 9}],
                note="Dark lamp, found by the sensor")
            assert created, f"a {fault} ticket for {node} is open already"
            if alert_id is not None:
                alerts.link_ticket(conn, alert_id, ticket_id)
        return ticket_id

    def add_node(self, node: str, district: str, area: str, lat: float, lon: float,
                 pole: str | None = None, feeder: str | None = None) -> None:
        """Register a node, mounted yesterday (so today's readings are plausible)."""
        provision(self.db, node, district=district, area=area, lat=lat, lon=lon, pole=pole,
                  rated_w=60.0, feeder=feeder)
        with writing(self.db) as conn:
            conn.execute(update(Node).where(Node.id == node).values(
                provisioned_at=time.time() - 86400, updated_at=time.time()))

    def publish(self, node: str, states: list[bool], *, every_s: float = 60.0) -> None:
        """Readings from the node up to now, the lamp on or off as given; returns once
        InfluxDB has them all."""
        pub = Publisher(self.mosquitto.host, self.mosquitto.port, client_id=f"pub-{node}")
        now = time.time()
        seq0 = int(now)  # above whatever this node sent before
        try:
            for i, on in enumerate(states):
                ts = now - every_s * (len(states) - 1 - i)
                pub.send(f"roshni/v1/{node}/reading",
                         reading(node, seq0 + i, ts, lamp_on=on, lux=2.0, footfall=5,
                                 interval_s=int(every_s)))
        finally:
            pub.close()
        wait_for(lambda: len(influx_rows(
            self.influxd.url, f"SELECT seq FROM reading WHERE node = '{node}' "
                              f"AND seq >= {seq0}")) == len(states),
                 what=f"{len(states)} readings of {node} in InfluxDB")

    def clear_ticket(self, ticket_id: int) -> None:
        """The sensor verifies the repair and clears the alert (so that the (node, fault)
        may open again)."""
        with writing(self.db) as conn:
            assert tickets.sensor_transition(conn, ticket_id, tickets.VERIFIED,
                                             "the lamp has worked at night", at=time.time())
            alert_id = tickets.get(conn, ticket_id)["alert_id"]
            if alert_id is not None:
                alerts.clear(conn, alert_id, ended_at=time.time())


def hub_env(mosquitto: Mosquitto, influxd: Influxd, **extra: str) -> dict[str, str]:
    return {"ROSHNI_MQTT__URL": mosquitto.url, "ROSHNI_INFLUX__URL": influxd.url,
            "ROSHNI_LOG_LEVEL": "INFO", "ROSHNI_AUTH__SECRET_KEY": SECRET_KEY,
            "ROSHNI_OPEN311__API_KEYS": FMS_KEY, "ROSHNI_HTTP__TRUSTED_PROXIES": PROXY,
            # low enough for a test to reach with few (slow, Argon2) failed logins
            "ROSHNI_AUTH__LOGIN_MAX_FAILURES_PER_ACCOUNT": str(ACCOUNT_LIMIT),
            "ROSHNI_AUTH__LOGIN_MAX_FAILURES_PER_ADDRESS": str(ADDRESS_LIMIT),
            "ROSHNI_HTTP__METRICS_TOKEN": METRICS_TOKEN, **extra}


@pytest.fixture(scope="session", params=BACKENDS)
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
          ) -> Iterator[World]:
    """One world per state backend, each with its own broker and InfluxDB (the tests read
    back what they published), torn down before the next is built."""
    workdir = tmp_path_factory.mktemp("api-hub")
    postgres: Postgres | None = None
    name = f"api_world_{uuid.uuid4().hex[:12]}"  # a world may be built again in one process
    if request.param == "sqlite":
        url = f"sqlite:///{workdir / 'hub.db'}"
    else:
        postgres = request.getfixturevalue("postgres")
        url = postgres.create_database(name)
    with Mosquitto(workdir / "mosquitto") as mosquitto, Influxd(workdir / "influxd") as influxd, \
            HubProcess(workdir / "hub", hub_env(mosquitto, influxd, ROSHNI_DB__URL=url)) as hub:
        db = make_engine(url)
        for node, (district, area, lat, lon, pole) in NODES.items():
            provision(db, node, district=district, area=area, lat=lat, lon=lon, pole=pole,
                      rated_w=60.0)
        with writing(db) as conn:  # mounted yesterday: today's readings are plausible
            conn.execute(update(Node).values(provisioned_at=time.time() - 86400,
                                             updated_at=time.time()))
        add_users(db, USERS, PASSWORD)
        w = World(hub, db, influxd, mosquitto)
        w.tickets["k5"] = w.new_ticket("khi-kor-0001", priority=2)
        w.tickets["k5-urgent"] = w.new_ticket("khi-kor-0003", priority=1)
        w.tickets["k6"] = w.new_ticket("khi-kor-0002", "flicker", priority=3)
        w.tickets["malir"] = w.new_ticket("khi-mal-0001", priority=2)
        with db.connect() as conn:
            for key, ticket_id in w.tickets.items():
                w.alerts[key] = tickets.get(conn, ticket_id)["alert_id"]
        with writing(db) as conn:
            w.alerts["malir-offline"], _ = alerts.open_alert(
                conn, rule="node_offline", node="khi-mal-0001", district="malir",
                area="malir-cantt", started_at=time.time() - 600)
        try:
            yield w
        finally:
            db.dispose()
    if postgres is not None:
        postgres.drop_database(name)
