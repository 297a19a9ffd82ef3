"""Lamp control through a real hub (`roshni hub run`), Mosquitto and InfluxDB (DESIGN.md
§11): programs reach every node of an area as its retained config (an offline node when it
returns), acknowledgements show who runs an older program, overrides are for technicians
only and audited, the safety floor raises min_level at unsafe spots, and energy figures
come from the readings.

Nodes are plain MQTT clients speaking the contract (their own agent is tested in tests/node).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.client as mqtt
import pytest
from sqlalchemy import insert, update

from hub.auth import create_user
from hub.control import overrides
from hub.db import make_engine, writing
from hub.models import Node, SpotScore
from hub.registry import provision
from hub.rules.sun import SunCache
from hub.supervise import HubProcess, Influxd, Mosquitto
from protocol.payloads import program_sha
from tests.support import Publisher, reading, wait_for

PASSWORD = "lamp-post-42"
USERS = {"ayesha": ("admin", None, ()), "tariq": ("technician", None, ()),
         "kamran": ("crew", "korangi", ()), "kiran": ("committee", "korangi", ("Korangi 5",))}
K5 = ["khi-kor-0101", "khi-kor-0102", "khi-kor-0103"]
K6 = "khi-kor-0201"
PART_NIGHT = {"steps": [{"at": "sunset", "level": 100}, {"at": "23:00", "level": 30},
                        {"at": "sunrise", "level": 0}]}


class FakeNode:
    """A node's MQTT side: birth, the retained config and commands it receives, events."""

    def __init__(self, mosquitto: Mosquitto, node: str) -> None:
        self.node, self.mosquitto = node, mosquitto
        self.configs: list[dict[str, Any]] = []
        self.commands: list[dict[str, Any]] = []
        self.session = 0
        self.seq = int(time.time())
        self.client: mqtt.Client | None = None
        self._lock = threading.Lock()

    def connect(self, config_sha: str | None = None) -> None:
        self.session += 1
        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=self.node)
        c.on_message = self._message
        c.connect(self.mosquitto.host, self.mosquitto.port)
        c.loop_start()
        for kind in ("config", "cmd"):
            c.subscribe(f"roshni/v1/{self.node}/{kind}", qos=1)
        birth = {"v": 1, "state": "online", "session": self.session, "ts": time.time(),
                 **({"config_sha": config_sha} if config_sha else {})}
        c.publish(f"roshni/v1/{self.node}/status", json.dumps(birth), qos=1,
                  retain=True).wait_for_publish(10)
        self.client = c

    def disconnect(self) -> None:
        assert self.client is not None
        self.client.publish(f"roshni/v1/{self.node}/status", json.dumps(
            {"v": 1, "state": "offline", "session": self.session, "reason": "shutdown"}),
            qos=1, retain=True).wait_for_publish(10)
        self.client.loop_stop()
        self.client.disconnect()

    def _message(self, _c: Any, _u: Any, msg: Any) -> None:
        body = json.loads(msg.payload)
        with self._lock:
            (self.configs if msg.topic.endswith("/config") else self.commands).append(body)

    def config(self) -> dict[str, Any] | None:
        with self._lock:
            return max(self.configs, key=lambda c: c["version"]) if self.configs else None

    def event(self, type_: str, **detail: Any) -> None:
        assert self.client is not None
        self.seq += 1
        self.client.publish(f"roshni/v1/{self.node}/event", json.dumps(
            {"v": 1, "node": self.node, "seq": self.seq, "ts": time.time(), "type": type_,
             **detail}), qos=1).wait_for_publish(10)


class World:
    def __init__(self, hub: HubProcess, mosquitto: Mosquitto, influxd: Influxd,
                 db_url: str) -> None:
        self.hub, self.mosquitto, self.influxd = hub, mosquitto, influxd
        self.db = make_engine(db_url)
        self.nodes = {n: FakeNode(mosquitto, n) for n in [*K5, K6]}
        self._tokens: dict[str, str] = {}

    def as_(self, name: str) -> httpx.Client:
        if name not in self._tokens:
            r = httpx.post(f"{self.hub.url}/api/v1/auth/token",
                           data={"username": name, "password": PASSWORD}, timeout=30)
            assert r.status_code == 200, r.text
            self._tokens[name] = r.json()["access_token"]
        return httpx.Client(base_url=self.hub.url, timeout=30,
                            headers={"Authorization": f"Bearer {self._tokens[name]}"})

    def call(self, name: str, method: str, path: str, **kw: Any) -> httpx.Response:
        with self.as_(name) as c:
            return c.request(method, path, **kw)

    def control(self, node: str) -> dict[str, Any]:
        r = self.call("tariq", "GET", f"/api/v1/nodes/{node}/control")
        assert r.status_code == 200, r.text
        return r.json()

    def online(self, node: str) -> None:
        wait_for(lambda: self.call("tariq", "GET", f"/api/v1/nodes/{node}").json()["status"]
                 == "online", what=f"{node} online")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    work: Path = tmp_path_factory.mktemp("control-hub")
    url = f"sqlite:///{work / 'hub.db'}"
    with Mosquitto(work / "mosquitto") as mosquitto, Influxd(work / "influxd") as influxd:
        env = {"ROSHNI_MQTT__URL": mosquitto.url, "ROSHNI_INFLUX__URL": influxd.url,
               "ROSHNI_DB__URL": url, "ROSHNI_LOG_LEVEL": "INFO",
               "ROSHNI_AUTH__SECRET_KEY": "test-signing-key-that-is-long-enough-0123456789",
               "ROSHNI_CONTROL__SWEEP_S": "0.5", "ROSHNI_CONTROL__FLOOR_SHARE": "0.34",
               "ROSHNI_CONTROL__FLOOR_LEVEL": "60", "ROSHNI_CONTROL__TARIFF_PKR_PER_KWH": "40"}
        with HubProcess(work / "hub", env) as hub:
            w = World(hub, mosquitto, influxd, url)
            for i, node in enumerate(K5):
                provision(w.db, node, district="korangi", area="Korangi 5", lat=24.83,
                          lon=67.13 + i * 0.001, rated_w=60.0, pole=f"K5-{i}")
            provision(w.db, K6, district="korangi", area="Korangi 6", lat=24.84, lon=67.14,
                      rated_w=60.0)
            with writing(w.db) as conn:  # mounted a month ago: last night's readings count
                conn.execute(update(Node).values(provisioned_at=time.time() - 30 * 86400,
                                                 updated_at=time.time()))
            with writing(w.db) as conn:
                for name, (role, district, areas) in USERS.items():
                    create_user(conn, name, role=role, password=PASSWORD, district=district,
                                areas=areas)
            for node in [K5[0], K5[1], K6]:
                w.nodes[node].connect()
            for node in [K5[0], K5[1], K6]:
                w.online(node)
            yield w
            for fake in w.nodes.values():
                if fake.client is not None:
                    fake.client.loop_stop()
                    fake.client.disconnect()


def test_a_new_program_version_reaches_every_node_of_the_area_offline_ones_when_they_return(
        world):
    w = world
    r = w.call("tariq", "POST", "/api/v1/programs", json={"name": "part-night",
                                                          "program": PART_NIGHT})
    assert r.status_code == 201, r.text
    assert r.json()["version"] == 1
    r = w.call("tariq", "PUT", "/api/v1/program-assignments",
               json={"scope": "area", "target": "Korangi 5", "program": "part-night"})
    assert r.status_code == 200, r.text
    sha1 = program_sha(PART_NIGHT)
    audit = w.call("ayesha", "GET", "/api/v1/audit", params={"action": "program.assign"}).json()
    assert [(e["actor"], e["target"], e["detail"]) for e in audit["data"]] == [
        ("tariq", "area:korangi-5", {"program": "part-night"})]
    on, off = w.nodes[K5[0]], w.nodes[K5[2]]
    wait_for(lambda: (c := on.config()) is not None and c["sha"] == sha1,
             what="the program at an online node of the area")
    assert on.config()["program"]["steps"] == PART_NIGHT["steps"]
    # the next version replaces it, with a higher version number
    v2 = {**PART_NIGHT, "steps": [*PART_NIGHT["steps"][:1], {"at": "00:00", "level": 0}]}
    r = w.call("tariq", "POST", "/api/v1/programs", json={"name": "part-night",
                                                          "program": v2})
    assert (r.status_code, r.json()["version"]) == (201, 2)
    sha2 = program_sha(v2)
    for node in K5[:2]:
        wait_for(lambda n=node: (c := w.nodes[n].config()) is not None and c["sha"] == sha2,
                 what=f"version 2 at {node}")
    first = w.nodes[K5[0]].config()
    assert first["version"] > min(c["version"] for c in w.nodes[K5[0]].configs
                                  if c["sha"] == sha1)
    assert w.nodes[K6].config() is None  # another area: nothing
    # two nodes acknowledge; the one that was offline runs an older program
    for node in K5[:2]:
        c = w.nodes[node].config()
        w.nodes[node].event("config_applied", version=c["version"], sha=c["sha"])
    wait_for(lambda: not w.control(K5[0])["outdated"], what="the acknowledgement")
    summary = w.call("kiran", "GET", "/api/v1/control/summary").json()
    assert (summary["configured"], summary["outdated"]) == (3, 1)
    assert w.control(K5[2])["outdated"] is True
    behind = w.call("kiran", "GET", "/api/v1/control/nodes", params={"outdated": "true"}).json()
    assert [n["node"] for n in behind["data"]] == [K5[2]]
    # the offline node comes back: the broker hands it the retained newest config
    off.connect()
    wait_for(lambda: (c := off.config()) is not None and c["sha"] == sha2,
             what="the retained config at the returning node")
    off.disconnect()
    off.connect(config_sha=sha2)  # its next birth says what it runs
    wait_for(lambda: not w.control(K5[2])["outdated"], what="the birth's config_sha")
    assert w.call("kiran", "GET", "/api/v1/control/summary").json()["outdated"] == 0
    # the most specific assignment wins
    full = {"steps": [{"at": "sunset", "level": 100}, {"at": "sunrise", "level": 0}],
            "min_level": 0}
    assert w.call("tariq", "POST", "/api/v1/programs",
                  json={"name": "full", "program": full}).status_code == 201
    r = w.call("tariq", "PUT", "/api/v1/program-assignments",
               json={"scope": "node", "target": K5[1], "program": "full"})
    assert r.status_code == 200
    wait_for(lambda: w.nodes[K5[1]].config()["sha"] == program_sha(full),
             what="the node's own program")
    assert w.control(K5[1])["program"] == "full"
    assert w.control(K5[0])["program"] == "part-night"
    # a node that refuses a config says why
    c = w.nodes[K5[1]].config()
    w.nodes[K5[1]].event("config_rejected", version=c["version"], reason="unknown tz")
    wait_for(lambda: w.control(K5[1])["rejected_reason"] == "unknown tz", what="the refusal")
    assert w.call("tariq", "GET", "/api/v1/control/summary").json()["rejected"] == 1
    # what cannot be assigned: 404 for a place that does not exist, 422 for no such program
    assert w.call("tariq", "PUT", "/api/v1/program-assignments", json={
        "scope": "area", "target": "Nowhere 9", "program": "full"}).status_code == 404
    r = w.call("tariq", "PUT", "/api/v1/program-assignments", json={
        "scope": "district", "target": "malir", "program": "no-such"})
    assert r.status_code == 422 and "no-such" in r.json()["detail"]
    # people without the right: 403; bad programs: 422
    assert w.call("kamran", "POST", "/api/v1/programs",
                  json={"name": "x", "program": full}).status_code == 403
    bad = w.call("tariq", "POST", "/api/v1/programs",
                 json={"name": "x", "program": {"steps": [{"at": "noon", "level": 5}]}})
    assert bad.status_code == 422 and "detail" in bad.json()
    bad = w.call("tariq", "POST", "/api/v1/programs",
                 json={"name": "x", "program": {**full, "tz": "Mars/Olympus"}})
    assert bad.status_code == 422 and "Mars/Olympus" in bad.json()["detail"]


def test_an_override_runs_until_its_time_or_a_resume_and_only_technicians_may(world):
    w = world
    node = w.nodes[K5[0]]
    body = {"cmd": "override", "level": 100, "minutes": 120}
    for who in ("kamran", "kiran"):  # crew, committee
        assert w.call(who, "POST", f"/api/v1/nodes/{K5[0]}/commands",
                      json=body).status_code == 403
    before = time.time()
    r = w.call("tariq", "POST", f"/api/v1/nodes/{K5[0]}/commands", json=body)
    assert r.status_code == 202, r.text
    wait_for(lambda: any(c["cmd"] == "override" for c in node.commands), what="the override")
    cmd = next(c for c in node.commands if c["cmd"] == "override")
    assert (cmd["level"], cmd["minutes"]) == (100, 120)
    override = w.control(K5[0])["override"]
    assert override["level"] == 100 and override["issued_by"] == "tariq"
    assert before + 7200 <= override["until"] <= time.time() + 7200
    with w.db.connect() as conn:  # when its time is up the node is back on its program
        assert overrides.active(conn, K5[0], override["until"] - 1) is not None
        assert overrides.active(conn, K5[0], override["until"] + 1) is None
    audit = w.call("ayesha", "GET", "/api/v1/audit", params={"action": "node.command"}).json()
    assert any(e["detail"].get("cmd") == "override" and e["actor"] == "tariq"
               for e in audit["data"])
    assert w.call("tariq", "POST", f"/api/v1/nodes/{K5[0]}/commands",
                  json={"cmd": "override", "level": 101}).status_code == 422
    # back to the program
    assert w.call("tariq", "POST", f"/api/v1/nodes/{K5[0]}/commands",
                  json={"cmd": "resume"}).status_code == 202
    assert w.control(K5[0])["override"] is None
    # the whole street: online nodes get it, an offline one is named
    r = w.call("tariq", "POST", "/api/v1/overrides",
               json={"area": "Korangi 5", "level": 100, "minutes": 1})
    assert r.status_code == 202, r.text
    sent = {o["node"]: o["sent"] for o in r.json()["data"]}
    online = {n: w.call("tariq", "GET", f"/api/v1/nodes/{n}").json()["status"] == "online"
              for n in K5}
    assert sent == online and sent[K5[0]] and sent[K5[1]]
    assert w.call("kamran", "POST", "/api/v1/overrides",
                  json={"area": "Korangi 5", "level": 100}).status_code == 403


def test_the_most_unsafe_spot_of_an_area_is_never_dimmed_below_the_floor(world):
    w = world
    night = time.strftime("%Y-%m-%d")
    with writing(w.db) as conn:
        conn.execute(insert(SpotScore).values(node_id=K5[2], night=night, dark_minutes=30,
                                              exposure=90, score=90, updated_at=time.time()))
    wait_for(lambda: w.control(K5[2])["floor"], what="the floor at the unsafe spot")
    c = w.nodes[K5[2]]
    if c.client is None:  # (online or not, it gets its config: retained)
        c.connect()
    wait_for(lambda: (cfg := c.config()) is not None and cfg["program"]["min_level"] == 60,
             what="min_level raised in the node's config")
    # the rest of the program is what the area runs; the area's other lamps may still dim
    neighbour = w.control(K5[0])
    if neighbour["content"] is not None:
        assert c.config()["program"]["steps"] == neighbour["content"]["steps"]
        assert neighbour["content"]["min_level"] == 0
    assert not neighbour["floor"]


def test_energy_used_and_saved_per_lamp_and_area_with_its_cost(world):
    w = world
    sun = SunCache()
    now = time.time()
    ts = next(t for t in range(int(now) - 86400, int(now), 600) if sun.is_night(24.84, 67.14, t)
              and sun.is_night(24.84, 67.14, t + 3600))
    pub = Publisher(w.mosquitto.host, w.mosquitto.port, client_id="energy-pub")
    try:  # an hour at 30 %: 60 W × 0.37 ≈ 22 W against 60 W full on
        for i in range(60):
            pub.send(f"roshni/v1/{K6}/reading",
                     reading(K6, 1000 + i, ts + 60 * i, level=30, level_avg=30.0, lamp_w=22.0))
    finally:
        pub.close()

    def area_row():
        rows = w.call("tariq", "GET", "/api/v1/energy", params={"group": "area"}).json()
        return next((r for r in rows["data"] if r["id"] == "korangi-6"), None)

    wait_for(lambda: (r := area_row()) is not None and r["baseline_kwh"] >= 0.06 and r,
             what="an hour of energy")
    row = area_row()
    assert (row["used_kwh"], row["baseline_kwh"], row["saved_kwh"]) == (0.022, 0.06, 0.038)
    assert (row["cost_pkr"], row["saved_pkr"]) == (0.88, 1.52)  # at 40 PKR/kWh
    # a committee sees its own areas only; the CSV has the same figures
    mine = w.call("kiran", "GET", "/api/v1/energy", params={"group": "node"}).json()
    assert {r["id"] for r in mine["data"]} <= set(K5)
    csv = w.call("tariq", "GET", "/api/v1/export/energy.csv", params={"group": "area"}).text
    assert "korangi-6,Korangi 6,1,0.022,0.06,0.038,0.88,1.52" in csv
