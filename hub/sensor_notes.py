"""The sensor's notes on a ticket as a code with parameters, for pages that speak other
languages than English. The notes are stored as English sentences (hub/rules/effects.py
writes them); this reads the few shapes the sensor writes back into their parts."""

from __future__ import annotations

import re
from typing import Any

from hub.rules.policy import POLICIES

_RULE_BY_TITLE = {p.title: rule for rule, p in POLICIES.items()}
_FOUND = re.compile(r"^(?P<title>.+), found by the sensor$")
_MINUTES = [
    ("sensor_verified_night", re.compile(r"^the lamp has worked at night for (\d+) min$")),
    ("sensor_verified_day", re.compile(r"^the lamp has stayed off by day for (\d+) min$")),
    ("sensor_reopened", re.compile(
        r"^the fault is still there (\d+) min after the ticket was marked fixed$")),
]


def sensor_note(note: str) -> tuple[str, dict[str, Any]] | None:
    """("sensor_found", {"fault": "flicker"}) for "Flickering lamp, found by the sensor";
    None for a note the sensor does not write (a person's words stay their words)."""
    if (m := _FOUND.match(note)) and m["title"] in _RULE_BY_TITLE:
        return "sensor_found", {"fault": _RULE_BY_TITLE[m["title"]]}
    for code, pattern in _MINUTES:
        if m := pattern.match(note):
            return code, {"minutes": int(m[1])}
    return None
