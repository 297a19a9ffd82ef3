"""Energy per lamp, area and district: kWh used, the full-on baseline, saved, and their
cost at the configured tariff (DESIGN.md §11). Counted per reading by the rules engine, with
the lamp's other statistics (`lamp_stats`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Connection, func, select

from hub.models import Area, District, LampStats, Node

GROUPS = ("district", "area", "node")


def totals(conn: Connection, group: str, where: ColumnElement[bool], *,
           tariff: float) -> list[dict[str, Any]]:
    """One row per district, area or node within `where` (a condition on `nodes`), most
    energy saved first."""
    key, name = {
        "district": (Node.district_id, District.name),
        "area": (Node.area_id, Area.name),
        "node": (Node.id, func.coalesce(Node.pole, Node.id)),
    }[group]
    q = (select(key, func.min(name), func.count(Node.id), func.sum(LampStats.used_wh),
                func.sum(LampStats.baseline_wh))
         .select_from(LampStats).join(Node, Node.id == LampStats.node_id)
         .join(Area, Area.id == Node.area_id).join(District, District.id == Node.district_id)
         # a lamp whose rated power nobody entered has no baseline to save against
         .where(where, Node.rated_w.is_not(None)).group_by(key))
    rows = [row(group, k, n, count, used or 0.0, base or 0.0, tariff)
            for k, n, count, used, base in conn.execute(q)]
    rows.sort(key=lambda r: (-r["saved_kwh"], r["id"]))
    return rows


def row(group: str, ident: str, name: str, nodes: int, used_wh: float, baseline_wh: float,
        tariff: float) -> dict[str, Any]:
    used, base = used_wh / 1000.0, baseline_wh / 1000.0
    saved = base - used
    return dict(group=group, id=ident, name=name, nodes=nodes, used_kwh=round(used, 3),
                baseline_kwh=round(base, 3), saved_kwh=round(saved, 3),
                cost_pkr=round(used * tariff, 2), saved_pkr=round(saved * tariff, 2))


def total(rows: list[dict[str, Any]], tariff: float) -> dict[str, Any]:
    used = sum(r["used_kwh"] for r in rows) * 1000.0
    base = sum(r["baseline_kwh"] for r in rows) * 1000.0
    return row("total", "total", "total", sum(r["nodes"] for r in rows), used, base, tariff)
