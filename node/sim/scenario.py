"""Simulation scenarios: small TOML files of what happens on the simulated street.

Every value has the healthy default, so a scenario file only states what differs.
Times are either ``"HH:MM"`` (Asia/Karachi local time, the first such moment at or after
the scenario starts; for an end time, at or after its start time) or an offset from the
start of the simulation, ``"+90s"``, ``"+20m"``, ``"+1.5h"``.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

import msgspec
from msgspec import Meta

from protocol.structs import Invalid, Record, parse

KARACHI = ZoneInfo("Asia/Karachi")
SCENARIOS_DIR = Path(__file__).resolve().parent / "scenarios"
_CLOCK_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
_OFFSET = re.compile(r"^\+(\d+(?:\.\d+)?)([smh])$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600}

_TIME_PATTERN = f"{_CLOCK_TIME.pattern}|{_OFFSET.pattern}"



# People passing one pole per hour of the day (local time): quiet before dawn, busy at
# the evening market hours.
KARACHI_FOOTFALL = [6, 4, 3, 3, 5, 12, 35, 80, 110, 90, 70, 70,
                    75, 70, 65, 70, 90, 120, 150, 160, 140, 100, 50, 15]


class ScenarioError(ValueError):
    """A scenario that does not exist or does not parse; names the file and key."""


def resolve_time(spec: str, *, start: float, not_before: float | None = None) -> float:
    """Epoch seconds for `spec` in a simulation that started at `start`."""
    if m := _OFFSET.match(spec):
        return start + float(m.group(1)) * _UNIT_S[m.group(2)]
    m = _CLOCK_TIME.match(spec)
    if not m:
        raise ValueError(f"not a time: {spec!r}")
    after = start if not_before is None else not_before
    local = dt.datetime.fromtimestamp(after, KARACHI)
    at = local.replace(hour=int(m.group(1)), minute=int(m.group(2)), second=0, microsecond=0)
    if at.timestamp() < after:
        at = (at.replace(tzinfo=None) + dt.timedelta(days=1)).replace(tzinfo=KARACHI)
    return at.timestamp()


def _is(description: str, **bounds: float) -> Any:
    """A field's description and bounds (msgspec.Meta)."""
    return Meta(description=description, **bounds)


# An optional time: "HH:MM" Karachi time or "+<n>s|m|h" after the start.
Time = Annotated[str, Meta(pattern=_TIME_PATTERN)]


class LampBehaviour(Record):
    on_below_elevation: Annotated[float, _is(
        "the photocell switches the lamp on when the sun is below this (deg)")] = 0.0
    rated_w: Annotated[float, _is("default: the profile's rated_w", gt=0)] | None = None
    power_fraction: Annotated[float, _is("draw as a share of rated_w", ge=0, le=1.5)] = 1.0
    standby_w: Annotated[float, _is("what the driver draws while off", ge=0)] = 0.3
    meter_start_wh: Annotated[float, Meta(ge=0)] = 12000.0
    # the lamp goes dark (for good, unless repaired_at)
    fails_at: Time | None = None
    # a crew replaces the failed lamp
    repaired_at: Time | None = None
    # stuck photocell or contactor: always on
    burns_by_day: bool = False
    # failing lamp: burns flicker_on_s, then is dark flicker_off_s, all night
    flicker_on_s: Annotated[float, Meta(ge=0)] = 0.0
    flicker_off_s: Annotated[float, Meta(ge=0)] = 0.0
    # false: the contactor and driver ignore the node's control output (miswired,
    # bypassed); the photocell switches the lamp at full power
    follows_output: bool = True


class Mains(Record):
    voltage: Annotated[float, Meta(ge=0)] = 230.0
    frequency_hz: Annotated[float, Meta(gt=0)] = 50.0
    cut_from: Time | None = None  # load-shedding starts
    cut_until: Time | None = None  # load-shedding ends

    def __post_init__(self) -> None:
        if (self.cut_from is None) != (self.cut_until is None):
            raise ValueError("cut_from and cut_until go together")


class People(Record):
    per_hour: Annotated[list[float], _is("people passing per hour, hour 0-23 local time",
                                         min_length=24, max_length=24)] = msgspec.field(
        default_factory=lambda: list(KARACHI_FOOTFALL))
    dwell_s: Annotated[float, _is("how long one passer-by keeps the PIR high", gt=0)] = 5.0


class TamperBehaviour(Record):
    opens_at: Time | None = None
    closes_at: Time | None = None  # default: stays open


class Installation(Record):
    """How the node was put up: what the technician's self-test will find."""

    # unplugged: the lamp sensor's wire is off; it never changes
    lamp_sensor: Literal["connected", "unplugged"] = "connected"
    # covered: something over the street-facing light sensor (tape, a nest); it reads 0 lx
    street_light_sensor: Literal["connected", "covered"] = "connected"
    # the OS reports NTP synchronisation
    clock_synchronised: bool = True


class Scenario(Record):
    name: str
    description: str = ""
    seed: int = 1
    lamp: LampBehaviour = msgspec.field(default_factory=LampBehaviour)
    mains: Mains = msgspec.field(default_factory=Mains)
    people: People = msgspec.field(default_factory=People)
    tamper: TamperBehaviour = msgspec.field(default_factory=TamperBehaviour)
    install: Installation = msgspec.field(default_factory=Installation)


def available_scenarios() -> list[str]:
    return sorted(p.stem for p in SCENARIOS_DIR.glob("*.toml"))


def load_scenario(name_or_path: str | os.PathLike[str]) -> Scenario:
    """A scenario by name (``lamp-fails``) from node/sim/scenarios/, or from a TOML path."""
    text = os.fspath(name_or_path)
    if "/" in text or os.sep in text or text.endswith(".toml"):
        path = Path(text)
    else:
        path = SCENARIOS_DIR / f"{text}.toml"
        if not path.is_file():
            raise ScenarioError(f"no scenario named {text!r} "
                                f"(available: {', '.join(available_scenarios())})")
    try:
        data: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ScenarioError(f"{path}: no such scenario file") from None
    except tomllib.TOMLDecodeError as err:
        raise ScenarioError(f"{path}: not valid TOML: {err}") from None
    data.setdefault("name", path.stem)
    try:
        return parse(Scenario, data)
    except Invalid as err:
        raise ScenarioError(f"{path}: {err}") from None
