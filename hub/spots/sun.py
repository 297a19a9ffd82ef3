"""Night at a node, from its coordinates (DESIGN.md §6), and the night a moment belongs to."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from astral import Observer, SunDirection
from astral.sun import elevation, time_at_elevation

_DAY = dt.timedelta(days=1)
_HALF_DAY = dt.timedelta(hours=12)


def night_of(ts: float, tz: ZoneInfo) -> str:
    """The local date of the evening a moment belongs to: 02:00 on the 15th is the night
    of the 14th. Only ever asked about dark moments, so noon is a safe cut."""
    return (dt.datetime.fromtimestamp(ts, tz) - _HALF_DAY).date().isoformat()


class NightClock:
    """Whether the sun is below `below_deg` at a place and time.

    Sunrise and sunset are computed once per place and local day and cached; places are
    rounded to 0.01° (about 1 km), where sunset moves by a few seconds."""

    def __init__(self, tz: ZoneInfo, below_deg: float = -0.833, max_entries: int = 100_000
                 ) -> None:
        self.tz = tz
        self.below = below_deg
        self.max_entries = max_entries
        # (lat, lon, local date) -> (rise, set) as epoch seconds; None: no rise or set that
        # day (polar), ask the sun's elevation instead.
        self._cache: dict[tuple[float, float, dt.date], tuple[float, float] | None] = {}

    def is_night(self, lat: float, lon: float, ts: float) -> bool:
        lat, lon = round(lat, 2), round(lon, 2)
        day = dt.datetime.fromtimestamp(ts, self.tz).date()
        key = (lat, lon, day)
        try:
            times = self._cache[key]
        except KeyError:
            if len(self._cache) >= self.max_entries:
                self._cache.clear()
            times = self._cache[key] = self._sun_times(lat, lon, day)
        if times is None:
            when = dt.datetime.fromtimestamp(ts, dt.UTC)
            return elevation(Observer(lat, lon), when, with_refraction=False) < self.below
        rise, set_ = times
        return ts < rise or ts >= set_

    def _sun_times(self, lat: float, lon: float, day: dt.date) -> tuple[float, float] | None:
        obs = Observer(lat, lon)
        try:
            return (self._event(obs, day, SunDirection.RISING),
                    self._event(obs, day, SunDirection.SETTING))
        except ValueError:
            return None

    def _event(self, obs: Observer, day: dt.date, direction: SunDirection) -> float:
        # astral computes for a UTC date; far from the zone's meridian the local day's
        # event can fall on the UTC day before or after.
        for guess in (day, day - _DAY, day + _DAY):
            # −0.833° already includes refraction and the sun's radius: no second correction.
            t = time_at_elevation(obs, self.below, guess, direction, tzinfo=self.tz,
                                  with_refraction=False)
            if t.date() == day:
                return t.timestamp()
        raise ValueError(f"no sun {direction.name.lower()} on {day}")
