"""The node's side of the v1 payload contract (DESIGN.md §4), without pydantic.

`protocol.payloads` is the contract: pydantic models, used by the hub (fast JSON
validation, its error messages in dead letters) and for the JSON Schema. The node checks
the payloads it sends and receives with these `protocol.spec` records instead, because
pydantic and its models were ~9 MB of the agent's 40 MB budget (issue 12). They accept and
refuse what the pydantic models do, with the same error types and messages, and
`program_sha` gives the same hash; tests/protocol/test_wire.py holds the two to that.
Change both together.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from typing import Any, Literal

from protocol.spec import Part, dump, parse, record, spec
from protocol.topics import NODE_ID_RE

# Reading timestamps are UTC epoch seconds; anything outside these bounds is not a clock
# reading at all (the hub dead-letters it), as opposed to a plausible-but-wrong clock.
TS_MIN = 0.0
TS_MAX = 7_258_118_400.0  # 2200-01-01

# A step starts at sunset or sunrise with an offset in minutes ("sunset", "sunset+30",
# "sunrise-15") or at a local clock time ("23:00").
# Offsets up to 360 minutes either way.
STEP_AT_RE = re.compile(r"^(?:(?:sunset|sunrise)"
                        r"(?:[+-](?:[0-9]|[1-9][0-9]|[1-2][0-9]{2}|3[0-5][0-9]|360))?"
                        r"|(?:[01][0-9]|2[0-3]):[0-5][0-9])$")

# The program every node runs until the hub sends one: full light from sunset to sunrise.
DEFAULT_PROGRAM: dict[str, Any] = {
    "steps": [{"at": "sunset", "level": 100}, {"at": "sunrise", "level": 0}],
}


def finite_ts(value: float) -> float:
    if not math.isfinite(value) or not (TS_MIN < value < TS_MAX):
        raise ValueError("ts must be UTC epoch seconds between 1970 and 2200")
    return value


@record
class Reading(Part):
    """One sampling interval of one node (protocol.payloads.Reading)."""

    extra = "ignore"
    v: Literal[1]
    node: str = spec(pattern=NODE_ID_RE.pattern)
    seq: int = spec(ge=0)
    ts: float = spec(convert=finite_ts)
    interval_s: int | None = spec(None, gt=0)
    lamp_on: bool | None = None
    lux: float | None = spec(None, ge=0)
    lamp_w: float | None = spec(None, ge=0)
    lamp_a: float | None = spec(None, ge=0)
    mains_v: float | None = spec(None, ge=0)
    energy_wh: float | None = spec(None, ge=0)
    footfall: int | None = spec(None, ge=0)
    presence_s: int | None = spec(None, ge=0)
    tamper: bool | None = None
    cpu_c: float | None = None
    uptime_s: int | None = spec(None, ge=0)
    rssi_dbm: int | None = None
    spool: int | None = spec(None, ge=0)
    level: int | None = spec(None, ge=0, le=100)
    level_avg: float | None = spec(None, ge=0, le=100)


@record
class Command(Part):
    """A command from the hub; its arguments are the other keys (`command_args`)."""

    extra = "ignore"
    v: Literal[1]
    id: str = spec(min_length=1, max_length=64)
    cmd: Literal["selftest", "identify", "set_interval", "override", "resume"]


@record
class CommandResult(Part):
    extra = "ignore"
    v: Literal[1]
    id: str = spec(min_length=1, max_length=64)
    ok: bool
    detail: dict[str, Any] = spec(default_factory=dict)


@record
class IdentifyArgs(Part):
    seconds: int = spec(30, ge=1, le=600)


@record
class SetIntervalArgs(Part):
    interval_s: int = spec(ge=5, le=3600)


@record
class SelftestArgs(Part):
    pass


@record
class OverrideArgs(Part):
    level: int = spec(ge=0, le=100)
    minutes: int = spec(120, ge=1, le=24 * 60)


@record
class ResumeArgs(Part):
    pass


COMMAND_ARGS: dict[str, type[Part]] = {
    "identify": IdentifyArgs, "set_interval": SetIntervalArgs, "selftest": SelftestArgs,
    "override": OverrideArgs, "resume": ResumeArgs,
}
_COMMAND_KEYS = ("v", "id", "cmd")


def command_args(command: Command, raw: dict[str, Any]) -> Part:
    """The arguments of a command (the keys of `raw` besides v, id and cmd), checked for
    its kind (raises protocol.spec.Invalid)."""
    extra = {k: v for k, v in raw.items() if k not in _COMMAND_KEYS}
    return parse(COMMAND_ARGS[command.cmd], extra)


@record
class ProgramStep(Part):
    at: str = spec(pattern=STEP_AT_RE.pattern)
    level: int = spec(ge=0, le=100)


@record
class Presence(Part):
    floor: int = spec(ge=0, le=100)
    level: int = spec(100, ge=0, le=100)
    hold_s: int = spec(120, ge=1, le=3600)


@record
class Program(Part):
    """A lighting program (protocol.payloads.Program says what each part means)."""

    steps: list[ProgramStep] = spec(min_length=1, max_length=24)
    presence: Presence | None = None
    min_level: int = spec(0, ge=0, le=100)
    tz: str = spec("Asia/Karachi", min_length=1, max_length=64)


@record
class Config(Part):
    extra = "ignore"
    v: Literal[1]
    version: int = spec(ge=1)
    sha: str = spec(min_length=64, max_length=64)
    program: Program


def program_sha(program: dict[str, Any]) -> str:
    """SHA-256 of the program's canonical JSON, as protocol.payloads.program_sha."""
    full = dump(parse(Program, program))
    canonical = json.dumps(full, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()
