"""The node registry as ingest sees it: tags for InfluxDB, status and clock bookkeeping.

Tags come from here, never from the payload, so a node cannot move itself to another
district (DESIGN.md §5). A node that is heard from but not registered is created *pending*
in district `unassigned` (DESIGN.md §10).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, insert, select

from hub.core.names import slug
from hub.db import writing
from hub.lineproto import series_key
from hub.models import Area, District, Node

UNASSIGNED = "unassigned"


@dataclass(slots=True)
class NodeInfo:
    id: str
    state: str
    district: str
    area: str
    provisioned_at: float | None
    first_seen: float | None
    session: int = -1
    status: str = "unknown"
    keys: dict[str, str] = field(default_factory=dict)

    def key(self, measurement: str) -> str:
        """Cached `measurement,area=…,district=…,node=…` series key."""
        k = self.keys.get(measurement)
        if k is None:
            k = self.keys[measurement] = series_key(
                measurement, {"node": self.id, "district": self.district, "area": self.area})
        return k

    def plausible_from(self, floor: float) -> float:
        """Earliest believable reading time: not before the node was provisioned. A pending
        node may be replaying history from before we heard of it, so only `floor` applies."""
        return max(floor, self.provisioned_at) if self.provisioned_at else floor

    @property
    def count_as(self) -> str:
        """Its label in the `nodes` gauge: an active node by its status."""
        if self.state != "active":
            return self.state
        return self.status if self.status in ("online", "offline") else "unknown"


_COLUMNS = (Node.id, Node.state, Node.district_id, Node.area_id, Node.provisioned_at,
            Node.first_seen, Node.session, Node.status)


class Registry:
    """In-memory view of `nodes`, loaded once and kept current by ingest and the API."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._nodes: dict[str, NodeInfo] = {}
        # Kept as nodes change, not counted at each scrape: /metrics on a city of 100 000
        # nodes walked them all (~20 ms of the GIL each time).
        self._counts: Counter[str] = Counter()
        self._since = -1.0
        self.refresh()

    def refresh(self) -> int:
        """Take in nodes registered or changed (by the API, `roshni provision`, another
        worker) since the last call; return how many."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(*_COLUMNS, Node.updated_at)
                                .where(Node.updated_at > self._since)).all()
        for r in rows:
            self._put(NodeInfo(*r[:-1]))
            self._since = max(self._since, r[-1])
        return len(rows)

    def _put(self, info: NodeInfo) -> None:
        old = self._nodes.get(info.id)
        if old is not None:
            self._counts[old.count_as] -= 1
        self._nodes[info.id] = info
        self._counts[info.count_as] += 1

    def get(self, node_id: str) -> NodeInfo | None:
        return self._nodes.get(node_id)

    def lookup(self, node_id: str) -> NodeInfo | None:
        """`get`, falling back to the database for a node registered since the last refresh."""
        info = self._nodes.get(node_id)
        if info is None:
            with self.engine.connect() as conn:
                r = conn.execute(select(*_COLUMNS).where(Node.id == node_id)).first()
            if r is not None:
                info = NodeInfo(*r)
                self._put(info)
        return info

    @staticmethod
    def new_pending(node_id: str, now: float) -> NodeInfo:
        """A node heard from but not registered; `apply` it once it is in the database."""
        return NodeInfo(node_id, "pending", UNASSIGNED, UNASSIGNED, None, now)

    def apply(self, new_nodes: Iterable[NodeInfo], status: Mapping[str, Mapping[str, Any]]
              ) -> None:
        """Take in what a committed ingest batch wrote."""
        for info in new_nodes:
            self._put(info)
        for node_id, values in status.items():
            info = self._nodes.get(node_id)
            if info is not None:
                self._counts[info.count_as] -= 1
                info.session, info.status = values["session"], values["status"]
                self._counts[info.count_as] += 1

    def counts(self) -> dict[str, int]:
        return dict(self._counts.copy())  # a copy first: ingest's thread changes it


def ensure_area(conn, district: str, area_name: str) -> str:  # type: ignore[no-untyped-def]
    """Area id for a name in a district, created on first use (DESIGN.md §10)."""
    if conn.execute(select(District.id).where(District.id == district)).first() is None:
        raise ValueError(f"unknown district {district!r}")
    area_id = slug(area_name)
    if not area_id:
        raise ValueError(f"area name {area_name!r} has no letters or digits")
    _fits(Area, "area ", name=area_name, id=area_id)
    row = conn.execute(select(Area.district_id).where(Area.id == area_id)).first()
    if row is None:
        conn.execute(insert(Area).values(id=area_id, district_id=district, name=area_name))
    elif row[0] != district:
        raise ValueError(f"area {area_id!r} belongs to district {row[0]!r}, not {district!r}")
    return area_id


def _fits(model: type, what: str = "", **values: object) -> None:
    """Refuse text longer than its column: PostgreSQL would fail the transaction with a
    database error where SQLite stores any length, so both refuse it the same way."""
    for name, value in values.items():
        length = getattr(model.__table__.c[name].type, "length", None)  # type: ignore[attr-defined]
        if isinstance(value, str) and length is not None and len(value) > length:
            shown = value if len(value) <= 40 else value[:40] + "…"
            raise ValueError(f"{what}{name} {shown!r} is longer than {length} characters")


def feeder_id(name: str | None) -> str | None:
    """The id of the electricity feeder a node hangs on: a slug like an area's (no table:
    a feeder is known by the nodes provisioned on it)."""
    if name is None:
        return None
    feeder = slug(name)
    if not feeder:
        raise ValueError(f"feeder name {name!r} has no letters or digits")
    return feeder


def provision(engine: Engine, node_id: str, *, district: str, area: str, lat: float, lon: float,
              rated_w: float | None = None, profile: str | None = None,
              pole: str | None = None, lamp_model: str | None = None,
              feeder: str | None = None) -> None:
    """Register (or re-register) a node; a pending node keeps its history and becomes
    active, and so does a revoked one that is provisioned again."""
    now = time.time()
    with writing(engine) as conn:
        area_id = ensure_area(conn, district, area)
        values = dict(state="active", district_id=district, area_id=area_id, lat=lat, lon=lon,
                      rated_w=rated_w, profile=profile, pole=pole, lamp_model=lamp_model,
                      updated_at=now)
        values["feeder"] = feeder_id(feeder)
        _fits(Node, **values)
        existing = conn.execute(select(Node.provisioned_at, Node.first_seen)
                                .where(Node.id == node_id)).first()
        if existing:
            # A pending node's history from before it was assigned is still its history.
            since = existing[0] or min(t for t in (existing[1], now) if t)
            conn.execute(Node.__table__.update().where(Node.id == node_id)
                         .values(provisioned_at=since, **values))
        else:
            conn.execute(insert(Node).values(id=node_id, provisioned_at=now, status="unknown",
                                             session=-1, clock_faults=0, **values))


REVOKED = "revoked"


def revoke(engine: Engine, node_id: str) -> str:
    """Mark a node revoked (its credentials are gone; it raises nothing any more) and
    return the state it had. Its history stays."""
    with writing(engine) as conn:
        row = conn.execute(select(Node.state).where(Node.id == node_id)).first()
        if row is None:
            raise LookupError(f"no node {node_id!r} is registered")
        conn.execute(Node.__table__.update().where(Node.id == node_id)
                     .values(state=REVOKED, updated_at=time.time()))
        return str(row[0])
