"""The state database on each backend: migrations from empty, and writers that read first."""

from __future__ import annotations

import json
import subprocess
import sys
import threading

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import BigInteger, Integer, text

from hub.db import make_engine, migrate, writing
from hub.models import Base
from tests.support import wait_for


def schema_drift(conn) -> list:  # type: ignore[no-untyped-def]
    """How the database differs from the models (alembic's autogenerate comparison), less
    what is no drift: indexes only the migrations declare (for the API's queries), tables
    of models in modules not imported here, and SQLite's INTEGER, which is 64 bits
    whatever the model calls it."""
    context = MigrationContext.configure(conn, opts={"compare_type": True})
    out = []
    for diff in compare_metadata(context, Base.metadata):
        change = diff[0] if isinstance(diff, list) else diff
        kind = change[0]
        if kind in ("remove_index", "remove_table"):
            continue
        if (kind == "modify_type" and conn.dialect.name == "sqlite"
                and isinstance(change[-1], BigInteger) and isinstance(change[-2], Integer)):
            continue
        out.append(change)
    return out


def test_migrations_build_the_schema_of_the_models_on_an_empty_database_and_can_run_again(
        db_url):
    migrate(db_url)
    engine = make_engine(db_url)
    with engine.connect() as conn:
        heads = {r[0] for r in conn.execute(text("SELECT version_num FROM alembic_version"))}
        assert schema_drift(conn) == []

    migrate(db_url)  # a hub restarting, or `roshni provision` beside it: nothing changes
    with engine.connect() as conn:
        assert {r[0] for r in conn.execute(text("SELECT version_num FROM alembic_version"))
                } == heads
        assert conn.execute(text("SELECT count(*) FROM districts")).scalar() == 8
    engine.dispose()


def test_racing_read_then_write_transactions_wait_instead_of_failing(db_url):
    migrate(db_url)
    engine = make_engine(db_url)
    errors: list[BaseException] = []

    def bump(worker: int) -> None:
        try:
            for i in range(20):
                with writing(engine) as conn:
                    n = conn.execute(text("SELECT count(*) FROM dead_letters")).scalar()
                    conn.execute(text(
                        "INSERT INTO dead_letters (received_at, topic, reason, detail, payload)"
                        " VALUES (:n, 't', 'r', :d, :p)"), {"n": n, "d": f"{worker}-{i}",
                                                            "p": b"\x00"})
        except BaseException as err:  # noqa: BLE001 - collected for the assertion
            errors.append(err)

    threads = [threading.Thread(target=bump, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with engine.connect() as conn:
        counts = [r[0] for r in conn.execute(text(
            "SELECT received_at FROM dead_letters ORDER BY id"))]
    # each transaction saw every earlier one: no two read the same count
    assert counts == list(range(80))
    engine.dispose()



# Two processes (alembic keeps its migration context in module globals: not threads)
# that import everything, then begin migrating at the same moment.
STARTER = """
import sys, time
from pathlib import Path
from hub.db import migrate
import alembic.command
Path(sys.argv[3]).touch()
go = Path(sys.argv[2])
while not go.exists():
    time.sleep(0.005)
migrate(sys.argv[1])
"""


def test_two_processes_starting_at_once_both_find_the_schema_ready(db_url, tmp_path):
    """A hub and `roshni provision` started together on an empty database: one migrates,
    the other waits for it and finds nothing left to do (rather than creating the same
    tables again and failing)."""
    go, ready = tmp_path / "go", [tmp_path / "ready-1", tmp_path / "ready-2"]
    procs = [subprocess.Popen([sys.executable, "-c", STARTER, db_url, str(go), str(r)],
                              stderr=subprocess.PIPE, text=True) for r in ready]
    wait_for(lambda: all(r.exists() for r in ready), what="both processes to be ready")
    go.touch()
    failures = [p.communicate(timeout=120)[1] for p in procs if p.wait(timeout=120) != 0]
    assert failures == []
    engine = make_engine(db_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM districts")).scalar() == 8
    engine.dispose()


def test_rules_partitions_commit_in_parallel_but_not_beside_a_whole_database_writer(pg_url):
    """Workers that own different partitions of the rules do not queue behind each other
    (DESIGN.md §9); one partition's transactions, and anything that takes the write lock
    whole (an API write, an ingest batch), still wait."""
    migrate(pg_url)
    engine = make_engine(pg_url)
    try:
        first_in = threading.Event()
        release = threading.Event()

        def hold_partition_1() -> None:
            with writing(engine, shared=1):
                first_in.set()
                release.wait(30)

        holder = threading.Thread(target=hold_partition_1)
        holder.start()
        assert first_in.wait(10)
        done: dict[str, threading.Event] = {k: threading.Event() for k in ("p2", "p1", "all")}

        def run(key: str, **kw: object) -> None:
            with writing(engine, **kw):  # type: ignore[arg-type]
                pass
            done[key].set()

        threads = [threading.Thread(target=run, args=("p2",), kwargs={"shared": 2}),
                   threading.Thread(target=run, args=("p1",), kwargs={"shared": 1}),
                   threading.Thread(target=run, args=("all",))]
        # another partition commits while partition 1 is held…
        threads[0].start()
        assert done["p2"].wait(10)
        # …its own partition and the whole-database writer wait for it. (Started after
        # p2: PostgreSQL queues a shared request behind a waiting exclusive one, so a
        # whole-database writer that asked first would hold p2 back until it had run.)
        for t in threads[1:]:
            t.start()
        assert not done["p1"].wait(1) and not done["all"].is_set()
        release.set()
        for t in (holder, *threads):
            t.join(10)
        assert done["p1"].is_set() and done["all"].is_set()
    finally:
        engine.dispose()


def test_the_rules_inbox_packs_are_compressed_with_lz4_on_postgresql(pg_url):
    """A pack is a batch's entries of one partition, up to a few hundred kilobytes of JSON:
    PostgreSQL's default compression (pglz) took three times as long to store one."""
    migrate(pg_url)
    engine = make_engine(pg_url)
    body = json.dumps([{"k": "r", "n": {"id": f"khi-{i:05d}"}, "r": {"lamp_w": i * 0.37}}
                       for i in range(2000)])
    with writing(engine) as conn:
        conn.execute(text("INSERT INTO rule_inbox (part, kind, n, body) "
                          "VALUES (0, 'p', 2000, :b)"), {"b": body})
    with engine.connect() as conn:
        method = conn.execute(text(
            "SELECT pg_column_compression(body) FROM rule_inbox")).scalar()
    assert method == "lz4"
    engine.dispose()
