"""The rules' inbox: how what ingest stored reaches the owner of its partition.

Any worker may store a node's reading (shared subscriptions hand messages round-robin);
only the partition's owner may judge it (hub/rules/owner.py). `RulesInbox` is the ingest
stage that files the batch's readings, events and status changes under their partitions,
in the ingest transaction: committed with the readings or not at all. The owner takes them
in the order they were filed and deletes them in the transaction that commits their
judgement, so a handover neither loses nor repeats one.

A batch's entries of one partition are filed as one row, a pack (a row per reading was an
INSERT and a DELETE per reading, a third of PostgreSQL's work with 100 000 nodes).
"""

from __future__ import annotations

import json
import threading
from typing import TYPE_CHECKING, Any

import msgspec
from sqlalchemy import (
    Connection,
    case,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    union_all,
    update,
)

from hub.core.rules_settings import RulesSettings
from hub.models import HubWorker, RuleInbox
from hub.pipeline import Batch, StatusChange, Stored, StoredEvent
from hub.registry import NodeInfo
from hub.rules.clock import EventClock, is_history
from hub.rules.partitions import Partitions
from hub.upsert import among
from protocol.payloads import Event, Reading

if TYPE_CHECKING:
    from collections.abc import Iterable

READING, EVENT, STATUS, PACK = "r", "e", "s", "p"
# Rows looked at per take: packs hold hundreds of entries each.
TAKE_ROWS = 256


class Packs:
    """The packs this process's ingest filed for partitions this process's rules owner
    holds, as ingest had them: the owner takes them from here without reading their rows'
    bodies back and decoding them again (~9 % of a worker's CPU in `bench/city.py`'s
    profile). A cache: the rows stay the truth, and a pack not here (filed by another
    worker, taken before and rolled back, over `cap`) is read from its row."""

    def __init__(self, cap: int = 50_000) -> None:
        """`cap`: entries held at most (~1.7 KB each: 50 000 is ~85 MB); a pack beyond
        it is read from its row."""
        self.cap = cap
        self._lock = threading.Lock()
        self._parts: frozenset[int] = frozenset()
        self._packs: dict[int, tuple[int, list[tuple[str, Any]]]] = {}
        self._entries = 0

    def own(self, parts: Iterable[int]) -> None:
        """The partitions whose packs to keep; those of others are let go."""
        with self._lock:
            self._parts = frozenset(parts)
            for row_id in [i for i, (part, _) in self._packs.items()
                           if part not in self._parts]:
                self._entries -= len(self._packs.pop(row_id)[1])

    def put(self, packs: Iterable[tuple[int, int, list[tuple[str, Any]]]]) -> None:
        """(row id, partition, [(kind, entry)]) of packs just committed."""
        with self._lock:
            for row_id, part, items in packs:
                if part in self._parts and self._entries + len(items) <= self.cap:
                    self._packs[row_id] = (part, items)
                    self._entries += len(items)

    def take(self, ids: Iterable[int]) -> dict[int, list[tuple[str, Any]]]:
        """The packs of `ids` held here, let go: a transaction that rolls back reads them
        from their rows."""
        out = {}
        with self._lock:
            for row_id in ids:
                got = self._packs.pop(row_id, None)
                if got is not None:
                    out[row_id] = got[1]
                    self._entries -= len(got[1])
        return out


class RulesInbox:
    """Ingest stage: file the batch for the rules.

    Whether a reading is replayed history (DESIGN.md §4: the street had moved on by the
    time it came) is judged here, where it arrived, by this worker's own event clock: the
    rules judge a partition's readings in the order they happened, and by then a node's
    hour-old spool sits among the other nodes' readings of that hour."""

    def __init__(self, partitions: Partitions, settings: RulesSettings,
                 filed: threading.Event | None = None, *, worker: str | None = None,
                 packs: Packs | None = None) -> None:
        """`worker`: this worker's membership row, whose watermark follows what it filed.
        `packs`: where this process's rules owner takes what was filed for it."""
        self.partitions = partitions
        self.settings = settings
        self.clock = EventClock()
        self._staged: EventClock | None = None
        self._staged_packs: list[tuple[int, int, list[tuple[str, Any]]]] = []
        self.worker = worker
        self.packs = packs
        # Set after a commit, so an owner in the same process judges without waiting for
        # its next poll.
        self.filed = filed or threading.Event()
        self._wrote = threading.local()

    def __repr__(self) -> str:
        return f"RulesInbox(partitions={self.partitions.count})"

    def evaluate(self, conn: Connection, batch: Batch) -> None:
        self._judge_lateness(batch)
        entries = list(_entries(batch))
        self._wrote.any = bool(entries)
        if entries:
            self.partitions.refresh(conn)
            packs: dict[int, tuple[list[dict[str, Any]], list[float], list[tuple[str, Any]]]]
            packs = {}
            for area, mark, entry, item in entries:
                body, marks, items = packs.setdefault(self.partitions.of_area(area),
                                                      ([], [], []))
                body.append(entry)
                items.append((entry["k"], item))
                if mark is not None:
                    marks.append(mark)
            parts = sorted(packs)
            rows = [dict(part=part, kind=PACK, node_id=None, ts=max(packs[part][1], default=None),
                         n=len(packs[part][0]), body=msgspec.json.encode(packs[part][0]).decode())
                    for part in parts]
            if self.packs is None:
                conn.execute(insert(RuleInbox), rows)
            else:
                ids = conn.execute(insert(RuleInbox).returning(
                    RuleInbox.id, sort_by_parameter_order=True), rows).scalars().all()
                self._staged_packs = [(row_id, part, packs[part][2])
                                      for row_id, part in zip(ids, parts, strict=True)]
        if self.worker is not None and batch.stored:
            # Several workers file a partition's readings: its owner judges silence only
            # up to the slowest one's mark (hub/membership.py: Hearing.through). Like the
            # event clock, a reading's time counts no later than its arrival.
            mark = max(_mark(s) for s in batch.stored)
            conn.execute(update(HubWorker).where(HubWorker.name == self.worker)
                         .values(watermark=case(
                             (HubWorker.watermark.is_(None), mark),
                             (HubWorker.watermark < mark, mark),
                             else_=HubWorker.watermark)))

    def committed(self) -> None:
        if self._staged is not None:
            self.clock, self._staged = self._staged, None
        if self._staged_packs:
            assert self.packs is not None
            self.packs.put(self._staged_packs)
            self._staged_packs = []
        if getattr(self._wrote, "any", False):
            self.filed.set()

    def rolled_back(self) -> None:
        self._staged = None
        self._staged_packs = []
        self._wrote.any = False

    def _judge_lateness(self, batch: Batch) -> None:
        """As the rules' clock does (hub/rules/clock.py), in the order things arrived."""
        s = self.settings
        clock = self.clock.copy()
        items: list[Stored | StoredEvent] = [*batch.stored, *batch.events]
        for item in sorted(items, key=lambda i: i.received_at):
            interval = (float(item.reading.interval_s or s.default_interval_s)
                        if isinstance(item, Stored) else s.default_interval_s)
            item.late = is_history(clock, item.ts, item.received_at, interval,
                                   history_after_intervals=s.history_after_intervals,
                                   trust_wall=s.fresh_clock_from_wall)
            if not item.late and isinstance(item, Stored):
                clock.advance(item.ts, item.received_at)
        self._staged = clock


def _node(n: NodeInfo) -> dict[str, Any]:
    return {"id": n.id, "st": n.state, "d": n.district, "a": n.area}


def _mark(s: Stored | StoredEvent) -> float:
    """When a reading happened on the street, as the rules' clock counts it."""
    return min(s.ts, s.received_at)


def _entries(batch: Batch) -> Iterable[tuple[str, float | None, dict[str, Any],
                                             Stored | StoredEvent | StatusChange]]:
    """(area, event time or None, entry, what it stands for) for each reading, event and
    status change."""
    for s in batch.stored:
        yield s.node.area, _mark(s), {
            "k": READING, "n": _node(s.node), "r": _reading(s),
            "ts": s.ts, "at": s.received_at, "late": s.late}, s
    for e in batch.events:
        yield e.node.area, _mark(e), {
            "k": EVENT, "n": _node(e.node),
            "e": e.event.model_dump(mode="json", exclude_none=True),
            "ts": e.ts, "at": e.received_at, "late": e.late}, e
    for c in batch.changes:
        yield c.node.area, None, {
            "k": STATUS, "n": _node(c.node), "state": c.state, "session": c.session,
            "reason": c.reason, "at": c.at}, c


def _reading(s: Stored) -> str | dict[str, Any]:
    """The reading as filed: the JSON text it was validated from (a string, validated
    again from text when read back, by the same parser that took it), or the model's
    fields for a reading that came in an array."""
    if s.raw is not None:
        try:
            return s.raw.decode()
        except UnicodeDecodeError:
            pass
    return s.reading.model_dump(mode="json", exclude_none=True)


def take(conn: Connection, part: int, limit: int, through: float | None = None,
         packs: Packs | None = None) -> tuple[Batch, list[int]]:
    """The oldest packs of a partition, about `limit` entries (at least one pack), as a
    batch like the one ingest stored; and their row ids.

    `through`: only packs whose readings and events are all up to this event time (the
    mark every ingest worker that is behind has filed up to, hub/membership.py). Two
    workers draining a backlog commit a node's readings in batches of their own,
    interleaved; judged as they come, a node's older reading would arrive after a newer
    one was judged, and its burning time and energy would go uncounted. Held back until
    every worker is past them, the readings are judged in the order they happened, as one
    worker would.

    `packs`: this process's, for the packs its ingest filed (their rows' bodies are not
    read)."""
    batch = Batch()
    q = select(RuleInbox.id, RuleInbox.n).where(RuleInbox.part == part)
    if through is not None:
        q = q.where(or_(RuleInbox.ts.is_(None), RuleInbox.ts <= through))
    ids: list[int] = []
    count = 0
    for row_id, n in conn.execute(q.order_by(RuleInbox.id).limit(TAKE_ROWS)):
        ids.append(row_id)
        count += n
        if count >= limit:
            break
    if not ids:
        return batch, ids
    held = packs.take(ids) if packs is not None else {}
    missing = [i for i in ids if i not in held]
    rows = {row_id: (kind, body) for row_id, kind, body in conn.execute(
        select(RuleInbox.id, RuleInbox.kind, RuleInbox.body)
        .where(among(conn, RuleInbox.id, missing)))} if missing else {}
    for row_id in ids:
        if (items := held.get(row_id)) is not None:
            for kind, item in items:
                _put(batch, kind, item)
            continue
        kind, body = rows[row_id]
        if kind == PACK:
            for entry in msgspec.json.decode(body):
                _add(batch, entry["k"], entry)
        else:
            _add(batch, kind, json.loads(body))
    return batch, ids


def _put(batch: Batch, kind: str, item: Any) -> None:
    if kind == READING:
        batch.stored.append(item)
    elif kind == EVENT:
        batch.events.append(item)
    else:
        batch.changes.append(item)


def _add(batch: Batch, kind: str, d: dict[str, Any]) -> None:
    n = d["n"]
    node = NodeInfo(n["id"], n["st"], n["d"], n["a"], None, None)
    if kind == READING:
        r = d["r"]
        reading = (Reading.model_validate_json(r) if isinstance(r, str)
                   else Reading.model_validate(r))
        batch.stored.append(Stored(node, reading, d["ts"], d["at"], d.get("late")))
    elif kind == EVENT:
        batch.events.append(StoredEvent(node, Event.model_validate(d["e"]), d["ts"],
                                        d["at"], d.get("late")))
    else:
        batch.changes.append(StatusChange(node, d["state"], d["session"], d["reason"],
                                          d["at"]))


def remove(conn: Connection, ids: list[int]) -> None:
    if ids:
        conn.execute(delete(RuleInbox).where(among(conn, RuleInbox.id, ids)))


def waiting(conn: Connection, parts: Iterable[int], cap: int) -> dict[int, int]:
    """Entries waiting in each of `parts`, counted over no more than `cap` rows (one index
    range scan each, in one statement): the owner asks often, and a backlog may be
    large."""
    def first(part: int) -> Any:
        return select(RuleInbox.n).where(RuleInbox.part == part).limit(cap).subquery()

    probes = [select(literal(part).label("part"), select(
        func.coalesce(func.sum((sub := first(part)).c.n), 0)).select_from(sub)
        .scalar_subquery().label("n")) for part in parts]
    if not probes:
        return {}
    return {part: n for part, n in conn.execute(union_all(*probes)) if n}
