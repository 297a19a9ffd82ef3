"""A night judged by three hub workers sharing the nodes' messages (DESIGN.md §9): one lamp
out, one area losing mains, one node falling silent without a will, one late will. The
outcome is the one a single hub gives: exactly the right alerts and tickets, every reading
stored once, also when a worker is SIGKILLed mid-night (and not restarted, or restarted).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable

import pytest
from sqlalchemy import create_engine

from hub.db import migrate
from hub.registry import provision
from hub.supervise import Influxd, Mosquitto
from tests.hub.rules.street import local
from tests.hub.workers.conftest import Workers
from tests.support import Publisher, influx_query, reading, wait_for

START = local(dt.date(2026, 3, 14), 21)  # well after sunset in Karachi
A = [f"khi-nta-{i:04d}" for i in range(1, 6)]  # Korangi 5
B = [f"khi-ntb-{i:04d}" for i in range(1, 6)]  # Korangi 6: loses mains
LAMP_OUT, SILENT, LATE_WILL = A[1], A[3], A[4]
MINUTES, SILENT_FROM, CUT_FROM = 56, 8, 12
WALL_PER_MINUTE = 0.4
ENV = {
    # the night is in the past: without a live reading yet, it is not history
    "ROSHNI_RULES__FRESH_CLOCK_FROM_WALL": "false",
    "ROSHNI_RULES__LEASE_S": "4",
    "ROSHNI_RULES__OFFLINE_ALERT_AFTER_S": "120",
}
EXPECTED_ALERTS = {("lamp_out", LAMP_OUT), ("node_offline", SILENT),
                   ("area_power_cut", None)}


@pytest.fixture
def pub(mosquitto: Mosquitto):
    p = Publisher(mosquitto.host, mosquitto.port, client_id="night-nodes")
    yield p
    p.close()


def provision_street(workers: Workers) -> None:
    migrate(workers.db_url)
    engine = create_engine(workers.db_url)
    try:
        for area, nodes in (("Korangi 5", A), ("Korangi 6", B)):
            for i, node in enumerate(nodes):
                provision(engine, node, district="korangi", area=area,
                          lat=24.83 + i * 0.0005, lon=67.13 if area == "Korangi 5" else 67.14,
                          rated_w=60, pole=f"P-{node[-4:]}")
    finally:
        engine.dispose()
    # installed well before the night (readings from before a node's provisioning are
    # stored at their arrival time: a clock that was never set)
    workers.sql("UPDATE nodes SET provisioned_at = :t", t=START - 30 * 86400)


def status(pub: Publisher, node: str, state: str, session: int) -> None:
    body = {"v": 1, "state": state, "session": session, "ts": time.time()}
    if state == "offline":
        body["reason"] = "lost"
    pub.send(f"roshni/v1/{node}/status", body)


def night(pub: Publisher, at_minute: dict[int, Callable[[], None]] | None = None) -> int:
    """Publish the night; `at_minute[m]` runs before minute m. Returns readings sent."""
    at_minute = at_minute or {}
    for node in A + B:
        status(pub, node, "online", 1)
    sent = 0
    for m in range(MINUTES):
        if m in at_minute:
            at_minute[m]()
        if m == 4:
            status(pub, LATE_WILL, "online", 2)  # reconnected...
        if m == 5:
            status(pub, LATE_WILL, "offline", 1)  # ...and the old connection's will, late
        ts = START + m * 60
        for node in A + B:
            if node == SILENT and m >= SILENT_FROM:
                continue
            fields = {"lamp_w": 58.0, "mains_v": 230.0}
            if node == LAMP_OUT:
                fields = {"lamp_on": False, "lamp_w": 0.0, "mains_v": 230.0}
            if node in B and m >= CUT_FROM:
                fields = {"lamp_on": False, "lamp_w": 0.0, "mains_v": 0.0}
            pub.send(f"roshni/v1/{node}/reading", reading(node, m + 1, ts, **fields))
            sent += 1
        time.sleep(WALL_PER_MINUTE)
    return sent


def open_alerts(workers: Workers) -> set[tuple[str, str | None]]:
    return {(rule, node) for rule, node in workers.sql(
        "SELECT rule, node_id FROM alerts WHERE state <> 'cleared'")}


def check_outcome(workers: Workers, influxd: Influxd, sent: int) -> None:
    try:
        wait_for(lambda: open_alerts(workers) >= EXPECTED_ALERTS, timeout=90,
                 what="the night's alerts")
    except AssertionError:
        raise AssertionError(workers.sql(
            "SELECT rule, node_id, area_id, state, started_at, historical FROM alerts")) from None
    stored = lambda: influx_query(  # noqa: E731
        influxd.url, "SELECT count(seq) FROM reading WHERE node =~ /^khi-nt/")
    wait_for(lambda: (s := stored()) and s[0]["values"][0][1] >= sent, timeout=60,
             what=f"{sent} readings in InfluxDB")
    time.sleep(3)  # anything a late judgement would add
    assert stored()[0]["values"][0][1] == sent  # each once
    alerts = workers.sql("SELECT rule, node_id, area_id FROM alerts")
    assert sorted(alerts, key=str) == sorted(
        [("lamp_out", LAMP_OUT, "korangi-5"), ("node_offline", SILENT, "korangi-5"),
         ("area_power_cut", None, "korangi-6")], key=str)
    assert workers.sql("SELECT fault, node_id FROM tickets") == [("lamp_out", LAMP_OUT)]
    assert workers.sql("SELECT status, session FROM nodes WHERE id = :n", n=LATE_WILL) \
        == [("online", 2)]


def test_three_workers_judge_the_night_as_one_hub(
        workers: Workers, pub: Publisher, influxd: Influxd) -> None:
    provision_street(workers)
    for name in ("a", "b", "c"):
        workers.start(name, **ENV)
    sent = night(pub)
    check_outcome(workers, influxd, sent)
    # the work was shared: every worker stored readings and owned partitions
    for proc in workers.procs.values():
        assert workers.metric(proc, "roshni_readings_stored_total") > 0
        assert workers.metric(proc, "roshni_rules_partitions") > 0


def test_a_worker_killed_mid_night_is_replaced_without_a_person(
        workers: Workers, pub: Publisher, influxd: Influxd) -> None:
    provision_street(workers)
    for name in ("a", "b", "c"):
        workers.start(name, **ENV)
    sent = night(pub, {10: workers.procs["b"].kill})
    check_outcome(workers, influxd, sent)
    # its partitions were taken over, its broker session drained and ended
    live = [p for p in workers.procs.values() if p.running]
    assert sum(workers.metric(p, "roshni_rules_partitions") for p in live) == 16
    assert workers.sql("SELECT name FROM hub_workers ORDER BY name") == [
        ("roshni-a",), ("roshni-c",)]


def test_a_worker_restarted_mid_night_takes_its_share_again(
        workers: Workers, pub: Publisher, influxd: Influxd) -> None:
    provision_street(workers)
    for name in ("a", "b", "c"):
        workers.start(name, **ENV)
    b = workers.procs["b"]
    sent = night(pub, {10: b.kill, 16: b.start})
    check_outcome(workers, influxd, sent)
    wait_for(lambda: workers.metric(b, "roshni_rules_partitions") > 0, timeout=30,
             what="the restarted worker to own partitions again")
