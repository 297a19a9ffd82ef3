"""Reading the unsafe-spot scores: a node's current score (ticket priority) and the
ranking committees and the API show (DESIGN.md §6, §7)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection, func, select

from hub.core.names import slug
from hub.core.spots_settings import SpotSettings
from hub.models import Area, District, Node, SpotScore
from hub.spots.scorer import set_scores
from hub.spots.weights import Weights


def current_score(conn: Connection, node_id: str) -> float:
    """The weighted score of the node's latest night with dark minutes; 0.0 if none."""
    row = conn.execute(select(SpotScore.score).where(SpotScore.node_id == node_id)
                       .order_by(SpotScore.night.desc()).limit(1)).first()
    return float(row[0]) if row else 0.0


def _filtered(q: Any, district: str | None, area: str | None) -> Any:
    if district is not None:
        q = q.where(Node.district_id == district.strip().lower())
    if area is not None:
        q = q.where(Node.area_id == slug(area))
    return q


def latest_night(conn: Connection, *, district: str | None = None,
                 area: str | None = None) -> str | None:
    q = select(func.max(SpotScore.night)).join(Node, Node.id == SpotScore.node_id)
    return conn.execute(_filtered(q, district, area)).scalar()


def ranking(conn: Connection, *, district: str | None = None, area: str | None = None,
            night: str | None = None, limit: int = 50, offset: int = 0
            ) -> tuple[list[dict[str, Any]], int]:
    """Nodes by unsafe-spot score for one night, most unsafe first, with their place.

    `district` is a district id (`korangi`); `area` an area id or name (`korangi-5`,
    `Korangi 5`); `night` a local date `YYYY-MM-DD` (the evening's), by default the
    latest night that has scores within the filter. Returns (rows, total count)."""
    if night is None:
        night = latest_night(conn, district=district, area=area)
        if night is None:
            return [], 0
    base = _filtered(
        select(SpotScore.node_id).join(Node, Node.id == SpotScore.node_id)
        .where(SpotScore.night == night), district, area)
    count = conn.execute(select(func.count()).select_from(base.subquery())).scalar_one()
    q = _filtered(
        select(SpotScore.node_id, Node.district_id, District.name, Node.area_id, Area.name,
               Node.pole, Node.lat, Node.lon, SpotScore.night, SpotScore.dark_minutes,
               SpotScore.exposure, SpotScore.score)
        .join(Node, Node.id == SpotScore.node_id)
        .join(Area, Area.id == Node.area_id)
        .join(District, District.id == Node.district_id)
        .where(SpotScore.night == night), district, area)
    q = q.order_by(SpotScore.score.desc(), SpotScore.dark_minutes.desc(), SpotScore.node_id)
    rows = []
    for rank, r in enumerate(conn.execute(q.limit(limit).offset(offset)), start=offset + 1):
        rows.append(dict(rank=rank, node=r[0], district=r[1], district_name=r[2], area=r[3],
                         area_name=r[4], pole=r[5], lat=r[6], lon=r[7], night=r[8],
                         dark_minutes=r[9], exposure=r[10], score=r[11]))
    return rows, count


def rescore(conn: Connection, settings: SpotSettings, *, since_night: str,
            until_night: str | None = None) -> int:
    """Recompute `score` from `exposure` and today's weights for nights in a range, e.g.
    after importing incidents. Returns how many rows were rescored."""
    weights = Weights(settings)
    weights.refresh(conn)
    q = (select(SpotScore.node_id, SpotScore.night, Node.lat, Node.lon)
         .join(Node, Node.id == SpotScore.node_id)
         .where(SpotScore.night >= since_night, Node.lat.is_not(None),
                Node.lon.is_not(None)))
    if until_night is not None:
        q = q.where(SpotScore.night <= until_night)
    rows = [dict(node_id=n, night=night, factor=weights.factor(lat, lon, night))
            for n, night, lat, lon in conn.execute(q)]
    for start in range(0, len(rows), 5000):
        set_scores(conn, rows[start:start + 5000])
    return len(rows)


def nights_affected(first_ts: float, last_ts: float, settings: SpotSettings) -> tuple[str, str]:
    """Nights whose incident window (the `incident_days` before them) holds any of the
    incidents between two times."""
    tz = settings.tz
    first = dt.datetime.fromtimestamp(first_ts, tz).date() - dt.timedelta(days=1)
    last = (dt.datetime.fromtimestamp(last_ts, tz).date()
            + dt.timedelta(days=settings.incident_days))
    return first.isoformat(), last.isoformat()
