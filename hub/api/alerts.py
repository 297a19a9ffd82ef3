"""`/api/v1/alerts`: list (filters state/rule/district/area/node), get, acknowledge."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query
from sqlalchemy import Connection

from hub import alerts, audit
from hub.api.deps import AlertsAck, AlertsRead, ApiDep, ClientIp, ConnDep, PageDep, Scope, not_found
from hub.api.schemas import AlertPublic, Page

router = APIRouter(prefix="/alerts", tags=["alerts"])

AlertState = Literal["active", "acknowledged", "cleared", "open"]
Rule = Literal[alerts.RULES]  # type: ignore[valid-type]


def visible_alert(conn: Connection, scope: Scope, alert_id: int) -> dict:
    try:
        alert = alerts.get(conn, alert_id)
    except alerts.AlertNotFound:
        raise not_found("alert", alert_id) from None
    if not scope.covers(alert["district"], alert["area"]):
        raise not_found("alert", alert_id)
    return alert


@router.get("", response_model=Page[AlertPublic])
def read_alerts(scope: AlertsRead, conn: ConnDep, page: PageDep,
                state: Annotated[AlertState | None, Query(
                    description="`open`: active or acknowledged")] = None,
                rule: Annotated[Rule | None, Query()] = None,
                district: str | None = None, area: str | None = None,
                node: str | None = None) -> Page[AlertPublic]:
    """Newest first."""
    place = scope.place(district, area)
    if place is None:
        return Page(data=[], count=0)
    rows, count = alerts.query(conn, state=state, rule=rule, district=place.district,
                               areas=place.area_list, node=node, limit=page.limit,
                               offset=page.offset)
    return Page(data=[AlertPublic(**a) for a in rows], count=count)


@router.get("/{alert_id}", response_model=AlertPublic)
def read_alert(alert_id: int, scope: AlertsRead, conn: ConnDep) -> AlertPublic:
    return AlertPublic(**visible_alert(conn, scope, alert_id))


@router.post("/{alert_id}/ack", response_model=AlertPublic,
             responses={404: {"description": "no such alert in your scope"},
                        409: {"description": "the alert is already cleared"}})
def ack_alert(alert_id: int, scope: AlertsAck, api: ApiDep, ip: ClientIp) -> AlertPublic:
    """A person has seen the alert. Acknowledging it again is harmless."""
    def change(conn: Connection) -> dict:
        before = visible_alert(conn, scope, alert_id)
        try:
            after = alerts.acknowledge(conn, alert_id, scope.user.name)
        except alerts.AlertError as err:
            raise HTTPException(409, str(err)) from None
        if before["state"] != after["state"]:
            audit.record(conn, actor=scope.user.name, action="alert.ack",
                         target=f"alert:{alert_id}",
                         detail={"rule": after["rule"], "node": after["node"],
                                 "from": before["state"], "to": after["state"]}, ip=ip)
        return after

    return AlertPublic(**api.transact(change))
