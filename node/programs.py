"""The lighting program the hub sent (retained `config`, DESIGN.md §11), checked and kept
on disk, so a node cut off from the hub for days lights its street by its last program,
also after a restart.

A config is taken when its `sha` is that of its program and its `version` is newer than
the stored one; the same version again (the broker hands the retained message over at
every reconnection) is nothing new. Versions never go back.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from protocol.structs import Invalid, dump
from protocol.wire import DEFAULT_PROGRAM, Config, Program, parse, program_sha

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class StoredProgram:
    version: int  # 0: the built-in default, never sent by the hub
    sha: str
    program: Program

    def as_json(self) -> dict[str, Any]:
        return {"version": self.version, "sha": self.sha,
                "program": dump(self.program)}


def default_program() -> StoredProgram:
    return StoredProgram(0, program_sha(DEFAULT_PROGRAM), parse(Program, DEFAULT_PROGRAM))


class ConfigRejected(ValueError):
    """A config the node will not run; the message is the `reason` sent to the hub."""

    def __init__(self, reason: str, version: int | None) -> None:
        super().__init__(reason)
        self.version = version


def check_config(raw: bytes, current: StoredProgram) -> StoredProgram | None:
    """The new program in `raw`, None if it is the one already running; raises
    ConfigRejected with the reason otherwise."""
    try:
        data = json.loads(raw)
    except ValueError:
        raise ConfigRejected("not JSON", None) from None
    version = _version(data)
    try:
        config = parse(Config, data)
    except Invalid as err:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'config'}: {e['msg']}"
                             for e in err.errors)
        raise ConfigRejected(f"not a valid config: {problems}", version) from None
    try:
        from zoneinfo import ZoneInfo

        ZoneInfo(config.program.tz)
    except (ValueError, OSError):
        raise ConfigRejected(f"unknown time zone {config.program.tz!r}", version) from None
    sha = program_sha(dump(config.program))
    if config.sha != sha:
        raise ConfigRejected(f"sha {config.sha} is not that of the program ({sha})", version)
    if config.version == current.version and sha == current.sha:
        return None
    if config.version <= current.version:
        raise ConfigRejected(f"version {config.version} is not newer than the node's "
                             f"{current.version}", version)
    return StoredProgram(config.version, sha, config.program)


def _version(data: object) -> int | None:
    version = data.get("version") if isinstance(data, dict) else None
    return version if isinstance(version, int) and not isinstance(version, bool) else None


def config_version(raw: bytes) -> int | None:
    """The version a config claims, if it says one (for a rejection)."""
    try:
        return _version(json.loads(raw))
    except ValueError:
        return None


class ProgramStore:
    """One JSON file in the data directory, replaced atomically."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> StoredProgram:
        """The stored program, or the default one when none was stored (or the file is
        unreadable, which is logged: the lamp must still light)."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            program = parse(Program, data["program"])
            stored = StoredProgram(int(data["version"]), program_sha(data["program"]), program)
        except FileNotFoundError:
            return default_program()
        except (OSError, ValueError, KeyError, TypeError) as err:
            log.error("cannot read the stored program %s (%s); running the default one",
                      self.path, err)
            return default_program()
        return stored

    def save(self, stored: StoredProgram) -> None:
        tmp = self.path.with_name(self.path.name + ".tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(stored.as_json(), f, separators=(",", ":"))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)
        # The rename must survive a power cut too: sync the directory entry.
        fd = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
