"""Overrides as the hub records them: the last `override` a node was sent (a new one
replaces it) until its end or a `resume`. The node itself returns to its program when the
time is up; this is what people see meanwhile, and who did it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select, update

from hub.models import Override
from hub.upsert import upsert


def record(conn: Connection, node_id: str, *, level: int, minutes: int, actor: str,
           command_id: str, at: float) -> None:
    upsert(conn, Override.__table__, [dict(
        node_id=node_id, level=level, started_at=at, until=at + minutes * 60.0,
        issued_by=actor, command_id=command_id, ended_at=None)], keys=("node_id",))


def end(conn: Connection, node_id: str, *, at: float) -> None:
    conn.execute(update(Override).where(Override.node_id == node_id,
                                        Override.ended_at.is_(None), Override.until > at)
                 .values(ended_at=at))


def active(conn: Connection, node_id: str, now: float) -> dict[str, Any] | None:
    row = conn.execute(select(Override).where(Override.node_id == node_id,
                                              Override.ended_at.is_(None),
                                              Override.until > now)).first()
    if row is None:
        return None
    return dict(level=row.level, started_at=row.started_at, until=row.until,
                issued_by=row.issued_by, command_id=row.command_id)
