"""Alerts: what the committee (or the technician) sees (DESIGN.md §6, §7).

One open alert per (node, rule), or (area, rule) or (feeder, rule) for a power cut: the
unique `open_key` is set while an alert is not cleared, so two readings 10 ms apart, or two
hub workers, can never open two — the loser of the race gets the one already open.

States: active → acknowledged (a person saw it) → cleared (the condition is gone; only
the rules clear alerts). An alert found in replayed history is `historical`: a past
incident, never notified as live.
"""

from __future__ import annotations

import json
import time
from typing import Any

from sqlalchemy import Connection, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from hub.models import Alert

ACTIVE, ACKNOWLEDGED, CLEARED = "active", "acknowledged", "cleared"
STATES = (ACTIVE, ACKNOWLEDGED, CLEARED)
RULES = ("lamp_out", "area_power_cut", "day_burner", "flicker", "low_power", "node_offline",
         "tamper", "supply_loss", "control_fault")


class AlertError(ValueError):
    """An alert that cannot do what was asked; the message says why."""


class AlertNotFound(AlertError, LookupError):
    pass


def open_key(rule: str, *, node: str | None, area: str, feeder: str | None = None) -> str:
    if node is not None:
        return f"{rule}:{node}"
    return f"{rule}:feeder:{feeder}" if feeder is not None else f"{rule}:area:{area}"


def open_alert(conn: Connection, *, rule: str, node: str | None, district: str, area: str,
               started_at: float, detail: dict[str, Any] | None = None,
               historical: bool = False, now: float | None = None,
               feeder: str | None = None) -> tuple[int, bool]:
    """Open the (node, rule) alert, or find the one already open. Returns (id, created).
    A feeder's power cut (`node` None, `feeder` set) is filed under `area` but is its own
    incident, beside that area's.

    Safe against a concurrent opener: the insert runs in its own SAVEPOINT, and losing the
    race on the unique `open_key` means the other one's alert is the alert."""
    key = open_key(rule, node=node, area=area, feeder=feeder)
    now = time.time() if now is None else now
    existing = _open_id(conn, key)
    if existing is not None:
        return existing, False
    try:
        with conn.begin_nested():
            alert_id = conn.execute(insert(Alert).values(
                rule=rule, state=ACTIVE, node_id=node, district_id=district, area_id=area,
                started_at=started_at, historical=historical,
                detail=json.dumps(detail or {}), open_key=key, created_at=now,
                updated_at=now)).inserted_primary_key[0]
    except IntegrityError:
        existing = _open_id(conn, key)
        if existing is None:
            raise  # not the open_key after all
        return existing, False
    return int(alert_id), True


def _open_id(conn: Connection, key: str) -> int | None:
    row = conn.execute(select(Alert.id).where(Alert.open_key == key)).first()
    return int(row[0]) if row else None


def make_live(conn: Connection, alert_id: int, now: float | None = None) -> None:
    """A replayed condition that live readings still find: no longer a past incident."""
    conn.execute(update(Alert).where(Alert.id == alert_id).values(
        historical=False, updated_at=time.time() if now is None else now))


def clear(conn: Connection, alert_id: int, *, ended_at: float,
          now: float | None = None) -> bool:
    """The condition is gone (for the hysteresis window): the alert is over. Returns
    False if it was cleared already."""
    done = conn.execute(update(Alert).where(Alert.id == alert_id, Alert.state != CLEARED)
                        .values(state=CLEARED, ended_at=ended_at, open_key=None,
                                updated_at=time.time() if now is None else now)).rowcount
    return done == 1


def link_ticket(conn: Connection, alert_id: int, ticket_id: int) -> None:
    conn.execute(update(Alert).where(Alert.id == alert_id).values(ticket_id=ticket_id))


def acknowledge(conn: Connection, alert_id: int, user: str,
                at: float | None = None) -> dict[str, Any]:
    """A person has seen the alert (`POST /api/v1/alerts/{id}/ack`). Acknowledging an
    acknowledged alert again is harmless; a cleared one is refused. Returns the alert.
    Reads, then writes: call it in a `hub.db.writing(engine)` transaction."""
    at = time.time() if at is None else at
    row = conn.execute(select(Alert.state).where(Alert.id == alert_id)).first()
    if row is None:
        raise AlertNotFound(f"no alert {alert_id}")
    if row[0] == CLEARED:
        raise AlertError(f"alert {alert_id} is already cleared")
    if row[0] == ACTIVE:
        done = conn.execute(update(Alert).where(Alert.id == alert_id, Alert.state == ACTIVE)
                            .values(state=ACKNOWLEDGED, acknowledged_by=user,
                                    acknowledged_at=at, updated_at=at)).rowcount
        if done != 1:  # cleared (or acknowledged) meanwhile
            return acknowledge(conn, alert_id, user, at)
    return get(conn, alert_id)


# --- queries (the API's alert shape, DESIGN.md §7) ---

_COLUMNS = (Alert.id, Alert.rule, Alert.state, Alert.node_id, Alert.district_id,
            Alert.area_id, Alert.started_at, Alert.ended_at, Alert.ticket_id,
            Alert.historical, Alert.acknowledged_by, Alert.acknowledged_at, Alert.detail)


def _shape(r: Any) -> dict[str, Any]:
    return dict(id=r.id, rule=r.rule, state=r.state, node=r.node_id, district=r.district_id,
                area=r.area_id, started_at=r.started_at, ended_at=r.ended_at,
                ticket_id=r.ticket_id, historical=bool(r.historical),
                acknowledged_by=r.acknowledged_by, acknowledged_at=r.acknowledged_at,
                detail=json.loads(r.detail or "{}"))


def get(conn: Connection, alert_id: int) -> dict[str, Any]:
    row = conn.execute(select(*_COLUMNS).where(Alert.id == alert_id)).first()
    if row is None:
        raise AlertNotFound(f"no alert {alert_id}")
    return _shape(row)


def query(conn: Connection, *, state: str | None = None, rule: str | None = None,
          district: str | None = None, areas: list[str] | None = None,
          node: str | None = None, historical: bool | None = None, limit: int = 50,
          offset: int = 0) -> tuple[list[dict[str, Any]], int]:
    """Alerts newest first, filtered; returns (page, total count). `state` may be "open"
    for active or acknowledged. `areas` scopes a committee to its areas."""
    q = select(*_COLUMNS)
    if state == "open":
        q = q.where(Alert.state != CLEARED)
    elif state is not None:
        q = q.where(Alert.state == state)
    if rule is not None:
        q = q.where(Alert.rule == rule)
    if district is not None:
        q = q.where(Alert.district_id == district)
    if areas is not None:
        q = q.where(Alert.area_id.in_(areas))
    if node is not None:
        q = q.where(Alert.node_id == node)
    if historical is not None:
        q = q.where(Alert.historical == historical)
    count = conn.execute(select(func.count()).select_from(q.subquery())).scalar_one()
    rows = conn.execute(q.order_by(Alert.started_at.desc(), Alert.id.desc())
                        .limit(limit).offset(offset))
    return [_shape(r) for r in rows], int(count)


def open_counts(conn: Connection) -> dict[str, int]:
    """Alerts not cleared, per rule (every rule present), for `roshni_alerts_open`."""
    counts = dict.fromkeys(RULES, 0)
    counts.update(conn.execute(select(Alert.rule, func.count()).where(Alert.state != CLEARED)
                               .group_by(Alert.rule)).all())
    return counts
