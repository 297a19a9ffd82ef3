"""Where each lamp is and what it is rated for, as the rules need it: coordinates (night
and day), rated power (low power), district and area (who is told), and which active
nodes make up each area and each feeder (power cuts). Kept current like the ingest
registry: rows changed since the last look, by `nodes.updated_at`."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Connection, select

from hub.models import Node
from hub.rules.state import AREA, area_subject, feeder_subject

REFRESH_S = 2.0


@dataclass(frozen=True, slots=True)
class Site:
    id: str
    active: bool  # assigned by a technician; pending nodes raise nothing (DESIGN.md §10)
    district: str
    area: str
    lat: float | None
    lon: float | None
    rated_w: float | None
    pole: str | None
    feeder: str | None = None

    @property
    def watched(self) -> bool:
        """The rules apply: an assigned node whose place we know."""
        return self.active and self.lat is not None and self.lon is not None

    @property
    def groups(self) -> tuple[str, ...]:
        """The power-cut groups the node is in (`rule_state` subjects): its feeder, if
        known, then its area. Feeder first: a node whose feeder's cut explains it being
        dark is not evidence of a cut of its area as well (see RulesEngine._judge_group)."""
        area = area_subject(self.area)
        return (feeder_subject(self.feeder), area) if self.feeder else (area,)


_COLUMNS = (Node.id, Node.state, Node.district_id, Node.area_id, Node.lat, Node.lon,
            Node.rated_w, Node.pole, Node.feeder)


class Sites:
    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._sites: dict[str, Site] = {}
        self._members: dict[str, set[str]] = {}  # group subject -> active node ids
        self._districts: dict[str, str] = {}  # area id -> district id
        self._since = -1.0
        self._monotonic = monotonic
        self._refreshed: float | None = None

    def refresh(self, conn: Connection, force: bool = False) -> None:
        now = self._monotonic()
        if not force and self._refreshed is not None and now - self._refreshed < REFRESH_S:
            return
        self._refreshed = now
        for *row, updated in conn.execute(select(*_COLUMNS, Node.updated_at)
                                          .where(Node.updated_at > self._since)):
            self._put(_site(row))
            self._since = max(self._since, updated)

    def get(self, conn: Connection, node_id: str) -> Site | None:
        site = self._sites.get(node_id)
        if site is None:
            row = conn.execute(select(*_COLUMNS).where(Node.id == node_id)).first()
            if row is None:
                return None
            site = _site(row)
            self._put(site)
        return site

    def peek(self, node_id: str) -> Site | None:
        return self._sites.get(node_id)

    def members(self, group: str) -> set[str]:
        """Active nodes of an area or a feeder (a `Site.groups` subject)."""
        return self._members.get(group, set())

    def district_of(self, area: str) -> str | None:
        return self._districts.get(area)

    def filed_under(self, group: str) -> tuple[str, str] | None:
        """(district, area) a group's power cut is filed under, so that the committee and
        district who know the place see it. An area's is itself. A feeder may span areas:
        its cut goes to the area most of its active nodes are in (of equals, the first by
        id); the alert's detail names the feeder and every area it supplies."""
        if group.startswith(AREA):
            area = group[len(AREA):]
        else:
            counts = Counter(s.area for m in self.members(group)
                             if (s := self._sites.get(m)) is not None)
            if not counts:
                return None
            area = min(counts, key=lambda a: (-counts[a], a))
        district = self._districts.get(area)
        return None if district is None else (district, area)

    def areas_of(self, group: str) -> list[str]:
        """The areas a group's active nodes are in, by id."""
        return sorted({s.area for m in self.members(group)
                       if (s := self._sites.get(m)) is not None})

    def _put(self, site: Site) -> None:
        old = self._sites.get(site.id)
        if old is not None:
            for group in old.groups:
                self._members.get(group, set()).discard(site.id)
        self._sites[site.id] = site
        self._districts[site.area] = site.district
        if site.active:
            for group in site.groups:
                self._members.setdefault(group, set()).add(site.id)


def _site(row) -> Site:  # type: ignore[no-untyped-def]
    node_id, state, district, area, lat, lon, rated_w, pole, feeder = row
    return Site(node_id, state == "active", district, area, lat, lon, rated_w, pole, feeder)
