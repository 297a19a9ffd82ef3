"""The audit log: every change a person (or an operator's command, or a citizen's report)
makes — who, what, to what, when, with what details. Written in the transaction of the
change itself, so there is no change without its entry and no entry without its change."""

from __future__ import annotations

import json
import time
from typing import Any

from sqlalchemy import Connection, Float, Integer, String, Text, func, insert, select
from sqlalchemy.orm import Mapped, mapped_column

from hub.models import Base


class AuditEntry(Base):
    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[float] = mapped_column(Float, index=True)
    actor: Mapped[str] = mapped_column(String(64), index=True)
    action: Mapped[str] = mapped_column(String(48), index=True)
    target: Mapped[str] = mapped_column(String(128), index=True)
    detail: Mapped[str] = mapped_column(Text, default="{}")
    ip: Mapped[str | None] = mapped_column(String(64))


def record(conn: Connection, *, actor: str, action: str, target: str,
           detail: dict[str, Any] | None = None, ip: str | None = None,
           at: float | None = None) -> int:
    """Write one entry. `action` is `<thing>.<verb>` (`ticket.transition`, `alert.ack`,
    `node.register`, `node.assign`, `user.add`, …); `target` is `<thing>:<id>`."""
    return int(conn.execute(insert(AuditEntry).values(
        at=time.time() if at is None else at, actor=actor, action=action, target=target,
        detail=json.dumps(detail or {}, default=str), ip=ip)).inserted_primary_key[0])


def query(conn: Connection, *, actor: str | None = None, action: str | None = None,
          target: str | None = None, since: float | None = None, limit: int = 50,
          offset: int = 0) -> tuple[list[dict[str, Any]], int]:
    """Entries newest first; (page, total count)."""
    q = select(AuditEntry.id, AuditEntry.at, AuditEntry.actor, AuditEntry.action,
               AuditEntry.target, AuditEntry.detail, AuditEntry.ip)
    if actor is not None:
        q = q.where(AuditEntry.actor == actor)
    if action is not None:
        q = q.where(AuditEntry.action == action)
    if target is not None:
        q = q.where(AuditEntry.target == target)
    if since is not None:
        q = q.where(AuditEntry.at >= since)
    count = conn.execute(select(func.count()).select_from(q.subquery())).scalar_one()
    rows = conn.execute(q.order_by(AuditEntry.id.desc()).limit(limit).offset(offset))
    return [dict(id=r.id, at=r.at, actor=r.actor, action=r.action, target=r.target,
                 detail=json.loads(r.detail or "{}"), ip=r.ip) for r in rows], int(count)
