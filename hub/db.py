"""Database engine and migrations."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event, text

MIGRATIONS = Path(__file__).with_name("migrations")


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            # Let SQLAlchemy, not pysqlite, issue BEGIN: otherwise SAVEPOINTs (which the
            # ingest transaction uses to isolate the rules engine) do not work.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            # WAL lets the API read while ingest writes; NORMAL is durable in WAL mode
            # except for the last transactions on power loss, which the spool replays.
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin(conn):  # type: ignore[no-untyped-def]
            immediate = conn.get_execution_options().get(_IMMEDIATE)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine
    return create_engine(url, pool_pre_ping=True)


_IMMEDIATE = "roshni_write_lock_first"
# PostgreSQL's stand-in for SQLite's write lock: one transaction-level advisory lock.
WRITE_LOCK_KEY = 0x526F73686E69  # "Roshni"
# The (int, int) key space of `writing(shared=…)`'s own locks.
SHARED_LOCK_SPACE = 0x526F73


@contextmanager
def writing(engine: Engine, *, shared: int | Iterable[int] | None = None
            ) -> Iterator[Connection]:
    """A transaction for work that reads and then writes (acknowledge an alert, move a
    ticket, provision a node), taking the database's write lock first, so that such
    transactions queue one after another and each reads what the previous one wrote.

    On SQLite that is BEGIN IMMEDIATE: it waits for another writer instead of failing with
    "database is locked" when that writer commits between our read and our write. On
    PostgreSQL it is an advisory lock held to the end of the transaction: under READ
    COMMITTED two such transactions would otherwise both read, then both write (two
    provisions of one new node, say, and the second fails on the primary key). Plain reads
    keep using `engine.connect()` and never wait for writers.

    `shared=k` (or several keys): work that only touches rows of its own — partition `k`
    of the rules (hub/rules/owner.py), a worker's own membership row — or guards what it
    shares with row locks, as ingest does (hub/dedup.py). On PostgreSQL it
    holds the write lock shared, so such transactions run in parallel with each other
    while still excluding the ones that hold it alone, plus a lock of its own on each
    key; SQLite has one writer at a time whatever is asked."""
    with engine.connect() as conn:
        conn.execution_options(**{_IMMEDIATE: True})
        with conn.begin():
            if conn.dialect.name == "postgresql":
                if shared is None:
                    conn.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                                 {"key": WRITE_LOCK_KEY})
                else:
                    conn.execute(text("SELECT pg_advisory_xact_lock_shared(:key)"),
                                 {"key": WRITE_LOCK_KEY})
                    for key in sorted([shared] if isinstance(shared, int) else shared):
                        conn.execute(text("SELECT pg_advisory_xact_lock(:a, :b)"),
                                     {"a": SHARED_LOCK_SPACE, "b": key})
            yield conn


def migrate(url: str) -> None:
    """Bring the schema to the newest version (idempotent)."""
    logging.getLogger("alembic").setLevel(logging.WARNING)  # before import: it logs then
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    # "heads": features may add migrations on separate branches from the same parent.
    command.upgrade(cfg, "heads")
