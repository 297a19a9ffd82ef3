"""InfluxDB line protocol for Roshni's measurements (DESIGN.md §5).

Field types follow the payload schema, never the JSON value, so a field keeps one type in
InfluxDB forever (`lux` 3 is written as the float 3.0, `footfall` as the integer 3i).
Hand-written because it is the ingest hot path: influxdb-client's `Point` costs ~10x more.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from protocol.payloads import READING_FIELD_TYPES

_TAG_ESCAPE = str.maketrans({",": r"\,", " ": r"\ ", "=": r"\=", "\n": " ", "\r": " "})
_FIELD_KEY_ESCAPE = _TAG_ESCAPE
_READING_FIELDS = tuple(READING_FIELD_TYPES.items())


def tag_value(value: str) -> str:
    # An empty tag value is invalid line protocol; the registry never produces one.
    return value.translate(_TAG_ESCAPE) or "none"


def series_key(measurement: str, tags: Mapping[str, str]) -> str:
    """`measurement,tag=value,…` with tags sorted, as InfluxDB prefers; cache it per node."""
    return measurement + "".join(
        f",{k}={tag_value(v)}" for k, v in sorted(tags.items()))


def _string_field(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def field(key: str, value: Any, kind: type | None = None) -> str | None:
    """One `key=value` pair typed by `kind` (or by the value), None if not representable."""
    kind = kind or type(value)
    k = key.translate(_FIELD_KEY_ESCAPE)
    if kind is bool:
        return f"{k}={'true' if value else 'false'}"
    if kind is int:
        return f"{k}={int(value)}i"
    if kind is float:
        f = float(value)
        return f"{k}={f!r}" if math.isfinite(f) else None
    if kind is str:
        return f"{k}={_string_field(str(value))}"
    return None


def reading_line(key: str, reading: object, ts_ms: int) -> str:
    """A validated `protocol.payloads.Reading` as one line under the series `key`."""
    parts = []
    for name, kind in _READING_FIELDS:
        value = getattr(reading, name)
        if value is None:
            continue
        if kind is float:
            parts.append(f"{name}={float(value)!r}")
        elif kind is int:
            parts.append(f"{name}={value}i")
        else:
            parts.append(f"{name}={'true' if value else 'false'}")
    return f"{key} {','.join(parts)} {ts_ms}"


def line(key: str, fields: Mapping[str, Any], ts_ms: int) -> str | None:
    """A line from loosely typed fields (events, status); None if no field is representable."""
    parts = [p for k, v in fields.items() if v is not None and (p := field(k, v)) is not None]
    if not parts:
        return None
    return f"{key} {','.join(parts)} {ts_ms}"
