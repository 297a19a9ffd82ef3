"""The node agent end to end against a real Mosquitto: readings that meet the contract,
sampling through a broker outage and an ordered replay, clean and failed stops."""

from __future__ import annotations

import signal
import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from hub.supervise import Mosquitto
from node.agent import InvalidReading, SamplingLoop, run_node
from node.clock import RealClock
from node.config import NodeSettings
from node.spool import Spool
from protocol.payloads import Reading
from tests.node.nodekit import (
    Collector,
    FakeHardware,
    TcpProxy,
    eventually,
    node_env,
    start_node_process,
)

NODE = "khi-test-02"
INTERVAL_S = 0.2


@pytest.fixture(autouse=True)
def _no_roshni_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in [n for n in os.environ if n.startswith("ROSHNI_")]:
        monkeypatch.delenv(name)


@pytest.fixture
def collector(mosquitto: Mosquitto) -> Iterator[Collector]:
    c = Collector(mosquitto.url)
    yield c
    c.close()


class RunningNode:
    def __init__(self, settings: NodeSettings, hardware: FakeHardware) -> None:
        self.settings = settings
        self.hardware = hardware
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            run_node(
                self.settings, self.hardware, clock=RealClock(), profile="fake",
                stop=self.stop,
            )
        except BaseException as err:  # noqa: BLE001 - handed to the test
            self.error = err

    def spool_depth(self) -> int:
        path = self.settings.spool_path()
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
            return db.execute("SELECT COUNT(*) FROM reading").fetchone()[0]

    def finish(self) -> None:
        self.stop.set()
        self.thread.join(20)
        assert not self.thread.is_alive(), "the agent did not stop"


@pytest.fixture
def start_node(tmp_path: Path) -> Iterator[Callable[..., RunningNode]]:
    running: list[RunningNode] = []

    def start(url: str, hardware: FakeHardware | None = None) -> RunningNode:
        settings = NodeSettings.of(
            node={"id": NODE, "interval_s": INTERVAL_S},
            mqtt={"url": url, "keepalive_s": 5},
            data_dir=tmp_path / "data",
        )
        node = RunningNode(settings, hardware or FakeHardware())
        running.append(node)
        return node

    yield start
    for node in running:
        node.stop.set()
        node.thread.join(20)


def first_occurrences(seqs: list[int]) -> list[int]:
    seen: set[int] = set()
    return [s for s in seqs if not (s in seen or seen.add(s))]


def test_readings_meet_the_contract_and_count_up(
    mosquitto: Mosquitto, collector: Collector, start_node: Callable[..., RunningNode]
) -> None:
    node = start_node(mosquitto.url)
    eventually(lambda: len(collector.readings(NODE)) >= 5, "five readings")
    node.finish()
    assert node.error is None
    assert node.hardware.closed

    readings = collector.readings(NODE)
    for r in readings:
        Reading.model_validate(r)
        assert r["node"] == NODE
        assert r["interval_s"] == 1
        assert r["lamp_on"] is True
        assert r["ts"] in node.hardware.samples
        assert "uptime_s" in r and "spool" in r
    assert [r["seq"] for r in readings] == list(range(1, len(readings) + 1))
    assert [r["ts"] for r in readings] == sorted(r["ts"] for r in readings)


def test_backlog_after_a_broker_outage_is_replayed_in_order_as_arrays(
    mosquitto: Mosquitto, collector: Collector, start_node: Callable[..., RunningNode]
) -> None:
    # The node reaches the broker through a proxy, so it stays cut off until the
    # collector is back and subscribed, and the test sees every replayed reading.
    proxy = TcpProxy(mosquitto.host, mosquitto.port)
    try:
        node = start_node(proxy.url)
        eventually(lambda: len(collector.seqs(NODE)) >= 2, "live readings")
        mosquitto.kill()
        proxy.cut()
        eventually(lambda: node.spool_depth() >= 8, "sampling to continue into the spool")
        mosquitto.start()
        eventually(collector.subscribed.is_set, "the collector to resubscribe")
        proxy.restore()
        with Spool(node.settings.spool_path(), capacity=10**6) as spool:
            backlog_top = spool.last_seq()
        eventually(
            lambda: set(range(1, backlog_top + 1)) <= set(collector.seqs(NODE)),
            f"every seq up to {backlog_top}",
        )
        node.finish()
    finally:
        proxy.close()

    assert node.error is None
    arrived = first_occurrences(collector.seqs(NODE))
    assert arrived == sorted(arrived), "readings arrived out of order"
    replays = [p for p in collector.reading_payloads(NODE) if isinstance(p, list)]
    assert replays, "the backlog was not sent as arrays"
    for batch in replays:
        seqs = [r["seq"] for r in batch]
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
        for r in batch:
            Reading.model_validate(r)
    assert max(r["spool"] for r in collector.readings(NODE)) >= 7


def test_sigterm_stops_the_node_with_a_shutdown_status(
    mosquitto: Mosquitto, collector: Collector, tmp_path: Path
) -> None:
    env = node_env(NODE, mosquitto.url, tmp_path / "data", interval_s=INTERVAL_S)
    node = start_node_process(env, tmp_path / "node.log")
    try:
        eventually(lambda: collector.readings(NODE), "a reading")
        node.send_signal(signal.SIGTERM)
        assert node.wait(timeout=30) == 0
    finally:
        node.kill()
    statuses = eventually(
        lambda: [s for s in collector.statuses(NODE) if s["state"] == "offline"] and
        collector.statuses(NODE),
        "the shutdown status",
    )
    birth, goodbye = statuses
    assert goodbye == {
        "v": 1, "state": "offline", "session": birth["session"], "reason": "shutdown",
    }


class BreaksAfter(FakeHardware):
    """Delivers `good` sound readings, then a negative lux: a driver bug."""

    def __init__(self, good: int) -> None:
        super().__init__()
        self.good = good

    def sample(self, now: float) -> dict[str, Any]:
        fields = super().sample(now)
        return fields if len(self.samples) <= self.good else {**fields, "lux": -1.0}


def test_a_reading_that_breaks_the_contract_stops_the_agent_and_is_not_sent(
    mosquitto: Mosquitto, collector: Collector, start_node: Callable[..., RunningNode]
) -> None:
    node = start_node(mosquitto.url, BreaksAfter(good=2))
    node.thread.join(20)
    assert isinstance(node.error, InvalidReading)
    assert "lux" in str(node.error)
    assert node.hardware.closed
    eventually(lambda: collector.seqs(NODE) == [1, 2], "the two sound readings")
    birth, will = eventually(lambda: collector.statuses(NODE)[1:] and collector.statuses(NODE),
                             "the last will")
    # Not a clean stop: the hub must notice the node is gone.
    assert will == {"v": 1, "state": "offline", "session": birth["session"], "reason": "lost"}
    assert node.spool_depth() == 0


class StubClock:
    def __init__(self, now: float) -> None:
        self.t = now

    def now(self) -> float:
        return self.t

    def wait(self, seconds: float, stop: threading.Event) -> bool:
        self.t += seconds
        return stop.is_set()


@pytest.mark.parametrize(("interval_s", "announced"), [(0.2, 1), (60.0, 60), (90.5, 91)])
def test_reading_carries_the_interval_rounded_up_and_the_end_of_the_interval(
    tmp_path: Path, interval_s: float, announced: int
) -> None:
    clock = StubClock(1_795_370_000.0)
    with Spool(tmp_path / "spool.sqlite3", capacity=10) as spool:
        loop = SamplingLoop(
            node_id=NODE, interval_s=interval_s, hardware=FakeHardware(), spool=spool,
            clock=clock,
        )
        clock.t += 125.0
        reading = loop.sample_once(clock.now())
    assert reading["interval_s"] == announced
    assert reading["ts"] == 1_795_370_125.0
    assert reading["uptime_s"] == 125
    assert reading["spool"] == 0
    assert reading["seq"] == 1
