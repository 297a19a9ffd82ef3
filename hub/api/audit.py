"""`GET /api/v1/audit` (admin): the audit log, newest first."""

from __future__ import annotations

from fastapi import APIRouter

from hub import audit
from hub.api.deps import AuditRead, ConnDep, EpochQuery, PageDep
from hub.api.schemas import AuditEntry, Page

router = APIRouter(prefix="/audit", tags=["audit"])


@router.get("", response_model=Page[AuditEntry])
def read_audit(scope: AuditRead, conn: ConnDep, page: PageDep, actor: str | None = None,
               action: str | None = None, target: str | None = None,
               since: EpochQuery = None) -> Page[AuditEntry]:
    rows, count = audit.query(conn, actor=actor, action=action, target=target, since=since,
                              limit=page.limit, offset=page.offset)
    return Page(data=[AuditEntry(**r) for r in rows], count=count)
