"""Named, versioned lighting programs and their assignments to districts, areas and single
nodes (DESIGN.md §11). A program is never edited: saving one makes its next version, and an
assignment always means the newest version of the named program."""

from __future__ import annotations

import json
import re
import time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Connection, delete, func, insert, select

from hub.models import Program, ProgramAssignment
from hub.upsert import upsert
from protocol.payloads import Program as ProgramModel
from protocol.payloads import program_sha

SCOPES = ("district", "area", "node")
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


class ProgramError(ValueError):
    """A program or assignment that cannot be: the message says why."""


def save(conn: Connection, name: str, program: dict[str, Any], *, actor: str,
         now: float | None = None) -> dict[str, Any]:
    """Store `program` as the next version of `name` (the first if new). The version is
    decided by the unique (name, version) constraint in the database; content equal to the
    newest version is not a new version."""
    if not NAME_RE.fullmatch(name):
        raise ProgramError("a program name is lower-case letters, digits and '-'")
    content = ProgramModel.model_validate(program).model_dump(mode="json")
    try:  # the node would refuse it (config_rejected); better to say so now
        ZoneInfo(content["tz"])
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ProgramError(f"unknown time zone {content['tz']!r}") from None
    sha = program_sha(content)
    newest = latest(conn, name)
    if newest is not None and newest["sha"] == sha:
        return newest
    version = (newest["version"] if newest else 0) + 1
    conn.execute(insert(Program).values(
        name=name, version=version, content=json.dumps(content, sort_keys=True), sha=sha,
        created_by=actor, created_at=time.time() if now is None else now))
    found = latest(conn, name)
    assert found is not None
    return found


def latest(conn: Connection, name: str) -> dict[str, Any] | None:
    row = conn.execute(select(Program).where(Program.name == name)
                       .order_by(Program.version.desc()).limit(1)).first()
    return None if row is None else _public(row)


def newest_versions(conn: Connection) -> dict[str, dict[str, Any]]:
    """Every program's newest version, by name."""
    newest = (select(Program.name, func.max(Program.version).label("v"))
              .group_by(Program.name).subquery())
    rows = conn.execute(select(Program).join(
        newest, (Program.name == newest.c.name) & (Program.version == newest.c.v)))
    return {r.name: _public(r) for r in rows}


def versions(conn: Connection, name: str) -> list[dict[str, Any]]:
    return [_public(r) for r in conn.execute(
        select(Program).where(Program.name == name).order_by(Program.version.desc()))]


def _public(r: Any) -> dict[str, Any]:
    return dict(name=r.name, version=r.version, sha=r.sha, program=json.loads(r.content),
                created_by=r.created_by, created_at=r.created_at)


# --- assignments ---


def assign(conn: Connection, scope: str, target: str, program: str | None, *, actor: str,
           now: float | None = None) -> None:
    """Give `target` (a district id, area id or node id) the named program; None removes
    the assignment (the next less specific one, or the node's default, applies)."""
    if scope not in SCOPES:
        raise ProgramError(f"scope must be one of {', '.join(SCOPES)}")
    if program is None:
        conn.execute(delete(ProgramAssignment).where(ProgramAssignment.scope == scope,
                                                     ProgramAssignment.target == target))
        return
    if latest(conn, program) is None:
        raise ProgramError(f"no program {program!r}")
    upsert(conn, ProgramAssignment.__table__, [dict(
        scope=scope, target=target, program=program, assigned_by=actor,
        assigned_at=time.time() if now is None else now)], keys=("scope", "target"))


def assignments(conn: Connection) -> list[dict[str, Any]]:
    return [dict(scope=r.scope, target=r.target, program=r.program,
                 assigned_by=r.assigned_by, assigned_at=r.assigned_at)
            for r in conn.execute(select(ProgramAssignment).order_by(
                ProgramAssignment.scope, ProgramAssignment.target))]
