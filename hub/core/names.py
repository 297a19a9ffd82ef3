"""Ids made from the names people type: areas, feeders."""

from __future__ import annotations

import re

_SLUG_RE = re.compile(r"[^a-z0-9]+")


def slug(name: str) -> str:
    """`Korangi 5` -> `korangi-5`: the id of an area or a feeder named by a person."""
    return _SLUG_RE.sub("-", name.strip().lower()).strip("-")
