"""Lamp control on the node (DESIGN.md §11), against a real Mosquitto: the retained program
is checked, stored, acknowledged and kept across a restart without the broker; override
and resume from the hub; presence on the mock PIR pin raises the light.

The pole is gpiozero's mock pins: a PIR on GPIO17, the relay on GPIO25 (energised = lamp
off) and the dimming PWM on GPIO12 (duty = how far the driver is pulled down).
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from gpiozero.pins.mock import MockFactory, MockPWMPin

from hub.supervise import Mosquitto
from node.agent import NoPosition, run_node
from node.clock import SimClock
from node.config import NodeSettings
from node.hardware import Hardware, open_hardware
from node.profile import parse_profile
from node.sim.scenario import KARACHI
from protocol.payloads import DEFAULT_PROGRAM, program_sha
from protocol.topics import Kind
from tests.node.nodekit import Collector, eventually, publish_to_node

NODE = "khi-ctl-01"
LAT, LON = 24.8607, 67.0011
PROFILE = parse_profile({
    "name": "test-output", "board": "mock pins", "rated_w": 100.0,
    "pir": {"pin": 17, "refractory_s": 1.0},
    "output": {"relay_pin": 25, "pwm_pin": 12, "driver": "1-10V", "min_dim": 10},
})
NINE_PM = dt.datetime(2026, 12, 4, 21, 0, tzinfo=KARACHI).timestamp()
DIM_NIGHT = {"steps": [{"at": "sunset", "level": 40}, {"at": "sunrise", "level": 0}]}


@pytest.fixture(autouse=True)
def _no_roshni_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in [n for n in os.environ if n.startswith("ROSHNI_")]:
        monkeypatch.delenv(name)


class Pole:
    """The node agent on mock pins, in a thread, on a clock that starts at 21:00."""

    def __init__(self, settings: NodeSettings, start: float = NINE_PM,
                 speed: float = 1.0) -> None:
        self.settings = settings
        self.factory = MockFactory(pin_class=MockPWMPin)
        self.clock = SimClock(start, speed)
        self.hardware: Hardware = open_hardware(PROFILE, clock=self.clock,
                                                pin_factory=self.factory)
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(settings,), daemon=True)
        self.thread.start()

    def _run(self, settings: NodeSettings) -> None:
        try:
            run_node(settings, self.hardware, clock=self.clock, profile=PROFILE.name,
                     stop=self.stop)
        except BaseException as err:  # noqa: BLE001 - handed to the test
            self.error = err

    @property
    def relay_energised(self) -> bool:
        return bool(self.factory.pin(25).state)

    @property
    def dim_duty(self) -> float:
        return float(self.factory.pin(12).state)

    def level(self) -> int:
        assert self.hardware.sensors.output is not None
        return self.hardware.sensors.output.level

    def finish(self) -> None:
        self.stop.set()
        self.thread.join(20)
        assert not self.thread.is_alive(), "the agent did not stop"
        assert self.error is None, self.error


@pytest.fixture
def start_pole(tmp_path: Path) -> Iterator[Callable[..., Pole]]:
    poles: list[Pole] = []

    def start(url: str, **kw: Any) -> Pole:
        settings = NodeSettings.of(
            node={"id": NODE, "interval_s": 3600, "lat": LAT, "lon": LON},
            mqtt={"url": url, "keepalive_s": 5}, data_dir=tmp_path / "data")
        pole = Pole(settings, **kw)
        poles.append(pole)
        return pole

    yield start
    for pole in poles:
        pole.stop.set()
        pole.thread.join(20)


@pytest.fixture
def collector(mosquitto: Mosquitto) -> Iterator[Collector]:
    c = Collector(mosquitto.url)
    yield c
    c.close()


def config(version: int, program: dict[str, Any], sha: str | None = None) -> dict[str, Any]:
    return {"v": 1, "version": version, "sha": sha or program_sha(program), "program": program}


def send_config(url: str, body: dict[str, Any]) -> None:
    """As the hub does: retained, so a node that is offline gets it when it returns."""
    publish_to_node(url, NODE, Kind.CONFIG, body, retain=True)


def events(collector: Collector, kind: str) -> list[dict[str, Any]]:
    return [m.payload for m in collector.messages(NODE, "event") if m.payload["type"] == kind]


def command(url: str, collector: Collector, cmd: str, **args: Any) -> dict[str, Any]:
    command_id = str(uuid.uuid4())
    publish_to_node(url, NODE, Kind.CMD, {"v": 1, "id": command_id, "cmd": cmd, **args})
    return eventually(lambda: next((m.payload for m in collector.messages(NODE, "cmd/result")
                                    if m.payload["id"] == command_id), None),
                      f"the answer to {cmd}", 10)


def test_retained_program_is_stored_acknowledged_and_kept_across_a_restart_without_broker(
        mosquitto: Mosquitto, collector: Collector, start_pole: Callable[..., Pole]):
    send_config(mosquitto.url, config(1, DIM_NIGHT))
    pole = start_pole(mosquitto.url)
    birth = eventually(lambda: collector.statuses(NODE), "the birth")[0]
    assert birth["config_sha"] == program_sha(DEFAULT_PROGRAM)

    applied = eventually(lambda: events(collector, "config_applied"), "config_applied", 10)
    assert applied[0]["version"] == 1 and applied[0]["sha"] == program_sha(DIM_NIGHT)
    eventually(lambda: pole.level() == 40, "the lamp at 40 %", 5)
    # 40 % of a 1-10 V driver: the dim wire pulled down 60 % of the time; relay at rest.
    assert not pole.relay_energised and pole.dim_duty == pytest.approx(0.6)
    stored = json.loads(pole.settings.program_path().read_text())
    assert stored["version"] == 1 and stored["sha"] == program_sha(DIM_NIGHT)

    # Versions never go back, and a sha that is not the program's is refused: said once.
    send_config(mosquitto.url, config(2, DEFAULT_PROGRAM, sha="0" * 64))
    rejected = eventually(lambda: events(collector, "config_rejected"), "config_rejected", 10)
    assert rejected[0]["version"] == 2 and "sha" in rejected[0]["reason"]
    send_config(mosquitto.url, config(1, DEFAULT_PROGRAM))
    eventually(lambda: len(events(collector, "config_rejected")) == 2, "a second refusal", 10)
    assert "not newer" in events(collector, "config_rejected")[1]["reason"]
    assert pole.level() == 40
    send_config(mosquitto.url, config(1, DIM_NIGHT))  # back as it was
    pole.finish()

    mosquitto.stop()
    again = start_pole(mosquitto.url)
    eventually(lambda: again.level() == 40, "the stored program after a restart", 5)
    assert again.dim_duty == pytest.approx(0.6)

    mosquitto.start()
    eventually(lambda: any(s.get("config_sha") == program_sha(DIM_NIGHT) and s["state"] ==
                           "online" for s in collector.statuses(NODE)),
               "a birth with the stored program's sha", 20)
    assert len(events(collector, "config_applied")) == 1, "the same program applied twice"
    again.finish()


def test_override_holds_its_level_then_resume_gives_the_program_back(
        mosquitto: Mosquitto, collector: Collector, start_pole: Callable[..., Pole]):
    pole = start_pole(mosquitto.url)
    eventually(lambda: collector.statuses(NODE), "the birth")
    assert pole.level() == 100  # the default program at night

    answer = command(mosquitto.url, collector, "override", level=0, minutes=30)
    assert answer["ok"] and answer["detail"]["level"] == 0
    assert pole.relay_energised, "level 0 switches the lamp off with the relay"

    answer = command(mosquitto.url, collector, "resume")
    assert answer["ok"] and answer["detail"] == {"level": 100, "was_overridden": True,
                                                 "why": "program"}
    assert not pole.relay_energised and pole.dim_duty == 0.0
    pole.finish()


def test_an_override_expires_by_itself(mosquitto: Mosquitto, collector: Collector,
                                       start_pole: Callable[..., Pole]):
    pole = start_pole(mosquitto.url, speed=60.0)  # a minute a second
    eventually(lambda: collector.statuses(NODE), "the birth")
    answer = command(mosquitto.url, collector, "override", level=50, minutes=1)
    assert answer["ok"]
    eventually(lambda: pole.level() == 100, "the program back after the override", 10)
    pole.finish()


def test_someone_on_the_mock_pir_raises_the_light_then_it_falls_back_after_hold(
        mosquitto: Mosquitto, collector: Collector, start_pole: Callable[..., Pole]):
    program = {"steps": [{"at": "sunset", "level": 100}, {"at": "sunrise", "level": 0}],
               "presence": {"floor": 20, "level": 100, "hold_s": 120}}
    send_config(mosquitto.url, config(1, program))
    pole = start_pole(mosquitto.url, speed=60.0)  # the two minutes held in two seconds
    eventually(lambda: pole.level() == 20, "the presence floor while nobody is there", 10)

    pir = pole.factory.pin(17)
    pir.drive_high()
    eventually(lambda: pole.level() == 100, "full light for someone passing", 2)
    pir.drive_low()
    footfall = pole.hardware.sensors.footfall
    assert footfall is not None
    eventually(lambda: not footfall.present, "the PIR to see them leave", 2)
    assert pole.level() == 100, "held for hold_s after they left"
    eventually(lambda: pole.level() == 20, "the floor again after hold_s", 10)
    pole.finish()


def test_readings_carry_the_commanded_level(mosquitto: Mosquitto, collector: Collector,
                                            tmp_path: Path):
    settings = NodeSettings.of(
        node={"id": NODE, "interval_s": 0.3, "lat": LAT, "lon": LON},
        mqtt={"url": mosquitto.url}, data_dir=tmp_path / "d")
    send_config(mosquitto.url, config(1, DIM_NIGHT))
    pole = Pole(settings)
    try:
        eventually(lambda: any(r.get("level") == 40 and r.get("level_avg") == 40.0
                               for r in collector.readings(NODE)), "a reading at 40 %", 10)
    finally:
        pole.finish()
    first = collector.readings(NODE)[0]
    assert first["level"] in (40, 100) and 40 <= first["level_avg"] <= 100


def test_a_node_that_switches_its_lamp_refuses_to_start_without_a_position(tmp_path: Path):
    settings = NodeSettings.of(node={"id": NODE}, mqtt={"url": "mqtt://127.0.0.1:1"},
                            data_dir=tmp_path)
    clock = SimClock(NINE_PM)
    hardware = open_hardware(PROFILE, clock=clock, pin_factory=MockFactory(pin_class=MockPWMPin))
    with pytest.raises(NoPosition, match="node.lat and node.lon"):
        run_node(settings, hardware, clock=clock, profile=PROFILE.name,
                 stop=threading.Event())
