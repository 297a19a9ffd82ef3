"""Night and day from a node's coordinates, cached per place and solar day."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from astral import Observer
from astral.sun import elevation

from hub.rules.sun import SunCache

KARACHI = ZoneInfo("Asia/Karachi")
KORANGI = (24.83, 67.13)


def local(day: dt.date, hh: int, mm: int = 0) -> float:
    base = dt.datetime.combine(day, dt.time(0, 0), KARACHI)
    return (base + dt.timedelta(hours=hh, minutes=mm)).timestamp()


def sun_at(lat: float, lon: float, ts: float) -> float:
    return elevation(Observer(lat, lon), dt.datetime.fromtimestamp(ts, dt.UTC),
                     with_refraction=False)


@pytest.mark.parametrize("day", [dt.date(2026, 6, 21), dt.date(2026, 12, 21),
                                 dt.date(2026, 3, 14)])
def test_night_in_karachi_is_the_sun_below_minus_0833_degrees(day):
    sun = SunCache()
    for minute in range(0, 24 * 60, 7):
        ts = local(day, 0, minute)
        assert sun.is_night(*KORANGI, ts) == (sun_at(*KORANGI, ts) < -0.833), \
            dt.datetime.fromtimestamp(ts, KARACHI)
        assert sun.is_full_day(*KORANGI, ts) == (sun_at(*KORANGI, ts) > 6.0)


def test_sunrise_and_sunset_are_where_the_sun_crosses_minus_0833_degrees():
    t = SunCache().times(*KORANGI, local(dt.date(2026, 3, 14), 12))
    assert t is not None
    assert sun_at(*KORANGI, t.set) == pytest.approx(-0.833, abs=0.01)
    assert sun_at(*KORANGI, t.rise) == pytest.approx(-0.833, abs=0.01)
    assert dt.datetime.fromtimestamp(t.set, KARACHI).strftime("%H:%M") == "18:39"


def test_sun_times_are_computed_once_per_place_and_day():
    sun = SunCache()
    night = dt.date(2026, 3, 14)
    for minute in range(0, 12 * 60):  # a whole night for a street of lamps ~50 m apart
        for i in range(20):
            sun.is_night(24.83 + i * 0.0004, 67.13, local(night, 19, minute))
    # 19:00 to 06:59 spans two solar days; the street rounds to two places (0.01°)
    assert sun.computed <= 2 * 2


@pytest.mark.parametrize("lon", [-150.0, -60.0, 0.0, 100.0, 175.0])
def test_far_from_greenwich_the_right_day_is_used(lon):
    sun = SunCache()
    start = dt.datetime(2026, 3, 1, tzinfo=dt.UTC).timestamp()
    for h in range(0, 48):
        ts = start + h * 1800
        assert sun.is_night(20.0, lon, ts) == (sun_at(20.0, lon, ts) < -0.833), (lon, h)


def test_polar_day_and_night_are_answered_from_the_elevation():
    sun = SunCache()
    assert not sun.is_night(78.2, 15.6, dt.datetime(2026, 6, 21, 0, tzinfo=dt.UTC).timestamp())
    assert sun.is_night(78.2, 15.6, dt.datetime(2026, 12, 21, 12, tzinfo=dt.UTC).timestamp())
