"""Payload models, version 1 (DESIGN.md §4).

Strict types: a string where a number belongs is a bad message, not something to guess
at. Unknown fields are ignored so newer nodes can add sensors without breaking the hub.
"""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from protocol.topics import NODE_ID_RE
from protocol.wire import DEFAULT_PROGRAM, STEP_AT_RE, TS_MAX, TS_MIN, finite_ts

__all__ = ["COMMAND_ARGS", "DEFAULT_PROGRAM", "MODELS", "READING_FIELD_TYPES", "STEP_AT_RE",
           "TS_MAX", "TS_MIN", "Command", "CommandResult", "Config", "Event", "NodeId",
           "Presence", "Program", "ProgramStep", "Reading", "Status", "command_args",
           "json_schema", "program_sha"]

NodeId = Annotated[str, Field(pattern=NODE_ID_RE.pattern)]
# The contract's bounds, the program's step pattern and the default program live in
# protocol.wire, the node's pydantic-free copy of these models (keep the two equal).
_finite_ts = finite_ts


class _Message(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)


class Reading(_Message):
    """One sampling interval of one node. Optional fields are omitted, never null."""

    v: Literal[1]
    node: NodeId
    seq: int = Field(ge=0)
    ts: float
    interval_s: int | None = Field(default=None, gt=0)
    lamp_on: bool | None = None
    lux: float | None = Field(default=None, ge=0)
    lamp_w: float | None = Field(default=None, ge=0)
    lamp_a: float | None = Field(default=None, ge=0)
    mains_v: float | None = Field(default=None, ge=0)
    energy_wh: float | None = Field(default=None, ge=0)
    footfall: int | None = Field(default=None, ge=0)
    presence_s: int | None = Field(default=None, ge=0)
    tamper: bool | None = None
    cpu_c: float | None = None
    uptime_s: int | None = Field(default=None, ge=0)
    rssi_dbm: int | None = None
    spool: int | None = Field(default=None, ge=0)
    # Lamp control (DESIGN.md §11): the output level commanded when the interval's lamp
    # sample was taken, 0-100 % (0 = switched off), and its time-weighted mean over the
    # interval (for energy); absent on a node without a control output.
    level: int | None = Field(default=None, ge=0, le=100)
    level_avg: float | None = Field(default=None, ge=0, le=100)

    _ts = field_validator("ts")(_finite_ts)


# Field types as InfluxDB stores them; the hub's line-protocol encoder uses these so that
# a field never changes type between points (InfluxDB rejects that).
READING_FIELD_TYPES: dict[str, type] = {
    name: _t
    for name, _t in {
        "seq": int, "interval_s": int, "lamp_on": bool, "lux": float, "lamp_w": float,
        "lamp_a": float, "mains_v": float, "energy_wh": float, "footfall": int,
        "presence_s": int, "tamper": bool, "cpu_c": float, "uptime_s": int,
        "rssi_dbm": int, "spool": int, "level": int, "level_avg": float,
    }.items()
}


class Event(_Message):
    """Something that happened between readings: lamp_on, lamp_off, tamper, selftest, …

    Extra keys are allowed and kept as event detail."""

    model_config = ConfigDict(strict=True, extra="allow", frozen=True)

    v: Literal[1]
    node: NodeId
    seq: int = Field(ge=0)
    ts: float
    type: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")]

    _ts = field_validator("ts")(_finite_ts)

    def detail(self) -> dict[str, Any]:
        return dict(self.__pydantic_extra__ or {})


class Status(_Message):
    """Birth (retained, on connect), last will and clean-stop messages."""

    v: Literal[1]
    state: Literal["online", "offline"]
    session: int = Field(ge=0)
    ts: float | None = None
    reason: Literal["lost", "shutdown"] | None = None
    fw: str | None = Field(default=None, max_length=64)
    profile: str | None = Field(default=None, max_length=128)
    config_sha: str | None = Field(default=None, max_length=128)

    _ts = field_validator("ts")(lambda v: v if v is None else _finite_ts(v))


class Command(_Message):
    model_config = ConfigDict(strict=True, extra="allow", frozen=True)

    v: Literal[1]
    id: str = Field(min_length=1, max_length=64)
    cmd: Literal["selftest", "identify", "set_interval", "override", "resume"]


class IdentifyArgs(_Message):
    """`identify`: blink the status LED so a technician finds the pole."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)
    seconds: int = Field(default=30, ge=1, le=600)


class SetIntervalArgs(_Message):
    """`set_interval`: seconds between readings from now on (kept across restarts)."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)
    interval_s: int = Field(ge=5, le=3600)


class SelftestArgs(_Message):
    """`selftest`: run the checks that need nobody at the pole; the answer lists them."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class OverrideArgs(_Message):
    """`override`: hold the lamp at `level` for `minutes`, then back to the program by
    itself (DESIGN.md §11). The node still never goes below its program's `min_level` at
    night. A new override replaces the one running."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)
    level: int = Field(ge=0, le=100)
    minutes: int = Field(default=120, ge=1, le=24 * 60)


class ResumeArgs(_Message):
    """`resume`: end an override now; the program decides the level again."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


# What each command takes besides `v`, `id` and `cmd`; hub and node validate with these.
COMMAND_ARGS: dict[str, type[_Message]] = {
    "identify": IdentifyArgs, "set_interval": SetIntervalArgs, "selftest": SelftestArgs,
    "override": OverrideArgs, "resume": ResumeArgs,
}


def command_args(command: Command) -> _Message:
    """The arguments of a command, validated for its kind (raises ValidationError)."""
    extra = dict(command.__pydantic_extra__ or {})
    return COMMAND_ARGS[command.cmd].model_validate(extra)


# --- lamp control: the lighting program (DESIGN.md §11) ---



class ProgramStep(_Message):
    """From `at` on, the lamp is at `level` % until the next step (steps repeat daily)."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)
    at: Annotated[str, Field(pattern=STEP_AT_RE.pattern)]
    level: int = Field(ge=0, le=100)


class Presence(_Message):
    """Presence-adaptive light while the program has the lamp on (its level > 0):
    `floor` % while nobody is there, `level` % from the moment someone is seen (PIR or
    radar) until `hold_s` seconds after the last sighting."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)
    floor: int = Field(ge=0, le=100)
    level: int = Field(default=100, ge=0, le=100)
    hold_s: int = Field(default=120, ge=1, le=3600)


class Program(_Message):
    """A lighting program. The level at a moment is that of the latest step before it,
    cyclically over the day (so the last step of the night carries on to the next
    sunset's step). `min_level` is the safety floor the hub sets at unsafe spots: between
    sunset and sunrise the output is never below it, whatever the steps, presence or an
    override say. Clock times are local to `tz`."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)
    steps: list[ProgramStep] = Field(min_length=1, max_length=24)
    presence: Presence | None = None
    min_level: int = Field(default=0, ge=0, le=100)
    tz: str = Field(default="Asia/Karachi", min_length=1, max_length=64)




def program_sha(program: dict[str, Any]) -> str:
    """The identity of a program's content: SHA-256 of its canonical JSON (sorted keys,
    no spaces, defaults filled in), so hub and node compute the same for the same
    program. Nodes report it as `config_sha` in their birth."""
    full = Program.model_validate(program).model_dump(mode="json")
    canonical = json.dumps(full, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


class Config(_Message):
    """Retained on `roshni/v1/<id>/config`: the node's program, `version` increasing.
    The node checks `sha` against `program_sha(program)`, stores the program on disk,
    applies it, and acknowledges with an event `config_applied` {version, sha} (or
    `config_rejected` {version, reason}); its next birth carries `config_sha`."""

    v: Literal[1]
    version: int = Field(ge=1)
    sha: str = Field(min_length=64, max_length=64)
    program: Program


class CommandResult(_Message):
    v: Literal[1]
    id: str = Field(min_length=1, max_length=64)
    ok: bool
    detail: dict[str, Any] = Field(default_factory=dict)


MODELS: dict[str, type[BaseModel]] = {
    "reading": Reading,
    "event": Event,
    "status": Status,
    "cmd": Command,
    "cmd_result": CommandResult,
    "config": Config,
}


def json_schema() -> dict[str, Any]:
    """JSON Schema of every v1 payload, for validating other firmware against the contract."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Roshni MQTT payloads, version 1",
        "$defs": {name: model.model_json_schema() for name, model in MODELS.items()},
    }
