"""`/api/v1/nodes`: list (filters state/status/district/area, search `q` by id, pole or
area name), register, assign a pending
node, get one with its status, clock faults and lamp counters."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query
from sqlalchemy import Connection, func, or_, select

from hub import audit
from hub.api.deps import (
    ApiDep,
    ClientIp,
    ConnDep,
    NodesRead,
    NodesWrite,
    PageDep,
    Place,
    Scope,
    not_found,
)
from hub.api.schemas import LampStats as LampStatsOut
from hub.api.schemas import NodeAssign, NodeCreate, NodeDetail, NodePublic, Page
from hub.api.state import Api
from hub.models import Alert, Area, LampStats, Node, NodeSeq, Ticket
from hub.registry import UNASSIGNED, provision
from hub.service_area import OutsideServiceArea
from hub.tickets import OUTSTANDING

router = APIRouter(prefix="/nodes", tags=["nodes"])

# The rules of the node's alerts not yet cleared, as one text ("lamp_out tamper"): one
# index lookup per node inside the query, rather than a second query with every node id.
_OPEN_RULES = (select(func.aggregate_strings(Alert.rule, " "))
               .where(Alert.node_id == Node.id, Alert.state != "cleared")
               .correlate(Node).scalar_subquery().label("open_rules"))
# When its newest reading or event came (kept with its seq marks, hub/dedup.py); the node's
# last seen is the later of this and `nodes.last_seen` (its other messages).
_HEARD = (select(func.max(NodeSeq.heard_at)).where(NodeSeq.node_id == Node.id)
          .correlate(Node).scalar_subquery().label("heard_at"))
NODE_COLUMNS = (Node.id, Node.state, Node.district_id, Node.area_id, Node.feeder, Node.lat,
                Node.lon, Node.pole, Node.rated_w, Node.profile, Node.status, Node.last_seen,
                _HEARD, Node.clock_faults, LampStats.lamp_on, _OPEN_RULES)


def _matching(text: str) -> Any:
    """Nodes whose id, pole or area name contains `text` (any case; % and _ are letters)."""
    like = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    areas = select(Area.id).where(Area.name.ilike(like, escape="\\"))
    return or_(Node.id.ilike(like, escape="\\"), Node.pole.ilike(like, escape="\\"),
               Node.area_id.in_(areas))


def _filtered(q: Any, state: str | None, status: str | None,
              commissioned: bool | None, search: str | None = None) -> Any:
    if search:
        q = q.where(_matching(search))
    if state is not None:
        q = q.where(Node.state == state)
    if status is not None:
        q = q.where(Node.status == status)
    if commissioned is not None:
        q = q.where(Node.commissioned_at.is_not(None) if commissioned
                    else Node.commissioned_at.is_(None))
    return q


def node_query(place: Place, *, state: str | None = None, status: str | None = None,
               commissioned: bool | None = None, search: str | None = None) -> Any:
    """Nodes in a place with their lamp's last state and open alerts, for lists and
    exports (order and page it)."""
    q = (select(*NODE_COLUMNS).outerjoin(LampStats, LampStats.node_id == Node.id)
         .where(place.where(Node.district_id, Node.area_id)))
    return _filtered(q, state, status, commissioned, search)


def count_nodes(conn: Connection, place: Place, *, state: str | None = None,
                status: str | None = None, commissioned: bool | None = None,
                search: str | None = None) -> int:
    q = select(func.count()).select_from(Node).where(place.where(Node.district_id,
                                                                 Node.area_id))
    return int(conn.execute(_filtered(q, state, status, commissioned, search)).scalar_one())


def lamp_state(status: str, lamp_on: bool | None, rules: list[str]) -> str:
    """What a map colours the lamp by."""
    if "lamp_out" in rules:
        return "dark"
    if status == "offline":
        return "offline"
    if lamp_on is None:
        return "unknown"
    return "on" if lamp_on else "off"


def node_rows(rows: list[Any]) -> list[dict[str, Any]]:
    out = []
    for r in rows:
        rules = sorted(r.open_rules.split()) if r.open_rules else []
        out.append(dict(id=r.id, state=r.state, district=r.district_id, area=r.area_id,
                        feeder=r.feeder, lat=r.lat, lon=r.lon, pole=r.pole, rated_w=r.rated_w,
                        profile=r.profile, status=r.status,
                        last_seen=max((t for t in (r.last_seen, r.heard_at) if t is not None),
                                      default=None),
                        clock_faults=r.clock_faults, lamp=lamp_state(r.status, r.lamp_on, rules),
                        open_alerts=rules))
    return out


def visible_node(conn: Connection, scope: Scope, node_id: str) -> Any:
    """The node's row if the user may see it; 404 otherwise (also when it does not exist)."""
    row = conn.execute(select(Node.id, Node.district_id, Node.area_id)
                       .where(Node.id == node_id)).first()
    if row is None or not scope.covers(row.district_id, row.area_id):
        raise not_found("node", node_id)
    return row


@router.get("", response_model=Page[NodePublic])
def read_nodes(scope: NodesRead, conn: ConnDep, page: PageDep,
               state: Annotated[Literal["pending", "active", "revoked"] | None,
                                Query()] = None,
               status: Annotated[Literal["online", "offline", "unknown"] | None,
                                 Query()] = None,
               district: str | None = None, area: str | None = None,
               commissioned: Annotated[bool | None, Query(
                   description="false: nodes no self-test has commissioned yet")] = None,
               q: Annotated[str | None, Query(
                   max_length=100,
                   description="nodes whose id, pole or area name contains this")] = None,
               ) -> Page[NodePublic]:
    place = scope.place(district, area)
    if place is None:
        return Page(data=[], count=0)
    search = q.strip() if q else None
    count = count_nodes(conn, place, state=state, status=status, commissioned=commissioned,
                        search=search)
    rows = conn.execute(node_query(place, state=state, status=status,
                                   commissioned=commissioned, search=search).order_by(Node.id)
                        .limit(page.limit).offset(page.offset)).all()
    return Page(data=[NodePublic(**n) for n in node_rows(rows)], count=count)


def _detail(conn: Connection, node_id: str) -> NodeDetail:
    row = conn.execute(node_query(Place()).where(Node.id == node_id)).first()
    assert row is not None
    extra = conn.execute(select(Node.status_reason, Node.status_at, Node.first_seen,
                                Node.provisioned_at, Node.fw, Node.reported_profile,
                                Node.config_sha, Node.lamp_model, Node.commissioned_at,
                                Node.selftest_at, Node.selftest_ok, Node.selftest)
                         .where(Node.id == node_id)).one()._asdict()
    selftest = extra.pop("selftest")
    stats = conn.execute(select(LampStats.burning_s, LampStats.switch_on_count,
                                LampStats.energy_wh, LampStats.lamp_on, LampStats.last_ts)
                         .where(LampStats.node_id == node_id)).first()
    tickets = [t for (t,) in conn.execute(
        select(Ticket.id).where(Ticket.node_id == node_id, Ticket.status.in_(OUTSTANDING))
        .order_by(Ticket.priority, Ticket.sla_due))]
    return NodeDetail(
        **node_rows([row])[0], **extra, open_tickets=tickets,
        selftest=None if selftest is None else json.loads(selftest),
        lamp_stats=None if stats is None else LampStatsOut(
            burning_hours=round(stats.burning_s / 3600.0, 3),
            switch_on_count=stats.switch_on_count, energy_wh=stats.energy_wh,
            lamp_on=stats.lamp_on, last_ts=stats.last_ts))


@router.get("/{node_id}", response_model=NodeDetail)
def read_node(node_id: str, scope: NodesRead, conn: ConnDep) -> NodeDetail:
    visible_node(conn, scope, node_id)
    return _detail(conn, node_id)


def _provision(api: Api, scope: Scope, ip: str, node_id: str, body: NodeAssign | NodeCreate,
               *, action: str, expect_pending: bool) -> NodeDetail:
    district = body.district.strip().lower()
    if district == UNASSIGNED:
        raise HTTPException(422, "a node is assigned to a real district, not 'unassigned'")
    try:
        api.settings.service_area.check(body.lat, body.lon)
    except OutsideServiceArea as err:
        raise HTTPException(422, str(err)) from None
    with api.engine.connect() as conn:
        row = conn.execute(select(Node.state, Node.district_id, Node.area_id)
                           .where(Node.id == node_id)).first()
    if expect_pending:
        if row is None:
            raise not_found("node", node_id)
        if row.state != "pending":
            raise HTTPException(409, f"node {node_id} is already assigned to "
                                     f"{row.district_id} / {row.area_id}")
    elif row is not None:
        hint = (f"; assign it with POST /api/v1/nodes/{node_id}/assign"
                if row.state == "pending" else "")
        raise HTTPException(409, f"node {node_id} is already registered ({row.state}){hint}")
    # The registry's own transaction; it refuses an unknown district or an area name
    # that belongs to another district.
    try:
        provision(api.engine, node_id, district=district, area=body.area, lat=body.lat,
                  lon=body.lon, rated_w=body.rated_w, profile=body.profile, pole=body.pole,
                  lamp_model=body.lamp_model, feeder=body.feeder)
    except ValueError as err:
        raise HTTPException(422, str(err)) from None
    api.transact(lambda c: audit.record(
        c, actor=scope.user.name, action=action, target=f"node:{node_id}",
        detail=body.model_dump(exclude={"id"}), ip=ip))
    with api.engine.connect() as conn:
        return _detail(conn, node_id)


@router.post("", response_model=NodeDetail, status_code=201)
def create_node(body: NodeCreate, scope: NodesWrite, api: ApiDep, ip: ClientIp) -> NodeDetail:
    """Register a node (technician, admin): it is active at once in its district and area
    (the area is created on first use)."""
    return _provision(api, scope, ip, body.id, body, action="node.register",
                      expect_pending=False)


@router.post("/{node_id}/assign", response_model=NodeDetail)
def assign_node(node_id: str, body: NodeAssign, scope: NodesWrite, api: ApiDep,
                ip: ClientIp) -> NodeDetail:
    """Assign a pending node (heard from, not registered) to its district, area and
    coordinates (technician, admin); its readings so far stay its history."""
    return _provision(api, scope, ip, node_id, body, action="node.assign",
                      expect_pending=True)

