"""`/api/v1/tickets`: list (most urgent first: priority, then SLA), get with history,
`PATCH` a status transition with a note (through `hub.tickets.transition`)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from sqlalchemy import Connection, func, select
from sqlalchemy.exc import IntegrityError

from hub import audit, open311, ticket_photos, tickets
from hub.api.deps import (
    ApiDep,
    ClientIp,
    ConnDep,
    PageDep,
    Scope,
    TicketsRead,
    TicketsWrite,
    not_found,
)
from hub.api.schemas import Page, PhotoRef, TicketPublic, TicketUpdate
from hub.models import Ticket

router = APIRouter(prefix="/tickets", tags=["tickets"])

Status = Literal[(*tickets.STATUSES, "outstanding")]  # type: ignore[valid-type]


def visible_ticket(conn: Connection, scope: Scope, ticket_id: int) -> dict:
    try:
        ticket = tickets.get(conn, ticket_id)
    except tickets.TicketNotFound:
        raise not_found("ticket", ticket_id) from None
    if not scope.covers(ticket["district"], ticket["area"]):
        raise not_found("ticket", ticket_id)
    return ticket


Key = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{8,64}$")]


# Before the /{ticket_id} routes, which would take "photos" for an id.
@router.get("/photos/{token}", responses={404: {"description": "no such photo"}})
def read_public_photo(token: Annotated[str, Path(max_length=64)], conn: ConnDep) -> Response:
    """A repair photo by its public, unguessable name: the Open311 `media_url` of the
    ticket's service request. No login: the name is the permission."""
    row = ticket_photos.by_token(conn, token)
    if row is None:
        raise HTTPException(404, "no such photo")
    return Response(row.data, media_type=row.content_type,
                    headers={"Cache-Control": "public, max-age=31536000, immutable",
                             "X-Content-Type-Options": "nosniff"})


@router.get("", response_model=Page[TicketPublic])
def read_tickets(scope: TicketsRead, conn: ConnDep, page: PageDep,
                 status: Annotated[Status | None, Query(
                     description="`outstanding`: open, assigned, in progress or reopened")
                 ] = None,
                 district: str | None = None, area: str | None = None,
                 priority: Annotated[int | None, Query(ge=1)] = None,
                 fault: str | None = None, node: str | None = None) -> Page[TicketPublic]:
    """Most urgent first: priority (1 = most urgent), then the SLA due time."""
    place = scope.place(district, area)
    if place is None:
        return Page(data=[], count=0)
    if priority is None:  # the crew's queue: hub.tickets' own query, one round for the page
        rows, count = tickets.query(conn, status=status, district=place.district,
                                    areas=place.area_list, node=node, fault=fault,
                                    limit=page.limit, offset=page.offset)
        return Page(data=[TicketPublic(**t) for t in rows], count=count)
    # hub.tickets.query has no priority filter: the page's ids here, each ticket from there
    q = select(Ticket.id).where(place.where(Ticket.district_id, Ticket.area_id))
    if status == "outstanding":
        q = q.where(Ticket.status.in_(tickets.OUTSTANDING))
    elif status is not None:
        q = q.where(Ticket.status == status)
    q = q.where(Ticket.priority == priority)
    if fault is not None:
        q = q.where(Ticket.fault == fault)
    if node is not None:
        q = q.where(Ticket.node_id == node)
    count = conn.execute(select(func.count()).select_from(q.subquery())).scalar_one()
    ids = conn.execute(q.order_by(Ticket.priority, Ticket.sla_due, Ticket.id)
                       .limit(page.limit).offset(page.offset)).scalars().all()
    return Page(data=[TicketPublic(**tickets.get(conn, i)) for i in ids], count=count)


@router.get("/{ticket_id}", response_model=TicketPublic)
def read_ticket(ticket_id: int, scope: TicketsRead, conn: ConnDep) -> TicketPublic:
    return TicketPublic(**visible_ticket(conn, scope, ticket_id))


class _Conflict(Exception):
    def __init__(self, reason: str, ticket: dict) -> None:
        self.reason, self.ticket = reason, ticket


class _Replay(Exception):
    def __init__(self, ticket: dict) -> None:
        self.ticket = ticket


@router.patch("/{ticket_id}", response_model=TicketPublic,
              responses={404: {"description": "no such ticket in your scope"},
                         409: {"description": "the ticket cannot make that transition; "
                               "`ticket` is its current state"},
                         422: {"description": "bad body, or `acted_at` out of bounds"}})
def update_ticket(ticket_id: int, body: TicketUpdate, scope: TicketsWrite, api: ApiDep,
                  ip: ClientIp) -> TicketPublic | JSONResponse:
    """Move the ticket on (`assigned`, `in_progress`, `fixed`) with a note for staff, and
    optionally a `public_note` for the ticket's public Open311 request. `verified` and
    `reopened` are the sensor's to decide; a refused transition is 409 with the reason
    (`detail`) and the ticket as it is now (`ticket`).

    An update a phone queued offline carries `idempotency_key` (8–64 letters, digits, `-`,
    `_`; a UUID) and `acted_at`: sent again with the same key, to any hub worker, it is
    applied once and answered 200 with the ticket as it is now (header
    `Idempotent-Replayed: true`)."""
    key = body.idempotency_key

    def replayed(conn: Connection) -> bool:
        done = tickets.applied(conn, key) if key else None
        if done is None:
            return False
        if done != (ticket_id, scope.user.name):
            raise HTTPException(422, "that idempotency_key was used for another update; "
                                     "make a new one for each update")
        return True

    def change(conn: Connection) -> dict:
        before = visible_ticket(conn, scope, ticket_id)
        if replayed(conn):
            raise _Replay(before)
        try:
            # a savepoint: after a refused or duplicate write the transaction can still
            # read what won
            with conn.begin_nested():
                after = tickets.transition(conn, ticket_id, body.status, scope.user.name,
                                           body.note, assignee=body.assignee,
                                           acted_at=body.acted_at, idempotency_key=key,
                                           photos=body.photos)
        except (tickets.InvalidTime, ticket_photos.PhotoError) as err:
            raise HTTPException(422, str(err)) from None
        except (tickets.InvalidTransition, IntegrityError) as err:
            # another worker may have applied this very update meanwhile
            if replayed(conn):
                raise _Replay(tickets.get(conn, ticket_id)) from None
            if isinstance(err, IntegrityError):
                raise
            raise _Conflict(str(err), tickets.get(conn, ticket_id)) from None
        if body.public_note:
            open311.publish_note(conn, ticket_id, body.public_note)
        audit.record(conn, actor=scope.user.name, action="ticket.transition",
                     target=f"ticket:{ticket_id}",
                     detail={"from": before["status"], "to": after["status"],
                             "note": body.note, "assignee": body.assignee,
                             "acted_at": body.acted_at, "idempotency_key": key,
                             "photos": len(body.photos), "public_note": body.public_note},
                     ip=ip)
        return after

    try:
        return TicketPublic(**api.transact(change))
    except _Replay as replay:
        return JSONResponse(TicketPublic(**replay.ticket).model_dump(mode="json"),
                            headers={"Idempotent-Replayed": "true"})
    except _Conflict as conflict:
        return JSONResponse({"detail": conflict.reason,
                             "ticket": TicketPublic(**conflict.ticket).model_dump(mode="json")},
                            status_code=409)


@router.put("/{ticket_id}/photos/{key}", response_model=PhotoRef,
            responses={404: {"description": "no such ticket in your scope"},
                       413: {"description": "larger than `[dashboard] photo_max_bytes`"},
                       415: {"description": "not a JPEG, PNG or WebP image"}})
async def upload_photo(ticket_id: int, key: Key, request: Request, scope: TicketsWrite,
                       api: ApiDep) -> PhotoRef:
    """Upload a photo (the body: JPEG, PNG or WebP bytes) under a key the phone made; name
    the key in the next `PATCH` of the ticket (`photos`) to attach it to that update. The
    same key again answers the photo kept already (an upload retried offline)."""
    cap = request.app.state.hub.settings.dashboard.photo_max_bytes
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > cap:
            raise HTTPException(413, f"the photo is larger than {cap} bytes; resize it")
    if not data:
        raise HTTPException(422, "no photo in the body")
    if ticket_photos.sniff(bytes(data)) is None:
        raise HTTPException(415, "not a JPEG, PNG or WebP image")

    def keep(conn: Connection) -> dict:
        visible_ticket(conn, scope, ticket_id)
        try:
            return ticket_photos.store(conn, ticket_id, key, bytes(data), scope.user.name,
                                       max_bytes=cap)
        except ticket_photos.PhotoError as err:
            raise HTTPException(422, str(err)) from None

    return PhotoRef(**await run_in_threadpool(api.transact, keep))


@router.get("/{ticket_id}/photos/{photo_id}", responses={404: {"description": "no such photo"}})
def read_photo(ticket_id: int, photo_id: int, scope: TicketsRead, conn: ConnDep) -> Response:
    """A photo of a ticket update, for people who may see the ticket."""
    visible_ticket(conn, scope, ticket_id)
    row = ticket_photos.get(conn, ticket_id, photo_id)
    if row is None:
        raise not_found("photo", photo_id)
    return Response(row.data, media_type=row.content_type,
                    headers={"Cache-Control": "private, max-age=31536000, immutable",
                             "X-Content-Type-Options": "nosniff"})
