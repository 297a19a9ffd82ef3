"""The unsafe-spot score, kept live by an ingest Stage (DESIGN.md §6).

Per node per night: `dark_minutes` and `exposure` (footfall counted while the lamp was off
at night) are sums, added to in the ingest transaction, so every stored reading counts
exactly once however many hub workers share the load; `score` = exposure × the node's
weight (sites, incidents) as it stands when the row was last touched.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import Connection, bindparam, select

from hub.core.spots_settings import SpotSettings
from hub.models import Node, SpotScore
from hub.spots.sun import NightClock, night_of
from hub.spots.weights import Weights
from hub.upsert import dialect_insert

if TYPE_CHECKING:
    from hub.pipeline import Batch

log = logging.getLogger(__name__)

# How often a running hub looks for moved nodes and newly imported incidents.
REFRESH_S = 10.0


@dataclass(slots=True, frozen=True)
class Place:
    lat: float
    lon: float


def add_dark_minutes(conn: Connection, rows: list[dict], now: float) -> None:
    """Add `dark_minutes` and `exposure` to (node_id, night) rows, then set their score from
    each row's `factor`. Two statements, each one executemany round trip."""
    if not rows:
        return
    t = SpotScore.__table__
    ins = dialect_insert(conn, t)
    conn.execute(
        ins.on_conflict_do_update(index_elements=["node_id", "night"], set_={
            "dark_minutes": t.c.dark_minutes + ins.excluded.dark_minutes,
            "exposure": t.c.exposure + ins.excluded.exposure,
            "updated_at": ins.excluded.updated_at}),
        [dict(node_id=r["node_id"], night=r["night"], dark_minutes=r["dark_minutes"],
              exposure=r["exposure"], score=0.0, updated_at=now) for r in rows])
    set_scores(conn, rows)


def set_scores(conn: Connection, rows: list[dict]) -> None:
    """score = exposure × factor for each {node_id, night, factor}."""
    t = SpotScore.__table__
    conn.execute(
        t.update().where(t.c.node_id == bindparam("b_node"), t.c.night == bindparam("b_night"))
        .values(score=t.c.exposure * bindparam("b_factor")),
        [{"b_node": r["node_id"], "b_night": r["night"], "b_factor": r["factor"]}
         for r in rows])


class SpotScorer:
    """Ingest Stage: adds each stored dark reading to its node's score for that night.

    A reading is dark when the lamp reports off (`lamp_on` false) and the sun is below
    `night_below_deg` at the middle of the interval it covers; it adds `interval_s / 60`
    dark minutes and its footfall. Readings without `lamp_on`, and nodes without
    coordinates (pending ones), add nothing. The stage keeps no score in memory: its
    caches (node places, sun times, weights) are facts from configuration and the
    database, so a rolled-back batch leaves nothing to undo."""

    def __init__(self, settings: SpotSettings,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self.tz = settings.tz
        self.sun = NightClock(self.tz, settings.night_below_deg)
        self.weights = Weights(settings)
        self._monotonic = monotonic
        self._places: dict[str, Place | None] = {}
        self._since = -1.0
        self._refreshed: float | None = None

    def __repr__(self) -> str:
        return f"SpotScorer(sites={len(self.settings.sites)})"

    # --- Stage ---

    def evaluate(self, conn: Connection, batch: Batch) -> None:
        if not self.settings.enabled or not batch.stored:
            return
        sums: dict[tuple[str, str], list[float]] = {}
        refreshed = False
        default_interval = self.settings.default_interval_s
        for s in batch.stored:
            r = s.reading
            if r.lamp_on is not False:
                continue
            if not refreshed:
                self._refresh(conn)
                refreshed = True
            place = self._place(conn, s.node.id)
            if place is None:
                continue
            interval = r.interval_s or default_interval
            mid = s.ts - interval / 2
            if not self.sun.is_night(place.lat, place.lon, mid):
                continue
            acc = sums.get(key := (s.node.id, night_of(mid, self.tz)))
            if acc is None:
                acc = sums[key] = [0.0, 0.0]
            acc[0] += interval / 60.0
            acc[1] += r.footfall or 0
        if not sums:
            return
        rows = []
        for (node_id, night), (minutes, footfall) in sums.items():
            place = self._places[node_id]
            assert place is not None
            rows.append(dict(node_id=node_id, night=night, dark_minutes=minutes,
                             exposure=footfall,
                             factor=self.weights.factor(place.lat, place.lon, night)))
        add_dark_minutes(conn, rows, time.time())

    def committed(self) -> None:
        pass

    def rolled_back(self) -> None:
        pass

    # --- caches ---

    def _refresh(self, conn: Connection) -> None:
        """Nodes moved or provisioned and incidents imported since the last look."""
        now = self._monotonic()
        if self._refreshed is not None and now - self._refreshed < REFRESH_S:
            return
        self._refreshed = now
        self.weights.refresh(conn)
        for node_id, lat, lon, updated in conn.execute(
                select(Node.id, Node.lat, Node.lon, Node.updated_at)
                .where(Node.updated_at > self._since)):
            self._places[node_id] = _place(lat, lon)
            self._since = max(self._since, updated)

    def _place(self, conn: Connection, node_id: str) -> Place | None:
        try:
            return self._places[node_id]
        except KeyError:
            row = conn.execute(select(Node.lat, Node.lon).where(Node.id == node_id)).first()
            place = self._places[node_id] = _place(*row) if row else None
            return place


def _place(lat: float | None, lon: float | None) -> Place | None:
    return Place(lat, lon) if lat is not None and lon is not None else None
