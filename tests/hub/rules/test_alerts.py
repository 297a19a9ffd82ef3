"""Alerts: one open per (node, rule) even when two openers race; acknowledged by people,
cleared by the rules."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import Engine, text

from hub import alerts
from hub.db import make_engine, migrate
from hub.registry import provision
from tests.support import wait_for

NODE = "khi-kor-0042"


@pytest.fixture
def db(db_url) -> Engine:
    migrate(db_url)
    engine = make_engine(db_url)
    provision(engine, NODE, district="korangi", area="Korangi 5", lat=24.83, lon=67.13)
    return engine


def open_lamp_out(db: Engine, started_at: float = 100.0) -> tuple[int, bool]:
    with db.begin() as conn:
        return alerts.open_alert(conn, rule="lamp_out", node=NODE, district="korangi",
                                 area="korangi-5", started_at=started_at)


def test_a_second_opener_gets_the_open_alert(db):
    first = open_lamp_out(db)
    assert open_lamp_out(db, 160.0) == (first[0], False)


def test_losing_the_race_on_the_unique_key_means_already_open(db, monkeypatch):
    """Two workers both looked, saw no open alert, and both insert: the second insert
    hits the unique open_key and must come back with the first one's alert."""
    first, _ = open_lamp_out(db)
    looked = []

    def nothing_open_yet(conn, key):  # what the slower worker saw before the other committed
        looked.append(key)
        return None if len(looked) == 1 else real(conn, key)

    real = alerts._open_id
    monkeypatch.setattr(alerts, "_open_id", nothing_open_yet)
    with db.begin() as conn:
        got = alerts.open_alert(conn, rule="lamp_out", node=NODE, district="korangi",
                                area="korangi-5", started_at=110.0)
        # the transaction goes on after the refused insert (it ran in a SAVEPOINT)
        assert alerts.get(conn, first)["state"] == "active"
    assert got == (first, False)
    with db.connect() as conn:
        assert alerts.query(conn)[1] == 1


def test_acknowledged_then_cleared_then_a_new_one_may_open(db):
    a, _ = open_lamp_out(db)
    with db.begin() as conn:
        ack = alerts.acknowledge(conn, a, "committee-sara", at=200.0)
        assert (ack["state"], ack["acknowledged_by"]) == ("acknowledged", "committee-sara")
        assert alerts.acknowledge(conn, a, "committee-omar")["acknowledged_by"] == \
            "committee-sara"
        assert alerts.clear(conn, a, ended_at=300.0)
        with pytest.raises(alerts.AlertError, match="already cleared"):
            alerts.acknowledge(conn, a, "committee-sara")
    b, created = open_lamp_out(db, 400.0)
    assert created and b != a
    with db.connect() as conn:
        assert alerts.open_counts(conn)["lamp_out"] == 1
        page, count = alerts.query(conn, state="cleared")
        assert count == 1 and page[0]["ended_at"] == 300.0


def test_an_unknown_alert_is_not_found(db):
    with db.begin() as conn, pytest.raises(alerts.AlertNotFound):
        alerts.acknowledge(conn, 999, "someone")


# --- PostgreSQL: openers that really run at the same time ---
# (On SQLite writers take the database's write lock one after another; on PostgreSQL two
# hub workers, or the ingest and the tick, can each be half-way through a transaction.)


@pytest.fixture
def pg(pg_url) -> Engine:
    migrate(pg_url)
    engine = make_engine(pg_url)
    provision(engine, NODE, district="korangi", area="Korangi 5", lat=24.83, lon=67.13)
    yield engine
    engine.dispose()


def waiting_for_a_lock(engine: Engine) -> bool:
    with engine.connect() as conn:
        return bool(conn.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND datname = current_database()")).scalar())


@pytest.mark.postgresql
def test_an_opener_that_inserts_while_another_has_not_committed_gets_the_other_s_alert(pg):
    """A has inserted the alert and not committed; B looks, sees no open alert (A's is not
    committed), inserts, and must wait on the unique key. When A commits, B comes back
    with A's alert instead of failing or opening a second one."""
    got: dict[str, tuple[int, bool]] = {}
    with pg.connect() as a:
        tx = a.begin()
        got["a"] = alerts.open_alert(a, rule="lamp_out", node=NODE, district="korangi",
                                     area="korangi-5", started_at=100.0)

        def b() -> None:
            with pg.begin() as conn:
                got["b"] = alerts.open_alert(conn, rule="lamp_out", node=NODE,
                                             district="korangi", area="korangi-5",
                                             started_at=100.01)

        worker = threading.Thread(target=b)
        worker.start()
        wait_for(lambda: waiting_for_a_lock(pg), what="B to wait on A's unique key")
        tx.commit()
    worker.join(30)
    assert got["a"][1] is True
    assert got["b"] == (got["a"][0], False)
    with pg.connect() as conn:
        assert alerts.query(conn)[1] == 1


@pytest.mark.postgresql
def test_many_workers_opening_at_once_on_postgresql_open_one_alert(pg):
    n = 8
    barrier = threading.Barrier(n)
    results: list[tuple[int, bool]] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            with pg.begin() as conn:
                barrier.wait()
                results.append(alerts.open_alert(
                    conn, rule="lamp_out", node=NODE, district="korangi", area="korangi-5",
                    started_at=100.0))
        except BaseException as err:  # noqa: BLE001 - collected for the assertion
            errors.append(err)

    threads = [threading.Thread(target=worker) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert sum(created for _, created in results) == 1
    assert len({alert_id for alert_id, _ in results}) == 1
    with pg.connect() as conn:
        assert alerts.open_counts(conn)["lamp_out"] == 1
