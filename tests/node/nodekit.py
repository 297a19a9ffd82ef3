"""Test helpers for the node agent: a fake `Hardware`, an MQTT collector, a TCP proxy
that can cut or stall the node's broker connection, and (run as a script) a node process
with fake hardware, configured like the real one through ``ROSHNI_*`` variables.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from protocol.settings import MqttEndpoint
from protocol.topics import Kind, topic

REPO = Path(__file__).resolve().parents[2]
T = TypeVar("T")


def eventually(check: Callable[[], T], what: str, timeout: float = 30.0) -> T:
    """Poll `check` until it returns something truthy; fail naming `what`."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def wait_until(check: Callable[[], object], what: str, timeout: float = 5.0) -> None:
    """`eventually` polling fast, for sensors whose state changes in milliseconds."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.005)


class FakeClock:
    """A clock that stands still until a test moves `t`."""

    def __init__(self, t: float = 1_780_000_000.0) -> None:
        self.t = t

    def now(self) -> float:
        return self.t

    def wait(self, seconds: float, stop: threading.Event) -> bool:
        return stop.is_set()


def pty_fds() -> int:
    """Pseudo-terminals this process holds open (an emulator left behind keeps two)."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            count += os.readlink(f"/proc/self/fd/{fd}").startswith(("/dev/pts/", "/dev/ptmx"))
        except OSError:
            pass
    return count


class FakeHardware:
    """Lamp on, dim street, a few people per interval."""

    def __init__(self, extra: dict[str, Any] | None = None) -> None:
        self.samples: list[float] = []
        self.extra = extra or {}
        self.closed = False

    def sample(self, now: float) -> dict[str, Any]:
        self.samples.append(now)
        return {"lamp_on": True, "lux": 2.5, "footfall": len(self.samples) % 7, **self.extra}

    def close(self) -> None:
        self.closed = True


@dataclass(frozen=True)
class Received:
    topic: str
    payload: Any
    retain: bool


class Collector:
    """A subscriber like the hub's, remembering everything under ``roshni/v1/``."""

    def __init__(self, url: str, pattern: str = "roshni/v1/#") -> None:
        self.pattern = pattern
        self.subscribed = threading.Event()
        self._messages: list[Received] = []
        self._lock = threading.Lock()
        endpoint = MqttEndpoint.from_url(url)
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"collector-{uuid.uuid4().hex[:8]}"
        )
        self.client.reconnect_delay_set(1, 1)
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = lambda *a: self.subscribed.set()
        self.client.on_disconnect = lambda *a: self.subscribed.clear()
        self.client.on_message = self._on_message
        self.client.connect_async(endpoint.host, endpoint.port, keepalive=5)
        self.client.loop_start()
        eventually(self.subscribed.is_set, "the collector to subscribe")

    def _on_connect(self, client: mqtt.Client, *args: Any) -> None:
        client.subscribe(self.pattern, qos=1)

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        with self._lock:
            self._messages.append(Received(msg.topic, json.loads(msg.payload), bool(msg.retain)))

    def messages(self, node_id: str, kind: str) -> list[Received]:
        wanted = f"roshni/v1/{node_id}/{kind}"
        with self._lock:
            return [m for m in self._messages if m.topic == wanted]

    def statuses(self, node_id: str) -> list[dict[str, Any]]:
        return [m.payload for m in self.messages(node_id, "status")]

    def reading_payloads(self, node_id: str) -> list[Any]:
        return [m.payload for m in self.messages(node_id, "reading")]

    def readings(self, node_id: str) -> list[dict[str, Any]]:
        flat: list[dict[str, Any]] = []
        for payload in self.reading_payloads(node_id):
            flat.extend(payload if isinstance(payload, list) else [payload])
        return flat

    def seqs(self, node_id: str) -> list[int]:
        return [r["seq"] for r in self.readings(node_id)]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


class TcpProxy:
    """Stands between the node and the broker: `cut()` drops the connection and refuses
    new ones (the node's view of an outage); `hold_replies()` keeps the broker's answers
    (PUBACKs) from reaching the node until `release_replies()`."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        self._open = threading.Event()
        self._open.set()
        self._replies = threading.Event()
        self._replies.set()
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        self._closed = False
        threading.Thread(target=self._accept_loop, daemon=True).start()

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def cut(self) -> None:
        self._open.clear()
        with self._lock:
            conns, self._conns = self._conns, []
        for conn in conns:
            _shut(conn)

    def restore(self) -> None:
        self._open.set()

    def hold_replies(self) -> None:
        self._replies.clear()

    def release_replies(self) -> None:
        self._replies.set()

    def close(self) -> None:
        self._closed = True
        self.cut()
        self._replies.set()
        self._server.close()

    def _accept_loop(self) -> None:
        while not self._closed:
            try:
                conn, _ = self._server.accept()
            except OSError:
                return
            if not self._open.is_set():
                _shut(conn)
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=2)
                upstream.settimeout(None)
            except OSError:
                _shut(conn)
                continue
            with self._lock:
                self._conns += [conn, upstream]
            threading.Thread(target=self._pump, args=(conn, upstream, None), daemon=True).start()
            threading.Thread(
                target=self._pump, args=(upstream, conn, self._replies), daemon=True
            ).start()

    def _pump(self, src: socket.socket, dst: socket.socket, gate: threading.Event | None) -> None:
        try:
            while data := src.recv(65536):
                while gate is not None and not gate.wait(0.1):
                    if self._closed:
                        return
                dst.sendall(data)
        except OSError:
            pass
        finally:
            _shut(src)
            _shut(dst)


def _shut(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()


def publish_to_node(url: str, node_id: str, kind: Kind, payload: object, *,
                    retain: bool = False) -> None:
    """Publish to a node's topic as the hub would (config, cmd), and wait for the broker."""
    endpoint = MqttEndpoint.from_url(url)
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"hub-{uuid.uuid4().hex[:8]}")
    client.connect(endpoint.host, endpoint.port)
    client.loop_start()
    try:
        client.publish(topic(node_id, kind), json.dumps(payload), qos=1,
                       retain=retain).wait_for_publish(5)
    finally:
        client.disconnect()
        client.loop_stop()


def node_env(node_id: str, broker_url: str, data_dir: Path, interval_s: float) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROSHNI_")}
    env.update(
        ROSHNI_NODE__ID=node_id,
        ROSHNI_NODE__INTERVAL_S=str(interval_s),
        ROSHNI_MQTT__URL=broker_url,
        ROSHNI_DATA_DIR=str(data_dir),
        ROSHNI_LOG_LEVEL="DEBUG",
    )
    return env


def start_node_process(env: dict[str, str], log_file: Path) -> subprocess.Popen[bytes]:
    """This file as a node process with fake hardware."""
    with open(log_file, "ab") as out:
        return subprocess.Popen(
            [sys.executable, __file__], env=env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT
        )


def _main() -> int:
    import logging

    from node.agent import install_stop_signals, run_node
    from node.clock import RealClock
    from node.config import NodeSettings

    logging.basicConfig(
        level=os.environ.get("ROSHNI_LOG_LEVEL", "INFO"),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    settings = NodeSettings.load()
    stop = threading.Event()
    install_stop_signals(stop)
    run_node(
        settings, FakeHardware(), clock=RealClock(), profile="fake",
        stop=stop,
    )
    return 0


if __name__ == "__main__":
    sys.exit(_main())
