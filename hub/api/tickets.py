"""`/api/v1/tickets`: list (most urgent first: priority, then SLA), get with history,
`PATCH` a status transition with a note (through `hub.tickets.transition`)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query
from sqlalchemy import Connection, func, select

from hub import audit, open311, tickets
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
from hub.api.schemas import Page, TicketPublic, TicketUpdate
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


@router.patch("/{ticket_id}", response_model=TicketPublic,
              responses={404: {"description": "no such ticket in your scope"},
                         409: {"description": "the ticket cannot make that transition"}})
def update_ticket(ticket_id: int, body: TicketUpdate, scope: TicketsWrite, api: ApiDep,
                  ip: ClientIp) -> TicketPublic:
    """Move the ticket on (`assigned`, `in_progress`, `fixed`) with a note for staff, and
    optionally a `public_note` for the ticket's public Open311 request. `verified` and
    `reopened` are the sensor's to decide; a refused transition is 409 with the reason."""
    def change(conn: Connection) -> dict:
        before = visible_ticket(conn, scope, ticket_id)
        try:
            after = tickets.transition(conn, ticket_id, body.status, scope.user.name,
                                       body.note, assignee=body.assignee)
        except tickets.InvalidTransition as err:
            raise HTTPException(409, str(err)) from None
        if body.public_note:
            open311.publish_note(conn, ticket_id, body.public_note)
        audit.record(conn, actor=scope.user.name, action="ticket.transition",
                     target=f"ticket:{ticket_id}",
                     detail={"from": before["status"], "to": after["status"],
                             "note": body.note, "assignee": body.assignee,
                             "public_note": body.public_note}, ip=ip)
        return after

    return TicketPublic(**api.transact(change))
