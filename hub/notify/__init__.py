"""Notifications through a durable outbox (DESIGN.md §1, §6).

Whoever decides that people must be told (the rules engine, the digest) calls `enqueue`
inside the transaction that records the decision: one `outbox` row per matching
subscriber, committed with the alert or ticket or not at all. The outbox worker
(hub/notify/outbox.py) delivers the rows by webhook or e-mail and retries until the
receiver takes them. (`event_key`, `subscriber`) is unique, so an event enqueued twice is
delivered once.

The body of a notification is a JSON object; the renderers show what it has of:

    place       {"area": "Korangi 5", "area_id": "korangi-5", "district": "korangi",
                 "district_name": "Korangi", "node": "khi-kor-0042", "pole": "K5-117",
                 "lat": 24.83, "lon": 67.13}          — `place(conn, node=…)` builds it
    rule        alert rule, e.g. "lamp_out";  fault: the ticket's fault
    alert_id, ticket_id, priority (1 = most urgent), sla_due (epoch s), status
    started_at  epoch s, when the condition began (event time)
    link        path on the dashboard: "/tickets/34", "/alerts/12"
    note        free text, shown as is
"""

from __future__ import annotations

import json
import logging
import time
import weakref
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from sqlalchemy import Connection, Engine, select

from hub.core.names import slug
from hub.core.notify_settings import NotifySettings, SmtpSettings, Subscriber
from hub.models import Area, District, Node, Outbox
from hub.upsert import insert_new

log = logging.getLogger(__name__)

__all__ = ["Notification", "NotifySettings", "SmtpSettings", "Subscriber", "bind", "enqueue",
           "enqueue_to", "matches", "place"]


@dataclass
class Notification:
    kind: str  # alert_opened, alert_cleared, ticket_opened, ticket_reopened, …, digest
    key: str  # the event's identity: the same key is delivered once per subscriber
    audience: Literal["committee", "crew", "technician"]
    district: str  # district id
    area: str  # area id (or name)
    node: str | None
    subject: str
    body: dict[str, Any] = field(default_factory=dict)


# Subscribers per database: each hub binds its engine, so enqueue(conn, n) needs nothing
# but the connection, and several hubs in one process (tests) keep their own settings.
_bound: weakref.WeakKeyDictionary[Engine, NotifySettings] = weakref.WeakKeyDictionary()
_warned: set[int] = set()


def bind(engine: Engine, settings: NotifySettings) -> None:
    """Make `settings` the subscribers for notifications enqueued through `engine`."""
    _bound[engine] = settings


def matches(sub: Subscriber, n: Notification) -> bool:
    """Whether `sub` is to receive `n`: its audience, its kinds, its areas and districts."""
    if n.audience not in sub.audience:
        return False
    if sub.kinds is not None and n.kind not in sub.kinds:
        return False
    if sub.districts and (n.district or "").lower() not in sub.districts:
        return False
    return not sub.areas or slug(n.area or "") in sub.areas


def enqueue(conn: Connection, n: Notification) -> int:
    """Record `n` for every subscriber it is meant for, in the caller's transaction.
    Returns how many rows were added (0 for a repeat of the same key)."""
    settings = _bound.get(conn.engine)
    if settings is None:
        if id(conn.engine) not in _warned:
            _warned.add(id(conn.engine))
            log.warning("notifications enqueued on an engine no hub has bound; "
                        "nobody is subscribed, %s %s goes nowhere", n.kind, n.key)
        return 0
    if not settings.enabled:
        return 0
    return sum(enqueue_to(conn, sub, n) for sub in settings.subscribers if matches(sub, n))


def enqueue_to(conn: Connection, sub: Subscriber, n: Notification) -> int:
    """Record `n` for one subscriber (the digest, which is addressed, not matched)."""
    # default=str: a timestamp object in a body must not cost the caller its transaction.
    payload = json.dumps(asdict(n), default=str, separators=(",", ":"))
    return int(insert_new(conn, Outbox.__table__, dict(
        event_key=n.key[:160], subscriber=sub.name, channel=sub.channel, kind=n.kind,
        payload=payload, created_at=time.time(), attempts=0,
        # Due at once, whatever clock the worker keeps.
        next_attempt_at=0.0,
    ), keys=("event_key", "subscriber")))


def place(conn: Connection, *, node: str | None = None, area: str | None = None
          ) -> dict[str, Any]:
    """The `place` of a notification body, from the registry: for a node, or an area."""
    out: dict[str, Any] = {}
    area_id = slug(area) if area else None
    if node is not None:
        row = conn.execute(select(Node.district_id, Node.area_id, Node.pole, Node.lat,
                                  Node.lon).where(Node.id == node)).first()
        if row is not None:
            out.update(node=node, district=row[0], pole=row[2], lat=row[3], lon=row[4])
            area_id = row[1]
        else:
            out["node"] = node
    if area_id:
        row = conn.execute(select(Area.name, Area.district_id, District.name)
                           .join(District, District.id == Area.district_id)
                           .where(Area.id == area_id)).first()
        out["area_id"] = area_id
        if row is not None:
            out.update(area=row[0], district=row[1], district_name=row[2])
    return out
