"""GeoJSON (RFC 7946) and CSV renderings of nodes, alerts and tickets for the exports
under /api/v1/export. What goes in is already scoped by the caller (hub.api.deps)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterable, Sequence
from typing import Any

GEOJSON = "application/geo+json"
CSV = "text/csv; charset=utf-8"


def point(lon: float | None, lat: float | None) -> dict[str, Any] | None:
    if lon is None or lat is None:
        return None
    # 6 decimal places are 0.1 m: plenty for a lamp post, and a third fewer bytes
    return {"type": "Point", "coordinates": [round(lon, 6), round(lat, 6)]}


def feature(ident: object, geometry: dict[str, Any] | None,
            properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "Feature", "id": ident, "geometry": geometry, "properties": properties}


def feature_collection(features: list[dict[str, Any]], *, count: int, limit: int,
                       offset: int) -> bytes:
    # count/limit/offset are foreign members (RFC 7946 §6.1): the export is paged like
    # every list, and a client knows whether to ask for more.
    body = {"type": "FeatureCollection", "features": features, "count": count,
            "limit": limit, "offset": offset}
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def iso(ts: float | None) -> str:
    if ts is None:
        return ""
    return dt.datetime.fromtimestamp(ts, dt.UTC).isoformat(timespec="seconds").replace(
        "+00:00", "Z")


def local_iso(ts: float | None, tz: dt.tzinfo) -> str:
    """The time as people in the city read it, with its offset (2026-01-31T23:00:00+05:00):
    a spreadsheet shows local time, and the offset keeps it exact."""
    if ts is None:
        return ""
    return dt.datetime.fromtimestamp(ts, tz).isoformat(timespec="seconds")


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> Any:
    """Text that a spreadsheet would run as a formula is quoted with an apostrophe."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """CSV starting with a byte order mark: Excel reads a file without one in the
    computer's ANSI code page and shows Urdu names as mojibake."""
    out = io.StringIO()
    out.write("\ufeff")
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(header)
    for r in rows:
        w.writerow([_cell(v) for v in r])
    return out.getvalue()
