"""The node's hardware as the agent sees it: one `sample()` per interval.

`open_hardware` builds the sensors a profile lists; simulation builds the same `Hardware`
around emulated pins and ports (node/sim), so the agent cannot tell the difference.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from node.clock import Clock
from node.indicator import StatusLed
from node.output import LampOutput
from node.profile import (
    AmbientAdc,
    AmbientLdr,
    LampAdc,
    LampLdr,
    LampPower,
    LampRelay,
    Profile,
)
from node.sensors import (
    AdcAmbientLight,
    AdcLampSensor,
    CpuTemperature,
    FootfallCounter,
    LdrAmbientLight,
    LdrLampSensor,
    Pzem004t,
    RelayFeedback,
    Sensor,
    SensorError,
    TamperSwitch,
    Uptime,
    lamp_on_from_power,
)
from node.sensors.system import DEFAULT_UPTIME_FILE

if TYPE_CHECKING:
    from node.sensors.radar import Ld2410

log = logging.getLogger(__name__)


@dataclass
class Sensors:
    """The sensors one node has; None where the profile has none."""

    lamp: AdcLampSensor | LdrLampSensor | RelayFeedback | None = None
    ambient: AdcAmbientLight | LdrAmbientLight | None = None
    footfall: FootfallCounter | Ld2410 | None = None  # the PIR or the radar
    tamper: TamperSwitch | None = None
    pzem: Pzem004t | None = None
    cpu_temp: CpuTemperature | None = None
    uptime: Uptime | None = None
    # Not sensors, but wired and closed like them.
    status_led: StatusLed | None = None
    output: LampOutput | None = None

    def all(self) -> list[Sensor | StatusLed | LampOutput]:
        named = [self.lamp, self.ambient, self.footfall, self.tamper, self.pzem,
                 self.cpu_temp, self.uptime, self.status_led, self.output]
        return [s for s in named if s is not None]


class Hardware:
    """Everything the agent reads from the pole, one interval at a time.

    `failures` counts failed reads per sensor (for self-test and diagnostics).
    """

    def __init__(self, profile: Profile, sensors: Sensors, *,
                 before_sample: Callable[[float], None] | None = None,
                 on_close: Callable[[], None] | None = None,
                 simulation: Any = None) -> None:
        self.profile = profile
        # node.sim.Simulation when the pole is simulated: its technician and OS clock state.
        self.simulation = simulation
        self.sensors = sensors
        self.failures: Counter[str] = Counter()
        # The sampling loop and a self-test asked for by the hub read the same devices; a
        # Modbus exchange with the meter must not interleave with another.
        self.lock = threading.RLock()
        self._failing: set[str] = set()
        self._before_sample = before_sample
        self._on_close = on_close
        self._closed = False

    def sample(self, now: float) -> dict[str, Any]:
        """Reading fields for the interval ending at `now`: any of lamp_on (bool), lux (float),
        lamp_w, lamp_a, mains_v, energy_wh (float), footfall (int), presence_s (int), tamper (bool),
        cpu_c (float), uptime_s (int), level (int), level_avg (float). Omit fields the profile
        has no sensor or output for, and fields whose sensor failed this interval (log it).
        Resets per-interval counters."""
        with self.lock:
            return self._sample(now)

    def _sample(self, now: float) -> dict[str, Any]:
        if self._closed:
            raise SensorError("hardware is closed")
        if self._before_sample is not None:
            self._before_sample(now)
        s = self.sensors
        fields: dict[str, Any] = {}
        if s.output is not None:
            # First: a Modbus exchange takes real time, minutes of a fast simulated clock.
            fields.update(s.output.interval(now))
        if s.pzem is not None and (meter := self._read("pzem", s.pzem.read)) is not None:
            fields.update(lamp_w=round(meter.lamp_w, 1), lamp_a=round(meter.lamp_a, 3),
                          mains_v=round(meter.mains_v, 1), energy_wh=float(meter.energy_wh))
        if isinstance(self.profile.lamp, LampPower) and self.profile.pzem is not None:
            if "lamp_w" in fields:
                fields["lamp_on"] = lamp_on_from_power(fields["lamp_w"],
                                                       self.profile.pzem.lamp_on_above_w)
        elif s.lamp is not None and (on := self._read("lamp", s.lamp.read)) is not None:
            fields["lamp_on"] = bool(on)
        if s.ambient is not None and (lux := self._read("ambient", s.ambient.read)) is not None:
            fields["lux"] = round(float(lux), 1)
        if s.footfall is not None:
            count = self._read("footfall", lambda: s.footfall.read(now, reset=True))
            if count is not None:
                fields.update(footfall=int(count.people), presence_s=int(round(count.presence_s)))
        if s.tamper is not None:
            tampered = self._read("tamper", lambda: s.tamper.read(reset=True))
            if tampered is not None:
                fields["tamper"] = bool(tampered)
        if s.cpu_temp is not None and (c := self._read("cpu_temp", s.cpu_temp.read)) is not None:
            fields["cpu_c"] = round(float(c), 1)
        if s.uptime is not None and (up := self._read("uptime", s.uptime.read)) is not None:
            fields["uptime_s"] = int(up)
        return fields

    def _read(self, name: str, read: Callable[[], Any]) -> Any:
        try:
            value = read()
        except SensorError as err:
            self.failures[name] += 1
            # Say it loudly once, then quietly until it recovers: a dead meter must not
            # fill the SD card with the same line every minute.
            if name not in self._failing:
                self._failing.add(name)
                log.warning("%s: read failed, field left out: %s", name, err)
            else:
                log.debug("%s: still failing: %s", name, err)
            return None
        if name in self._failing:
            self._failing.discard(name)
            log.info("%s: reading again", name)
        return value

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for sensor in reversed(self.sensors.all()):
            try:
                sensor.close()
            except Exception:  # one stuck device must not keep the others' pins claimed
                log.exception("closing %r failed", sensor)
        if self._on_close is not None:
            self._on_close()

    def __enter__(self) -> Hardware:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        names = [type(s).__name__ for s in self.sensors.all()]
        return f"<Hardware profile={self.profile.name!r} sensors={names}>"


def open_hardware(profile: Profile, *, clock: Clock, pin_factory=None,
                  ports: dict[str, str] | None = None,
                  files: dict[str, str] | None = None) -> Hardware:
    """Open every sensor `profile` lists.

    `pin_factory` is passed to every gpiozero device (None: gpiozero's default for the
    board). `ports` overrides serial ports by sensor name (``pzem``, ``radar``), e.g.
    ``{"pzem": "/dev/pts/4"}``;
    `files` overrides system files by sensor name (``cpu_temp``, ``uptime``).
    """
    return Hardware(profile, build_sensors(profile, clock=clock, pin_factory=pin_factory,
                                           ports=ports, files=files))


def build_sensors(profile: Profile, *, clock: Clock, pin_factory=None,
                  ports: dict[str, str] | None = None,
                  files: dict[str, str] | None = None) -> Sensors:
    ports = ports or {}
    files = files or {}
    sensors = Sensors()
    try:
        _open_light(profile, sensors, pin_factory)
        if profile.pir is not None:
            sensors.footfall = FootfallCounter(profile.pir.pin, clock=clock,
                                               refractory_s=profile.pir.refractory_s,
                                               pin_factory=pin_factory)
        elif profile.radar is not None:
            from node.sensors.radar import Ld2410

            sensors.footfall = Ld2410(ports.get("radar", profile.radar.port), clock=clock,
                                      baud=profile.radar.baud,
                                      refractory_s=profile.radar.refractory_s,
                                      max_distance_cm=profile.radar.max_distance_cm)
        if profile.tamper is not None:
            sensors.tamper = TamperSwitch(profile.tamper.pin,
                                          tampered_when=profile.tamper.tampered_when,
                                          pin_factory=pin_factory)
        if profile.pzem is not None:
            sensors.pzem = Pzem004t(ports.get("pzem", profile.pzem.port),
                                    address=profile.pzem.address, baud=profile.pzem.baud,
                                    timeout_s=profile.pzem.timeout_s)
        if profile.cpu_temp is not None:
            sensor_file = files.get("cpu_temp", profile.cpu_temp.sensor_file)
            if os.path.exists(sensor_file):
                sensors.cpu_temp = CpuTemperature(sensor_file, pin_factory=pin_factory)
            else:
                log.info("cpu_temp: %s does not exist on this board; cpu_c left out",
                         sensor_file)
        if profile.output is not None:
            sensors.output = LampOutput(profile.output, now=clock.now(), pin_factory=pin_factory)
        if profile.status_led is not None:
            sensors.status_led = StatusLed(profile.status_led.pin,
                                           active_high=profile.status_led.active_high,
                                           pin_factory=pin_factory)
        uptime_file = files.get("uptime", DEFAULT_UPTIME_FILE)
        if os.path.exists(uptime_file):
            sensors.uptime = Uptime(uptime_file)
    except BaseException:
        for sensor in sensors.all():
            sensor.close()
        raise
    return sensors


def _open_light(profile: Profile, sensors: Sensors, pin_factory) -> None:
    lamp, ambient = profile.lamp, profile.ambient
    if isinstance(lamp, LampAdc):
        sensors.lamp = AdcLampSensor(lamp.channel, on_above=lamp.on_above,
                                     spi_device=lamp.spi_device, max_voltage=lamp.max_voltage,
                                     pin_factory=pin_factory)
    elif isinstance(lamp, LampLdr):
        sensors.lamp = LdrLampSensor(lamp.pin, on_above=lamp.on_above,
                                     charge_time_limit=lamp.charge_time_limit_s,
                                     pin_factory=pin_factory)
    elif isinstance(lamp, LampRelay):
        sensors.lamp = RelayFeedback(lamp.pin, pull_up=lamp.pull_up, pin_factory=pin_factory)
    if isinstance(ambient, AmbientAdc):
        sensors.ambient = AdcAmbientLight(ambient.channel, lux_full_scale=ambient.lux_full_scale,
                                          spi_device=ambient.spi_device,
                                          max_voltage=ambient.max_voltage,
                                          pin_factory=pin_factory)
    elif isinstance(ambient, AmbientLdr):
        sensors.ambient = LdrAmbientLight(ambient.pin, lux_full_scale=ambient.lux_full_scale,
                                          charge_time_limit=ambient.charge_time_limit_s,
                                          pin_factory=pin_factory)
