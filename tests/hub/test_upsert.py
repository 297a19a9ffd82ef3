"""Bulk writes (hub/upsert.py): a city's batch of rows is written as one row at a time
would write it, on each backend, however many rows there are."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from hub.db import make_engine, migrate, writing
from hub.models import NodeSeq, RuleState
from hub.upsert import COPY_FROM_ROWS, insert_absent, upsert

SIZES = [3, COPY_FROM_ROWS * 8]


@pytest.fixture
def engine(db_url):  # type: ignore[no-untyped-def]
    migrate(db_url)
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


def _marks(engine) -> dict[str, tuple]:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return {r.node_id: (r.max_seq, r.last_ts, r.seen, r.heard_at) for r in conn.execute(
            select(NodeSeq).order_by(NodeSeq.node_id))}


@pytest.mark.parametrize("n", SIZES)
def test_upsert_inserts_new_rows_replaces_old_ones_and_adds_counters(engine, n):
    ids = [f"lamp-{i:04d}" for i in range(n)]
    with writing(engine) as conn:
        upsert(conn, NodeSeq.__table__, [
            dict(node_id=i, kind="reading", max_seq=1, last_ts=1.5, seen=b"\x01", heard_at=None)
            for i in ids[: n // 2]], keys=("node_id", "kind"))
    with writing(engine) as conn:
        # The first half is there (replaced, the seq added), the second half is new.
        upsert(conn, NodeSeq.__table__, [
            dict(node_id=i, kind="reading", max_seq=10, last_ts=2.5, seen=b"\x00\xff",
                 heard_at=7.0) for i in ids], keys=("node_id", "kind"), added=("max_seq",))
    marks = _marks(engine)
    assert len(marks) == n
    assert marks[ids[0]] == (11, 2.5, b"\x00\xff", 7.0)
    assert marks[ids[-1]] == (10, 2.5, b"\x00\xff", 7.0)
    assert sum(m[0] for m in marks.values()) == 10 * n + n // 2


@pytest.mark.parametrize("n", SIZES)
def test_a_key_twice_in_one_write_is_written_as_one_row_after_the_other(engine, n):
    rows = [dict(subject=f"lamp-{i}", rule="n", state=f'"{i}"', updated_at=1.0)
            for i in range(n)]
    rows.append(dict(subject="lamp-0", rule="n", state='"again"', updated_at=2.0))
    with writing(engine) as conn:
        upsert(conn, RuleState.__table__, rows, keys=("subject", "rule"))
    with engine.connect() as conn:
        states = dict(conn.execute(select(RuleState.subject, RuleState.state)).all())
    assert len(states) == n
    assert states["lamp-0"] == '"again"'


@pytest.mark.parametrize("n", SIZES)
def test_insert_absent_leaves_the_rows_that_are_there(engine, n):
    ids = [f"lamp-{i:04d}" for i in range(n)]
    with writing(engine) as conn:
        upsert(conn, NodeSeq.__table__, [
            dict(node_id=ids[0], kind="reading", max_seq=5, last_ts=3.0, seen=None,
                 heard_at=4.0)], keys=("node_id", "kind"))
    with writing(engine) as conn:
        insert_absent(conn, NodeSeq.__table__, [
            dict(node_id=i, kind="reading", max_seq=-1, last_ts=0.0, seen=b"") for i in ids],
            keys=("node_id", "kind"))
    marks = _marks(engine)
    assert len(marks) == n
    assert marks[ids[0]] == (5, 3.0, None, 4.0)
    assert marks[ids[1]] == (-1, 0.0, b"", None)


def test_a_bulk_write_after_one_that_rolled_back_on_the_same_connection(pg_url):
    """The staging table is made inside the transaction that first needs it: one that
    rolls back takes it away again, and the connection's next bulk write must not fail."""
    migrate(pg_url)
    engine = make_engine(pg_url)  # one connection: the writes below come one at a time
    n = COPY_FROM_ROWS * 2
    rows = [dict(subject=f"lamp-{i}", rule="n", state="{}", updated_at=float(i))
            for i in range(n)]
    with pytest.raises(RuntimeError), writing(engine) as conn:
        upsert(conn, RuleState.__table__, rows, keys=("subject", "rule"))
        raise RuntimeError("the batch failed after its write")
    for _ in range(2):  # and once more, now that the staging table is there
        with writing(engine) as conn:
            upsert(conn, RuleState.__table__, rows, keys=("subject", "rule"),
                   added=("updated_at",))
    with engine.connect() as conn:
        total = conn.execute(text("SELECT sum(updated_at), count(*) FROM rule_state")).one()
        # Emptied at each commit: the second write did not carry the first one's rows.
        left = conn.execute(text(
            "SELECT count(*) FROM pg_class WHERE relname LIKE '_stage_rule_state_%'")).scalar()
    assert tuple(total) == (2 * sum(range(n)), n)
    assert left == 1  # one staging table for the connection, made once
    engine.dispose()
