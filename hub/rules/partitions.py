"""How the rules' work is cut into partitions, each with one owner at a time (DESIGN.md §9).

A power cut is judged over every node of an area or of a feeder at once, so the unit of
ownership must keep each such group whole. Feeders may cross areas: the areas a feeder
joins, and the feeders they share, form one component (union-find over the `(area,
feeder)` pairs of the nodes), and a component belongs to one partition, chosen by a
stable hash of its first area. Every worker computes the same map from the same rows, so
ingest files a reading under the partition whose owner will judge it.

As ThingsBoard does with its rule-engine partitions and Kafka with a consumer group's,
the number of partitions is fixed (`[rules] partitions`) and much larger than the number
of workers: workers come and go, partitions only change hands.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable

from sqlalchemy import Connection, select

from hub.models import Node
from hub.rules.state import AREA, FEEDER, area_subject, feeder_subject

REFRESH_S = 2.0


class Partitions:
    def __init__(self, count: int, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.count = count
        self._monotonic = monotonic
        self._refreshed: float | None = None
        self._pairs: frozenset[tuple[str, str]] = frozenset()
        self._key: dict[str, str] = {}  # group subject -> its component's key
        # Grows whenever the map changes, so owners know to reload what they hold.
        self.version = 0

    def refresh(self, conn: Connection, force: bool = False) -> None:
        now = self._monotonic()
        if not force and self._refreshed is not None and now - self._refreshed < REFRESH_S:
            return
        self._refreshed = now
        pairs = frozenset((a, f) for a, f in conn.execute(
            select(Node.area_id, Node.feeder).where(Node.feeder.is_not(None)).distinct()))
        if pairs != self._pairs:
            self._pairs = pairs
            self._key = _components(pairs)
            self.version += 1

    def of_area(self, area: str) -> int:
        subject = area_subject(area)
        return self._part(self._key.get(subject, subject))

    def of_feeder(self, feeder: str) -> int:
        subject = feeder_subject(feeder)
        return self._part(self._key.get(subject, subject))

    def of_group(self, subject: str) -> int:
        if subject.startswith(AREA):
            return self.of_area(subject[len(AREA):])
        assert subject.startswith(FEEDER)
        return self.of_feeder(subject[len(FEEDER):])

    def _part(self, key: str) -> int:
        return zlib.crc32(key.encode()) % self.count


def _components(pairs: frozenset[tuple[str, str]]) -> dict[str, str]:
    """Each group subject joined to another -> the smallest area subject of its component."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for area, feeder in pairs:
        a, f = find(area_subject(area)), find(feeder_subject(feeder))
        if a != f:
            # Areas sort before feeders ("area:" < "feeder:"): a root is always an area.
            lo, hi = sorted((a, f))
            parent[hi] = lo
    return {x: find(x) for x in list(parent)}
