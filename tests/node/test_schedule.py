"""The lamp's level as a pure function of program, sun, time, presence and override
(DESIGN.md §11), on a made-up sun: it rises at 06:00 and sets at 18:00 Karachi time."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from node.schedule import Override, PresenceState, decide
from node.sun import Sun, SunTimes
from protocol.payloads import DEFAULT_PROGRAM, Program

KARACHI = ZoneInfo("Asia/Karachi")
UTC_OFFSET_S = 5 * 3600


class FakeSun:
    """Sunrise 06:00 and sunset 18:00 Karachi time every day."""

    def day(self, ts: float) -> int:
        return int((ts + UTC_OFFSET_S) // 86400)

    def times(self, day: int) -> SunTimes | None:
        midnight = day * 86400 - UTC_OFFSET_S
        return SunTimes(rise=midnight + 6 * 3600, set=midnight + 18 * 3600)


SUN = FakeSun()


def at(hour: int, minute: int = 0, day: int = 4) -> float:
    return dt.datetime(2026, 12, day, hour, minute, tzinfo=KARACHI).timestamp()


# '100 % from sunset, 60 % from 23:00, 100 % from 05:00 until sunrise' (issue 12)
NIGHT = Program.model_validate({"steps": [
    {"at": "sunset", "level": 100}, {"at": "23:00", "level": 60},
    {"at": "05:00", "level": 100}, {"at": "sunrise", "level": 0}]})


def level(program: Program, t: float, **kw) -> int:
    return decide(program, t, SUN, **kw).level


@pytest.mark.parametrize(("hour", "minute", "expected"), [
    (12, 0, 0), (17, 59, 0), (18, 0, 100), (22, 59, 100), (23, 0, 60), (23, 30, 60),
    (2, 0, 60), (4, 59, 60), (5, 0, 100), (5, 59, 100), (6, 0, 0)])
def test_sun_and_clock_steps_give_the_level_of_the_latest_step(hour, minute, expected):
    assert level(NIGHT, at(hour, minute)) == expected


def test_the_last_step_of_the_night_carries_on_past_midnight_whatever_the_list_order():
    shuffled = Program.model_validate(
        {"steps": [NIGHT.steps[i].model_dump() for i in (2, 0, 3, 1)]})
    for hour in (1, 3, 19, 23, 5, 13):
        assert level(shuffled, at(hour)) == level(NIGHT, at(hour)), hour
    assert level(NIGHT, at(0, 30, day=5)) == 60


def test_sun_offsets_move_the_step():
    program = Program.model_validate({"steps": [
        {"at": "sunset+30", "level": 80}, {"at": "sunrise-15", "level": 0}]})
    assert level(program, at(18, 29)) == 0
    assert level(program, at(18, 30)) == 80
    assert level(program, at(5, 44)) == 80
    assert level(program, at(5, 45)) == 0


def test_the_answer_holds_until_the_next_step_or_an_hour_at_most():
    assert decide(NIGHT, at(22, 30), SUN).until == at(23)
    assert decide(NIGHT, at(4, 45), SUN).until == at(5)
    assert decide(NIGHT, at(23, 0), SUN).until == at(0, day=5)


def test_min_level_raises_the_night_but_not_the_day():
    program = Program.model_validate({"steps": [
        {"at": "sunset", "level": 100}, {"at": "23:00", "level": 0},
        {"at": "sunrise", "level": 0}], "min_level": 30})
    assert level(program, at(2)) == 30
    assert decide(program, at(2), SUN).why == "min_level"
    assert level(program, at(20)) == 100
    assert level(program, at(12)) == 0


PRESENCE = Program.model_validate({
    "steps": [{"at": "sunset", "level": 100}, {"at": "sunrise", "level": 0}],
    "presence": {"floor": 20, "level": 100, "hold_s": 120}})


def test_presence_floor_while_nobody_is_there_full_while_someone_is():
    assert level(PRESENCE, at(21)) == 20
    assert level(PRESENCE, at(21), presence=PresenceState(True, at(21))) == 100


def test_presence_holds_full_light_for_hold_s_after_the_last_sighting():
    left = at(21)
    gone = PresenceState(present=False, last_seen=left)
    assert level(PRESENCE, left + 119, presence=gone) == 100
    assert decide(PRESENCE, left + 1, SUN, presence=gone).until == left + 120
    assert level(PRESENCE, left + 120, presence=gone) == 20


def test_presence_does_not_light_the_day():
    assert level(PRESENCE, at(12), presence=PresenceState(True, at(12))) == 0


def test_override_holds_its_level_until_it_expires_then_the_program_again():
    override = Override(level=40, until=at(21))
    assert level(NIGHT, at(20), override=override) == 40
    assert decide(NIGHT, at(20), SUN, override=override).until == at(21)
    assert level(NIGHT, at(21), override=override) == 100


def test_override_beats_presence_but_not_the_night_floor():
    program = PRESENCE.model_copy(update={"min_level": 50})
    someone = PresenceState(True, at(21))
    assert level(program, at(21), presence=someone, override=Override(0, at(22))) == 50
    assert level(program, at(12), override=Override(100, at(13))) == 100


def test_default_program_burns_from_sunset_to_sunrise_at_a_real_place():
    sun = Sun(24.8607, 67.0011)  # Karachi, astral
    program = Program.model_validate(DEFAULT_PROGRAM)
    times = sun.times(sun.day(at(12)))
    assert times is not None
    assert at(17, 30) < times.set < at(18)
    assert decide(program, times.set - 1, sun).level == 0
    assert decide(program, times.set, sun).level == 100
    assert decide(program, at(3, day=5), sun).level == 100


def test_clock_steps_are_wall_clock_time_in_the_programs_zone_also_on_a_dst_day():
    berlin = ZoneInfo("Europe/Berlin")
    program = Program.model_validate({"steps": [{"at": "06:00", "level": 0},
                                                {"at": "23:00", "level": 60}],
                                      "tz": "Europe/Berlin"})
    # 2026-03-29: clocks go forward at 02:00; 23:00 is still 23:00 on the wall.
    eleven = dt.datetime(2026, 3, 29, 23, 0, tzinfo=berlin).timestamp()
    assert decide(program, eleven - 1, SUN).level == 0
    assert decide(program, eleven, SUN).level == 60
