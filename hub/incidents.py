"""Import the committee's own incident data (CSV: timestamp, lat, lon, category) to weight
the unsafe-spot score (DESIGN.md §6).

Every good row is imported and every bad row is reported with its line number; a row
already in the database (same time to the second, place to ~1 m and category) is a
duplicate, so importing a file twice, or an export that overlaps the last one, adds
nothing.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import math
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from hub.core.spots_settings import SpotSettings
from hub.models import Incident
from hub.spots.queries import nights_affected, rescore
from hub.upsert import insert_new

# Accepted header names for each column (case-insensitive).
COLUMNS = {
    "timestamp": ("timestamp", "time", "datetime", "date"),
    "lat": ("lat", "latitude"),
    "lon": ("lon", "lng", "long", "longitude"),
    "category": ("category", "type", "kind"),
}
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
# Epoch values above this are milliseconds (as seconds they would be after the year 5000).
_MS_THRESHOLD = 1e11
MAX_CATEGORY = 64


class ImportFileError(ValueError):
    """The file as a whole cannot be read (missing, not CSV, columns missing)."""


@dataclass
class ImportResult:
    imported: int = 0
    duplicates: int = 0
    # (line number, what is wrong), for rows left out
    bad: list[tuple[int, str]] = field(default_factory=list)
    rescored: int = 0

    @property
    def skipped(self) -> int:
        return len(self.bad)

    def summary(self) -> str:
        return (f"imported {self.imported}, duplicate {self.duplicates}, "
                f"skipped {self.skipped} bad row{'s' if self.skipped != 1 else ''}")


@dataclass(frozen=True, slots=True)
class Row:
    line: int
    ts: float
    lat: float
    lon: float
    category: str

    @property
    def fingerprint(self) -> str:
        key = f"{round(self.ts)}|{self.lat:.5f}|{self.lon:.5f}|{self.category.casefold()}"
        return hashlib.sha256(key.encode()).hexdigest()


def parse_timestamp(text: str, tz: ZoneInfo) -> float:
    """ISO 8601 (local time `tz` when it has no offset) or epoch seconds / milliseconds."""
    text = text.strip()
    if not text:
        raise ValueError("timestamp is empty")
    if _NUMBER.match(text):
        value = float(text)
        return value / 1000.0 if value > _MS_THRESHOLD else value
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"timestamp {text!r} is neither ISO 8601 (2026-03-14T22:15:00+05:00)"
                         " nor epoch seconds") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=tz)
    return when.timestamp()


def _coordinate(text: str, name: str, limit: float) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{name} {text.strip()!r} is not a number") from None
    if not math.isfinite(value) or not -limit <= value <= limit:
        raise ValueError(f"{name} {value} is outside -{limit:g}..{limit:g}")
    return value


def parse_row(line: int, raw: dict[str, str], tz: ZoneInfo, now: float) -> Row:
    ts = parse_timestamp(raw["timestamp"], tz)
    if ts > now + 86400:
        raise ValueError(f"timestamp {raw['timestamp'].strip()!r} is in the future")
    if ts <= 0:
        raise ValueError(f"timestamp {raw['timestamp'].strip()!r} is before 1970")
    lat = _coordinate(raw["lat"], "lat", 90)
    lon = _coordinate(raw["lon"], "lon", 180)
    if lat == 0 and lon == 0:
        raise ValueError("lat/lon 0,0 is not a place (coordinates missing?)")
    category = raw["category"].strip()
    if not category:
        raise ValueError("category is empty")
    if len(category) > MAX_CATEGORY:
        raise ValueError(f"category is longer than {MAX_CATEGORY} characters")
    return Row(line, ts, lat, lon, category)


def read_csv(path: Path, tz: ZoneInfo, now: float | None = None
             ) -> tuple[list[Row], list[tuple[int, str]]]:
    """Good rows and (line, reason) for bad ones. Raises ImportFileError."""
    now = time.time() if now is None else now
    rows: list[Row] = []
    bad: list[tuple[int, str]] = []
    try:
        # utf-8-sig: spreadsheets put a byte-order mark before the header.
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f)
            header = next(reader, None)
            if header is None:
                raise ImportFileError(f"{path}: the file is empty")
            columns = _columns(path, header)
            for cells in reader:
                line = reader.line_num
                if not any(c.strip() for c in cells):
                    continue  # blank line
                if len(cells) < len(header):
                    bad.append((line, f"{len(cells)} fields, the header has {len(header)}"))
                    continue
                raw = {name: cells[i] for name, i in columns.items()}
                try:
                    rows.append(parse_row(line, raw, tz, now))
                except ValueError as err:
                    bad.append((line, str(err)))
    except FileNotFoundError:
        raise ImportFileError(f"{path}: no such file") from None
    except UnicodeDecodeError as err:
        raise ImportFileError(f"{path}: not UTF-8 text ({err.reason} at byte {err.start})"
                              ) from None
    except csv.Error as err:
        raise ImportFileError(f"{path}: not a CSV file ({err})") from None
    return rows, bad


def _columns(path: Path, header: list[str]) -> dict[str, int]:
    names = [h.strip().lower() for h in header]
    found: dict[str, int] = {}
    for column, aliases in COLUMNS.items():
        for i, name in enumerate(names):
            if name in aliases:
                found[column] = i
                break
    missing = [c for c in COLUMNS if c not in found]
    if missing:
        raise ImportFileError(
            f"{path}: line 1: missing column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(missing)}; the header has: {', '.join(header) or '(nothing)'}. "
            f"Expected: timestamp, lat, lon, category")
    return found


def import_incidents(engine: Engine, path: Path, settings: SpotSettings, *,
                     source: str | None = None, now: float | None = None) -> ImportResult:
    """Read `path`, store its new incidents and rescore the nights they weigh on."""
    rows, bad = read_csv(path, settings.tz, now)
    result = ImportResult(bad=bad)
    source = (source or Path(path).name)[:256]
    table = Incident.__table__
    with engine.begin() as conn:
        new: list[Row] = []
        for row in rows:
            if insert_new(conn, table, dict(
                    ts=row.ts, lat=row.lat, lon=row.lon, category=row.category,
                    source=source, fingerprint=row.fingerprint), keys=("fingerprint",)):
                new.append(row)
            else:
                result.duplicates += 1
        result.imported = len(new)
        if new:
            first, last = nights_affected(min(r.ts for r in new), max(r.ts for r in new),
                                          settings)
            result.rescored = rescore(conn, settings, since_night=first, until_night=last)
    return result
