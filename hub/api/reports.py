"""`/api/v1/reports`: citizens' reports (from Open311) for the people who check them: what
the nearest lamp's sensor said, its last readings, what the report joined. A person closes
a report once checked. Who reported is never shown here."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query
from sqlalchemy import Connection, func, select

from hub import audit, open311
from hub.api.deps import (
    ApiDep,
    ClientIp,
    ConnDep,
    PageDep,
    ReportsRead,
    ReportsWrite,
    Scope,
    not_found,
)
from hub.api.schemas import Page, ReportPublic, ReportUpdate
from hub.open311 import CitizenRequest

router = APIRouter(prefix="/reports", tags=["reports"])

_COLUMNS = (*open311.REPORT_COLUMNS, CitizenRequest.verdict, CitizenRequest.distance_m,
            CitizenRequest.district_id, CitizenRequest.area_id, CitizenRequest.evidence,
            CitizenRequest.closed_by, CitizenRequest.check_note)


def _shape(conn: Connection, rows: list[Any]) -> list[ReportPublic]:
    statuses, alerts = open311._linked(conn, rows)
    out = []
    for r in rows:
        tid = open311.joined_ticket(r, alerts)
        a = alerts.get(r.alert_id) if r.alert_id else None
        status, notes = open311.report_status(r, statuses.get(tid) if tid else None,
                                              a.state if a is not None else None)
        out.append(ReportPublic(
            id=r.id, service_request_id=f"{open311.REPORT_PREFIX}{r.id}",
            service_code=r.service_code, description=r.description, lat=r.lat, lon=r.lon,
            address=r.address, requested_at=r.requested_at, updated_at=r.updated_at,
            status=status, status_notes=notes, node=r.node_id, distance_m=r.distance_m,
            verdict=r.verdict, district=r.district_id, area=r.area_id, ticket_id=tid,
            alert_id=r.alert_id, evidence=json.loads(r.evidence or "[]"),
            closed_by=r.closed_by, closed_at=r.closed_at, check_note=r.check_note))
    return out


def visible_report(conn: Connection, scope: Scope, report_id: int) -> ReportPublic:
    row = conn.execute(select(*_COLUMNS).where(CitizenRequest.id == report_id)).first()
    if row is None or not scope.covers(row.district_id, row.area_id):
        raise not_found("report", report_id)
    return _shape(conn, [row])[0]


@router.get("", response_model=Page[ReportPublic])
def read_reports(scope: ReportsRead, conn: ConnDep, page: PageDep,
                 checked: Annotated[bool | None, Query(
                     description="false: not yet closed by a person")] = None,
                 verdict: Annotated[Literal["agrees", "disagrees", "unknown", "no_node",
                                            "no_location", "power_cut"] | None,
                                    Query()] = None,
                 district: str | None = None, area: str | None = None) -> Page[ReportPublic]:
    """Newest first."""
    place = scope.place(district, area)
    if place is None:
        return Page(data=[], count=0)
    q = select(*_COLUMNS).where(place.where(CitizenRequest.district_id,
                                            CitizenRequest.area_id))
    if checked is not None:
        q = q.where(CitizenRequest.closed_at.is_not(None) if checked
                    else CitizenRequest.closed_at.is_(None))
    if verdict is not None:
        q = q.where(CitizenRequest.verdict == verdict)
    count = conn.execute(select(func.count()).select_from(q.subquery())).scalar_one()
    rows = conn.execute(q.order_by(CitizenRequest.id.desc()).limit(page.limit)
                        .offset(page.offset)).all()
    return Page(data=_shape(conn, rows), count=count)


@router.get("/{report_id}", response_model=ReportPublic)
def read_report(report_id: int, scope: ReportsRead, conn: ConnDep) -> ReportPublic:
    return visible_report(conn, scope, report_id)


@router.patch("/{report_id}", response_model=ReportPublic)
def update_report(report_id: int, body: ReportUpdate, scope: ReportsWrite, api: ApiDep,
                  ip: ClientIp) -> ReportPublic:
    """Close a report after checking it, with what was found."""
    def change(conn: Connection) -> ReportPublic:
        visible_report(conn, scope, report_id)
        if not open311.close(conn, report_id, scope.user.name, body.note, body.public_note):
            raise HTTPException(409, f"report {report_id} is already closed")
        audit.record(conn, actor=scope.user.name, action="report.close",
                     target=f"report:{report_id}",
                     detail={"note": body.note, "public_note": body.public_note}, ip=ip)
        return visible_report(conn, scope, report_id)

    return api.transact(change)
