"""The node's side of the v1 payload contract (DESIGN.md §4), without pydantic.

`protocol.payloads` is the contract: pydantic models, used by the hub (fast JSON
validation, its error messages in dead letters) and for the JSON Schema. The node checks
the payloads it sends and receives with these msgspec records (`protocol.structs`)
instead, because pydantic and its models were ~9 MB of the agent's 40 MB budget (issue
12). They accept and refuse what the pydantic models do, and put the problem at the same
key (the wording is msgspec's), and `program_sha` gives the same hash;
tests/protocol/test_wire.py holds the two to that.
Change both together.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from typing import Annotated, Any, Literal, TypeVar

import msgspec
from msgspec import Meta

from protocol import structs
from protocol.structs import Record, dump
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
    """The hub's check of a timestamp (protocol.payloads); the node's is Reading.ts's bounds."""
    if not math.isfinite(value) or not (TS_MIN < value < TS_MAX):
        raise ValueError("ts must be UTC epoch seconds between 1970 and 2200")
    return value


class _Payload(Record, forbid_unknown_fields=False):
    """A message: keys it does not know are ignored (a newer hub or node may add some)."""


class Reading(_Payload):
    """One sampling interval of one node (protocol.payloads.Reading)."""

    v: Literal[1]
    node: Annotated[str, Meta(pattern=NODE_ID_RE.pattern)]
    seq: Annotated[int, Meta(ge=0)]
    # UTC epoch seconds: NaN and infinities fail the bounds too (protocol.payloads.finite_ts)
    ts: Annotated[float, Meta(gt=TS_MIN, lt=TS_MAX)]
    interval_s: Annotated[int, Meta(gt=0)] | None = None
    lamp_on: bool | None = None
    lux: Annotated[float, Meta(ge=0)] | None = None
    lamp_w: Annotated[float, Meta(ge=0)] | None = None
    lamp_a: Annotated[float, Meta(ge=0)] | None = None
    mains_v: Annotated[float, Meta(ge=0)] | None = None
    energy_wh: Annotated[float, Meta(ge=0)] | None = None
    footfall: Annotated[int, Meta(ge=0)] | None = None
    presence_s: Annotated[int, Meta(ge=0)] | None = None
    tamper: bool | None = None
    cpu_c: float | None = None
    uptime_s: Annotated[int, Meta(ge=0)] | None = None
    rssi_dbm: int | None = None
    spool: Annotated[int, Meta(ge=0)] | None = None
    level: Annotated[int, Meta(ge=0, le=100)] | None = None
    level_avg: Annotated[float, Meta(ge=0, le=100)] | None = None


CommandId = Annotated[str, Meta(min_length=1, max_length=64)]
Percent = Annotated[int, Meta(ge=0, le=100)]


class Command(_Payload):
    """A command from the hub; its arguments are the other keys (`command_args`)."""

    v: Literal[1]
    id: CommandId
    cmd: Literal["selftest", "identify", "set_interval", "override", "resume"]


class CommandResult(_Payload):
    v: Literal[1]
    id: CommandId
    ok: bool
    detail: dict[str, Any] = msgspec.field(default_factory=dict)


class IdentifyArgs(Record):
    seconds: Annotated[int, Meta(ge=1, le=600)] = 30


class SetIntervalArgs(Record):
    interval_s: Annotated[int, Meta(ge=5, le=3600)]


class SelftestArgs(Record):
    pass


class OverrideArgs(Record):
    level: Percent
    minutes: Annotated[int, Meta(ge=1, le=24 * 60)] = 120


class ResumeArgs(Record):
    pass


COMMAND_ARGS: dict[str, type[Record]] = {
    "identify": IdentifyArgs, "set_interval": SetIntervalArgs, "selftest": SelftestArgs,
    "override": OverrideArgs, "resume": ResumeArgs,
}
_COMMAND_KEYS = ("v", "id", "cmd")


def command_args(command: Command, raw: dict[str, Any]) -> Record:
    """The arguments of a command (the keys of `raw` besides v, id and cmd), checked for
    its kind (raises protocol.structs.Invalid)."""
    extra = {k: v for k, v in raw.items() if k not in _COMMAND_KEYS}
    return parse(COMMAND_ARGS[command.cmd], extra)


class ProgramStep(Record):
    at: Annotated[str, Meta(pattern=STEP_AT_RE.pattern)]
    level: Percent


class Presence(Record):
    floor: Percent
    level: Percent = 100
    hold_s: Annotated[int, Meta(ge=1, le=3600)] = 120


class Program(Record):
    """A lighting program (protocol.payloads.Program says what each part means)."""

    steps: Annotated[list[ProgramStep], Meta(min_length=1, max_length=24)]
    presence: Presence | None = None
    min_level: Percent = 0
    tz: Annotated[str, Meta(min_length=1, max_length=64)] = "Asia/Karachi"


class Config(_Payload):
    v: Literal[1]
    version: Annotated[int, Meta(ge=1)]
    sha: Annotated[str, Meta(min_length=64, max_length=64)]
    program: Program


P = TypeVar("P")


def parse(cls: type[P], data: object) -> P:
    """A payload as a `cls` (raises protocol.structs.Invalid). Pydantic's Literal[1],
    the hub's, takes true and 1.0 for 1: so does the node, for `v`."""
    if isinstance(data, dict) and "v" in data and not isinstance(data["v"], str) and \
            data["v"] == 1 and type(data["v"]) is not int:
        data = {**data, "v": 1}
    return structs.parse(cls, data)


def program_sha(program: dict[str, Any]) -> str:
    """SHA-256 of the program's canonical JSON, as protocol.payloads.program_sha."""
    full = dump(parse(Program, program))
    canonical = json.dumps(full, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()
