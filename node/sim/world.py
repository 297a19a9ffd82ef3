"""The simulated street as a function of time: sun, lamp, mains, light, enclosure.

Everything except the energy counter and the passers-by is a pure function of the
clock, so any moment can be asked for and the answer is the same whoever asks.
"""

from __future__ import annotations

import datetime as dt
import math
import threading
from dataclasses import dataclass

from astral import Observer
from astral.sun import elevation

from node.sim.scenario import KARACHI, Scenario, resolve_time

POWER_FACTOR_ON = 0.95  # LED driver at full load
POWER_FACTOR_STANDBY = 0.5
LAMP_LUX_AT_STREET = 15.0  # a working lamp lights the pavement under it to about this
DEFAULT_RATED_W = 60.0


@dataclass(frozen=True, slots=True)
class Moment:
    t: float
    sun_elevation: float
    lamp_on: bool
    lamp_w: float
    lamp_a: float
    power_factor: float
    mains_v: float
    frequency_hz: float
    street_lux: float
    lamp_sensor_v: float  # lamp-facing photodiode, volts of 3.3
    relay_closed: bool | None  # the contactor's auxiliary contact; None: not connected
    tamper_open: bool
    cpu_c: float
    people_per_hour: float


def daylight_lux(sun_elevation: float) -> float:
    """Rough clear-sky illuminance: ~400 lx at sunset, ~3 lx at the end of civil twilight."""
    if sun_elevation >= 0:
        return 400.0 + 110_000.0 * math.sin(math.radians(sun_elevation))
    if sun_elevation >= -6:
        return 400.0 * 10 ** (sun_elevation / 6 * 2.07)
    return max(0.0, 3.4 * 10 ** ((sun_elevation + 6) / 6 * 2.5))


class World:
    def __init__(self, scenario: Scenario, *, start: float, lat: float, lon: float,
                 rated_w: float | None) -> None:
        self.scenario = scenario
        self.start = start
        self.observer = Observer(latitude=lat, longitude=lon)
        lamp, mains, tamper = scenario.lamp, scenario.mains, scenario.tamper
        self.rated_w = lamp.rated_w or rated_w or DEFAULT_RATED_W
        self.failed = self._window(lamp.fails_at, lamp.repaired_at)
        self.cut = self._window(mains.cut_from, mains.cut_until)
        self.tamper_window = self._window(tamper.opens_at, tamper.closes_at)
        self._lock = threading.Lock()
        self._energy_wh = lamp.meter_start_wh
        self._energy_t = start
        self.unplugged = scenario.install.lamp_sensor == "unplugged"
        self.street_sensor_covered = scenario.install.street_light_sensor == "covered"
        self._hand: tuple[float, float] | None = None

    def technician_acts(self, at: float, seconds: float) -> None:
        """A technician at the pole covers the lamp sensor (or switches the contactor) for
        `seconds` from `at`, as the self-test asks."""
        with self._lock:
            self._hand = (at, at + seconds)

    def _window(self, begin: str | None, end: str | None) -> tuple[float, float] | None:
        if begin is None:
            return None
        t0 = resolve_time(begin, start=self.start)
        t1 = resolve_time(end, start=self.start, not_before=t0) if end else math.inf
        return (t0, t1)

    def at(self, t: float, output: float | None = None) -> Moment:
        """The street at `t`. `output`: the light the node's control output asks of the
        lamp's driver, 0-1 (None: the node has no output; a photocell switches the lamp)."""
        lamp, mains = self.scenario.lamp, self.scenario.mains
        sun = elevation(self.observer, dt.datetime.fromtimestamp(t, dt.UTC))
        powered = not _inside(self.cut, t)
        # The photocell stays in series with the node's normally-closed contact
        # (firmware-config/README.md): by day the lamp is off whatever the node says, at
        # night the node switches it off or dims it. A lamp stuck on, or one whose
        # contactor and driver ignore the node (a wiring fault the hub's control check must
        # catch), burns as its photocell says.
        obeys = output is not None and lamp.follows_output and not lamp.burns_by_day
        dim = output if obeys and output is not None else 1.0
        lamp_on = powered and dim > 0 and self._lamp_wants_on(t, sun)
        # Slow wander and a faster ripple, so readings look like a real feeder.
        mains_v = mains.voltage + 4 * math.sin(t / 860) + 1.5 * math.sin(t / 97) if powered else 0.0
        if lamp_on:
            lamp_w = self.rated_w * lamp.power_fraction * dim * (1 + 0.01 * math.sin(t / 53))
            pf = POWER_FACTOR_ON
        else:
            lamp_w, pf = (lamp.standby_w, POWER_FACTOR_STANDBY) if powered else (0.0, 0.0)
        lamp_a = lamp_w / (mains_v * pf) if mains_v > 0 and pf > 0 else 0.0
        daylight = daylight_lux(sun)
        lamp_share = min(1.0, lamp.power_fraction) * dim if lamp_on else 0.0
        hour = dt.datetime.fromtimestamp(t, KARACHI).hour
        # The hooded photodiode sees the lamp well and the sky a little; it looks into the
        # lamp, so a dimmed lamp still reads clearly as burning.
        seen = min(1.0, lamp.power_fraction) * (0.3 + 0.7 * dim) if lamp_on else 0.0
        sensor_v = 0.05 + 2.6 * seen + 0.4 * min(1.0, daylight / 100_000)
        relay: bool | None = lamp_on
        if _inside(self._hand, t):
            # A hand over a sensor that sees light; a torch on one that sees none (the lamp
            # off in a dim sky, at dawn or dusk), as the self-test asks. The contactor flipped.
            sensor_v, relay = (0.02 if sensor_v > 0.3 else 2.0), not lamp_on
        if self.unplugged:
            sensor_v, relay = 0.0, None
        street_lux = 0.0 if self.street_sensor_covered else (
            daylight + LAMP_LUX_AT_STREET * lamp_share)
        return Moment(
            t=t, sun_elevation=sun, lamp_on=lamp_on, lamp_w=lamp_w, lamp_a=lamp_a,
            power_factor=pf, mains_v=mains_v, frequency_hz=mains.frequency_hz if powered else 0.0,
            street_lux=street_lux,
            lamp_sensor_v=sensor_v, relay_closed=relay,
            tamper_open=_inside(self.tamper_window, t),
            cpu_c=44.0 + 12.0 * max(0.0, math.sin(math.radians(sun))) + 0.8 * math.sin(t / 31),
            people_per_hour=self.scenario.people.per_hour[hour],
        )

    def _lamp_wants_on(self, t: float, sun: float) -> bool:
        lamp = self.scenario.lamp
        if _inside(self.failed, t):
            return False
        if not lamp.burns_by_day and sun >= lamp.on_below_elevation:
            return False
        cycle = lamp.flicker_on_s + lamp.flicker_off_s
        if lamp.flicker_off_s > 0 and cycle > 0:
            return (t - self.start) % cycle < lamp.flicker_on_s
        return True

    def energy_wh(self, moment: Moment) -> float:
        """The meter's counter at `moment`: integrates lamp power, never runs backwards."""
        with self._lock:
            if moment.t > self._energy_t:
                self._energy_wh += moment.lamp_w * (moment.t - self._energy_t) / 3600
                self._energy_t = moment.t
            return self._energy_wh

    def uptime_s(self, t: float) -> float:
        return max(0.0, t - self.start) + 60.0  # booted a minute before the agent started


def _inside(window: tuple[float, float] | None, t: float) -> bool:
    return window is not None and window[0] <= t < window[1]
