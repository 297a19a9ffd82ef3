"""How much more a dark minute counts at a node: near sensitive sites and near imported
incidents (DESIGN.md §6)."""

from __future__ import annotations

import datetime as dt
import math
from bisect import bisect_left, bisect_right
from collections import defaultdict
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, func, select

from hub.core.spots_settings import Site, SpotSettings
from hub.models import Incident

EARTH_M = 6_371_000.0


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_M * math.asin(min(1.0, math.sqrt(a)))


def site_factor(sites: list[Site], lat: float, lon: float) -> float:
    """1 + the weights of every site whose radius the node is in."""
    return 1.0 + sum(s.weight for s in sites
                     if distance_m(lat, lon, s.lat, s.lon) <= s.radius_m)


def night_end(night: str, tz: ZoneInfo) -> float:
    """Noon after the night: the end of the window incidents are counted in."""
    day = dt.date.fromisoformat(night) + dt.timedelta(days=1)
    return dt.datetime.combine(day, dt.time(12), tz).timestamp()


class IncidentIndex:
    """Imported incidents on a grid of cells about `radius_m` wide, for counting those near
    a node in a time window without asking the database for every node."""

    def __init__(self, points: list[tuple[float, float, float]], radius_m: float) -> None:
        self.radius_m = radius_m
        self._cell_deg = radius_m / 111_000.0  # degrees of latitude per cell
        cells: dict[tuple[int, int], list[tuple[float, float, float]]] = defaultdict(list)
        for ts, lat, lon in points:
            cells[self._cell(lat, lon)].append((ts, lat, lon))
        # Each cell sorted by time, so a window is two bisections.
        self._cells = {k: (sorted(v), [p[0] for p in sorted(v)]) for k, v in cells.items()}

    def _cell(self, lat: float, lon: float) -> tuple[int, int]:
        return int(lat // self._cell_deg), int(lon // self._cell_deg)

    def count(self, lat: float, lon: float, start: float, end: float) -> int:
        ci, cj = self._cell(lat, lon)
        # A cell is `radius_m` tall but only cos(lat) of that wide: look far enough east
        # and west to cover the radius.
        span = max(1, math.ceil(1 / max(math.cos(math.radians(lat)), 0.01)))
        n = 0
        for i in (ci - 1, ci, ci + 1):
            for j in range(cj - span, cj + span + 1):
                cell = self._cells.get((i, j))
                if cell is None:
                    continue
                points, times = cell
                for _ts, plat, plon in points[bisect_left(times, start):
                                             bisect_right(times, end)]:
                    if distance_m(lat, lon, plat, plon) <= self.radius_m:
                        n += 1
        return n

    @classmethod
    def load(cls, conn: Connection, radius_m: float) -> IncidentIndex:
        rows = conn.execute(select(Incident.ts, Incident.lat, Incident.lon)).all()
        return cls([tuple(r) for r in rows], radius_m)  # type: ignore[misc]


def incidents_version(conn: Connection) -> tuple[int, int]:
    """Changes whenever incidents are imported."""
    n, top = conn.execute(select(func.count(), func.max(Incident.id))).one()
    return int(n), int(top or 0)


class Weights:
    """`factor(node, night)` = site factor × incident factor; cached, reloaded when the
    imported incidents change."""

    def __init__(self, settings: SpotSettings) -> None:
        self.settings = settings
        self.tz = settings.tz
        self._index: IncidentIndex | None = None
        self._version: tuple[int, int] | None = None
        self._sites: dict[tuple[float, float], float] = {}
        self._incidents: dict[tuple[float, float, str], int] = {}

    def refresh(self, conn: Connection) -> None:
        version = incidents_version(conn)
        if version != self._version:
            self._index = IncidentIndex.load(conn, self.settings.incident_radius_m)
            self._version = version
            self._incidents.clear()

    def incident_count(self, lat: float, lon: float, night: str) -> int:
        if self._index is None:
            return 0
        key = (lat, lon, night)
        n = self._incidents.get(key)
        if n is None:
            if len(self._incidents) > 500_000:
                self._incidents.clear()
            end = night_end(night, self.tz)
            n = self._incidents[key] = self._index.count(
                lat, lon, end - self.settings.incident_days * 86400.0, end)
        return n

    def factor(self, lat: float, lon: float, night: str) -> float:
        s = self.settings
        site = self._sites.get((lat, lon))
        if site is None:
            if len(self._sites) > 500_000:
                self._sites.clear()
            site = self._sites[(lat, lon)] = site_factor(s.sites, lat, lon)
        incidents = min(self.incident_count(lat, lon, night), s.incident_cap)
        return site * (1.0 + s.incident_weight * incidents)
