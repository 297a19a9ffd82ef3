"""The program a node should run: its most specific assignment (node, then area, then
district; none: the node's built-in default), with `min_level` raised to the safety floor
when the node is at one of its area's most unsafe spots (DESIGN.md §11)."""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, select

from hub.control import programs
from hub.core.control_settings import ControlSettings
from hub.models import Node, NodeConfig, ProgramAssignment, SpotScore
from protocol.payloads import DEFAULT_PROGRAM, Program, program_sha


@dataclass(frozen=True, slots=True)
class Effective:
    program: str | None  # the assigned program's name; None: the default
    program_version: int | None
    content: dict[str, Any]
    sha: str
    floor: bool


def floored(conn: Connection, settings: ControlSettings,
            areas: Iterable[str] | None = None) -> set[str]:
    """Nodes at their area's most unsafe spots: the top `floor_share` of each area's active
    nodes by unsafe-spot score over the last `floor_nights` nights (only nodes that were
    dark for someone: a score above 0)."""
    if settings.floor_share <= 0 or settings.floor_level <= 0:
        return set()
    since = (dt.date.today() - dt.timedelta(days=settings.floor_nights)).isoformat()
    q = (select(Node.id, Node.area_id, func.coalesce(func.sum(SpotScore.score), 0.0))
         .outerjoin(SpotScore, (SpotScore.node_id == Node.id) & (SpotScore.night >= since))
         .where(Node.state == "active").group_by(Node.id, Node.area_id))
    if areas is not None:
        q = q.where(Node.area_id.in_(list(areas)))
    by_area: dict[str, list[tuple[float, str]]] = defaultdict(list)
    for node_id, area, score in conn.execute(q):
        by_area[area].append((float(score), node_id))
    out: set[str] = set()
    for members in by_area.values():
        top = math.ceil(settings.floor_share * len(members) - 1e-9)
        members.sort(key=lambda m: (-m[0], m[1]))
        out.update(n for score, n in members[:top] if score > 0)
    return out


def resolve(conn: Connection, settings: ControlSettings,
            node_ids: Iterable[str] | None = None) -> dict[str, Effective]:
    """The effective program of each active node that has one to be sent: a node with an
    assignment, at a floored spot, or that was sent a config before (it must hear that it
    is back to the default). Others run their built-in default and are sent nothing."""
    q = select(Node.id, Node.district_id, Node.area_id).where(Node.state == "active")
    if node_ids is not None:
        q = q.where(Node.id.in_(list(node_ids)))
    nodes = conn.execute(q).all()
    if not nodes:
        return {}
    assigned = {(a.scope, a.target): a.program for a in conn.execute(select(
        ProgramAssignment.scope, ProgramAssignment.target, ProgramAssignment.program))}
    newest = programs.newest_versions(conn) if assigned else {}
    configured = set(conn.execute(select(NodeConfig.node_id)).scalars())
    floor = floored(conn, settings, {n.area_id for n in nodes})
    out: dict[str, Effective] = {}
    for node_id, district, area in nodes:
        name = (assigned.get(("node", node_id)) or assigned.get(("area", area))
                or assigned.get(("district", district)))
        found = newest.get(name) if name else None
        at_floor = node_id in floor
        if found is None and not at_floor and node_id not in configured:
            continue
        content = dict(found["program"] if found else DEFAULT_PROGRAM)
        if at_floor:
            content["min_level"] = max(int(content.get("min_level", 0)),
                                       settings.floor_level)
        content = Program.model_validate(content).model_dump(mode="json")
        out[node_id] = Effective(found["name"] if found else None,
                                 found["version"] if found else None, content,
                                 program_sha(content), at_floor)
    return out
