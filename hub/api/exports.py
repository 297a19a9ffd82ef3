"""`/api/v1/export/…`: nodes and alerts as GeoJSON (the committee's map), nodes, alerts and
tickets as CSV. Scoped and paged (`limit` up to 20 000) like the lists they mirror."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from sqlalchemy import Connection, func, select

from hub import alerts, tickets
from hub.api.deps import (
    AlertsRead,
    ApiDep,
    ConnDep,
    ExportPageDep,
    NodesRead,
    Place,
    Scope,
    TicketsRead,
)
from hub.api.nodes import count_nodes, node_query, node_rows
from hub.exports import CSV, GEOJSON, csv_text, feature, feature_collection, local_iso, point
from hub.models import Area, District, Node, Ticket

router = APIRouter(prefix="/export", tags=["export"])

NodeState = Literal["pending", "active", "revoked"]
NodeStatus = Literal["online", "offline", "unknown"]
AlertState = Literal["active", "acknowledged", "cleared", "open"]
TicketStatus = Literal[(*tickets.STATUSES, "outstanding")]  # type: ignore[valid-type]
_GEO = {200: {"content": {GEOJSON: {}}, "description": "a GeoJSON FeatureCollection"}}
_CSV = {200: {"content": {"text/csv": {}}, "description": "CSV with a header row"}}


def _nodes(conn: Connection, place: Place | None, state: str | None, status: str | None,
           limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
    if place is None:
        return [], 0
    count = count_nodes(conn, place, state=state, status=status)
    rows = conn.execute(node_query(place, state=state, status=status).order_by(Node.id)
                        .limit(limit).offset(offset)).all()
    return node_rows(rows), count


# What a map needs of a lamp (the node list and page have the rest): a phone on a slow
# connection loads the committee's areas at once.
MAP_PROPERTIES = ("id", "state", "status", "lamp", "district", "area", "pole", "last_seen",
                  "open_alerts")


@router.get("/nodes.geojson", response_class=Response, responses=_GEO)
def export_nodes_geojson(scope: NodesRead, conn: ConnDep, page: ExportPageDep,
                         state: Annotated[NodeState | None, Query()] = None,
                         status: Annotated[NodeStatus | None, Query()] = None,
                         district: str | None = None, area: str | None = None) -> Response:
    """Lamps as points; `properties.lamp` (dark | on | off | offline | unknown) colours
    them. Nodes without coordinates (pending) have a null geometry."""
    nodes, count = _nodes(conn, scope.place(district, area), state, status, page.limit,
                          page.offset)
    features = [feature(n["id"], point(n["lon"], n["lat"]),
                        {k: n[k] for k in MAP_PROPERTIES}) for n in nodes]
    return Response(feature_collection(features, count=count, limit=page.limit,
                                       offset=page.offset), media_type=GEOJSON)


def _names(conn: Connection, items: list[dict[str, Any]]
           ) -> tuple[dict[str, str], dict[str, str]]:
    """(district id -> name, area id -> name) for the districts and areas of `items`."""
    district_ids = sorted({i["district"] for i in items if i["district"]})
    area_ids = sorted({i["area"] for i in items if i["area"]})
    districts: dict[str, str] = {}
    areas: dict[str, str] = {}
    if district_ids:
        for k, v in conn.execute(select(District.id, District.name)
                                 .where(District.id.in_(district_ids))):
            districts[k] = v
    for start in range(0, len(area_ids), 900):
        for k, v in conn.execute(select(Area.id, Area.name)
                                 .where(Area.id.in_(area_ids[start:start + 900]))):
            areas[k] = v
    return districts, areas


@router.get("/nodes.csv", response_class=Response, responses=_CSV)
def export_nodes_csv(scope: NodesRead, conn: ConnDep, api: ApiDep, page: ExportPageDep,
                     state: Annotated[NodeState | None, Query()] = None,
                     status: Annotated[NodeStatus | None, Query()] = None,
                     district: str | None = None, area: str | None = None) -> Response:
    """Times in the city's time zone (`[spots] tz`) with their offset."""
    nodes, _ = _nodes(conn, scope.place(district, area), state, status, page.limit,
                      page.offset)
    tz = api.settings.spots.tz
    districts, areas = _names(conn, nodes)
    header = ("id", "state", "status", "lamp", "district", "district_name", "area",
              "area_name", "lat", "lon", "pole", "rated_w", "last_seen", "clock_faults",
              "open_alerts")
    rows = ((n["id"], n["state"], n["status"], n["lamp"], n["district"],
             districts.get(n["district"]), n["area"], areas.get(n["area"]), n["lat"],
             n["lon"], n["pole"], n["rated_w"], local_iso(n["last_seen"], tz),
             n["clock_faults"], " ".join(n["open_alerts"])) for n in nodes)
    return _csv("nodes.csv", header, rows)


def _alerts(conn: Connection, scope: Scope, state: str | None, rule: str | None,
            district: str | None, area: str | None, limit: int, offset: int
            ) -> tuple[list[dict[str, Any]], int, dict[str, tuple[float, float]]]:
    """Alerts in scope and where each is: its node, or the middle of its area's nodes for
    an area incident."""
    place = scope.place(district, area)
    if place is None:
        return [], 0, {}
    found, count = alerts.query(conn, state=state, rule=rule, district=place.district,
                                areas=place.area_list, limit=limit, offset=offset)
    where: dict[str, tuple[float, float]] = {}
    node_ids = sorted({a["node"] for a in found if a["node"]})
    for start in range(0, len(node_ids), 900):
        for nid, lon, lat in conn.execute(select(Node.id, Node.lon, Node.lat).where(
                Node.id.in_(node_ids[start:start + 900]), Node.lat.is_not(None))):
            where[nid] = (lon, lat)
    areas = sorted({a["area"] for a in found if not a["node"]})
    if areas:
        for area_id, lon, lat in conn.execute(
                select(Node.area_id, func.avg(Node.lon), func.avg(Node.lat))
                .where(Node.area_id.in_(areas), Node.lat.is_not(None))
                .group_by(Node.area_id)):
            where[f"area:{area_id}"] = (lon, lat)
    return found, count, where


def _where_key(a: dict[str, Any]) -> str:
    return a["node"] if a["node"] else f"area:{a['area']}"


@router.get("/alerts.geojson", response_class=Response, responses=_GEO)
def export_alerts_geojson(scope: AlertsRead, conn: ConnDep, page: ExportPageDep,
                          state: Annotated[AlertState | None, Query()] = "open",
                          rule: str | None = None, district: str | None = None,
                          area: str | None = None) -> Response:
    """Alerts (by default the open ones) as points: at the node, or for an area incident
    at the middle of the area's nodes."""
    found, count, where = _alerts(conn, scope, state, rule, district, area, page.limit,
                                  page.offset)
    features = [feature(a["id"], point(*where.get(_where_key(a), (None, None))), a)
                for a in found]
    return Response(feature_collection(features, count=count, limit=page.limit,
                                       offset=page.offset), media_type=GEOJSON)


@router.get("/alerts.csv", response_class=Response, responses=_CSV)
def export_alerts_csv(scope: AlertsRead, conn: ConnDep, api: ApiDep, page: ExportPageDep,
                      state: Annotated[AlertState | None, Query()] = None,
                      rule: str | None = None, district: str | None = None,
                      area: str | None = None) -> Response:
    """Times in the city's time zone (`[spots] tz`) with their offset."""
    found, _, where = _alerts(conn, scope, state, rule, district, area, page.limit,
                              page.offset)
    tz = api.settings.spots.tz
    districts, areas = _names(conn, found)
    header = ("id", "rule", "state", "node", "district", "district_name", "area", "area_name",
              "lat", "lon", "started_at", "ended_at", "ticket_id", "acknowledged_by",
              "acknowledged_at", "historical")
    rows = []
    for a in found:
        lon, lat = where.get(_where_key(a), (None, None))
        rows.append((a["id"], a["rule"], a["state"], a["node"], a["district"],
                     districts.get(a["district"]), a["area"], areas.get(a["area"]), lat, lon,
                     local_iso(a["started_at"], tz), local_iso(a["ended_at"], tz),
                     a["ticket_id"], a["acknowledged_by"], local_iso(a["acknowledged_at"], tz),
                     a["historical"]))
    return _csv("alerts.csv", header, rows)


@router.get("/tickets.csv", response_class=Response, responses=_CSV)
def export_tickets_csv(scope: TicketsRead, conn: ConnDep, api: ApiDep, page: ExportPageDep,
                       status: Annotated[TicketStatus | None, Query()] = None,
                       district: str | None = None, area: str | None = None,
                       priority: Annotated[int | None, Query(ge=1)] = None) -> Response:
    """Tickets most urgent first, with where the lamp is; times in the city's time zone
    (`[spots] tz`) with their offset."""
    tz = api.settings.spots.tz
    header = ("id", "node", "district", "district_name", "area", "area_name", "pole", "lat",
              "lon", "fault", "status", "priority", "opened_at", "sla_due", "overdue",
              "assigned_to", "fixed_at", "verified_at", "alert_id")
    place = scope.place(district, area)
    if place is None:
        return _csv("tickets.csv", header, [])
    q = (select(Ticket.id, Ticket.node_id, Ticket.district_id, District.name, Ticket.area_id,
                Area.name, Node.pole, Node.lat, Node.lon, Ticket.fault, Ticket.status,
                Ticket.priority, Ticket.opened_at, Ticket.sla_due, Ticket.escalated_at,
                Ticket.assigned_to, Ticket.fixed_at, Ticket.verified_at, Ticket.alert_id)
         .join(Node, Node.id == Ticket.node_id)
         .join(District, District.id == Ticket.district_id)
         .join(Area, Area.id == Ticket.area_id)
         .where(place.where(Ticket.district_id, Ticket.area_id)))
    if status == "outstanding":
        q = q.where(Ticket.status.in_(tickets.OUTSTANDING))
    elif status is not None:
        q = q.where(Ticket.status == status)
    if priority is not None:
        q = q.where(Ticket.priority == priority)
    rows = conn.execute(q.order_by(Ticket.priority, Ticket.sla_due, Ticket.id)
                        .limit(page.limit).offset(page.offset)).all()
    return _csv("tickets.csv", header, (
        (r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11],
         local_iso(r[12], tz), local_iso(r[13], tz), "yes" if r[14] is not None else "", r[15],
         local_iso(r[16], tz), local_iso(r[17], tz), r[18])
        for r in rows))


def _csv(filename: str, header: tuple[str, ...], rows: Any) -> Response:
    return Response(csv_text(header, rows), media_type=CSV,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})

