"""Sunrise and sunset at the node's pole, for its lighting program (DESIGN.md §11).

The same definition as the hub's night (hub/rules/sun.py): the sun's geometric centre at
−0.833° (refraction and the sun's radius allowed for), per local solar day, so the node
switches where the hub expects it to. astral is imported on first use: a node without a
lamp output never needs it, and it costs memory on a Pi Zero.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

DAY_S = 86400.0
HORIZON_DEG = -0.833


@dataclass(frozen=True, slots=True)
class SunTimes:
    """One solar day at one place, epoch seconds: the sun is up from `rise` to `set`."""

    rise: float
    set: float


def solar_day(lon: float, ts: float) -> int:
    """Days since the epoch in local solar time: each holds one sunrise and one sunset."""
    return int((ts + lon * 240.0) // DAY_S)


class Sun:
    """Sun times at (lat, lon), cached per solar day (astral takes tens of µs a call)."""

    def __init__(self, lat: float, lon: float) -> None:
        self.lat = lat
        self.lon = lon
        self._cache: dict[int, SunTimes | None] = {}

    def day(self, ts: float) -> int:
        return solar_day(self.lon, ts)

    def times(self, day: int) -> SunTimes | None:
        """The solar day's sunrise and sunset; None on a polar day or night."""
        try:
            return self._cache[day]
        except KeyError:
            pass
        if len(self._cache) > 16:
            self._cache.clear()
        times = self._cache[day] = self._compute(day)
        return times

    def _compute(self, day: int) -> SunTimes | None:
        from astral import Observer, SunDirection

        obs = Observer(latitude=self.lat, longitude=self.lon)
        try:
            return SunTimes(rise=self._crossing(obs, day, SunDirection.RISING),
                            set=self._crossing(obs, day, SunDirection.SETTING))
        except ValueError:
            return None

    def _crossing(self, obs: object, day: int, direction: object) -> float:
        from astral.sun import time_at_elevation

        # astral computes for a UTC date; our solar day's crossing may fall on the UTC
        # date before or after, far from Greenwich.
        base = dt.date(1970, 1, 1) + dt.timedelta(days=day)
        for offset in (0, -1, 1):
            t = time_at_elevation(obs, HORIZON_DEG, base + dt.timedelta(days=offset),
                                  direction, with_refraction=False).timestamp()
            if solar_day(self.lon, t) == day:
                return t
        raise ValueError(f"no crossing of the horizon on solar day {day}")

    def __repr__(self) -> str:
        return f"Sun({self.lat}, {self.lon})"
