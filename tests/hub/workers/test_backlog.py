"""The same backlog drained by two hub workers and by one gives the same alerts, tickets,
burning hours and energy, also the energy lamp control saves (DESIGN.md §9, §11): the two
commit a node's readings interleaved, and the rules still judge them in the order they
happened."""

from __future__ import annotations

from pathlib import Path

from hub.supervise import Influxd, Mosquitto, Postgres
from tests.hub.conftest import PostgresDatabases
from tests.hub.workers.conftest import Workers
from tests.hub.workers.test_night import LAMP_OUT, START, A, B, provision_street
from tests.support import Publisher, reading, wait_for

MINUTES, CUT_FROM = 40, 20
# No adoption here: workers stopped on purpose come back to their own sessions.
ENV = {"ROSHNI_RULES__FRESH_CLOCK_FROM_WALL": "false", "ROSHNI_RULES__LEASE_S": "120"}


def publish_backlog(pub: Publisher) -> int:
    sent = 0
    for m in range(MINUTES):
        # Mosquitto hands a shared subscription's messages round-robin: in the same order
        # every minute, each node's would all go to the same worker, and none interleave.
        for node in (A + B if m % 2 == 0 else (A + B)[::-1]):
            fields = {"lamp_w": 58.0 + (m % 3), "mains_v": 230.0}
            if node == LAMP_OUT and m >= 5:
                fields = {"lamp_on": False, "lamp_w": 0.0, "mains_v": 230.0}
            if node in B and m >= CUT_FROM:
                fields = {"lamp_on": False, "lamp_w": 0.0, "mains_v": 0.0}
            pub.send(f"roshni/v1/{node}/reading", reading(node, m + 1, START + m * 60,
                                                          **fields))
            sent += 1
    return sent


def drain(workers: Workers, names: list[str], pub: Publisher) -> dict[str, list[tuple]]:
    provision_street(workers)
    for name in names:  # their broker sessions, in the group, before the backlog
        workers.start(name, **ENV)
    for proc in workers.procs.values():
        proc.stop()
    sent = publish_backlog(pub)
    for proc in workers.procs.values():
        proc.start()
    wait_for(lambda: workers.total("roshni_readings_stored_total") >= sent, timeout=90,
             what=f"{sent} readings stored")
    wait_for(lambda: workers.sql("SELECT count(*) FROM rule_inbox") == [(0,)], timeout=60,
             what="the rules' inbox judged")
    return {
        "alerts": sorted(workers.sql(
            "SELECT rule, node_id, area_id, state, started_at, historical, detail FROM alerts"),
            key=str),
        "tickets": workers.sql("SELECT fault, node_id, status, priority FROM tickets "
                               "ORDER BY node_id, fault"),
        "stats": workers.sql("SELECT node_id, burning_s, switch_on_count, "
                             "round(energy_wh::numeric, 3) FROM lamp_stats ORDER BY node_id"),
        "saved": workers.sql("SELECT node_id, round(used_wh::numeric, 3), "
                             "round(baseline_wh::numeric, 3), last_ts FROM lamp_stats "
                             "ORDER BY node_id"),
    }


def test_two_workers_drain_a_backlog_as_one_does(
        tmp_path: Path, mosquitto: Mosquitto, influxd: Influxd, postgres: Postgres) -> None:
    databases = PostgresDatabases(postgres)
    outcomes = []
    try:
        for run, names in (("one", ["solo"]), ("two", ["p", "q"])):
            workers = Workers(tmp_path / run, mosquitto, influxd, databases())
            workers.base["ROSHNI_INFLUX__DATABASE"] = f"roshni_{run}"
            pub = Publisher(mosquitto.host, mosquitto.port, client_id=f"backlog-{run}")
            try:
                outcomes.append(drain(workers, names, pub))
            finally:
                pub.close()
                workers.close()
    finally:
        databases.drop_all()
    one, two = outcomes
    # not two empty outcomes: the lamp out and the power cut were judged, hours counted
    assert {a[0] for a in one["alerts"]} == {"lamp_out", "area_power_cut"}
    assert all(s[1] > 0 for s in one["stats"])
    assert len(one["saved"]) == len(A + B) and all(s[2] > 0 for s in one["saved"])
    assert two == one
