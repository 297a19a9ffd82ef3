"""Ticket transitions (DESIGN.md §6): who may move a ticket where, with a history of who
did what when; the sensor alone verifies."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import Engine

from hub import tickets
from hub.db import make_engine, migrate
from hub.registry import provision

NODE = "khi-kor-0042"


@pytest.fixture
def db(db_url) -> Engine:
    migrate(db_url)
    engine = make_engine(db_url)
    provision(engine, NODE, district="korangi", area="Korangi 5", lat=24.83, lon=67.13)
    return engine


def new_ticket(db: Engine, fault: str = "lamp_out") -> int:
    with db.begin() as conn:
        ticket_id, created = tickets.open_ticket(
            conn, alert_id=None, node=NODE, district="korangi", area="korangi-5", fault=fault,
            priority=2, opened_at=1000.0, sla_due=1000.0 + 48 * 3600, evidence=[],
            note="found by the sensor")
    assert created
    return ticket_id


def move(db: Engine, ticket_id: int, to: str, actor: str = "crew-ali", note: str = "",
         **kw) -> dict:
    with db.begin() as conn:
        return tickets.transition(conn, ticket_id, to, actor, note, **kw)


def test_the_crew_moves_a_ticket_along_and_every_step_is_in_its_history(db):
    t = new_ticket(db)
    move(db, t, "assigned", "supervisor-bilal", "Ali's van", assignee="crew-ali", at=2000.0)
    move(db, t, "in_progress", at=3000.0)
    ticket = move(db, t, "fixed", note="new driver", at=4000.0)
    assert (ticket["status"], ticket["assigned_to"], ticket["fixed_at"]) == (
        "fixed", "crew-ali", 4000.0)
    assert [(h["at"], h["actor"], h["from_status"], h["to_status"], h["note"])
            for h in ticket["history"]] == [
        (1000.0, "sensor", None, "open", "found by the sensor"),
        (2000.0, "supervisor-bilal", "open", "assigned", "Ali's van"),
        (3000.0, "crew-ali", "assigned", "in_progress", ""),
        (4000.0, "crew-ali", "in_progress", "fixed", "new driver")]


def test_a_crew_that_repairs_at_once_may_skip_ahead(db):
    t = new_ticket(db)
    assert move(db, t, "fixed")["status"] == "fixed"


@pytest.mark.parametrize(("path", "to", "message"), [
    ((), "verified", "only the sensor verifies"),
    (("fixed",), "verified", "only the sensor verifies"),
    (("fixed",), "reopened", "the sensor decides"),
    (("in_progress",), "assigned", "allowed: fixed"),
    ((), "closed", "unknown status 'closed'"),
])
def test_an_invalid_transition_is_refused_with_a_reason(db, path, to, message):
    t = new_ticket(db)
    for step in path:
        move(db, t, step)
    with pytest.raises(tickets.InvalidTransition, match=message):
        move(db, t, to)
    with db.connect() as conn:
        assert len(tickets.get(conn, t)["history"]) == 1 + len(path)  # nothing written


def test_people_cannot_act_as_the_sensor(db):
    t = new_ticket(db)
    move(db, t, "fixed")
    with pytest.raises(tickets.InvalidTransition, match="not a person"):
        move(db, t, "reopened", actor="sensor")


def test_the_sensor_verifies_or_reopens_and_a_verified_ticket_is_closed(db):
    t = new_ticket(db)
    move(db, t, "fixed")
    with db.begin() as conn:
        assert tickets.sensor_transition(conn, t, "reopened", "still dark", at=5000.0)
        assert not tickets.sensor_transition(conn, t, "reopened", "again", at=5100.0)
    move(db, t, "fixed")
    with db.begin() as conn:
        assert tickets.sensor_transition(conn, t, "verified", "burning 30 min", at=9000.0)
        ticket = tickets.get(conn, t)
    assert (ticket["status"], ticket["verified_at"]) == ("verified", 9000.0)
    with pytest.raises(tickets.InvalidTransition, match="is verified"):
        move(db, t, "in_progress")
    # the next fault of this lamp is a new ticket
    assert new_ticket(db) != t


def test_one_open_ticket_per_node_and_fault(db):
    t = new_ticket(db)
    with db.begin() as conn:
        again, created = tickets.open_ticket(
            conn, alert_id=None, node=NODE, district="korangi", area="korangi-5",
            fault="lamp_out", priority=2, opened_at=1.0, sla_due=2.0, evidence=[])
    assert (again, created) == (t, False)
    assert new_ticket(db, "flicker") != t


def test_two_people_moving_the_same_ticket_at_once_one_is_told(db, db_url):
    t = new_ticket(db)
    other = make_engine(db_url)
    barrier = threading.Barrier(2)
    errors: list[Exception] = []

    def crew(engine: Engine, to: str) -> None:
        try:
            with engine.begin() as conn:
                conn.exec_driver_sql("SELECT 1")
                barrier.wait()
                tickets.transition(conn, t, to, "crew")
        except Exception as err:  # noqa: BLE001 - collected for the assertion
            errors.append(err)

    threads = [threading.Thread(target=crew, args=(db, "fixed")),
               threading.Thread(target=crew, args=(other, "in_progress"))]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    with db.connect() as conn:
        history = tickets.get(conn, t)["history"]
    # whatever the order, the history is a valid chain of what really happened
    for before, after in zip(history, history[1:], strict=False):
        assert after["from_status"] == before["to_status"]
    assert len(history) + len(errors) == 3


def test_priority_from_fault_and_unsafe_spot_score():
    base = {"lamp_out": 2, "flicker": 3, "low_power": 3, "day_burner": 4}
    assert tickets.priority_for("lamp_out", 0.0, base=base, busy_score=50) == 2
    assert tickets.priority_for("lamp_out", 50.0, base=base, busy_score=50) == 1
    assert tickets.priority_for("flicker", 80.0, base=base, busy_score=50) == 2
    assert tickets.priority_for("day_burner", 500.0, base=base, busy_score=50) == 4


def test_overdue_tickets_are_escalated_once(db):
    t = new_ticket(db)
    with db.begin() as conn:
        assert tickets.overdue(conn, 1000.0 + 47 * 3600) == []
        assert tickets.overdue(conn, 1000.0 + 49 * 3600) == [(t, NODE)]
        assert tickets.escalate(conn, t, at=1000.0 + 49 * 3600)
        assert not tickets.escalate(conn, t, at=1000.0 + 50 * 3600)
        assert tickets.overdue(conn, 1000.0 + 50 * 3600) == []
        assert tickets.get(conn, t)["history"][-1]["note"].startswith("SLA missed")
