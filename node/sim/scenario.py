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
from typing import Any, Literal
from zoneinfo import ZoneInfo

from protocol.spec import Invalid, Part, parse, record, spec

KARACHI = ZoneInfo("Asia/Karachi")
SCENARIOS_DIR = Path(__file__).resolve().parent / "scenarios"
_CLOCK_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
_OFFSET = re.compile(r"^\+(\d+(?:\.\d+)?)([smh])$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600}

_TIME_PATTERN = f"{_CLOCK_TIME.pattern}|{_OFFSET.pattern}"


def time_spec(description: str | None = None) -> Any:
    """An optional time: "HH:MM" Karachi time or "+<n>s|m|h" after the start."""
    return spec(None, pattern=_TIME_PATTERN, description=description)

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


@record
class LampBehaviour(Part):
    on_below_elevation: float = spec(
        0.0, description="the photocell switches the lamp on when the sun is below this (deg)")
    rated_w: float | None = spec(None, gt=0, description="default: the profile's rated_w")
    power_fraction: float = spec(1.0, ge=0, le=1.5, description="draw as a share of rated_w")
    standby_w: float = spec(0.3, ge=0, description="what the driver draws while off")
    meter_start_wh: float = spec(12000.0, ge=0)
    fails_at: str | None = time_spec("the lamp goes dark (for good, unless repaired_at)")
    repaired_at: str | None = time_spec("a crew replaces the failed lamp")
    burns_by_day: bool = spec(False, description="stuck photocell or contactor: always on")
    flicker_on_s: float = spec(0.0, ge=0, description="failing lamp: burns this long …")
    flicker_off_s: float = spec(0.0, ge=0, description="… then is dark this long, all night")
    follows_output: bool = spec(
        True, description="false: the contactor and driver ignore the node's control output "
                          "(miswired, bypassed); the photocell switches the lamp at full power")


@record
class Mains(Part):
    voltage: float = spec(230.0, ge=0)
    frequency_hz: float = spec(50.0, gt=0)
    cut_from: str | None = time_spec("load-shedding starts")
    cut_until: str | None = time_spec("load-shedding ends")

    def check(self) -> None:
        if (self.cut_from is None) != (self.cut_until is None):
            raise ValueError("cut_from and cut_until go together")


@record
class People(Part):
    per_hour: list[float] = spec(default_factory=lambda: list(KARACHI_FOOTFALL),
                                 min_length=24, max_length=24,
                                 description="people passing per hour, hour 0-23 local time")
    dwell_s: float = spec(5.0, gt=0, description="how long one passer-by keeps the PIR high")


@record
class TamperBehaviour(Part):
    opens_at: str | None = time_spec()
    closes_at: str | None = time_spec("default: stays open")


@record
class Installation(Part):
    """How the node was put up: what the technician's self-test will find."""

    lamp_sensor: Literal["connected", "unplugged"] = spec(
        "connected", description="unplugged: the lamp sensor's wire is off; it never changes")
    clock_synchronised: bool = spec(True, description="the OS reports NTP synchronisation")


@record
class Scenario(Part):
    name: str
    description: str = ""
    seed: int = 1
    lamp: LampBehaviour = spec(default_factory=LampBehaviour)
    mains: Mains = spec(default_factory=Mains)
    people: People = spec(default_factory=People)
    tamper: TamperBehaviour = spec(default_factory=TamperBehaviour)
    install: Installation = spec(default_factory=Installation)


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
        lines = [f"{path}: {'.'.join(map(str, e['loc'])) or '(top level)'}: {e['msg']}"
                 for e in err.errors]
        raise ScenarioError("\n".join(lines)) from None
