"""Spool → validate → deduplicate → InfluxDB → commit (DESIGN.md §2, §4, §5).

Batch by batch: read records after the committed cursor, turn them into line protocol
and dead letters, write the lines until InfluxDB acknowledges, then commit the cursor, the
deduplication marks, the dead letters and node bookkeeping in one transaction.
A crash before the commit re-reads the same records and writes the same points (same
timestamps, because the receive time is in the spool), which InfluxDB stores once.

Two batches overlap: while one commits (waiting on PostgreSQL), the next is already being
written (waiting on InfluxDB, in a thread of its own). Commits stay in spool order and a
batch commits only after its own write was acknowledged, so the above holds as for one
batch at a time; a batch being written when its predecessor's commit fails is read again.

Several workers may run this at once, each on its own spool (DESIGN.md §9). So what guards
against duplicates and stale messages is decided in that transaction by the database, on
locked rows: whether a (node, seq) is new (hub/dedup.py), whether a status message is newer
than the node's current session (a conditional UPDATE). What this worker remembers (the
registry's sessions) only spares the database the messages that are surely stale.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol

from pydantic import ValidationError
from sqlalchemy import Connection, Engine, bindparam, case, insert, or_, select, update

from hub import deadletter, dedup
from hub.commands import BY_HUB, record_result
from hub.config import IngestSettings
from hub.db import writing
from hub.influx import Influx, Rejected, RetryLater
from hub.lineproto import line, reading_line
from hub.metrics import Metrics
from hub.models import DeadLetter, IngestCursor, Node
from hub.registry import NodeInfo, Registry
from hub.spool import Cursor, Record, SpoolReader
from hub.upsert import dialect_insert, upsert
from protocol import topics
from protocol.payloads import CommandResult, Event, Reading, Status

log = logging.getLogger(__name__)

# Before this no Roshni node existed; an earlier clock is unset, not history.
EPOCH_FLOOR = 1_704_067_200.0  # 2024-01-01


# `nodes.last_seen` is for people ("heard from 20 s ago"), and for a node's status messages
# and command results only: readings and events keep theirs with their seq mark.
LAST_SEEN_RESOLUTION_S = 10.0
# `writing(shared=…)` key of ingest commits (membership uses -1, rule leases -2, rules
# partitions 0…): ingest workers commit one at a time, so the rules' inbox fills in id
# order, while the rules' partitions commit beside them.
INGEST_KEY = -3
# How soon a node (re)assigned elsewhere gets its new tags in a running hub.
REGISTRY_REFRESH_S = 2.0


def _us(ts: float, index: int) -> int:
    """Timestamp in microseconds. Readings that fall back to the receive time share it with
    the rest of their message; `index` keeps them apart so none overwrites another."""
    return int(ts * 1_000_000) + index


@dataclass(slots=True)
class Stored:
    """A reading as stored: `ts` is the time it was stored under (event time, or the
    receive time if the node's clock was implausible)."""

    node: NodeInfo
    reading: Reading
    ts: float
    received_at: float
    # Replayed history (DESIGN.md §4), as judged where it arrived (hub/rules/inbox.py);
    # None: the rules judge it by their own clock.
    late: bool | None = None
    # The JSON the reading was validated from, when it came alone in its message: the
    # rules' inbox files it as it came instead of serializing the model again.
    raw: bytes | None = None


@dataclass(slots=True)
class StoredEvent:
    node: NodeInfo
    event: Event
    ts: float
    received_at: float
    late: bool | None = None


@dataclass(slots=True)
class StatusChange:
    """A node's connection state changed (birth, last will or clean stop)."""

    node: NodeInfo
    state: str  # online | offline
    session: int
    reason: str | None  # lost | shutdown for offline
    at: float  # receive time


class Stage(Protocol):
    """Work that must happen exactly once per stored batch, such as the rules engine.

    `evaluate` runs inside the ingest transaction (in a SAVEPOINT): the batch's cursor and
    everything the stage wrote commit together or not at all, so a hub killed at any
    moment neither loses nor repeats an evaluation. A stage keeps in-memory state staged
    until `committed`; on `rolled_back` the batch will be evaluated again from scratch."""

    def evaluate(self, conn: Connection, batch: Batch) -> None: ...
    def committed(self) -> None: ...
    def rolled_back(self) -> None: ...


@dataclass
class Batch:
    lines: list[str] = field(default_factory=list)
    dead: list[dict] = field(default_factory=list)
    seen: dict[str, float] = field(default_factory=dict)
    new_nodes: dict[str, NodeInfo] = field(default_factory=dict)
    clock_faults: Counter[str] = field(default_factory=Counter)
    status: dict[str, dict] = field(default_factory=dict)
    stored: list[Stored] = field(default_factory=list)
    events: list[StoredEvent] = field(default_factory=list)
    changes: list[StatusChange] = field(default_factory=list)
    dead_dropped: int = 0  # old dead letters dropped to keep nodes in their budget
    # The `nodes` columns each change sets, if the database finds it newer (same order).
    change_values: list[dict] = field(default_factory=list)
    # Nodes' answers to commands: (node id, result, the spool record)
    results: list[tuple[str, CommandResult, Record]] = field(default_factory=list)
    received: int = 0
    duplicates: int = 0
    stale_status: int = 0
    nodes_inserted: bool = False

    def ensure_nodes(self, conn: Connection) -> None:
        """Insert the nodes first heard of in this batch, unless another worker did."""
        if self.new_nodes and not self.nodes_inserted:
            conn.execute(dialect_insert(conn, Node.__table__).on_conflict_do_nothing(
                index_elements=["id"]), [
                dict(id=n.id, state="pending", district_id=n.district, area_id=n.area,
                     first_seen=n.first_seen, status="unknown", session=-1,
                     clock_faults=0) for n in self.new_nodes.values()])
            self.nodes_inserted = True


@dataclass(slots=True)
class _Flight:
    """A batch whose points are being written to InfluxDB."""

    batch: Batch
    end: Cursor  # the spool position after its records
    records: int
    written: Future[None]


class Pipeline:
    def __init__(self, *, engine: Engine, registry: Registry, influx: Influx,
                 reader: SpoolReader, settings: IngestSettings, metrics: Metrics,
                 worker: str, wakeup: threading.Event) -> None:
        self.engine = engine
        self.registry = registry
        self.influx = influx
        self.reader = reader
        self.settings = settings
        self.metrics = metrics
        self.worker = worker
        self.wakeup = wakeup
        self.stages: list[Stage] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.influx_ok = True
        self.last_error: str | None = None
        self._seen_saved: dict[str, float] = {}
        self._topics: dict[str, topics.ParsedTopic] = {}
        self._registry_checked = time.monotonic()
        self.cursor = self._load_state()
        self._flight: _Flight | None = None
        self._writer: ThreadPoolExecutor | None = None
        # Spool depth = what was waiting at start + what the receiver added - what we stored.
        self.backlog_at_start = self.reader.pending(self.cursor)
        self.consumed = 0

    def _load_state(self) -> Cursor:
        with self.engine.connect() as conn:
            row = conn.execute(select(IngestCursor.cursor)
                               .where(IngestCursor.worker == self.worker)).first()
        return Cursor.parse(row[0] if row else None)

    # --- thread ---

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="ingest-pipeline", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self.wakeup.set()
        if self._thread:
            self._thread.join(30)
        # A batch still in flight was not committed: the next start reads it again.
        self._flight = None
        if self._writer is not None:
            self._writer.shutdown(wait=True, cancel_futures=True)
            self._writer = None

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                if not self.step():
                    self.wakeup.wait(self.settings.batch_wait_s)
                    self.wakeup.clear()
            except Exception:  # noqa: BLE001 - ingest must go on; the batch is retried
                log.exception("ingest batch failed; retrying")
                self._stop.wait(1.0)

    def step(self) -> int:
        """Start writing the next batch, and commit the one written before it; return how
        many spool records it took up (0: nothing to do)."""
        now = time.monotonic()
        if now - self._registry_checked >= REGISTRY_REFRESH_S:
            self._registry_checked = now
            self.registry.refresh()
        before = self._flight
        start = before.end if before is not None else self.cursor
        records, nxt = self.reader.read(start, self.settings.batch_size)
        if not records:
            if before is not None:
                return self._land(before)
            if nxt != self.cursor:  # skipped an empty or torn segment
                self._commit(Batch(), nxt)
            return 0
        batch = self.process(records)
        if self._writer is None:
            self._writer = ThreadPoolExecutor(1, thread_name_prefix="influx-write")
        flight = _Flight(batch, nxt, len(records), self._writer.submit(self._write, batch))
        if before is not None:
            self._land(before)
        self._flight = flight
        return len(records)

    def _land(self, flight: _Flight) -> int:
        """Wait for the flight's write, then commit it. If that fails, no flight is left:
        the next step reads again from the committed cursor (what InfluxDB got meanwhile
        it gets again, and stores once)."""
        self._flight = None
        flight.written.result()
        if self._stop.is_set() and not self.influx_ok:
            return 0
        self._commit(flight.batch, flight.end)
        self.consumed += flight.records
        self._publish_metrics(flight.batch)
        return flight.records

    # --- validation ---

    def process(self, records: list[Record]) -> Batch:
        b = Batch()
        max_payload = self.settings.max_payload_bytes
        parsed = self._topics
        for rec in records:
            t = parsed.get(rec.topic)
            if t is None:
                try:
                    t = topics.parse(rec.topic)
                except topics.TopicError as err:
                    self._dead(b, rec, None, deadletter.BAD_TOPIC, str(err))
                    continue
                if len(parsed) > 500_000:
                    parsed.clear()
                parsed[rec.topic] = t
            if len(rec.payload) > max_payload:
                self._dead(b, rec, t.node_id, deadletter.OVERSIZED,
                           f"payload over {max_payload} bytes")
                continue
            if t.kind is topics.Kind.READING:
                self._readings(b, rec, t.node_id)
            elif t.kind is topics.Kind.EVENT:
                self._event(b, rec, t.node_id)
            elif t.kind is topics.Kind.STATUS:
                self._status(b, rec, t.node_id)
            elif t.kind is topics.Kind.CMD_RESULT:
                self._command_result(b, rec, t.node_id)
            # Kind.CMD: the hub's own commands to nodes, echoed by the wildcard subscription
        return b

    def _readings(self, b: Batch, rec: Record, node_id: str) -> None:
        payload = rec.payload
        if payload.lstrip()[:1] == b"[":
            try:
                items = json.loads(payload)
            except ValueError as err:
                self._dead(b, rec, node_id, deadletter.NOT_JSON, str(err))
                return
            if not items:
                self._dead(b, rec, node_id, deadletter.EMPTY_BATCH, "empty array of readings")
                return
            for index, item in enumerate(items):
                b.received += 1
                try:
                    reading = Reading.model_validate(item)
                except ValidationError as err:
                    self._dead(b, rec, node_id, *deadletter.classify(err),
                               payload=json.dumps(item).encode())
                    continue
                self._reading(b, rec, node_id, reading, index)
            return
        b.received += 1
        try:
            reading = Reading.model_validate_json(payload)
        except ValidationError as err:
            self._dead(b, rec, node_id, *deadletter.classify(err))
            return
        self._reading(b, rec, node_id, reading, 0, payload)

    # Nothing in memory changes until the batch is committed: a batch that fails is
    # processed again from scratch and must find the state as it was.

    def _node(self, b: Batch, node_id: str, now: float, *, marked: bool = False
              ) -> NodeInfo:
        """`marked`: a reading or event, whose receive time its seq mark keeps
        (hub/dedup.py); other messages update `nodes.last_seen`."""
        info = b.new_nodes.get(node_id) or self.registry.lookup(node_id)
        if info is None:
            info = b.new_nodes[node_id] = self.registry.new_pending(node_id, now)
        if not marked and now - self._seen_saved.get(node_id, 0.0) >= LAST_SEEN_RESOLUTION_S:
            b.seen[node_id] = now
        return info

    def _timestamp(self, b: Batch, info: NodeInfo, ts: float, received_at: float,
                   index: int) -> int:
        """The node's time unless implausible (DESIGN.md §4); then the receive time."""
        if ts > received_at + self.settings.future_tolerance_s or ts < info.plausible_from(
                EPOCH_FLOOR):
            b.clock_faults[info.id] += 1
            return _us(received_at, index)
        return _us(ts, 0)

    def _reading(self, b: Batch, rec: Record, node_id: str, reading: Reading,
                 index: int, raw: bytes | None = None) -> None:
        if reading.node != node_id:
            self._dead(b, rec, node_id, deadletter.NODE_MISMATCH,
                       f"payload says node {reading.node!r} on {node_id!r}'s topic",
                       payload=reading.model_dump_json(exclude_none=True).encode())
            return
        info = self._node(b, node_id, rec.received_at, marked=True)
        ts_us = self._timestamp(b, info, reading.ts, rec.received_at, index)
        b.lines.append(reading_line(info.key("reading"), reading, ts_us))
        b.stored.append(Stored(info, reading, ts_us / 1e6, rec.received_at, raw=raw))

    def _event(self, b: Batch, rec: Record, node_id: str) -> None:
        try:
            ev = Event.model_validate_json(rec.payload)
        except ValidationError as err:
            self._dead(b, rec, node_id, *deadletter.classify(err))
            return
        if ev.node != node_id:
            self._dead(b, rec, node_id, deadletter.NODE_MISMATCH,
                       f"payload says node {ev.node!r} on {node_id!r}'s topic")
            return
        info = self._node(b, node_id, rec.received_at, marked=True)
        ts_us = self._timestamp(b, info, ev.ts, rec.received_at, 0)
        key = f"{info.key('event')},type={ev.type}"
        ln = line(key, {"seq": ev.seq, **ev.detail()}, ts_us)
        if ln:
            b.lines.append(ln)
        b.events.append(StoredEvent(info, ev, ts_us / 1e6, rec.received_at))

    def _status(self, b: Batch, rec: Record, node_id: str) -> None:
        try:
            st = Status.model_validate_json(rec.payload)
        except ValidationError as err:
            self._dead(b, rec, node_id, *deadletter.classify(err))
            return
        info = self._node(b, node_id, rec.received_at)
        current = b.status.get(node_id)
        session, state = ((current["session"], current["status"]) if current
                          else (info.session, info.status))
        # What this worker knows is never ahead of the database, so what is stale by it
        # is stale; the rest the database decides at commit (_admit_status).
        if st.session < session:
            # A will or birth from a connection older than the node's current one
            # (DESIGN.md §4): it must not mark a live node offline.
            b.stale_status += 1
            return
        if st.session == session and (st.state == state or st.state == "online"):
            return  # the retained copy, again (a session only ever goes online → offline)
        b.changes.append(StatusChange(info, st.state, st.session, st.reason, rec.received_at))
        values = b.status[node_id] = dict(
            status=st.state, session=st.session, status_reason=st.reason,
            status_at=rec.received_at, **{k: v for k, v in (
                ("fw", st.fw), ("reported_profile", st.profile),
                ("config_sha", st.config_sha)) if v})
        b.change_values.append(values)
        ln = line(info.key("status"), {"state": st.state, "session": st.session,
                                       "reason": st.reason, "fw": st.fw},
                  _us(rec.received_at, 0))
        if ln:
            b.lines.append(ln)

    def _command_result(self, b: Batch, rec: Record, node_id: str) -> None:
        try:
            result = CommandResult.model_validate_json(rec.payload)
        except ValidationError as err:
            self._dead(b, rec, node_id, *deadletter.classify(err))
            return
        if result.detail.get("by") == BY_HUB:
            return  # the hub's own answer to a self-test, back through the subscription
        self._node(b, node_id, rec.received_at)
        b.results.append((node_id, result, rec))
        log.info("node %s answered command %s: %s %s", node_id, result.id,
                 "ok" if result.ok else "FAILED", result.detail)

    def _dead(self, b: Batch, rec: Record, node_id: str | None, reason: str, detail: str,
              payload: bytes | None = None) -> None:
        payload, detail = deadletter.kept(payload if payload is not None else rec.payload,
                                          self.settings.dead_letter_payload_bytes, detail)
        b.dead.append(dict(received_at=rec.received_at, topic=rec.topic[:256],
                           node_id=node_id, reason=reason, detail=detail[:2000],
                           payload=payload))

    # --- InfluxDB ---

    def _write(self, b: Batch) -> None:
        if not b.lines:
            return
        delay = 0.5
        while True:
            try:
                self._write_lines(b, b.lines)
                if not self.influx_ok:
                    log.info("InfluxDB is back; writing the spool")
                self.influx_ok, self.last_error = True, None
                return
            except RetryLater as err:
                if self.influx_ok:
                    log.warning("InfluxDB unavailable (%s); spooling until it is back", err)
                self.influx_ok, self.last_error = False, str(err)
                self.metrics.influx_retries.inc()
                if self._stop.wait(delay):
                    return
                delay = min(delay * 2, 15.0)

    def _write_lines(self, b: Batch, lines: list[str]) -> None:
        """Write; on a refusal, split to find the lines InfluxDB will not take and dead-letter
        only those (a write is idempotent, so rewriting the good half is harmless)."""
        t0 = time.perf_counter()
        try:
            self.influx.write("\n".join(lines).encode())
            self.metrics.influx_write_seconds.observe(time.perf_counter() - t0)
        except Rejected as err:
            if len(lines) == 1:
                b.dead.append(dict(received_at=time.time(), topic="", node_id=None,
                                   reason=deadletter.INFLUX_REJECTED, detail=str(err)[:2000],
                                   payload=lines[0].encode()))
                return
            mid = len(lines) // 2
            self._write_lines(b, lines[:mid])
            self._write_lines(b, lines[mid:])

    # --- commit ---

    def _commit(self, b: Batch, cursor: Cursor) -> None:
        try:
            with writing(self.engine, shared=INGEST_KEY) as conn:
                self._admit(conn, b)
                self._admit_status(conn, b)
                self._store_state(conn, b, cursor)
                self._run_stages(conn, b)
        except BaseException:
            for stage in self.stages:
                stage.rolled_back()
            raise
        for stage in self.stages:
            stage.committed()
        self.cursor = cursor
        self._seen_saved.update(b.seen)
        self.registry.apply(b.new_nodes.values(), b.status)
        self.reader.release(cursor)

    def _run_stages(self, conn: Connection, b: Batch) -> None:
        if not (b.stored or b.events or b.changes):
            return
        for stage in self.stages:
            try:
                with conn.begin_nested():
                    stage.evaluate(conn, b)
            except Exception:  # noqa: BLE001 - a rule bug must not stop storage
                log.exception("stage %r failed on a batch; its effects are dropped", stage)
                stage.rolled_back()

    def _admit(self, conn: Connection, b: Batch) -> None:
        """Keep only the readings and events the database has not seen (hub/dedup.py).
        Their points were written to InfluxDB already, which stores a repeat once."""
        items = [(s.node.id, "reading", s.reading.seq, s.reading.ts, s.received_at)
                 for s in b.stored]
        items += [(e.node.id, "event", e.event.seq, e.event.ts, e.received_at)
                  for e in b.events]
        new = dedup.admit(conn, items)
        n = len(b.stored)
        b.duplicates = len(items) - sum(new)
        b.stored = [s for s, ok in zip(b.stored, new[:n], strict=True) if ok]
        b.events = [e for e, ok in zip(b.events, new[n:], strict=True) if ok]

    def _admit_status(self, conn: Connection, b: Batch) -> None:
        """Apply each status change only if it is newer than what the database holds: a
        later session, or the same session going offline (its will, or a clean stop).
        Another worker may have stored the node's newer session meanwhile."""
        if not b.changes:
            return
        b.ensure_nodes(conn)
        accepted: list[StatusChange] = []
        b.status = {}
        for change, values in zip(b.changes, b.change_values, strict=True):
            newer = Node.session < change.session
            if change.state == "offline":
                newer = or_(newer, (Node.session == change.session)
                            & (Node.status != "offline"))
            row = conn.execute(update(Node).where(Node.id == change.node.id, newer)
                               .values(**values).returning(Node.id)).first()
            if row is None:
                b.stale_status += 1
                continue
            accepted.append(change)
            b.status[change.node.id] = values
        b.changes = accepted

    def _store_state(self, conn: Connection, b: Batch, cursor: Cursor) -> None:
        b.ensure_nodes(conn)
        if b.seen:
            nodes = Node.__table__
            # Never back: another worker may have stored a later message of the node.
            seen = bindparam("b_seen")
            conn.execute(
                nodes.update().where(nodes.c.id == bindparam("b_id"))
                .values(last_seen=case((or_(nodes.c.last_seen.is_(None),
                                            nodes.c.last_seen < seen), seen),
                                       else_=nodes.c.last_seen)),
                [{"b_id": n, "b_seen": t} for n, t in b.seen.items()])
        for node_id, n in b.clock_faults.items():
            conn.execute(update(Node).where(Node.id == node_id)
                         .values(clock_faults=Node.clock_faults + n))
        for node_id, result, rec in b.results:
            if not record_result(conn, node_id, result, rec.received_at):
                self._dead(b, rec, node_id, deadletter.UNKNOWN_COMMAND,
                           f"answers command {result.id!r}, which the hub never sent to "
                           f"{node_id}")
        if b.dead:
            conn.execute(insert(DeadLetter), b.dead)
            b.dead_dropped = deadletter.trim(conn, (d["node_id"] for d in b.dead),
                                             self.settings.dead_letters_per_node)
        upsert(conn, IngestCursor.__table__, [dict(worker=self.worker, cursor=str(cursor))],
               keys=("worker",))

    def _publish_metrics(self, b: Batch) -> None:
        m = self.metrics
        m.received.inc(b.received)
        m.stored.inc(len(b.stored))
        m.duplicates.inc(b.duplicates)
        m.stale_status.inc(b.stale_status)
        for d in b.dead:
            m.rejected.labels(d["reason"]).inc()
        m.dead_letters_dropped.inc(b.dead_dropped)
        if b.clock_faults:
            m.clock_faults.inc(sum(b.clock_faults.values()))
