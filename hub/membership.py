"""Which hub workers are alive, as the database knows it (DESIGN.md §9).

Every `roshni hub run` writes its row in `hub_workers` twice a second: its roles, whether it
hears the broker and how far behind its spool is. A row not written for `[rules] lease_s`
is a dead worker's. Others read the rows to share out the rules (hub/rules/owner.py), to
know whether the hub as a whole can hear the nodes, and to drain a dead worker's broker
session (hub/adoption.py). A worker that stops cleanly deletes its row, unless it leaves
a broker session behind: then the row stays, for it to carry on with when it is back, or
for another worker to drain the session if it is not.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, delete, select

from hub.db import writing
from hub.models import HubWorker
from hub.upsert import upsert

log = logging.getLogger(__name__)

BEAT_S = 0.5
STALE_BEATS = 3
# How long the others may take to notice an ingest worker that stopped (wall seconds).
NOTICE_S = STALE_BEATS * BEAT_S + 1.0
ROLE_NAMES = ("ingest", "rules", "api", "notify")
# `writing(shared=…)` key of the membership rows (rules partitions use 0…partitions-1).
LOCK_KEY = -1


@dataclass(frozen=True, slots=True)
class Member:
    name: str
    roles: frozenset[str]
    heard_at: float
    listening: bool
    backlog: int
    session: bool
    watermark: float | None
    adopted_by: str | None
    adopted_at: float | None


def members(conn: Connection) -> list[Member]:
    return [Member(r.name, frozenset(r.roles.split(",")), r.heard_at, r.listening,
                   r.backlog, r.session, r.watermark, r.adopted_by, r.adopted_at)
            for r in conn.execute(select(HubWorker.__table__))]


@dataclass(frozen=True, slots=True)
class Hearing:
    """Whether the hub, over all its ingest workers, hears every node as it speaks."""

    listening: bool
    reason: str
    # Event time up to which every live ingest worker has filed what it received: a node
    # is silent only if its silence reaches past that (None: no worker is behind).
    through: float | None = None


def hearing(all_members: list[Member], now: float, ttl: float, max_backlog: int) -> Hearing:
    ingest = [m for m in all_members if "ingest" in m.roles]
    alive = [m for m in ingest if now - m.heard_at <= ttl]
    # The rules judge readings up to the oldest mark of any worker that may still file
    # older ones: one that has a backlog or is receiving; one that has not said anything
    # for a few beats (it may have died with its share of the messages on the way to
    # it); and a dead or stopped one whose broker session still holds its share (until
    # it is back, or another worker has drained it). One that has filed nothing yet
    # holds everything. A worker that said a moment ago it had nothing waiting holds
    # nobody back, or a city gone quiet would never be judged silent.
    def may_file_older(m: Member) -> bool:
        if now - m.heard_at > ttl:
            return m.session
        return m.backlog > 0 or now - m.heard_at > STALE_BEATS * BEAT_S

    marks = [-math.inf if m.watermark is None else m.watermark
             for m in ingest if may_file_older(m)]
    through = min(marks) if marks else None
    if not any(m.listening for m in alive):
        return Hearing(False, "no ingest worker hears the broker", through)
    if behind := [m.name for m in alive if m.backlog > max_backlog]:
        return Hearing(False, f"behind on their spools: {', '.join(behind)}", through)
    if dead := [m.name for m in ingest if now - m.heard_at > ttl and m.session]:
        # Its share of the nodes' messages waits in its broker session until drained.
        return Hearing(False, f"sessions of dead workers not drained yet: {', '.join(dead)}",
                       through)
    return Hearing(True, "", through)


class Membership:
    """The thread that keeps this worker's row current."""

    def __init__(self, db: Engine, name: str, roles: frozenset[str], *,
                 status: Callable[[], tuple[bool, int]], session: bool,
                 ttl: float, wall: Callable[[], float] = time.time,
                 on_beat: Callable[[list[Member], float, float], None] | None = None
                 ) -> None:
        """`status()`: (hears the broker, messages behind) of this worker's ingest.
        `session`: it leaves a persistent broker session behind if it dies.
        `ttl`: a row older than this is a dead worker's.
        `on_beat(members, now, ttl)`: called after each beat with every row (adoption)."""
        self.db = db
        self.name = name
        self.roles = roles
        self.status = status
        self.session = session
        self.wall = wall
        self.ttl = ttl
        self.on_beat = on_beat
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def beat(self) -> list[Member]:
        listening, backlog = self.status()
        with writing(self.db, shared=LOCK_KEY) as conn:
            upsert(conn, HubWorker.__table__, [dict(
                name=self.name, roles=",".join(sorted(self.roles)), heard_at=self.wall(),
                listening=listening, backlog=backlog, session=self.session,
                adopted_by=None, adopted_at=None)], keys=("name",))
            return members(conn)

    def start(self) -> None:
        self.beat()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="membership", daemon=True)
        self._thread.start()

    def stop(self, *, leave: bool = True) -> None:
        """`leave`: the worker's session needs nobody (it was drained or it has none)."""
        self._stop.set()
        if self._thread:
            self._thread.join(10)
        if leave:
            with writing(self.db, shared=LOCK_KEY) as conn:
                conn.execute(delete(HubWorker).where(HubWorker.name == self.name))

    def _run(self) -> None:
        while not self._stop.wait(BEAT_S):
            try:
                rows = self.beat()
                if self.on_beat is not None:
                    self.on_beat(rows, self.wall(), self.ttl)
            except Exception:  # noqa: BLE001 - the next beat tries again
                log.exception("could not update this worker's membership")
