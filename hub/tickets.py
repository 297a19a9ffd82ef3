"""Repair tickets for a district's DMC crew (DESIGN.md §6, §7).

    open → assigned → in_progress → fixed → verified
                                     fixed → reopened → … → fixed

People move a ticket along (`transition`, the API's `PATCH /api/v1/tickets/{id}`) and may
skip steps forward (a crew that repairs at once goes open → fixed). Only the sensor
decides what "fixed" was worth: `verified` when the lamp has worked at night for long
enough, `reopened` when it is still dark; people can never set either. Every change is a
`ticket_history` row: who (a user, `sensor` or `system`), from what, to what, when, why.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import Connection, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from hub import ticket_photos
from hub.models import Area, District, Node, Ticket, TicketEvent
from hub.spots import current_score
from hub.upsert import among

OPEN, ASSIGNED, IN_PROGRESS, FIXED, VERIFIED, REOPENED = (
    "open", "assigned", "in_progress", "fixed", "verified", "reopened")
STATUSES = (OPEN, ASSIGNED, IN_PROGRESS, FIXED, VERIFIED, REOPENED)
# The crew still owes a repair.
OUTSTANDING = (OPEN, ASSIGNED, IN_PROGRESS, REOPENED)
SENSOR, SYSTEM = "sensor", "system"

PEOPLE_MAY = {
    OPEN: (ASSIGNED, IN_PROGRESS, FIXED),
    ASSIGNED: (IN_PROGRESS, FIXED),
    IN_PROGRESS: (FIXED,),
    REOPENED: (ASSIGNED, IN_PROGRESS, FIXED),
    FIXED: (),  # the sensor verifies or reopens
    VERIFIED: (),
}
SENSOR_MAY = {
    OPEN: (VERIFIED,),
    ASSIGNED: (VERIFIED,),
    IN_PROGRESS: (VERIFIED,),
    REOPENED: (VERIFIED,),
    FIXED: (VERIFIED, REOPENED),
    VERIFIED: (),
}


class TicketError(ValueError):
    """A ticket change that cannot be made; the message says why, for the person asking."""


class TicketNotFound(TicketError, LookupError):
    pass


class InvalidTransition(TicketError):
    pass


class InvalidTime(TicketError):
    """An `acted_at` in the future or from before the ticket existed."""


# A phone's clock may run a little ahead of the hub's; further ahead is a wrong clock.
CLOCK_SKEW_S = 120.0


def open_key(fault: str, node: str) -> str:
    return f"{fault}:{node}"


def priority_for(fault: str, score: float, *, base: dict[str, int], busy_score: float) -> int:
    """The fault's priority (1 = most urgent); a lamp on a busy path (its unsafe-spot score
    at least `busy_score`) that leaves the street dark is one step more urgent."""
    p = base[fault]
    if fault != "day_burner" and score >= busy_score:
        p -= 1
    return max(1, p)


def follow_score(conn: Connection, nodes: dict[str, float], *, base: dict[str, int],
                 busy_score: float, sla_s: Callable[[int], float]) -> list[int]:
    """Raise the priority of the open tickets of `nodes` (node -> event time of its newest
    reading) that their unsafe-spot score now makes more urgent, bringing the SLA forward
    to match; each raise gets a history entry saying why. The update is conditional on the
    priority it replaces, so of two hub workers only one raises and writes the entry.
    Returns the ids of the tickets raised."""
    rows = conn.execute(
        select(Ticket.id, Ticket.node_id, Ticket.fault, Ticket.status, Ticket.priority,
               Ticket.opened_at, Ticket.sla_due)
        .where(among(conn, Ticket.node_id, nodes), Ticket.open_key.is_not(None))).all()
    raised = []
    for r in rows:
        score = current_score(conn, r.node_id)
        priority = priority_for(r.fault, score, base=base, busy_score=busy_score)
        if priority >= r.priority:
            continue
        sla_due = min(r.sla_due, r.opened_at + sla_s(priority))
        done = conn.execute(
            update(Ticket).where(Ticket.id == r.id, Ticket.priority == r.priority)
            .values(priority=priority, sla_due=sla_due, updated_at=time.time()))
        if done.rowcount != 1:
            continue
        _history(conn, r.id, nodes[r.node_id], SENSOR, r.status, r.status,
                 f"priority {r.priority} → {priority}: the lamp's unsafe-spot score reached "
                 f"{score:.0f} (a busy path from {busy_score:.0f})")
        raised.append(r.id)
    return raised


def open_ticket(conn: Connection, *, alert_id: int | None, node: str, district: str,
                area: str, fault: str, priority: int, opened_at: float, sla_due: float,
                evidence: list[dict[str, Any]], note: str = "",
                now: float | None = None) -> tuple[int, bool]:
    """Open the (node, fault) ticket, or find the one still open. Returns (id, created)."""
    key = open_key(fault, node)
    now = time.time() if now is None else now
    existing = _open_id(conn, key)
    if existing is not None:
        return existing, False
    try:
        with conn.begin_nested():
            ticket_id = int(conn.execute(insert(Ticket).values(
                alert_id=alert_id, node_id=node, district_id=district, area_id=area,
                fault=fault, status=OPEN, priority=priority, opened_at=opened_at,
                sla_due=sla_due, evidence=json.dumps(evidence), open_key=key,
                updated_at=now)).inserted_primary_key[0])
    except IntegrityError:
        existing = _open_id(conn, key)
        if existing is None:
            raise
        return existing, False
    _history(conn, ticket_id, opened_at, SENSOR, None, OPEN, note)
    return ticket_id, True


def _open_id(conn: Connection, key: str) -> int | None:
    row = conn.execute(select(Ticket.id).where(Ticket.open_key == key)).first()
    return int(row[0]) if row else None


def transition(conn: Connection, ticket_id: int, to_status: str, actor: str, note: str = "",
               *, assignee: str | None = None, at: float | None = None,
               acted_at: float | None = None, idempotency_key: str | None = None,
               photos: Iterable[str] = ()) -> dict[str, Any]:
    """A person moves a ticket on. Raises `InvalidTransition` naming what is allowed, or
    `TicketNotFound`. `verified` (and `reopened`) are the sensor's to set, never a
    person's. Returns the ticket as the API shows it. Reads, then writes: call it in a
    `hub.db.writing(engine)` transaction.

    `acted_at`: when the person acted, if earlier than now (an update made offline and
    sent later); not in the future, not before the ticket opened (`InvalidTime`). It is the
    history entry's time and the repair's `fixed_at`. `idempotency_key`: stored with the
    history entry, unique in the database; see `applied`. `photos`: keys of photos
    uploaded for this ticket (`hub.ticket_photos.store`) that prove this update."""
    now = time.time() if at is None else at
    at = now if acted_at is None else acted_at
    if to_status not in STATUSES:
        raise InvalidTransition(f"unknown status {to_status!r} "
                                f"(statuses: {', '.join(STATUSES)})")
    if to_status == VERIFIED:
        raise InvalidTransition("only the sensor verifies a repair: the ticket is verified "
                                "once the lamp has burnt at night for long enough")
    if actor in (SENSOR, SYSTEM):
        raise InvalidTransition(f"{actor!r} is not a person")
    current = _status(conn, ticket_id)
    if acted_at is not None:
        _check_acted_at(conn, ticket_id, acted_at, now)
    allowed = PEOPLE_MAY[current]
    if to_status not in allowed:
        why = (f"; allowed: {', '.join(allowed)}" if allowed else
               "; the sensor decides what happens next" if current == FIXED else "")
        raise InvalidTransition(f"ticket {ticket_id} is {current}; it cannot become "
                                f"{to_status}{why}")
    values: dict[str, Any] = dict(status=to_status, updated_at=now)
    if to_status == ASSIGNED:
        values["assigned_to"] = assignee or actor
    elif to_status == IN_PROGRESS and assignee:
        values["assigned_to"] = assignee
    if to_status == FIXED:
        values["fixed_at"] = at
    _move(conn, ticket_id, current, values)
    history_id = _history(conn, ticket_id, at, actor, current, to_status, note,
                          idempotency_key=idempotency_key, recorded_at=now)
    ticket_photos.attach(conn, ticket_id, history_id, photos, actor)
    return get(conn, ticket_id)


def _check_acted_at(conn: Connection, ticket_id: int, acted_at: float, now: float) -> None:
    if acted_at > now + CLOCK_SKEW_S:
        raise InvalidTime(f"acted_at {acted_at:.0f} is in the future (the hub's clock says "
                          f"{now:.0f}); is the phone's clock right?")
    opened = conn.execute(select(Ticket.opened_at).where(Ticket.id == ticket_id)).scalar_one()
    if acted_at < opened:
        raise InvalidTime(f"acted_at {acted_at:.0f} is before ticket {ticket_id} was opened "
                          f"({opened:.0f})")


def applied(conn: Connection, idempotency_key: str) -> tuple[int, str] | None:
    """(ticket id, actor) of the update already made with this key, or None."""
    row = conn.execute(select(TicketEvent.ticket_id, TicketEvent.actor)
                       .where(TicketEvent.idempotency_key == idempotency_key)).first()
    return (int(row[0]), str(row[1])) if row else None


def sensor_transition(conn: Connection, ticket_id: int, to_status: str, note: str, *,
                      at: float, now: float | None = None) -> bool:
    """The sensor's verdict (`verified` or `reopened`). Returns False when the ticket is
    in no state for it (verified already, say), rather than raising: the rules engine
    acts on what it sees and a person may have moved the ticket meanwhile."""
    try:
        current = _status(conn, ticket_id)
    except TicketNotFound:
        return False
    if to_status not in SENSOR_MAY[current]:
        return False
    values: dict[str, Any] = dict(status=to_status, updated_at=time.time() if now is None
                                  else now)
    if to_status == VERIFIED:
        values.update(verified_at=at, open_key=None)
    try:
        _move(conn, ticket_id, current, values)
    except InvalidTransition:
        return False
    _history(conn, ticket_id, at, SENSOR, current, to_status, note)
    return True


def escalate(conn: Connection, ticket_id: int, *, at: float) -> bool:
    """Record that the ticket missed its SLA; True the first time only."""
    row = conn.execute(select(Ticket.status, Ticket.sla_due).where(Ticket.id == ticket_id)
                       ).first()
    if row is None or row[0] not in OUTSTANDING:
        return False
    done = conn.execute(update(Ticket).where(Ticket.id == ticket_id,
                                             Ticket.escalated_at.is_(None))
                        .values(escalated_at=at)).rowcount
    if done != 1:
        return False
    _history(conn, ticket_id, at, SYSTEM, row[0], row[0],
             "SLA missed: not repaired by the due time; escalated to crew and committee")
    return True


def overdue(conn: Connection, now: float, limit: int = 500) -> list[tuple[int, str]]:
    """(id, node) of outstanding tickets past their SLA and not yet escalated."""
    return [(int(r[0]), str(r[1])) for r in conn.execute(
        select(Ticket.id, Ticket.node_id).where(Ticket.sla_due < now, Ticket.escalated_at.is_(None),
                                Ticket.status.in_(OUTSTANDING))
        .order_by(Ticket.sla_due).limit(limit))]


def statuses(conn: Connection, ticket_ids: Iterable[int]) -> dict[int, str]:
    ids = list(ticket_ids)
    if not ids:
        return {}
    return {int(i): s for i, s in conn.execute(
        select(Ticket.id, Ticket.status).where(Ticket.id.in_(ids)))}


def _status(conn: Connection, ticket_id: int) -> str:
    row = conn.execute(select(Ticket.status).where(Ticket.id == ticket_id)).first()
    if row is None:
        raise TicketNotFound(f"no ticket {ticket_id}")
    return str(row[0])


def _move(conn: Connection, ticket_id: int, current: str, values: dict[str, Any]) -> None:
    # Conditional on the status we checked: of two people (or a person and the sensor)
    # moving the same ticket at once, the second is told, not silently overwritten.
    done = conn.execute(update(Ticket).where(Ticket.id == ticket_id, Ticket.status == current)
                        .values(**values)).rowcount
    if done != 1:
        raise InvalidTransition(f"ticket {ticket_id} changed meanwhile; it is now "
                                f"{_status(conn, ticket_id)}")


def _history(conn: Connection, ticket_id: int, at: float, actor: str, from_status: str | None,
             to_status: str, note: str, *, idempotency_key: str | None = None,
             recorded_at: float | None = None) -> int:
    return int(conn.execute(insert(TicketEvent).values(
        ticket_id=ticket_id, at=at, actor=actor, from_status=from_status,
        to_status=to_status, note=note, idempotency_key=idempotency_key,
        recorded_at=recorded_at)).inserted_primary_key[0])


# --- queries (the API's ticket shape, DESIGN.md §7) ---

_COLUMNS = (Ticket.id, Ticket.node_id, Ticket.district_id, Ticket.area_id, Ticket.fault,
            Ticket.status, Ticket.priority, Ticket.opened_at, Ticket.sla_due, Ticket.alert_id,
            Ticket.assigned_to, Ticket.fixed_at, Ticket.verified_at, Ticket.escalated_at,
            Ticket.evidence, Node.pole, Node.lat, Node.lon, Area.name.label("area_name"),
            District.name.label("district_name"))


def _select() -> Any:
    # Where the ticket is, in the words on the street: the pole number and the area's and
    # district's names next to their ids (a crew looks for "pole K5-103 in Korangi 5"),
    # and the lamp's place for the maps app, so the ticket page needs no second request.
    return (select(*_COLUMNS).outerjoin(Node, Node.id == Ticket.node_id)
            .outerjoin(Area, Area.id == Ticket.area_id)
            .outerjoin(District, District.id == Ticket.district_id))


def _shape(r: Any, history: list[dict[str, Any]]) -> dict[str, Any]:
    return dict(id=r.id, node=r.node_id, district=r.district_id, area=r.area_id,
                fault=r.fault, status=r.status, priority=r.priority, opened_at=r.opened_at,
                sla_due=r.sla_due, alert_id=r.alert_id, assigned_to=r.assigned_to,
                fixed_at=r.fixed_at, verified_at=r.verified_at, escalated_at=r.escalated_at,
                evidence=json.loads(r.evidence or "[]"), history=history, pole=r.pole,
                lat=r.lat, lon=r.lon, area_name=r.area_name, district_name=r.district_name)


def history(conn: Connection, ticket_id: int) -> list[dict[str, Any]]:
    return histories(conn, [ticket_id])[ticket_id]


def histories(conn: Connection, ticket_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """The history of each ticket, in one query for a whole page of tickets."""
    out: dict[int, list[dict[str, Any]]] = {t: [] for t in ticket_ids}
    rows = conn.execute(
        select(TicketEvent.id, TicketEvent.ticket_id, TicketEvent.at, TicketEvent.actor,
               TicketEvent.from_status, TicketEvent.to_status, TicketEvent.note,
               TicketEvent.recorded_at)
        .where(TicketEvent.ticket_id.in_(ticket_ids)).order_by(TicketEvent.id)).all()
    photos = ticket_photos.for_history(conn, [r[0] for r in rows if r.recorded_at is not None])
    for hid, tid, at, actor, f, t, note, recorded in rows:
        out[tid].append(dict(at=at, actor=actor, from_status=f, to_status=t, note=note,
                             recorded_at=recorded, photos=photos.get(hid, [])))
    return out


def get(conn: Connection, ticket_id: int) -> dict[str, Any]:
    row = conn.execute(_select().where(Ticket.id == ticket_id)).first()
    if row is None:
        raise TicketNotFound(f"no ticket {ticket_id}")
    return _shape(row, history(conn, ticket_id))


def query(conn: Connection, *, status: str | None = None, district: str | None = None,
          areas: list[str] | None = None, node: str | None = None, fault: str | None = None,
          limit: int = 50, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
    """Tickets most urgent first, filtered; returns (page, total count). `status` may be
    "outstanding" for those the crew still owes. A crew is scoped by `district`."""
    q = _select()
    if status == "outstanding":
        q = q.where(Ticket.status.in_(OUTSTANDING))
    elif status is not None:
        q = q.where(Ticket.status == status)
    if district is not None:
        q = q.where(Ticket.district_id == district)
    if areas is not None:
        q = q.where(Ticket.area_id.in_(areas))
    if node is not None:
        q = q.where(Ticket.node_id == node)
    if fault is not None:
        q = q.where(Ticket.fault == fault)
    count = conn.execute(select(func.count()).select_from(q.subquery())).scalar_one()
    rows = conn.execute(q.order_by(Ticket.priority, Ticket.sla_due, Ticket.id)
                        .limit(limit).offset(offset)).all()
    page = histories(conn, [r.id for r in rows])
    return [_shape(r, page[r.id]) for r in rows], int(count)


def status_counts(conn: Connection) -> dict[str, int]:
    """Tickets per status (every status present), for `roshni_tickets`."""
    counts = dict.fromkeys(STATUSES, 0)
    counts.update(conn.execute(select(Ticket.status, func.count()).group_by(Ticket.status))
                  .all())
    return counts
