"""The node's side of hub commands, its lock, and systemd's notify protocol."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from hub.supervise import Mosquitto, _roshni
from node.agent import SamplingLoop, node_actions
from node.clock import SimClock
from node.commands import CommandFailed, CommandHandler
from node.config import NodeSettings
from node.lock import AgentLock, AgentRunning
from node.profile import load_profile
from node.sim import open_simulated_hardware
from node.spool import Spool
from tests.node.nodekit import Collector, FakeHardware, eventually, node_env


class Answers:
    def __init__(self) -> None:
        self.got: list[dict[str, Any]] = []

    def __call__(self, result: dict[str, Any]) -> None:
        self.got.append(result)

    def wait(self, n: int) -> list[dict[str, Any]]:
        return eventually(lambda: self.got if len(self.got) >= n else None, f"{n} answers",
                          timeout=10)


@pytest.fixture
def handler():  # type: ignore[no-untyped-def]
    answers = Answers()
    done: list[Any] = []

    def identify(args: Any) -> dict[str, Any]:
        done.append(args)
        return {"blinking_s": args.seconds}

    def selftest(args: Any) -> dict[str, Any]:
        raise CommandFailed("no hardware to test")

    h = CommandHandler({"identify": identify, "selftest": selftest}, answer=answers)
    h.start()
    yield h, answers, done
    h.stop()


def test_a_command_is_done_once_and_answered_even_when_delivered_twice(handler):
    h, answers, done = handler
    h.receive({"v": 1, "id": "c-1", "cmd": "identify", "seconds": 5})
    h.receive({"v": 1, "id": "c-1", "cmd": "identify", "seconds": 5})
    got = answers.wait(2)
    assert got[0] == got[1] == {"v": 1, "id": "c-1", "ok": True, "detail": {"blinking_s": 5}}
    assert len(done) == 1


@pytest.mark.parametrize("raw, why", [
    ({"v": 1, "id": "c-2", "cmd": "identify", "seconds": 0}, "seconds"),
    ({"v": 1, "id": "c-2", "cmd": "identify", "colour": "red"}, "colour"),
    ({"v": 1, "id": "c-2", "cmd": "reboot"}, "cmd"),
    ({"v": 2, "id": "c-2", "cmd": "identify"}, "v"),
    ({"v": 1, "id": "c-2", "cmd": "set_interval", "interval_s": 60}, "does not do"),
    ({"v": 1, "id": "c-2", "cmd": "selftest"}, "no hardware to test"),
])
def test_a_command_the_node_cannot_do_is_answered_with_the_reason(handler, raw, why):
    h, answers, done = handler
    h.receive(raw)
    (answer,) = answers.wait(1)
    assert answer["id"] == "c-2" and answer["ok"] is False
    assert why in answer["detail"]["error"]
    assert done == []


def test_a_command_without_an_id_cannot_be_answered_and_is_only_logged(handler, caplog):
    h, answers, _ = handler
    h.receive({"v": 1, "cmd": "identify"})
    time.sleep(0.2)
    assert answers.got == []
    assert "refusing command" in caplog.text


def _sim(tmp_path: Path, interval_s: float = 60.0):  # type: ignore[no-untyped-def]
    settings = NodeSettings.load(environ={"ROSHNI_NODE__ID": "khi-cmd-01",
                                          "ROSHNI_DATA_DIR": str(tmp_path),
                                          "ROSHNI_NODE__INTERVAL_S": str(interval_s)})
    clock = SimClock(time.time(), speed=60)
    hardware = open_simulated_hardware(load_profile("pi-zero-2w"), "default", clock=clock,
                                       lat=24.86, lon=67.0)
    spool = Spool(settings.spool_path(), capacity=100)
    sampler = SamplingLoop(node_id="khi-cmd-01", interval_s=interval_s, hardware=hardware,
                           spool=spool, clock=clock)
    return settings, hardware, spool, sampler


def test_identify_blinks_the_status_led(tmp_path: Path):
    settings, hardware, spool, sampler = _sim(tmp_path)
    try:
        actions = node_actions(settings, hardware, spool, sampler)
        from protocol.wire import IdentifyArgs

        assert actions["identify"](IdentifyArgs(seconds=2)) == {"blinking_s": 2,
                                                                  "led": "GPIO23"}
        led = hardware.sensors.status_led
        seen = set()
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and len(seen) < 2:
            seen.add(led.is_lit)
            time.sleep(0.02)
        assert seen == {True, False}, "the LED did not blink"
        time.sleep(2.2)
        assert not led.is_lit, "the LED kept blinking after its time"
    finally:
        hardware.close()
        spool.close()


def test_set_interval_applies_at_once_and_is_kept_for_the_next_start(tmp_path: Path):
    settings, hardware, spool, sampler = _sim(tmp_path, interval_s=60)
    stop = threading.Event()
    thread = threading.Thread(target=sampler.run, args=(stop,))
    thread.start()
    try:
        from protocol.wire import SetIntervalArgs

        actions = node_actions(settings, hardware, spool, sampler)
        assert actions["set_interval"](SetIntervalArgs(interval_s=600)) == {
            "interval_s": 600, "was_s": 60}
        # 600 simulated seconds are 10 real ones; the 60 s reading (1 s real) never comes.
        time.sleep(2.0)
        assert spool.last_seq() == 0
        eventually(lambda: spool.last_seq() >= 1, "the reading 600 s later", timeout=15)
        assert spool.peek(1)[0]["interval_s"] == 600
        assert spool.interval_override() == 600
    finally:
        stop.set()
        thread.join()
        hardware.close()
        spool.close()


def test_only_one_agent_runs_per_node_and_data_directory(tmp_path: Path):
    with AgentLock(tmp_path, "khi-cmd-01"):
        with pytest.raises(AgentRunning, match=f"pid {os.getpid()}"):
            AgentLock(tmp_path, "khi-cmd-01").acquire()
        AgentLock(tmp_path, "khi-cmd-02").acquire()  # another node's agent is fine
    AgentLock(tmp_path, "khi-cmd-01").acquire()


def test_the_agent_tells_systemd_it_is_ready_and_pings_its_watchdog(tmp_path: Path):
    """With Type=notify and WatchdogSec, systemd learns the agent is up, and restarts it if
    the pings stop."""
    sock_path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(sock_path))
    sock.settimeout(20)
    with Mosquitto(tmp_path / "mosquitto") as broker:
        env = {**node_env("khi-cmd-03", broker.url, tmp_path / "data", 1.0),
               "NOTIFY_SOCKET": str(sock_path), "WATCHDOG_USEC": "1000000"}
        proc = subprocess.Popen([*_roshni(), "node", "run", "--simulate", "default"], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            messages = [sock.recv(1024).decode() for _ in range(3)]
            assert messages[0] == "READY=1"
            assert messages[1:] == ["WATCHDOG=1", "WATCHDOG=1"]
            second = subprocess.run([*_roshni(), "node", "run", "--simulate", "default"],
                                    env={**env, "NOTIFY_SOCKET": ""}, capture_output=True,
                                    text=True, timeout=60)
            assert second.returncode == 1
            assert "already running" in second.stderr
            proc.send_signal(signal.SIGTERM)
            while (message := sock.recv(1024).decode()) == "WATCHDOG=1":
                pass
            assert message == "STOPPING=1"
            assert proc.wait(30) == 0
        finally:
            proc.kill()
            sock.close()


def test_a_node_with_fake_hardware_answers_identify_with_a_refusal(tmp_path: Path):
    """The fake hardware of the agent tests has no LED: the hub hears why."""
    with Mosquitto(tmp_path / "mosquitto") as broker:
        collector = Collector(broker.url)
        stop = threading.Event()
        from node.agent import run_node
        from node.clock import RealClock

        settings = NodeSettings.load(environ=node_env("khi-cmd-04", broker.url,
                                                      tmp_path / "data", 1.0))
        thread = threading.Thread(target=run_node, args=(settings, FakeHardware()), kwargs=dict(
            clock=RealClock(), profile="fake", stop=stop))
        thread.start()
        try:
            eventually(lambda: collector.statuses("khi-cmd-04"), "the node's birth")
            import paho.mqtt.publish as publish

            publish.single("roshni/v1/khi-cmd-04/cmd", '{"v":1,"id":"x1","cmd":"identify"}',
                           qos=1, hostname=broker.host, port=broker.port)
            (answer,) = eventually(lambda: collector.messages("khi-cmd-04", "cmd/result"),
                                   "the answer")
            assert answer.payload["ok"] is False
            assert "no status LED" in answer.payload["detail"]["error"]
        finally:
            stop.set()
            thread.join(30)
            collector.close()
