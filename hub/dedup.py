"""Which (node, seq) messages were stored already, decided by the database (DESIGN.md §9).

A node sends in seq order, but several hub workers share its messages round-robin, so one
worker may commit seq 11 before another commits seq 10: "at or below the high-water mark"
no longer means "stored". Each `node_seq` row therefore keeps, besides the mark, a sliding
window of which of the `WINDOW` seqs below it were seen (the anti-replay window of IPsec,
RFC 4303 §3.4.3). The row is read and written inside the ingest transaction, locked
(SELECT … FOR UPDATE on PostgreSQL, the write lock on SQLite), so two workers never both
take the same message for new; the mark only moves forward, except for a node whose seq
restarted (a replaced SD card), whose newer times with lower numbers reset it.

Anything older than the window counts as a duplicate: it was written to InfluxDB anyway
(the write is idempotent and comes before this decision), only the rules and the counters
skip it, and the rules ignore readings older than what they judged already.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Connection, select

from hub.models import NodeSeq
from hub.upsert import among, insert_absent, upsert

log = logging.getLogger(__name__)

WINDOW = 4096  # seqs below the mark remembered one by one: 512 bytes a row
_MASK = (1 << WINDOW) - 1
_NONE = -1  # mark of a row made only to be locked


@dataclass(slots=True)
class Mark:
    max_seq: int
    last_ts: float
    seen: int  # bit i: max_seq - i was seen
    heard_at: float | None = None  # receive time of the newest message, new or not

    def admit(self, seq: int, ts: float) -> bool:
        """Take (seq, ts) in; True if it is new."""
        if seq > self.max_seq:
            shift = seq - self.max_seq
            self.seen = ((self.seen << shift) | 1) & _MASK if shift < WINDOW else 1
            self.max_seq, self.last_ts = seq, max(self.last_ts, ts)
            return True
        back = self.max_seq - seq
        if back < WINDOW and not self.seen >> back & 1:
            self.seen |= 1 << back
            self.last_ts = max(self.last_ts, ts)
            return True
        if ts > self.last_ts:
            log.warning("seq went back from %d to %d with a newer time; accepting it as a "
                        "restarted sequence", self.max_seq, seq)
            self.max_seq, self.last_ts, self.seen = seq, ts, 1
            return True
        return False


def _bits(data: bytes | None) -> int:
    # NULL: a row from before the window (migration 0009w), when the mark alone decided.
    return _MASK if data is None else int.from_bytes(data, "little")


def admit(conn: Connection, items: Iterable[tuple[str, str, int, float, float]]
          ) -> list[bool]:
    """For each (node, kind, seq, ts, received at), in order: is it new? Locks and updates
    the rows, which also keep when the node was last heard (`heard_at`)."""
    items = list(items)
    keys = sorted({(n, k) for n, k, *_ in items})
    if not keys:
        return []
    table = NodeSeq.__table__
    marks = _locked(conn, keys)
    missing = [key for key in keys if key not in marks]
    if missing:
        # A node's first message of a kind: make its row, then lock it like the others.
        # Ingest workers commit one at a time (hub/pipeline.py), so two cannot deadlock
        # on rows made here, nor both make the same one.
        insert_absent(conn, table, [dict(node_id=n, kind=k, max_seq=_NONE, last_ts=0.0,
                                         seen=b"") for n, k in missing],
                      keys=("node_id", "kind"))
        marks.update(_locked(conn, missing))
    out = []
    for n, k, seq, ts, at in items:
        m = marks[(n, k)]
        out.append(m.admit(seq, ts))
        m.heard_at = at if m.heard_at is None else max(m.heard_at, at)
    upsert(conn, table, [
        dict(node_id=n, kind=k, max_seq=m.max_seq, last_ts=m.last_ts,
             seen=m.seen.to_bytes((m.seen.bit_length() + 7) // 8, "little"),
             heard_at=m.heard_at)
        for (n, k), m in marks.items()], keys=("node_id", "kind"))
    return out


def _locked(conn: Connection, keys: list[tuple[str, str]]) -> dict[tuple[str, str], Mark]:
    """The rows of `keys` that exist, locked (FOR UPDATE) in key order."""
    marks: dict[tuple[str, str], Mark] = {}
    wanted = set(keys)
    nodes = sorted({n for n, _ in keys})
    for chunk in range(0, len(nodes), 1000):
        # By node id alone: PostgreSQL finds those in the primary key's index, while a
        # row-value `(node_id, kind) IN (…)` became a scan of the whole table with a
        # filter of 1 000 alternatives (0.2-0.9 s a chunk with 100 000 nodes). A node's
        # other kind is locked along with it, by the same worker, in the same order.
        rows = conn.execute(
            select(NodeSeq.node_id, NodeSeq.kind, NodeSeq.max_seq, NodeSeq.last_ts,
                   NodeSeq.seen, NodeSeq.heard_at)
            .where(among(conn, NodeSeq.node_id, nodes[chunk:chunk + 1000]))
            .order_by(NodeSeq.node_id, NodeSeq.kind).with_for_update())
        for n, k, max_seq, last_ts, seen, heard_at in rows:
            if (n, k) in wanted:
                marks[(n, k)] = Mark(max_seq, last_ts, _bits(seen), heard_at)
    return marks
