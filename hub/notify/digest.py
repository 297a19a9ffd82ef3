"""The daily digest for each committee subscriber: dark spots last night, repair tickets
overdue, repairs the sensors verified. Sent through the outbox with the key
`digest:<local date>`, so it goes once per day however often the hub restarts."""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, select

from hub.core.notify_settings import NotifySettings, Subscriber
from hub.models import Area, District, Node, SpotScore, Ticket
from hub.notify import Notification, enqueue_to

log = logging.getLogger(__name__)

# Ticket states where the crew still owes a repair (not fixed, not verified).
OPEN_STATUSES = ("open", "assigned", "in_progress", "reopened")
CHECK_S = 30.0


def _scope(q: Any, sub: Subscriber, area_col: Any, district_col: Any) -> Any:
    if sub.areas:
        q = q.where(area_col.in_(sub.areas))
    if sub.districts:
        q = q.where(district_col.in_(sub.districts))
    return q


def _ticket(r: Any) -> dict[str, Any]:
    return dict(id=r.id, fault=r.fault, status=r.status, priority=r.priority,
                sla_due=r.sla_due, verified_at=r.verified_at, node=r.node_id, pole=r.pole,
                lat=r.lat, lon=r.lon, area=r.area_name, area_id=r.area_id,
                district=r.district_id, district_name=r.district_name)


def build(conn: Connection, sub: Subscriber, day: dt.date, now: float, *,
          max_spots: int = 20) -> Notification:
    """The digest of `day` (a local date) for `sub`, as of `now`."""
    night = (day - dt.timedelta(days=1)).isoformat()
    spots_q = _scope(
        select(SpotScore.node_id, Node.pole, Node.lat, Node.lon, Node.area_id,
               Area.name.label("area"), Node.district_id, District.name.label("dname"),
               SpotScore.dark_minutes, SpotScore.exposure, SpotScore.score)
        .join(Node, Node.id == SpotScore.node_id)
        .join(Area, Area.id == Node.area_id)
        .join(District, District.id == Node.district_id)
        .where(SpotScore.night == night, SpotScore.dark_minutes > 0),
        sub, Node.area_id, Node.district_id)
    spots = [dict(node=r[0], pole=r[1], lat=r[2], lon=r[3], area_id=r[4], area=r[5],
                  district=r[6], district_name=r[7], dark_minutes=r[8], exposure=r[9],
                  score=r[10])
             for r in conn.execute(spots_q.order_by(SpotScore.score.desc(),
                                                    SpotScore.dark_minutes.desc(),
                                                    SpotScore.node_id).limit(max_spots))]
    tickets = (select(Ticket.id, Ticket.fault, Ticket.status, Ticket.priority, Ticket.sla_due,
                      Ticket.verified_at, Ticket.node_id, Node.pole, Node.lat, Node.lon,
                      Ticket.area_id, Area.name.label("area_name"), Ticket.district_id,
                      District.name.label("district_name"))
               .join(Node, Node.id == Ticket.node_id)
               .join(Area, Area.id == Ticket.area_id)
               .join(District, District.id == Ticket.district_id))
    tickets = _scope(tickets, sub, Ticket.area_id, Ticket.district_id)
    overdue = [_ticket(r) for r in conn.execute(
        tickets.where(Ticket.status.in_(OPEN_STATUSES), Ticket.sla_due < now)
        .order_by(Ticket.priority, Ticket.sla_due))]
    verified = [_ticket(r) for r in conn.execute(
        tickets.where(Ticket.verified_at.is_not(None), Ticket.verified_at > now - 86400,
                      Ticket.verified_at <= now)
        .order_by(Ticket.verified_at))]
    names = dict(conn.execute(select(Area.id, Area.name).where(Area.id.in_(sub.areas))).all())
    scope = [names.get(a, a) for a in sub.areas] or list(sub.districts)
    subject = (f"Roshni digest {day.isoformat()}: {len(spots)} dark spot"
               f"{'' if len(spots) == 1 else 's'}, {len(overdue)} overdue, "
               f"{len(verified)} repaired")
    return Notification(
        kind="digest", key=f"digest:{day.isoformat()}", audience="committee",
        district=",".join(sub.districts), area=",".join(sub.areas), node=None,
        subject=subject,
        body=dict(date=day.isoformat(), night=night, scope=scope, dark_spots=spots,
                  overdue=overdue, verified=verified, link=f"/spots?night={night}"))


class DigestScheduler:
    """Enqueues each committee subscriber's digest once the local clock passes
    `digest_time`; a hub that was down at that time sends it when it starts that day."""

    def __init__(self, engine: Engine, settings: NotifySettings, tz: ZoneInfo, *,
                 clock: Callable[[], float] = time.time) -> None:
        self.engine = engine
        self.settings = settings
        self.tz = tz
        self.clock = clock
        hh, mm = settings.digest_time.split(":")
        self.at = dt.time(int(hh), int(mm))
        self._done: dt.date | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> int:
        """Enqueue today's digests if due and not yet done; return how many were added."""
        now = self.clock()
        local = dt.datetime.fromtimestamp(now, self.tz)
        day = local.date()
        if self._done == day or local.time() < self.at:
            return 0
        # Read first, then write in a transaction of its own: on SQLite a transaction that
        # reads and then writes fails at once ("database is locked") if ingest committed
        # in between, whatever the busy timeout.
        with self.engine.connect() as conn:
            digests = [(sub, build(conn, sub, day, now, max_spots=self.settings.digest_max_spots))
                       for sub in self.settings.subscribers if sub.wants_digest]
        added = 0
        with self.engine.begin() as conn:
            for sub, n in digests:
                added += enqueue_to(conn, sub, n)
        self._done = day
        if added:
            log.info("daily digest for %s enqueued for %d subscriber(s)", day, added)
        return added

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="notify-digest", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(10)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception:  # noqa: BLE001 - try again at the next check
                log.exception("daily digest failed; retrying")
            self._stop.wait(CHECK_S)
