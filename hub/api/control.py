"""Lamp control (DESIGN.md §11): `/programs` (named, versioned), `/program-assignments`
(district, area or node; the most specific wins), `/nodes/{id}/control` (what a node was
sent and runs), `/control/summary`, `/overrides` (several nodes or an area at once),
`/energy` and `/export/energy.csv`. Changing programs, assignments and overrides is for
technicians and admins; everyone reads within their scope."""

from __future__ import annotations

import json
import time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Response
from pydantic import ValidationError
from sqlalchemy import Connection, case, func, select

from hub import audit
from hub.api import commands
from hub.api.deps import (
    ApiDep,
    ClientIp,
    ConnDep,
    NodesCommand,
    NodesRead,
    NodesWrite,
    PageDep,
    Place,
    not_found,
)
from hub.api.nodes import visible_node
from hub.api.schemas import (
    AreaOverride,
    AssignmentPublic,
    AssignmentSet,
    ControlSummary,
    Energy,
    EnergyRow,
    NodeControl,
    NodeControlRow,
    OverrideOutcome,
    Page,
    ProgramCreate,
    ProgramPublic,
)
from hub.control import energy, overrides, programs
from hub.core.names import slug
from hub.exports import CSV, csv_text
from hub.models import Area, District, Node, NodeConfig, Override, ProgramAssignment

router = APIRouter(tags=["control"])


def _invalid(err: ValidationError) -> HTTPException:
    return HTTPException(422, [{"loc": ["body", "program", *e["loc"]], "msg": e["msg"],
                                "type": e["type"]} for e in err.errors(include_url=False)])


def _assigned_counts(conn: Connection) -> dict[str, int]:
    return dict(conn.execute(select(ProgramAssignment.program, func.count())
                             .group_by(ProgramAssignment.program)).all())


# --- programs ---


@router.get("/programs", response_model=Page[ProgramPublic])
def read_programs(_: NodesRead, conn: ConnDep) -> Page[ProgramPublic]:
    """Every program at its newest version, by name."""
    counts = _assigned_counts(conn)
    rows = [ProgramPublic(**p, assigned=counts.get(name, 0))
            for name, p in sorted(programs.newest_versions(conn).items())]
    return Page(data=rows, count=len(rows))


@router.get("/programs/{name}", response_model=Page[ProgramPublic])
def read_program(name: str, _: NodesRead, conn: ConnDep) -> Page[ProgramPublic]:
    """Every version of one program, newest first."""
    rows = programs.versions(conn, name)
    if not rows:
        raise not_found("program", name)
    return Page(data=[ProgramPublic(**p) for p in rows], count=len(rows))


@router.post("/programs", response_model=ProgramPublic, status_code=201)
def create_program(body: ProgramCreate, scope: NodesWrite, api: ApiDep,
                   ip: ClientIp) -> ProgramPublic:
    """Save the next version of a program; every node it is assigned to gets it as its new
    retained config (offline nodes when they come back)."""
    def save(conn: Connection) -> dict[str, Any]:
        saved = programs.save(conn, body.name, body.program, actor=scope.user.name)
        audit.record(conn, actor=scope.user.name, action="program.save",
                     target=f"program:{body.name}",
                     detail={"version": saved["version"], "sha": saved["sha"]}, ip=ip)
        return saved

    try:
        saved = api.transact(save)
    except ValidationError as err:
        raise _invalid(err) from None
    except programs.ProgramError as err:
        raise HTTPException(422, str(err)) from None
    api.hub.control.apply()
    return ProgramPublic(**saved)


# --- assignments ---


@router.get("/program-assignments", response_model=Page[AssignmentPublic])
def read_assignments(_: NodesRead, conn: ConnDep) -> Page[AssignmentPublic]:
    rows = programs.assignments(conn)
    return Page(data=[AssignmentPublic(**a) for a in rows], count=len(rows))


def _target(conn: Connection, scope: str, target: str) -> str:
    """The target's id (an area may be given by name); 404 if there is none."""
    if scope == "district":
        ident = target.strip().lower()
        found = conn.execute(select(District.id).where(District.id == ident)).scalar()
    elif scope == "area":
        ident = slug(target)
        found = conn.execute(select(Area.id).where(Area.id == ident)).scalar()
    else:
        ident = target
        found = conn.execute(select(Node.id).where(Node.id == ident)).scalar()
    if found is None:
        raise not_found(scope, target)
    return str(found)


@router.put("/program-assignments", response_model=Page[AssignmentPublic])
def set_assignment(body: AssignmentSet, scope: NodesWrite, api: ApiDep, ip: ClientIp,
                   conn: ConnDep) -> Page[AssignmentPublic]:
    """Assign a program to a district, area or node (`program` null: remove); the nodes
    concerned get their new config at once. Answers with every assignment."""
    target = _target(conn, body.scope, body.target)

    def change(c: Connection) -> None:
        programs.assign(c, body.scope, target, body.program, actor=scope.user.name)
        audit.record(c, actor=scope.user.name, action="program.assign",
                     target=f"{body.scope}:{target}", detail={"program": body.program}, ip=ip)

    try:
        api.transact(change)
    except programs.ProgramError as err:
        raise HTTPException(422, str(err)) from None
    api.hub.control.apply()
    return read_assignments(scope, conn)


# --- what nodes run ---


@router.get("/nodes/{node_id}/control", response_model=NodeControl)
def read_node_control(node_id: str, scope: NodesRead, conn: ConnDep) -> NodeControl:
    visible_node(conn, scope, node_id)
    row = conn.execute(select(NodeConfig).where(NodeConfig.node_id == node_id)).first()
    override = overrides.active(conn, node_id, time.time())
    if row is None:
        return NodeControl(node=node_id, program=None, program_version=None, version=None,
                           sha=None, content=None, floor=False, published=False,
                           acked_version=None, running_sha=None, acked_at=None,
                           rejected_version=None, rejected_reason=None, outdated=False,
                           override=override)
    return NodeControl(
        node=node_id, program=row.program, program_version=row.program_version,
        version=row.version, sha=row.sha,
        content=None if row.content is None else json.loads(row.content), floor=row.floor,
        published=row.published_version >= row.version, acked_version=row.acked_version,
        running_sha=row.running_sha, acked_at=row.acked_at,
        rejected_version=row.rejected_version, rejected_reason=row.rejected_reason,
        outdated=row.running_sha != row.sha, override=override)


def _place(scope: Any, district: str | None, area: str | None) -> Place | None:
    return scope.place(district, area)  # type: ignore[no-any-return]


@router.get("/control/summary", response_model=ControlSummary)
def read_control_summary(scope: NodesRead, conn: ConnDep, district: str | None = None,
                         area: str | None = None) -> ControlSummary:
    """Counts for the fleet view: nodes sent a config, those running an older program
    (not acknowledged the newest), not yet taken by the broker, rejected, overridden."""
    place = _place(scope, district, area)
    if place is None:
        return ControlSummary(configured=0, outdated=0, unpublished=0, rejected=0, overrides=0)
    where = place.where(Node.district_id, Node.area_id)
    nc = NodeConfig
    outdated = nc.running_sha.is_(None) | (nc.running_sha != nc.sha)
    row = conn.execute(
        select(func.count(),
               func.coalesce(func.sum(_int(outdated)), 0),
               func.coalesce(func.sum(_int(nc.published_version < nc.version)), 0),
               func.coalesce(func.sum(_int(nc.rejected_version == nc.version)), 0))
        .select_from(nc).join(Node, Node.id == nc.node_id).where(where)).one()
    active = conn.execute(
        select(func.count()).select_from(Override).join(Node, Node.id == Override.node_id)
        .where(where, Override.ended_at.is_(None), Override.until > time.time())).scalar_one()
    return ControlSummary(configured=row[0], outdated=row[1], unpublished=row[2],
                          rejected=row[3], overrides=active)


@router.get("/control/nodes", response_model=Page[NodeControlRow])
def read_control_nodes(scope: NodesRead, conn: ConnDep, page: PageDep,
                       outdated: bool | None = None, district: str | None = None,
                       area: str | None = None) -> Page[NodeControlRow]:
    """Nodes that were sent a config; `outdated=true`: those that have not confirmed the
    newest (they run an older program)."""
    place = _place(scope, district, area)
    if place is None:
        return Page(data=[], count=0)
    nc = NodeConfig
    stale = nc.running_sha.is_(None) | (nc.running_sha != nc.sha)
    q = (select(nc.node_id, Node.district_id, Node.area_id, nc.program, nc.program_version,
                nc.version, nc.acked_version, nc.floor, nc.published_version,
                nc.running_sha, nc.sha)
         .join(Node, Node.id == nc.node_id).where(place.where(Node.district_id, Node.area_id)))
    if outdated is not None:
        q = q.where(stale if outdated else ~stale)
    count = conn.execute(select(func.count()).select_from(q.subquery())).scalar_one()
    rows = conn.execute(q.order_by(nc.node_id).limit(page.limit).offset(page.offset))
    return Page(data=[NodeControlRow(
        node=r[0], district=r[1], area=r[2], program=r[3], program_version=r[4], version=r[5],
        acked_version=r[6], floor=r[7], published=r[8] >= r[5], outdated=r[9] != r[10])
        for r in rows], count=count)


def _int(cond: Any) -> Any:
    return case((cond, 1), else_=0)


# --- overrides of several nodes ---


@router.post("/overrides", response_model=Page[OverrideOutcome], status_code=202)
def create_overrides(body: AreaOverride, scope: NodesCommand, api: ApiDep, conn: ConnDep,
                     ip: ClientIp) -> Page[OverrideOutcome]:
    """Override every node given, or every active node of an area ("full light on this
    street for 2 hours"): each online node is sent `override` (one audit entry each);
    offline ones are listed as not sent, with why."""
    if (body.nodes is None) == (body.area is None):
        raise HTTPException(422, "give either `nodes` or `area`")
    if body.area is not None:
        area = _target(conn, "area", body.area)
        ids = list(conn.execute(select(Node.id).where(Node.area_id == area,
                                                      Node.state == "active")
                                .order_by(Node.id)).scalars())
    else:
        ids = list(dict.fromkeys(body.nodes or []))
        for node_id in ids:
            visible_node(conn, scope, node_id)
    out = []
    for node_id in ids:
        try:
            sent = commands.send(api, scope, conn, node_id, "override",
                                 {"level": body.level, "minutes": body.minutes}, ip)
            out.append(OverrideOutcome(node=node_id, sent=True, command_id=sent["id"]))
        except HTTPException as err:
            out.append(OverrideOutcome(node=node_id, sent=False, detail=str(err.detail)))
    return Page(data=out, count=len(out))


# --- energy ---

Group = Annotated[Literal["district", "area", "node"], Query()]


@router.get("/energy", response_model=Energy)
def read_energy(scope: NodesRead, api: ApiDep, conn: ConnDep, page: PageDep,
                group: Group = "area", district: str | None = None,
                area: str | None = None) -> Energy:
    """kWh used and saved against full-on lighting, and their cost, per district, area or
    lamp, within the user's scope; most saved first. `total` covers every row."""
    tariff = api.settings.control.tariff_pkr_per_kwh
    rows = _energy_rows(scope, conn, group, district, area, tariff)
    data = rows[page.offset:page.offset + page.limit]
    return Energy(data=[EnergyRow(**r) for r in data], count=len(rows),
                  tariff_pkr_per_kwh=tariff, total=EnergyRow(**energy.total(rows, tariff)))


def _energy_rows(scope: Any, conn: Connection, group: str, district: str | None,
                 area: str | None, tariff: float) -> list[dict[str, Any]]:
    place = _place(scope, district, area)
    if place is None:
        return []
    return energy.totals(conn, group, place.where(Node.district_id, Node.area_id),
                         tariff=tariff)


ENERGY_CSV = ("group", "id", "name", "nodes", "used_kwh", "baseline_kwh", "saved_kwh",
              "cost_pkr", "saved_pkr")


@router.get("/export/energy.csv", response_class=Response,
            responses={200: {"content": {"text/csv": {}}}})
def export_energy_csv(scope: NodesRead, api: ApiDep, conn: ConnDep, group: Group = "area",
                      district: str | None = None, area: str | None = None) -> Response:
    tariff = api.settings.control.tariff_pkr_per_kwh
    rows = _energy_rows(scope, conn, group, district, area, tariff)
    return Response(csv_text(ENERGY_CSV, ([r[k] for k in ENERGY_CSV] for r in rows)),
                    media_type=CSV,
                    headers={"Content-Disposition": 'attachment; filename="energy.csv"'})
