"""`/api/v1/areas/outlines`: the areas a user may see as GeoJSON polygons, so the
dashboard's map shows where each area is without a tile server. An area's outline is the
one configured in `[dashboard] area_outlines` (a GeoJSON file), else drawn around its
active lamp posts (hub/outlines.py)."""

from __future__ import annotations

import json
import logging
from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi import APIRouter
from sqlalchemy import select

from hub.api.deps import ApiDep, ConnDep, NodesRead
from hub.core.names import slug
from hub.models import Area, Node
from hub.outlines import outline

router = APIRouter(prefix="/areas", tags=["areas"])
log = logging.getLogger(__name__)


@lru_cache(maxsize=4)
def _configured(path: str, mtime: float) -> dict[str, dict[str, Any]]:
    """Geometries by area id from the operator's file (features with properties.area:
    the area's id or name); read again when the file changes."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    out = {}
    for f in data.get("features", []):
        area = (f.get("properties") or {}).get("area")
        if area and isinstance(f.get("geometry"), dict):
            out[slug(str(area))] = f["geometry"]
    return out


def configured_outlines(path: Path | None) -> dict[str, dict[str, Any]]:
    if path is None:
        return {}
    try:
        return _configured(str(path), path.stat().st_mtime)
    except (OSError, ValueError, AttributeError) as err:
        # a broken file must not take the map down: the drawn outlines stand in
        log.warning("[dashboard] area_outlines %s is unusable: %s", path, err)
        return {}


@router.get("/outlines")
def read_area_outlines(scope: NodesRead, conn: ConnDep, api: ApiDep) -> dict[str, Any]:
    """A GeoJSON FeatureCollection: one feature per area in the user's scope with its
    `id`, `name`, `district`, `lamps` (active posts) and `source` (`configured` or
    `posts`)."""
    place = scope.place(None, None)
    if place is None:
        return {"type": "FeatureCollection", "features": []}
    rows = conn.execute(
        select(Area.id, Area.name, Area.district_id, Node.lon, Node.lat)
        .join(Node, Node.area_id == Area.id)
        .where(Node.state == "active", Node.lat.is_not(None), Node.lon.is_not(None),
               place.where(Node.district_id, Node.area_id))).all()
    areas: dict[str, dict[str, Any]] = {}
    for r in rows:
        a = areas.setdefault(r.id, {"name": r.name, "district": r.district_id, "points": []})
        a["points"].append((r.lon, r.lat))
    given = configured_outlines(api.settings.dashboard.area_outlines)
    features = []
    for area_id, a in sorted(areas.items()):
        geometry = given.get(area_id)
        source = "configured"
        if geometry is None:
            ring = outline(a["points"])
            if ring is None:
                continue
            geometry, source = {"type": "Polygon", "coordinates": [ring]}, "posts"
        features.append({"type": "Feature", "geometry": geometry, "properties": {
            "id": area_id, "name": a["name"], "district": a["district"],
            "lamps": len(a["points"]), "source": source}})
    return {"type": "FeatureCollection", "features": features}
