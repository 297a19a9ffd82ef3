"""Alerts: one open per (node, rule) even when two openers race; acknowledged by people,
cleared by the rules."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from hub import alerts
from hub.db import make_engine, migrate
from hub.registry import provision

NODE = "khi-kor-0042"


@pytest.fixture
def db(tmp_path) -> Engine:
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    migrate(url)
    engine = make_engine(url)
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
