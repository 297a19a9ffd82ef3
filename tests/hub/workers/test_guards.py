"""Guards against duplicates and stale messages, decided by the database while two hub
workers share a node's messages round-robin (DESIGN.md §9)."""

from __future__ import annotations

import time

import pytest

from hub.supervise import Influxd, Mosquitto
from tests.hub.workers.conftest import Workers
from tests.support import Publisher, influx_query, reading


@pytest.fixture
def pub(mosquitto: Mosquitto):
    p = Publisher(mosquitto.host, mosquitto.port)
    yield p
    p.close()


MARKER = "khi-mrk-0001"


def barrier(workers: Workers, pub: Publisher, stored_before: float) -> None:
    """Publish a reading per worker after everything else and wait until all are stored:
    each worker stores its spool in order, so by then it stored all it got before."""
    n = 2 * len(workers.procs)
    for seq in range(n):
        pub.send(f"roshni/v1/{MARKER}/reading", reading(MARKER, 10_000 + seq + int(
            stored_before)))
    workers.wait_total("roshni_readings_stored_total", stored_before + n)


def test_a_late_will_handled_by_the_other_worker_leaves_the_node_online(
        workers: Workers, pub: Publisher) -> None:
    workers.start("a")
    workers.start("b")
    nodes = [f"khi-wil-{i:04d}" for i in range(12)]
    for node in nodes:  # nodes both workers know
        pub.send(f"roshni/v1/{node}/reading", reading(node, 1))
    barrier(workers, pub, len(nodes))
    for node in nodes:
        status = f"roshni/v1/{node}/status"
        pub.send(status, {"v": 1, "state": "online", "session": 4, "ts": time.time()})
        pub.send(status, {"v": 1, "state": "online", "session": 6, "ts": time.time()})
        # session 5's dead connection's will, delivered late by the broker; round-robin
        # gives some of them to the worker that stored session 4, not 6
        pub.send(status, {"v": 1, "state": "offline", "session": 5, "reason": "lost"})
    barrier(workers, pub, len(nodes) + 4)
    rows = workers.sql("SELECT id, status, session FROM nodes WHERE id LIKE 'khi-wil-%' "
                       "ORDER BY id")
    assert rows == [(n, "online", 6) for n in nodes]


def test_a_reading_repeated_to_the_other_worker_is_stored_once(
        workers: Workers, pub: Publisher, influxd: Influxd) -> None:
    workers.start("a")
    workers.start("b")
    node, t0 = "khi-dup-0001", time.time() - 3600
    topic = f"roshni/v1/{node}/reading"
    for seq in range(1, 21):
        pub.send(topic, reading(node, seq, t0 + seq * 60))
    # A node replaying its spool after a lost PUBACK, backwards so that round-robin hands
    # each repeat to the other worker than the one that stored the original.
    for seq in range(20, 0, -1):
        pub.send(topic, reading(node, seq, t0 + seq * 60))
    barrier(workers, pub, 20)
    assert workers.total("roshni_readings_stored_total") == 20 + 4
    assert workers.total("roshni_readings_duplicate_total") == 20
    series = influx_query(influxd.url, f"SELECT count(seq) FROM reading WHERE node = '{node}'")
    assert series[0]["values"][0][1] == 20
    # the mark never goes back, whichever worker committed last
    assert workers.sql("SELECT max_seq FROM node_seq WHERE node_id = :n", n=node) == [(20,)]
