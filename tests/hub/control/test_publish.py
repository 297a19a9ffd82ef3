"""The config version is decided by the database, not by a worker's memory: two hub
workers that find the same change give it one version, and the broker keeps the newest
config retained for a node that connects later (DESIGN.md §9, §11)."""

from __future__ import annotations

import json
import threading

import paho.mqtt.client as mqtt
from sqlalchemy import select

from hub.commands import CommandBus
from hub.config import HubMqttSettings
from hub.control import programs
from hub.control.publish import publish_pending, refresh
from hub.core.control_settings import ControlSettings
from hub.db import make_engine, migrate, writing
from hub.models import NodeConfig
from hub.registry import provision
from protocol.payloads import program_sha
from tests.support import wait_for

NODE = "khi-kor-0301"
DIMMED = {"steps": [{"at": "sunset", "level": 100}, {"at": "22:00", "level": 40},
                    {"at": "sunrise", "level": 0}]}


def setup(url: str):
    migrate(url)
    engine = make_engine(url)
    provision(engine, NODE, district="korangi", area="Korangi 5", lat=24.83, lon=67.13,
              rated_w=60.0)
    with writing(engine) as conn:
        programs.save(conn, "dimmed", DIMMED, actor="tariq")
        programs.assign(conn, "area", "korangi-5", "dimmed", actor="tariq")
    return engine


def test_two_workers_finding_the_same_change_give_it_one_version(db_url):
    setup(db_url)
    workers = [make_engine(db_url) for _ in range(2)]
    changed: list[list[str]] = []
    start = threading.Barrier(2)

    def work(engine):
        start.wait()
        changed.append(refresh(engine, ControlSettings()))

    threads = [threading.Thread(target=work, args=(e,)) for e in workers]
    for th in threads:
        th.start()
    for th in threads:
        th.join(30)
    assert sorted(changed) == [[], [NODE]]
    with workers[0].connect() as conn:
        version, sha = conn.execute(select(NodeConfig.version, NodeConfig.sha)).one()
    assert (version, sha) == (1, program_sha(DIMMED))
    # nothing changed: nobody bumps again
    assert refresh(workers[1], ControlSettings()) == []


def test_a_node_connecting_later_gets_the_newest_config_retained(tmp_path, mosquitto):
    engine = setup(f"sqlite:///{tmp_path / 'state.db'}")  # the broker's part: one backend
    settings = ControlSettings()
    bus = CommandBus(HubMqttSettings(url=mosquitto.url, client_id="hub-test"))
    bus.start()
    try:
        refresh(engine, settings)
        with writing(engine) as conn:
            programs.save(conn, "dimmed", {**DIMMED, "min_level": 20}, actor="tariq")
        refresh(engine, settings)
        assert publish_pending(engine, bus) == 1  # only the newest is pending
        assert publish_pending(engine, bus) == 0
    finally:
        bus.stop()
    got: list[dict] = []
    node = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=NODE)
    node.on_message = lambda _c, _u, m: got.append(json.loads(m.payload))
    node.connect(mosquitto.host, mosquitto.port)
    node.subscribe(f"roshni/v1/{NODE}/config", qos=1)
    node.loop_start()
    try:
        wait_for(lambda: got, what="the retained config")
    finally:
        node.loop_stop()
        node.disconnect()
    config = got[0]
    assert config["version"] == 2
    assert config["program"]["min_level"] == 20
    assert config["sha"] == program_sha({**DIMMED, "min_level": 20})
