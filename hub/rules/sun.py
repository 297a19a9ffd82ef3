"""Night and day at a node from its coordinates (DESIGN.md §6), fast enough for ingest.

astral takes tens of microseconds per call; at 20 000 readings/s that is most of a core.
The sun's crossings of the two thresholds are computed once per place (rounded to 0.01°,
about 1 km, where sunset moves by a few seconds) and solar day, and every reading of that
day is then two comparisons.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from astral import Observer, SunDirection
from astral.sun import elevation, time_at_elevation

_DAY_S = 86400.0


@dataclass(frozen=True, slots=True)
class SunTimes:
    """One solar day at one place, epoch seconds: the sun is above `night_below_deg`
    from `rise` to `set`, and above `day_above_deg` from `up` to `down`."""

    rise: float
    set: float
    up: float
    down: float


def solar_day(lon: float, ts: float) -> int:
    """Days since the epoch in local solar time: each such day holds exactly one night's
    end and one night's start (outside the polar regions), unlike a UTC or zone date."""
    return int((ts + lon * 240.0) // _DAY_S)


class SunCache:
    def __init__(self, night_below_deg: float = -0.833, day_above_deg: float = 6.0,
                 max_entries: int = 200_000) -> None:
        self.night_below = night_below_deg
        self.day_above = day_above_deg
        self.max_entries = max_entries
        self._cache: dict[tuple[float, float, int], SunTimes | None] = {}
        # By a lamp's exact coordinates, the solar day last asked for: a city's readings
        # come from the same places day after day, and this spares every one of them the
        # rounding and the tuple key (two lookups per reading in the rules).
        self._recent: dict[tuple[float, float], tuple[float, int, SunTimes | None]] = {}
        self.computed = 0  # astral computations, for tests and the benchmark

    def times(self, lat: float, lon: float, ts: float) -> SunTimes | None:
        """The sun's crossings on the solar day of `ts`; None where the sun does not cross
        one of the thresholds that day (polar day or night)."""
        recent = self._recent.get((lat, lon))
        if recent is not None and solar_day(recent[0], ts) == recent[1]:
            return recent[2]
        lat_r, lon_r = round(lat, 2), round(lon, 2)
        key = (lat_r, lon_r, solar_day(lon_r, ts))
        try:
            times = self._cache[key]
        except KeyError:
            if len(self._cache) >= self.max_entries:
                self._cache.clear()
            times = self._cache[key] = self._compute(lat_r, lon_r, key[2])
        if len(self._recent) >= self.max_entries:
            self._recent.clear()
        self._recent[(lat, lon)] = (lon_r, key[2], times)
        return times

    def is_night(self, lat: float, lon: float, ts: float) -> bool:
        t = self.times(lat, lon, ts)
        if t is None:
            return self._elevation(lat, lon, ts) < self.night_below
        return ts < t.rise or ts >= t.set

    def is_full_day(self, lat: float, lon: float, ts: float) -> bool:
        """The sun is clearly up (above `day_above_deg`): no street lamp should burn."""
        t = self.times(lat, lon, ts)
        if t is None:
            return self._elevation(lat, lon, ts) > self.day_above
        return t.up <= ts < t.down

    def _compute(self, lat: float, lon: float, day: int) -> SunTimes | None:
        self.computed += 1
        obs = Observer(latitude=lat, longitude=lon)
        try:
            return SunTimes(
                rise=self._crossing(obs, lon, day, self.night_below, SunDirection.RISING),
                set=self._crossing(obs, lon, day, self.night_below, SunDirection.SETTING),
                up=self._crossing(obs, lon, day, self.day_above, SunDirection.RISING),
                down=self._crossing(obs, lon, day, self.day_above, SunDirection.SETTING))
        except ValueError:
            return None

    @staticmethod
    def _crossing(obs: Observer, lon: float, day: int, deg: float,
                  direction: SunDirection) -> float:
        # astral computes for a UTC date; the crossing of our solar day can fall on the UTC
        # date before or after, far from the Greenwich meridian.
        base = dt.date(1970, 1, 1) + dt.timedelta(days=day)
        for offset in (0, -1, 1):
            # The thresholds are geometric elevations (−0.833° already allows for refraction
            # and the sun's radius), so astral must not add refraction again.
            t = time_at_elevation(obs, deg, base + dt.timedelta(days=offset), direction,
                                  with_refraction=False).timestamp()
            if solar_day(lon, t) == day:
                return t
        raise ValueError(f"no crossing of {deg}° on solar day {day}")

    @staticmethod
    def _elevation(lat: float, lon: float, ts: float) -> float:
        value = elevation(Observer(latitude=lat, longitude=lon),
                          dt.datetime.fromtimestamp(ts, dt.UTC), with_refraction=False)
        return value if math.isfinite(value) else 0.0
