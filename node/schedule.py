"""The lamp's level at a moment: a pure function of the program, the sun, the time, who is
around and the hub's override (DESIGN.md §11). No clock, no threads, no hardware, so every
rule can be tested with made-up sun times.

Rules, in order:
1. The program's steps: the level is that of the latest step at or before `t`, cyclically
   (the steps are placed on the days around `t` and the latest one wins, so the last step
   of a night carries on into the next day until the next step).
2. Presence (if the program has it) while the step's level is above 0: `presence.level`
   from someone's arrival until `hold_s` after they were last seen, `presence.floor`
   otherwise.
3. An override, until it expires, replaces 1 and 2.
4. Between sunset and sunrise the level is never below `min_level` (the hub's safety
   floor at unsafe spots).

`decide` also says until when its answer holds, so the caller can sleep until then.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol
from zoneinfo import ZoneInfo

from node.sun import SunTimes
from protocol.wire import Program

# Where the steps give no answer (a polar day without sunset, and sun-only steps): the
# lamp's fail-safe state.
FAILSAFE_LEVEL = 100
# Re-decide at least this often (clock seconds) even when nothing is due.
MAX_HOLD_S = 3600.0


class SunSource(Protocol):
    def day(self, ts: float) -> int:
        """The solar day of `ts`."""

    def times(self, day: int) -> SunTimes | None:
        """Sunrise and sunset of a solar day; None if the sun does not cross the horizon."""


@dataclass(frozen=True, slots=True)
class Override:
    level: int
    until: float


@dataclass(frozen=True, slots=True)
class PresenceState:
    """What the people sensor said: someone is there now, and when someone was last seen."""

    present: bool = False
    last_seen: float | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    level: int
    until: float  # clock time at which the answer may change (re-decide then)
    why: str  # "program", "presence", "override" or "min_level"


@lru_cache(maxsize=64)
def _parse_at(at: str) -> tuple[str, float]:
    """("rise" | "set", offset seconds) or ("clock", seconds after local midnight)."""
    for name, kind in (("sunset", "set"), ("sunrise", "rise")):
        if at.startswith(name):
            rest = at[len(name):]
            return kind, float(int(rest)) * 60 if rest else 0.0
    hours, minutes = at.split(":")
    return "clock", int(hours) * 3600.0 + int(minutes) * 60.0


def _step_times(program: Program, t: float, sun: SunSource) -> list[tuple[float, int]]:
    """Every step placed on the days around `t`: (epoch seconds, level)."""
    zone = ZoneInfo(program.tz)
    local_day = dt.datetime.fromtimestamp(t, zone).date()
    solar = sun.day(t)
    placed: list[tuple[float, int]] = []
    for step in program.steps:
        kind, offset = _parse_at(step.at)
        for delta in (-2, -1, 0, 1):
            if kind == "clock":
                day = local_day + dt.timedelta(days=delta)
                # The wall-clock time itself, not midnight + seconds: right on DST days too.
                minutes = int(offset) // 60
                local = dt.datetime(day.year, day.month, day.day, minutes // 60, minutes % 60,
                                    tzinfo=zone)
                placed.append((local.timestamp(), step.level))
            elif (times := sun.times(solar + delta)) is not None:
                base = times.set if kind == "set" else times.rise
                placed.append((base + offset, step.level))
    return placed


def program_level(program: Program, t: float, sun: SunSource) -> tuple[int, float]:
    """The steps' level at `t` and the time of the next step after it."""
    placed = _step_times(program, t, sun)
    before = [p for p in placed if p[0] <= t]
    after = [p[0] for p in placed if p[0] > t]
    following = min(after, default=t + MAX_HOLD_S)
    if not before:
        return FAILSAFE_LEVEL, following
    # The latest step wins; of two at the same moment, the later one in the list.
    latest = max(range(len(before)), key=lambda i: (before[i][0], i))
    return before[latest][1], following


def is_night(t: float, sun: SunSource) -> tuple[bool, float]:
    """Whether `t` is between sunset and sunrise, and when that next changes. A day
    without a sunrise or sunset counts as night: the safety floor then always holds."""
    day = sun.day(t)
    today = sun.times(day)
    if today is None:
        return True, t + MAX_HOLD_S
    if t < today.rise:
        return True, today.rise
    if t < today.set:
        return False, today.set
    tomorrow = sun.times(day + 1)
    return True, tomorrow.rise if tomorrow is not None else t + MAX_HOLD_S


def decide(program: Program, t: float, sun: SunSource,
           presence: PresenceState = PresenceState(), override: Override | None = None,
           ) -> Decision:
    level, until = program_level(program, t, sun)
    why = "program"
    if program.presence is not None and level > 0:
        p = program.presence
        held_until = math.inf if presence.present else (
            presence.last_seen + p.hold_s if presence.last_seen is not None else -math.inf)
        if t < held_until:
            level, why = p.level, "presence"
            until = min(until, held_until)
        else:
            level, why = p.floor, "presence"
    if override is not None and t < override.until:
        level, why = override.level, "override"
        until = min(until, override.until)
    night, turns = is_night(t, sun)
    until = min(until, turns, t + MAX_HOLD_S)
    if night and level < program.min_level:
        level, why = program.min_level, "min_level"
    return Decision(level=level, until=until, why=why)
