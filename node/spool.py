"""The node's on-disk spool: readings wait here until the broker has acknowledged them.

SQLite in WAL mode with ``synchronous=FULL``: with NORMAL, a commit can be rolled back by
a power cut, and then a `seq` or session number already sent to the hub would be handed
out again — the hub would drop the new reading as a duplicate. One fsync per reading a
minute costs an SD card nothing.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

Reading = dict[str, Any]

_SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS reading (seq INTEGER PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS counter (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO counter (name, value) VALUES
    ('last_seq', 0), ('session', 0), ('dropped', 0), ('event_seq', 0), ('interval_s', 0);
"""


class Spool:
    """Readings in `seq` order, persisted before they are sent. Safe to share between the
    sampling thread, the publisher thread and paho's network thread."""

    def __init__(self, path: Path | str, *, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("spool capacity must be at least 1 reading")
        self.path = Path(path)
        self.capacity = capacity
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        # Autocommit mode: every write below opens its own BEGIN IMMEDIATE transaction.
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        with self._transaction() as db:
            # Not executescript(): it would commit outside this transaction.
            for statement in filter(str.strip, _SCHEMA.split(";")):
                db.execute(statement)
            db.execute(f"PRAGMA user_version={_SCHEMA_VERSION}")

    def append(
        self, fields: dict[str, Any], validate: Callable[[Reading], object] | None = None
    ) -> Reading:
        """Store `fields` as the next reading and return it with its `seq`.

        The seq is taken in the same transaction that stores the reading, so a crash at
        any point either keeps both or neither. `validate` sees the complete reading and
        may raise to refuse it; then nothing is stored and the seq is not used up."""
        with self._transaction() as db:
            seq = self._counter(db, "last_seq") + 1
            reading = {**fields, "seq": seq}
            if validate is not None:
                validate(reading)
            db.execute(
                "INSERT INTO reading (seq, body) VALUES (?, ?)",
                (seq, json.dumps(reading, separators=(",", ":"))),
            )
            db.execute("UPDATE counter SET value = ? WHERE name = 'last_seq'", (seq,))
            self._drop_overflow(db)
        return reading

    def peek(self, limit: int) -> list[Reading]:
        """Up to `limit` unacknowledged readings, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT body FROM reading ORDER BY seq LIMIT ?", (limit,)
            ).fetchall()
        return [json.loads(body) for (body,) in rows]

    def ack(self, up_to_seq: int) -> int:
        """Forget every reading with seq <= `up_to_seq` (the broker has them); returns how many."""
        with self._transaction() as db:
            return db.execute("DELETE FROM reading WHERE seq <= ?", (up_to_seq,)).rowcount

    def depth(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM reading").fetchone()[0]

    def last_seq(self) -> int:
        """The highest seq ever handed out (0 before the first reading)."""
        with self._lock:
            return self._counter(self._db, "last_seq")

    def dropped_total(self) -> int:
        """Readings lost to overflow over the spool's whole life."""
        with self._lock:
            return self._counter(self._db, "dropped")

    def next_session(self) -> int:
        """A new MQTT session number, one more than any handed out before (DESIGN.md §4)."""
        with self._transaction() as db:
            db.execute("UPDATE counter SET value = value + 1 WHERE name = 'session'")
            return self._counter(db, "session")

    def next_event_seq(self) -> int:
        """The seq of a new event: events count on their own, like readings (DESIGN.md §4)."""
        with self._transaction() as db:
            db.execute("UPDATE counter SET value = value + 1 WHERE name = 'event_seq'")
            return self._counter(db, "event_seq")

    def interval_override(self) -> int | None:
        """Seconds between readings as last set by the hub (`set_interval`), if ever."""
        with self._lock:
            return self._counter(self._db, "interval_s") or None

    def set_interval_override(self, seconds: int) -> None:
        with self._transaction() as db:
            db.execute("UPDATE counter SET value = ? WHERE name = 'interval_s'", (seconds,))

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> Spool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Spool({str(self.path)!r}, capacity={self.capacity})"

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    @staticmethod
    def _counter(db: sqlite3.Connection, name: str) -> int:
        return db.execute("SELECT value FROM counter WHERE name = ?", (name,)).fetchone()[0]

    def _drop_overflow(self, db: sqlite3.Connection) -> None:
        (depth,) = db.execute("SELECT COUNT(*) FROM reading").fetchone()
        excess = depth - self.capacity
        if excess <= 0:
            return
        oldest, newest_dropped = db.execute(
            "SELECT MIN(seq), MAX(seq) FROM (SELECT seq FROM reading ORDER BY seq LIMIT ?)",
            (excess,),
        ).fetchone()
        db.execute("DELETE FROM reading WHERE seq <= ?", (newest_dropped,))
        db.execute("UPDATE counter SET value = value + ? WHERE name = 'dropped'", (excess,))
        total = self._counter(db, "dropped")
        log.warning(
            "spool full (%d readings): dropped the oldest %d (seq %d..%d), %d dropped in total",
            self.capacity, excess, oldest, newest_dropped, total,
        )
