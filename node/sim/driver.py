"""Moves the emulated parts (mock pins, MCP3008, PZEM, LD2410, system files) along with
the world.

A thread applies `world.at(clock.now())` every few milliseconds; `sync(now)` applies a
moment on demand, so the sensors read exactly that moment when the agent samples. The
passers-by are drawn here too, and shown to the PIR and the radar alike: someone is there
or not for at least `MIN_SHOWN_S` of real time whatever the clock's speed, because
gpiozero's MotionSensor samples the pin 10 times a second in real time and the radar
reports 10 times a second in real time.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import random
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from gpiozero.pins.mock import MockFactory, MockPin

from node.clock import Clock
from node.profile import AmbientAdc, AmbientLdr, LampAdc, LampLdr, LampRelay, Profile
from node.sim.mcp3008 import Mcp3008Emulator
from node.sim.pins import SimChargingPin
from node.sim.pzem import PzemEmulator
from node.sim.scenario import KARACHI
from node.sim.world import Moment, World

if TYPE_CHECKING:
    from node.sim.ld2410 import Ld2410Emulator

log = logging.getLogger(__name__)

# Fine enough for passers-by shown >= MIN_SHOWN_S; faster ticks only cost the Pi CPU.
TICK_S = 0.1
FILES_EVERY_S = 1.0
MIN_SHOWN_S = 0.3
# Where a passer-by is from the radar on the pole: the pavement, not the road.
PASSER_BY_CM = (60, 300)


class SimDriver:
    def __init__(self, world: World, *, clock: Clock, profile: Profile, factory: MockFactory,
                 mcp: dict[int, Mcp3008Emulator], pzem: PzemEmulator | None,
                 pins: dict[str, MockPin], files: dict[str, Path],
                 radar: Ld2410Emulator | None = None) -> None:
        self.world = world
        self.factory = factory
        self.clock = clock
        self.profile = profile
        self.mcp = mcp
        self.pzem = pzem
        self.radar = radar
        self.pins = pins
        self.files = files
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._rng = random.Random(world.scenario.seed)
        # Its own stream, so adding a radar does not change who the PIR sees.
        self._distance_rng = random.Random(f"{world.scenario.seed}-distance")
        per_hour = world.scenario.people.per_hour
        self._max_rate = max(per_hour) / 3600
        self._next_candidate = self._draw_next(world.start)
        self._motion_until = 0.0
        self._pending_person = False
        self._someone_there = False
        self._shown_changed = time.monotonic() - MIN_SHOWN_S
        self._files_written = 0.0
        self._history_cleared = 0.0

    def start(self) -> None:
        self.sync(self.clock.now())
        self._thread = threading.Thread(target=self._run, name="roshni-sim-driver", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def sync(self, now: float) -> None:
        """Put every emulated part into the state of moment `now`."""
        moment = self.world.at(now, self.output())
        with self._lock:
            self._apply(moment)
            self._write_files(moment)

    def _run(self) -> None:
        while not self._stop.wait(TICK_S):
            try:
                now = self.clock.now()
                moment = self.world.at(now, self.output())
                with self._lock:
                    self._apply(moment)
                    if time.monotonic() - self._files_written >= FILES_EVERY_S:
                        self._write_files(moment)
                    if time.monotonic() - self._history_cleared >= FILES_EVERY_S:
                        self._forget_pin_history()
                self._people(now)
            except Exception:  # the simulated street must keep running for the demo
                log.exception("simulation tick failed")

    def output(self) -> float | None:
        """The light the lamp's driver gives for the node's output pins, 0-1, as wired in
        firmware-config/README.md; None if the node has no output."""
        out = self.profile.output
        if out is None:
            return None
        relay, pwm = self.pins.get("relay"), self.pins.get("pwm")
        if relay is not None and relay.state:
            return 0.0  # the coil is energised: the normally-closed contact is open
        if pwm is None:
            return 1.0
        # Duty pulls the dim wire down; at rest it floats and the driver gives full light.
        control = 1.0 - float(pwm.state)
        if out.driver == "0-10V" and control <= 0.0:
            return 0.0
        return max(out.min_dim / 100, control)

    def _apply(self, m: Moment) -> None:
        p = self.profile
        if isinstance(p.lamp, LampAdc):
            self.mcp[p.lamp.spi_device].voltages[p.lamp.channel] = (
                m.lamp_sensor_v * p.lamp.max_voltage / 3.3)
        elif isinstance(p.lamp, LampLdr):
            self._charging("lamp").set_light(m.lamp_sensor_v / 3.3, p.lamp.charge_time_limit_s)
        elif isinstance(p.lamp, LampRelay) and m.relay_closed is not None:
            # A closed contact pulls to ground when wired with the pull-up; a contact that
            # is not connected leaves the pin where its pull resistor holds it.
            _drive(self.pins["lamp"], m.relay_closed != p.lamp.pull_up)
        if isinstance(p.ambient, AmbientAdc):
            share = m.street_lux / p.ambient.lux_full_scale
            self.mcp[p.ambient.spi_device].voltages[p.ambient.channel] = (
                min(1.0, share) * p.ambient.max_voltage)
        elif isinstance(p.ambient, AmbientLdr):
            self._charging("ambient").set_light(m.street_lux / p.ambient.lux_full_scale,
                                                p.ambient.charge_time_limit_s)
        if p.tamper is not None:
            # The switch is wired to ground with a pull-up: pressed is low.
            pressed = m.tamper_open == (p.tamper.tampered_when == "pressed")
            _drive(self.pins["tamper"], not pressed)
        if self.pzem is not None:
            self.pzem.set_state(mains_v=m.mains_v, lamp_a=m.lamp_a, lamp_w=m.lamp_w,
                                energy_wh=self.world.energy_wh(m), frequency_hz=m.frequency_hz,
                                power_factor=m.power_factor)

    def _forget_pin_history(self) -> None:
        # MockPin records every state change for test assertions; an LDR or SPI clock pin
        # changes thousands of times an hour and a simulated node runs for days.
        self._history_cleared = time.monotonic()
        for pin in list(self.factory.pins.values()):
            pin.clear_states()

    def _charging(self, name: str) -> SimChargingPin:
        pin = self.pins[name]
        assert isinstance(pin, SimChargingPin)
        return pin

    def _write_files(self, m: Moment) -> None:
        self._files_written = time.monotonic()
        if "cpu_temp" in self.files:
            _write_atomically(self.files["cpu_temp"], f"{round(m.cpu_c * 1000)}\n")
        if "uptime" in self.files:
            up = self.world.uptime_s(m.t)
            _write_atomically(self.files["uptime"], f"{up:.2f} {up * 3.6:.2f}\n")

    def _draw_next(self, after: float) -> float:
        if self._max_rate <= 0:
            return float("inf")
        return after + self._rng.expovariate(self._max_rate)

    def _people(self, now: float) -> None:
        if "pir" not in self.pins and self.radar is None:
            return
        per_hour = self.world.scenario.people.per_hour
        dwell = self.world.scenario.people.dwell_s
        # Arrivals at a rate that changes by the hour: thin a constant-rate stream.
        while self._next_candidate <= now:
            t = self._next_candidate
            hour = dt.datetime.fromtimestamp(t, KARACHI).hour
            if self._rng.random() * self._max_rate * 3600 < per_hour[hour]:
                self._motion_until = max(self._motion_until, t + dwell)
                if not self._someone_there:
                    self._pending_person = True
            self._next_candidate = self._draw_next(t)
        real = time.monotonic()
        if real - self._shown_changed < MIN_SHOWN_S:
            return
        if self._someone_there and now >= self._motion_until:
            self._show_someone(False)
            self._shown_changed = real
        elif not self._someone_there and (self._pending_person or now < self._motion_until):
            self._show_someone(True)
            self._shown_changed = real
            self._pending_person = False

    def _show_someone(self, there: bool) -> None:
        self._someone_there = there
        if "pir" in self.pins:
            _drive(self.pins["pir"], there)
        if self.radar is not None:
            self.radar.person_at(self._distance_rng.randint(*PASSER_BY_CM) if there else None)


def _drive(pin: MockPin, high: bool) -> None:
    if high:
        pin.drive_high()
    else:
        pin.drive_low()


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
