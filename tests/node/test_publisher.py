"""The node's MQTT side against a real Mosquitto: presence (birth, will, shutdown) with
session numbers, readings as objects or replay arrays, and nothing leaves the spool
before the broker has acknowledged it."""

from __future__ import annotations

import logging
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.broker.certs import make_certs
from hub.supervise import Mosquitto
from node.clock import RealClock
from node.publisher import Publisher
from node.spool import Spool
from protocol.payloads import Status
from protocol.settings import MqttEndpoint
from tests.node.nodekit import Collector, TcpProxy, eventually, node_env, start_node_process

NODE = "khi-test-01"


def endpoint(url: str) -> MqttEndpoint:
    plain = MqttEndpoint.from_url(url)
    return MqttEndpoint(plain.host, plain.port, NODE, None, False)


def reading(n: int = 0) -> dict:
    return {"v": 1, "node": NODE, "ts": time.time(), "lamp_on": True, "footfall": n}


@pytest.fixture
def spool(tmp_path: Path) -> Iterator[Spool]:
    with Spool(tmp_path / "spool.sqlite3", capacity=1000) as s:
        yield s


@pytest.fixture
def collector(mosquitto: Mosquitto) -> Iterator[Collector]:
    c = Collector(mosquitto.url)
    yield c
    c.close()


@pytest.fixture
def publishers() -> Iterator[list[Publisher]]:
    """Publishers made by a test; whatever is still running is stopped afterwards."""
    made: list[Publisher] = []
    yield made
    for p in made:
        p.stop(timeout_s=1)


def start_publisher(
    publishers: list[Publisher], spool: Spool, url: str, **options: object
) -> Publisher:
    p = Publisher(
        node_id=NODE, endpoint=endpoint(url), spool=spool, clock=RealClock(),
        profile="fake", config_sha="abc123", **options,
    )
    publishers.append(p)
    p.start()
    return p


def births(c: Collector) -> list[dict]:
    return [s for s in c.statuses(NODE) if s["state"] == "online"]


def test_birth_is_retained_and_carries_the_session(
    mosquitto: Mosquitto, collector: Collector, spool: Spool, publishers: list[Publisher]
) -> None:
    start_publisher(publishers, spool, mosquitto.url)
    eventually(lambda: births(collector), "the birth message")

    late = Collector(mosquitto.url)
    try:
        (retained,) = eventually(lambda: late.messages(NODE, "status"), "the retained birth")
    finally:
        late.close()
    assert retained.retain
    Status.model_validate(retained.payload)
    assert retained.payload["state"] == "online"
    assert retained.payload["session"] == 1
    assert retained.payload["profile"] == "fake"
    assert retained.payload["config_sha"] == "abc123"
    assert retained.payload["fw"]


def test_every_reconnection_takes_a_new_session(
    mosquitto: Mosquitto, collector: Collector, spool: Spool, publishers: list[Publisher]
) -> None:
    start_publisher(publishers, spool, mosquitto.url)
    eventually(lambda: births(collector), "the first birth")
    mosquitto.kill()
    mosquitto.start()
    eventually(
        lambda: any(b["session"] == 2 for b in births(collector)), "a birth with session 2"
    )


def test_killed_node_process_leaves_a_will_with_its_session(
    mosquitto: Mosquitto, collector: Collector, tmp_path: Path
) -> None:
    env = node_env(NODE, mosquitto.url, tmp_path / "data", interval_s=0.2)
    node = start_node_process(env, tmp_path / "node.log")
    try:
        (birth,) = eventually(lambda: births(collector), "the node's birth")
        node.send_signal(signal.SIGKILL)
        node.wait()
    finally:
        node.kill()
    offline = eventually(
        lambda: [s for s in collector.statuses(NODE) if s["state"] == "offline"], "the will"
    )
    assert offline == [{"v": 1, "state": "offline", "session": birth["session"], "reason": "lost"}]
    late = Collector(mosquitto.url)
    try:
        (retained,) = eventually(lambda: late.messages(NODE, "status"), "the retained will")
    finally:
        late.close()
    assert retained.payload["reason"] == "lost"


def test_one_reading_goes_as_an_object_and_a_backlog_as_arrays(
    mosquitto: Mosquitto, collector: Collector, spool: Spool, publishers: list[Publisher]
) -> None:
    for n in range(7):
        spool.append(reading(n))
    publisher = start_publisher(publishers, spool, mosquitto.url, batch_size=3)
    eventually(lambda: len(collector.seqs(NODE)) >= 7, "the backlog")
    spool.append(reading(7))
    publisher.wake()
    eventually(lambda: len(collector.seqs(NODE)) >= 8, "the new reading")

    shapes = [
        [r["seq"] for r in p] if isinstance(p, list) else p["seq"]
        for p in collector.reading_payloads(NODE)
    ]
    assert shapes == [[1, 2, 3], [4, 5, 6], 7, 8]
    eventually(lambda: spool.depth() == 0, "an empty spool")


def test_readings_stay_in_the_spool_until_the_broker_acknowledges_them(
    mosquitto: Mosquitto, collector: Collector, spool: Spool, publishers: list[Publisher]
) -> None:
    proxy = TcpProxy(mosquitto.host, mosquitto.port)
    try:
        publisher = start_publisher(publishers, spool, proxy.url)
        eventually(lambda: births(collector), "the birth")
        proxy.hold_replies()
        spool.append(reading())
        publisher.wake()
        eventually(lambda: collector.seqs(NODE) == [1], "the reading at the broker")
        # The broker has it, but its PUBACK has not reached the node.
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            assert spool.depth() == 1
            time.sleep(0.05)
        proxy.release_replies()
        eventually(lambda: spool.depth() == 0, "the spool to empty after the ack")
    finally:
        proxy.close()


def test_clean_stop_publishes_a_retained_shutdown_with_the_session(
    mosquitto: Mosquitto, collector: Collector, spool: Spool, publishers: list[Publisher]
) -> None:
    publisher = start_publisher(publishers, spool, mosquitto.url)
    (birth,) = eventually(lambda: births(collector), "the birth")
    publisher.stop()
    eventually(lambda: len(collector.statuses(NODE)) >= 2, "the shutdown status")
    assert collector.statuses(NODE)[1:] == [
        {"v": 1, "state": "offline", "session": birth["session"], "reason": "shutdown"}
    ]
    late = Collector(mosquitto.url)
    try:
        (retained,) = eventually(lambda: late.messages(NODE, "status"), "the retained status")
    finally:
        late.close()
    assert retained.payload["reason"] == "shutdown"


def test_commands_are_logged(
    mosquitto: Mosquitto, collector: Collector, spool: Spool, publishers: list[Publisher],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="node.publisher")
    start_publisher(publishers, spool, mosquitto.url)
    eventually(lambda: births(collector), "the birth")

    def sent_and_logged() -> bool:
        # Repeated: the node's subscription may not be in place at the first try.
        collector.client.publish(
            f"roshni/v1/{NODE}/cmd", '{"v":1,"id":"c-1","cmd":"identify"}', qos=1
        )
        time.sleep(0.1)
        return "command received" in caplog.text

    eventually(sent_and_logged, "the command in the log")
    assert '"cmd":"identify"' in caplog.text


def test_readings_the_broker_refuses_stay_in_the_spool(
    tmp_path: Path, spool: Spool, publishers: list[Publisher], caplog: pytest.LogCaptureFixture
) -> None:
    acl = tmp_path / "acl"
    acl.write_text(f"user {NODE}\ntopic readwrite roshni/v1/{NODE}/status\n")
    conf = f"acl_file {acl}\n"
    with Mosquitto(tmp_path / "broker", extra_conf=conf) as broker:
        spool.append(reading())
        start_publisher(publishers, spool, broker.url, refused_retry_s=0.2)
        eventually(lambda: "broker refused seq 1" in caplog.text, "the refusal in the log")
        assert spool.depth() == 1

        acl.write_text(f"user {NODE}\ntopic readwrite roshni/v1/{NODE}/#\n")
        assert broker.proc is not None
        broker.proc.send_signal(signal.SIGHUP)  # Mosquitto rereads its ACL
        eventually(lambda: spool.depth() == 0, "the reading sent once allowed")


def _make_certificates(directory: Path) -> tuple[Path, Path, Path]:
    """A CA and a server certificate for 127.0.0.1 signed by it (as `roshni hub make-certs`)."""
    paths, _ = make_certs(directory, [], ["127.0.0.1"], days=2)
    return paths.ca_cert, paths.cert, paths.key


def test_mqtts_url_connects_over_tls_trusting_the_configured_ca(
    tmp_path: Path, spool: Spool, publishers: list[Publisher]
) -> None:
    ca, cert, key = _make_certificates(tmp_path)
    conf = f"cafile {ca}\ncertfile {cert}\nkeyfile {key}\n"
    with Mosquitto(tmp_path / "broker", extra_conf=conf) as broker:
        tls = MqttEndpoint(broker.host, broker.port, NODE, None, True)
        publisher = Publisher(
            node_id=NODE, endpoint=tls, ca_file=ca, spool=spool, clock=RealClock(),
            profile="fake", config_sha="abc123",
        )
        publishers.append(publisher)
        spool.append(reading())
        publisher.start()
        eventually(lambda: spool.depth() == 0, "the reading sent over TLS")
