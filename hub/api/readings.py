"""`GET /api/v1/nodes/{id}/readings?start=&stop=&every=`: a node's readings from InfluxDB,
raw or downsampled, through InfluxQL over /query (InfluxDB 1.x, 2.x and 3.x all answer it,
whichever `influx.api` the hub writes with)."""

from __future__ import annotations

import datetime as dt
import math
import re
import time
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query

from hub.api.deps import EPOCH_MAX, ApiDep, ConnDep, NodesRead
from hub.api.nodes import visible_node
from hub.api.schemas import Readings
from hub.influx import Influx, InfluxError, Rejected
from protocol.payloads import READING_FIELD_TYPES

router = APIRouter(prefix="/nodes", tags=["nodes"])

# How each field is summarised over a bucket: counts add up, meters and states keep their
# last value, levels average, temperatures and backlogs show their worst.
AGGREGATES = {
    "lamp_on": "last", "lux": "mean", "lamp_w": "mean", "lamp_a": "mean", "mains_v": "mean",
    "energy_wh": "last", "footfall": "sum", "presence_s": "sum", "tamper": "last",
    "cpu_c": "max", "uptime_s": "last", "rssi_dbm": "mean", "spool": "max",
    "interval_s": "last",
    "level": "mean", "level_avg": "mean",  # the commanded output, % (DESIGN.md §11)
}
FIELDS = tuple(f for f in READING_FIELD_TYPES if f != "seq")
MAX_POINTS = 5000
MAX_RAW = 10000
MAX_RANGE_S = 400 * 86400.0
DEFAULT_RANGE_S = 86400.0
_EVERY_RE = re.compile(r"^([1-9][0-9]*)(s|m|h|d|w)$")
_RELATIVE_RE = re.compile(r"^-([0-9]+(?:\.[0-9]+)?)(s|m|h|d|w)$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_time(name: str, value: str | None, now: float) -> float | None:
    """Epoch seconds, ISO 8601 (UTC unless it has an offset), `now` or `-7d`, between 1970
    and InfluxDB's last representable time (EPOCH_MAX)."""
    t = _parse_time(name, value, now)
    if t is not None and not 0 <= t <= EPOCH_MAX:
        raise HTTPException(400, f"{name}={value!r} is outside 1970-01-01 to 2262-04-11")
    return t


def _parse_time(name: str, value: str | None, now: float) -> float | None:
    if value is None or value == "":
        return None
    v = value.strip()
    if v == "now":
        return now
    m = _RELATIVE_RE.match(v)
    if m:
        return now - float(m.group(1)) * _UNIT_S[m.group(2)]
    try:
        t = float(v)
    except ValueError:
        try:
            d = dt.datetime.fromisoformat(v)
        except ValueError:
            raise HTTPException(400, f"{name}={value!r} is not a time: give epoch seconds, "
                                     "ISO 8601 (2026-01-31T18:00:00+05:00), 'now' or a "
                                     "relative time such as -24h or -7d") from None
        if d.tzinfo is None:
            d = d.replace(tzinfo=dt.UTC)
        return d.timestamp()
    if not math.isfinite(t):
        raise HTTPException(400, f"{name}={value!r} is not a time")
    return t


def parse_every(every: str | None) -> int | None:
    if every is None or every == "":
        return None
    m = _EVERY_RE.match(every.strip())
    if not m:
        raise HTTPException(400, f"every={every!r}: give a duration such as 30s, 5m, 1h or 1d")
    return int(m.group(1)) * _UNIT_S[m.group(2)]


def parse_fields(fields: str | None) -> list[str]:
    if not fields:
        return list(FIELDS)
    wanted = [f.strip() for f in fields.split(",") if f.strip()]
    unknown = [f for f in wanted if f not in FIELDS]
    if unknown or not wanted:
        raise HTTPException(400, f"unknown fields {unknown}; fields: {', '.join(FIELDS)}")
    return wanted


def _where(node_id: str, start: float, stop: float) -> str:
    # node ids are [a-z0-9-] (checked by the registry and visible_node), so quoting is safe
    return (f"\"node\" = '{node_id}' AND time >= {int(start * 1000)}ms "
            f"AND time < {int(stop * 1000)}ms")


def _rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for series in result.get("series", []):
        cols = series["columns"]
        for values in series["values"]:
            out.append(dict(zip(cols, values, strict=True)))
    return out


def query_raw(influx: Influx, node_id: str, start: float, stop: float, fields: list[str],
              limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
    where = _where(node_id, start, stop)
    cols = ", ".join(f'"{f}"' for f in ("seq", *fields))
    results = influx.query(
        f'SELECT count("seq") AS "n" FROM "reading" WHERE {where}; '
        f'SELECT {cols} FROM "reading" WHERE {where} ORDER BY time ASC '
        f"LIMIT {limit} OFFSET {offset}")
    counted = _rows(results[0])
    count = int(counted[0]["n"]) if counted else 0
    data = []
    for r in _rows(results[1]):
        point = {"ts": r.pop("time") / 1000.0}
        point.update((k, v) for k, v in r.items() if v is not None)
        data.append(point)
    return data, count


def query_every(influx: Influx, node_id: str, start: float, stop: float, fields: list[str],
                every_s: int) -> list[dict[str, Any]]:
    where = _where(node_id, start, stop)
    group = f"GROUP BY time({every_s}s) fill(none)"
    aggs = ", ".join(f'{AGGREGATES[f]}("{f}") AS "{f}"' for f in fields)
    statements = [f'SELECT {aggs}, count("seq") AS "readings" FROM "reading" '
                  f"WHERE {where} {group}"]
    with_lamp = "lamp_on" in fields
    if with_lamp:
        # InfluxQL cannot average a boolean: count the readings with the lamp on instead.
        statements.append(f'SELECT count("lamp_on") AS "n" FROM "reading" WHERE {where} '
                          f"{group}")
        statements.append(f'SELECT count("lamp_on") AS "n" FROM "reading" WHERE {where} '
                          f'AND "lamp_on" = true {group}')
    results = influx.query("; ".join(statements))
    points: dict[int, dict[str, Any]] = {}
    for r in _rows(results[0]):
        t = r.pop("time")
        points[t] = {"ts": t / 1000.0, **{k: v for k, v in r.items() if v is not None}}
    if with_lamp:
        totals = {r["time"]: r["n"] for r in _rows(results[1])}
        on = {r["time"]: r["n"] for r in _rows(results[2])}
        for t, p in points.items():
            n = totals.get(t) or 0
            if n:
                p["lamp_on_ratio"] = round(on.get(t, 0) / n, 4)
    return [points[t] for t in sorted(points)]


@router.get("/{node_id}/readings", response_model=Readings,
            responses={400: {"description": "bad start, stop, every or fields"},
                       503: {"description": "InfluxDB is not answering"}})
def read_readings(node_id: str, scope: NodesRead, conn: ConnDep, api: ApiDep,
                  start: str | None = None, stop: str | None = None,
                  every: str | None = None, fields: str | None = None,
                  limit: Annotated[int, Query(ge=1, le=MAX_RAW)] = 1000,
                  offset: Annotated[int, Query(ge=0)] = 0) -> Readings:
    """`start`/`stop`: epoch seconds, ISO 8601, `now` or relative (`-7d`); default the last
    24 h. `every`: downsample into buckets (`5m`, `1h`, `1d`); each field is summarised as
    `aggregates` says, and `lamp_on_ratio` is the share of readings with the lamp on.
    Without `every`, raw readings, `limit` at a time."""
    visible_node(conn, scope, node_id)
    conn.rollback()  # nothing more from SQL; do not hold a read open while InfluxDB works
    now = time.time()
    t_stop = parse_time("stop", stop, now)
    if t_stop is None:
        t_stop = now
    t_start = parse_time("start", start, now)
    if t_start is None:
        t_start = t_stop - DEFAULT_RANGE_S
    if t_start >= t_stop:
        raise HTTPException(400, "start must be before stop")
    if t_stop - t_start > MAX_RANGE_S:
        raise HTTPException(400, f"at most {MAX_RANGE_S / 86400:.0f} days at once")
    every_s = parse_every(every)
    wanted = parse_fields(fields)
    try:
        if every_s is None:
            data, count = query_raw(api.influx, node_id, t_start, t_stop, wanted, limit,
                                    offset)
            aggregates: dict[str, str] = {}
        else:
            buckets = (t_stop - t_start) / every_s
            if buckets > MAX_POINTS:
                least = math.ceil((t_stop - t_start) / MAX_POINTS)
                raise HTTPException(400, f"every={every} gives {buckets:.0f} points; at most "
                                         f"{MAX_POINTS}: choose every of {least}s or more")
            points = query_every(api.influx, node_id, t_start, t_stop, wanted, every_s)
            data, count = points[offset:offset + limit], len(points)
            aggregates = {f: AGGREGATES[f] for f in wanted}
    except Rejected as err:
        raise HTTPException(502, f"InfluxDB refused the query: {err}") from None
    except InfluxError as err:
        raise HTTPException(503, f"InfluxDB is not answering: {err}") from None
    return Readings(node=node_id, start=t_start, stop=t_stop, every=every,
                    aggregates=aggregates, data=data, count=count)
