"""The rules engine over simulated nights in one neighbourhood, in process: readings go to
the engine the way the ingest pipeline hands them over, and outcomes are read back from
the database the way the API will (DESIGN.md §6)."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import OperationalError

from hub import tickets
from hub.models import Node, RuleState, SpotScore
from hub.pipeline import Batch
from tests.hub.rules.street import AREA_ID, NIGHT, Street, local

DARK = {"lamp_on": False, "lamp_w": 0.3}


def dark_from(t0: float, until: float = float("inf")):
    return lambda t: DARK if t0 <= t < until else {}


def kinds(street: Street) -> list[tuple[str, str]]:
    return [(sub, kind) for sub, kind, _ in street.outbox()]


def test_a_lamp_that_fails_at_2310_gives_one_alert_and_one_ticket_one_reading_after_dwell(db_url):
    s = Street(db_url)
    fail = local(NIGHT, 23, 10)
    s.minutes(local(NIGHT, 22, 30), local(NIGHT, 23, 19), khi_kor_0002=dark_from(fail))
    assert s.outcome() == (set(), set())  # 9 minutes dark: not yet

    s.minutes(local(NIGHT, 23, 20), local(NIGHT, 23, 20), khi_kor_0002=dark_from(fail))
    assert s.outcome() == ({("lamp_out", "khi-kor-0002", "active")},
                           {("lamp_out", "khi-kor-0002", "open", 2)})
    s.minutes(local(NIGHT, 23, 21), local(NIGHT, 23, 59), khi_kor_0002=dark_from(fail))
    [alert], [ticket] = s.alerts(), s.tickets()
    assert (alert["started_at"], alert["district"], alert["area"]) == (fail, "korangi", AREA_ID)
    assert (alert["ticket_id"], ticket["alert_id"]) == (ticket["id"], alert["id"])
    assert ticket["district"] == "korangi"
    assert ticket["sla_due"] - ticket["opened_at"] == 48 * 3600  # priority 2
    assert ticket["evidence"][-1] == {"ts": local(NIGHT, 23, 20), "lamp_on": False,
                                      "lamp_w": 0.3, "mains_v": 230.0, "footfall": 2}
    # the area's committee hears of the alert, the district's crew of the ticket; nobody else
    assert kinds(s) == [("k5-committee", "alert_opened"), ("korangi-crew", "ticket_opened")]
    place = s.outbox()[1][2]["body"]["place"]
    assert (place["pole"], place["area"]) == ("K5-101", "Korangi 5")


def test_load_shedding_is_one_area_incident_and_a_lamp_still_dark_after_it_gets_its_ticket(db_url):
    s = Street(db_url)
    cut0, cut1 = local(NIGHT, 20), local(NIGHT, 22)
    n1, n2, n3, n4, n5 = s.nodes

    def battery(t):  # nodes with a battery stay online, dark, no mains
        return {"lamp_on": False, "lamp_w": 0.0, "mains_v": 0.0} if cut0 <= t < cut1 else {}

    def stays_dark(t):
        return {**battery(t), **DARK} if t >= cut0 else {}

    s.minutes(local(NIGHT, 19, 30), local(NIGHT, 19, 59))
    s.status(n4, "offline", cut0 + 20)  # no battery: its last will; n5 just goes quiet
    t = cut0
    while t < cut1:
        s.minutes(t, t, silent=(n4, n5), khi_kor_0001=battery, khi_kor_0002=battery,
                  khi_kor_0003=stays_dark)
        s.tick(t + 30)
        t += 60
    assert s.outcome() == ({("area_power_cut", None, "active")}, set())
    [cut] = s.alerts()
    assert (cut["started_at"], cut["area"]) == (cut0, AREA_ID)

    for n in (n4, n5):
        s.status(n, "online", cut1 + 5, session=2)
    t = cut1
    while t <= local(NIGHT, 22, 30):
        s.minutes(t, t, khi_kor_0003=stays_dark)
        s.tick(t + 30)
        t += 60
    alerts, tickets_ = s.outcome()
    assert alerts == {("area_power_cut", None, "cleared"), ("lamp_out", n3, "active")}
    assert tickets_ == {("lamp_out", n3, "open", 2)}
    [lamp_ticket] = s.tickets()
    # its dwell counted from the end of the cut
    assert lamp_ticket["opened_at"] == cut1 + 600
    assert [a["ended_at"] for a in s.alerts(rule="area_power_cut")] == [cut1]
    assert kinds(s) == [("k5-committee", "alert_opened")] * 2 + [("korangi-crew",
                                                                  "ticket_opened")]


def test_night_faults_each_have_exactly_their_own_outcome(db_url):
    s = Street(db_url, nodes=8)
    n1, n2, n3, n4 = s.nodes[:4]
    t0, t1 = local(NIGHT, 22, 30), local(NIGHT, 23, 59)

    def flicker(t):  # burns 2 min, dark 1 min, all night
        return DARK if int((t - t0) // 60) % 3 == 2 else {}

    def tamper(t):
        return {"tamper": local(NIGHT, 23, 5) <= t < local(NIGHT, 23, 15)}

    t = t0
    while t <= t1:
        s.minutes(t, t, silent=(n3,) if t >= local(NIGHT, 23) else (),
                  khi_kor_0001=flicker, khi_kor_0002=lambda t: {"lamp_w": 24.0},
                  khi_kor_0004=tamper)
        s.tick(t + 30)
        t += 60
    alerts, tickets_ = s.outcome()
    assert alerts == {("flicker", n1, "active"), ("low_power", n2, "active"),
                      ("node_offline", n3, "active"), ("tamper", n4, "cleared")}
    assert tickets_ == {("flicker", n1, "open", 3), ("low_power", n2, "open", 3)}
    assert sorted(kinds(s)) == sorted([
        ("korangi-crew", "ticket_opened"), ("korangi-crew", "ticket_opened"),
        ("technicians", "alert_opened"), ("k5-committee", "alert_opened")])
    [tamper_alert] = s.alerts(rule="tamper")
    assert (tamper_alert["started_at"], tamper_alert["ended_at"]) == (
        local(NIGHT, 23, 5), local(NIGHT, 23, 15))
    [offline] = s.alerts(rule="node_offline")
    assert offline["started_at"] == pytest.approx(local(NIGHT, 22, 59) + 1, abs=1)


def test_a_lamp_burning_by_day_is_a_low_priority_ticket_and_nothing_else(db_url):
    s = Street(db_url)
    day = NIGHT.replace(day=NIGHT.day + 1)
    s.minutes(local(day, 9), local(day, 10, 45),
              **{n.replace("-", "_"): (lambda t: {"lamp_on": False, "lamp_w": 0.3})
                 for n in s.nodes[1:]})
    assert s.outcome() == ({("day_burner", s.nodes[0], "active")},
                           {("day_burner", s.nodes[0], "open", 4)})
    assert kinds(s) == [("korangi-crew", "ticket_opened")]


def test_fixed_but_still_dark_is_reopened_and_burning_30_min_at_night_verifies_it(db_url):
    s = Street(db_url)
    fail, repaired = local(NIGHT, 23, 10), local(NIGHT, 24, 40)
    lamp = {"khi_kor_0001": dark_from(fail, repaired)}
    s.minutes(local(NIGHT, 23), local(NIGHT, 23, 25), **lamp)
    [ticket] = s.tickets()
    s.transition(ticket["id"], "assigned", note="Ali's van")
    s.transition(ticket["id"], "in_progress")
    s.transition(ticket["id"], "fixed", note="replaced the driver")
    s.minutes(local(NIGHT, 23, 26), local(NIGHT, 23, 55), **lamp)
    assert s.tickets()[0]["status"] == "fixed"  # 29 minutes: not yet
    s.minutes(local(NIGHT, 23, 56), local(NIGHT, 24, 30), **lamp)
    [ticket] = s.tickets()
    assert ticket["status"] == "reopened"
    reopened = ticket["history"][-1]
    assert (reopened["actor"], reopened["from_status"], reopened["at"]) == (
        "sensor", "fixed", local(NIGHT, 23, 56))

    s.transition(ticket["id"], "fixed", note="this time the lamp itself")
    s.minutes(local(NIGHT, 24, 31), local(NIGHT, 25, 9), **lamp)
    assert s.tickets()[0]["status"] == "fixed"  # burning 29 minutes
    s.minutes(local(NIGHT, 25, 10), local(NIGHT, 25, 10), **lamp)
    [ticket], [alert] = s.tickets(), s.alerts()
    assert ticket["status"] == "verified" and ticket["verified_at"] == local(NIGHT, 25, 10)
    assert alert["state"] == "cleared" and alert["ended_at"] == repaired
    assert [(h["actor"], h["to_status"]) for h in ticket["history"]] == [
        ("sensor", "open"), ("crew-ali", "assigned"), ("crew-ali", "in_progress"),
        ("crew-ali", "fixed"), ("sensor", "reopened"), ("crew-ali", "fixed"),
        ("sensor", "verified")]
    assert kinds(s)[-2:] == [("korangi-crew", "ticket_reopened"),
                             ("k5-committee", "ticket_verified")]


def test_a_hub_restarted_mid_dwell_reaches_the_same_outcome(databases):
    fail = local(NIGHT, 23, 10)
    lamp = {"khi_kor_0001": dark_from(fail)}
    straight = Street(databases())
    straight.minutes(local(NIGHT, 23), local(NIGHT, 23, 40), **lamp)

    restarted = Street(databases())
    restarted.minutes(local(NIGHT, 23), local(NIGHT, 23, 15), **lamp)
    restarted.start()  # a new hub on the same database: the half-elapsed timer is kept
    restarted.minutes(local(NIGHT, 23, 16), local(NIGHT, 23, 25), **lamp)
    restarted.start()  # and again after the alert: no second one
    restarted.minutes(local(NIGHT, 23, 26), local(NIGHT, 23, 40), **lamp)

    def seen(s):
        return ([(a["rule"], a["node"], a["state"], a["started_at"]) for a in s.alerts()],
                [(t["fault"], t["status"], t["opened_at"]) for t in s.tickets()], kinds(s))

    assert seen(restarted) == seen(straight)
    assert seen(straight)[1] == [("lamp_out", "open", local(NIGHT, 23, 20))]


def test_a_rolled_back_batch_is_judged_again_from_where_it_was(db_url):
    s = Street(db_url)
    fail = local(NIGHT, 23, 10)
    s.minutes(local(NIGHT, 23), local(NIGHT, 23, 19), khi_kor_0001=dark_from(fail))
    batch = Batch(stored=[s.reading("khi-kor-0001", local(NIGHT, 23, 20), **DARK)])
    with s.db.connect() as conn:
        tx = conn.begin()
        s.rules.evaluate(conn, batch)  # raises the alert …
        tx.rollback()  # … but InfluxDB refused the batch, say
    s.rules.rolled_back()
    assert s.outcome() == (set(), set())
    s.run(batch.stored)
    assert s.outcome() == ({("lamp_out", "khi-kor-0001", "active")},
                           {("lamp_out", "khi-kor-0001", "open", 2)})


def test_a_commit_of_a_batch_it_did_not_judge_leaves_another_thread_s_work_alone(db_url):
    """The pipeline tells every stage of every commit; the tick may be mid-way meanwhile."""
    s = Street(db_url)
    lamp = dark_from(local(NIGHT, 23, 10))
    s.minutes(local(NIGHT, 23), local(NIGHT, 23, 19), khi_kor_0001=lamp)
    with s.db.connect() as conn:
        tx = conn.begin()
        s.rules.evaluate(conn, Batch(stored=[s.reading("khi-kor-0001", local(NIGHT, 23, 20),
                                                       **DARK)]))  # raises the alert
        other = threading.Thread(target=s.rules.committed)  # an empty batch elsewhere
        other.start()
        other.join()
        tx.rollback()  # this one fails after all
    s.rules.rolled_back()
    s.minutes(local(NIGHT, 23, 20), local(NIGHT, 23, 25), khi_kor_0001=lamp)
    assert s.outcome() == ({("lamp_out", "khi-kor-0001", "active")},
                           {("lamp_out", "khi-kor-0001", "open", 2)})


def test_replayed_history_is_a_past_incident_but_a_condition_still_true_is_live(db_url):
    s = Street(db_url)
    n1, n2 = s.nodes[:2]
    gap0, gap1 = local(NIGHT, 22), local(NIGHT, 23)
    # n1 was dark 22:10-22:40 and is fine again; n2 went dark at 22:30 and still is
    lamp = {"khi_kor_0001": dark_from(local(NIGHT, 22, 10), local(NIGHT, 22, 40)),
            "khi_kor_0002": dark_from(local(NIGHT, 22, 30))}
    s.minutes(local(NIGHT, 21, 30), gap0 - 60)
    t = gap0
    while t < gap1:  # both could not reach the broker; the others could
        s.minutes(t, t, silent=(n1, n2))
        s.tick(t + 30)
        t += 60
    for node in (n1, n2):  # their spools arrive in one go at 23:00
        f = lamp[node.replace("-", "_")]
        s.run([s.reading(node, t, received_at=gap1 + 1, **f(t))
               for t in range(int(gap0), int(gap1), 60)])
    s.minutes(gap1, local(NIGHT, 23, 20), **lamp)

    [past] = s.alerts(rule="lamp_out", node=n1)
    assert past["historical"] and past["state"] == "cleared"
    assert (past["started_at"], past["ended_at"]) == (local(NIGHT, 22, 10),
                                                      local(NIGHT, 22, 40))
    [live] = s.alerts(rule="lamp_out", node=n2)
    assert not live["historical"] and live["state"] == "active"
    assert live["started_at"] == local(NIGHT, 22, 30)
    assert {(t["node"], t["fault"]) for t in s.tickets()} == {(n2, "lamp_out")}
    lamp_news = [(sub, kind, n["node"]) for sub, kind, n in s.outbox()
                 if n["body"].get("rule", n["body"].get("fault")) == "lamp_out"]
    assert lamp_news == [("k5-committee", "alert_opened", n2),
                         ("korangi-crew", "ticket_opened", n2)]
    # being unreachable for an hour was news, for the technicians
    assert {a["node"] for a in s.alerts(rule="node_offline")} == {n1, n2}


def test_a_load_shedding_replayed_into_a_fresh_hub_is_a_past_incident(db_url):
    """The hub hears nothing until every node's spool arrives, 35 minutes after the cut
    ended: with no event clock yet, the replay itself says the street had moved on."""
    s = Street(db_url)
    cut0, cut1, back = local(NIGHT, 20), local(NIGHT, 21), local(NIGHT, 21, 35)

    def battery(t):
        return {"lamp_on": False, "lamp_w": 0.0, "mains_v": 0.0} if cut0 <= t < cut1 else {}

    # every node's spool, oldest first, interleaved at the broker, all arriving after 21:35
    spools = [(t, node) for t in range(int(local(NIGHT, 19, 30)), int(back), 60)
              for node in s.nodes]
    s.run([s.reading(node, t, received_at=back + i * 0.01, **battery(t))
           for i, (t, node) in enumerate(spools)])
    [cut] = s.alerts(rule="area_power_cut")
    assert cut["historical"] and cut["state"] == "cleared"
    assert (cut["started_at"], cut["ended_at"]) == (cut0, cut1)
    assert s.tickets() == []
    assert kinds(s) == [], "the committee was told of a cut long over as if it were live"


@pytest.mark.parametrize("from_wall", [True, False], ids=["wall-clock", "simulated"])
def test_a_node_whose_birth_came_before_its_older_readings_is_offline_once_silent(
        db_url, from_wall):
    """The birth reaches a fresh hub (no event clock yet) before the node's spool of older
    readings; then the node falls silent without a will. Its silence counts from when it
    was last heard, in the same time as the clock that measures it."""
    s = Street(db_url, fresh_clock_from_wall=from_wall)
    n1 = s.nodes[0]
    birth = local(NIGHT, 22)
    s.status(n1, "online", birth)
    s.run([s.reading(n1, t, received_at=birth + 1 + i * 0.01) for i, t in
           enumerate(range(int(local(NIGHT, 19)), int(local(NIGHT, 19, 55)) + 1, 60))])
    s.tick(birth + 1800)
    assert {(a["rule"], a["node"]) for a in s.alerts()} == {("node_offline", n1)}, \
        "a node silent for half an hour is not offline"


def test_a_flapping_lamp_keeps_one_alert_inside_the_hysteresis_window(db_url):
    s = Street(db_url)
    t0 = local(NIGHT, 22)

    def flaps(t):  # dark 15 min, burns 8, dark 22, burns 8, dark again: 4 switches an hour
        m = (t - t0) // 60
        return {} if 15 <= m < 23 or 45 <= m < 53 else DARK

    s.minutes(t0, local(NIGHT, 23, 30), khi_kor_0001=flaps)
    alerts, tickets_ = s.outcome()
    assert alerts == {("lamp_out", "khi-kor-0001", "active")}
    assert len(s.alerts()) == 1 and len(s.tickets()) == 1


def test_a_missed_sla_is_escalated_once_to_crew_and_committee(db_url):
    s = Street(db_url, sla_hours={2: 1})
    s.minutes(local(NIGHT, 22), local(NIGHT, 22, 30), khi_kor_0001=dark_from(local(NIGHT, 22)))
    [ticket] = s.tickets()
    assert ticket["sla_due"] == local(NIGHT, 23, 10)
    for minute in range(31, 95):
        s.minutes(local(NIGHT, 22, minute), local(NIGHT, 22, minute),
                  khi_kor_0001=dark_from(local(NIGHT, 22)))
        s.tick(local(NIGHT, 22, minute) + 30)
    escalations = [(sub, n["key"]) for sub, kind, n in s.outbox() if kind == "sla_missed"]
    assert sorted(escalations) == [("k5-committee", f"ticket:{ticket['id']}:sla_missed:committee"),
                                   ("korangi-crew", f"ticket:{ticket['id']}:sla_missed:crew")]
    assert s.tickets()[0]["escalated_at"] == pytest.approx(local(NIGHT, 23, 10), abs=61)


def test_a_pending_node_raises_nothing(db_url):
    s = Street(db_url)
    with s.db.begin() as conn:
        conn.execute(insert(Node).values(id="khi-new-0001", state="pending",
                                         district_id="unassigned", area_id="unassigned",
                                         status="unknown", session=-1, clock_faults=0))
    s.nodes = ["khi-new-0001"]
    s.minutes(local(NIGHT, 22), local(NIGHT, 23), khi_new_0001=lambda t: {**DARK,
                                                                         "tamper": True})
    assert s.outcome() == (set(), set())


def test_a_dark_lamp_on_a_busy_path_is_priority_1(db_url):
    s = Street(db_url, busy_spot_score=40)
    with s.db.begin() as conn:
        conn.execute(insert(SpotScore).values(node_id="khi-kor-0001", night="2026-03-13",
                                              dark_minutes=30, exposure=90, score=90,
                                              updated_at=0))
    s.minutes(local(NIGHT, 22), local(NIGHT, 22, 10), khi_kor_0001=dark_from(local(NIGHT, 22)))
    [ticket] = s.tickets()
    assert (ticket["priority"], ticket["sla_due"] - ticket["opened_at"]) == (1, 24 * 3600)


@pytest.mark.parametrize("sent", ["as it happened", "at once"])
def test_a_dark_lamp_on_a_busy_path_is_priority_1_however_its_readings_arrive(db_url, sent):
    """A lamp beside a school goes dark on a busy evening: its unsafe-spot score grows past
    the busy-path threshold within the night, and its ticket's priority follows the score
    whether the night's readings came one by one or in one batch."""
    s = Street(db_url, scored=True, busy_spot_score=50)
    n1 = s.nodes[0]
    start, end = local(NIGHT, 20), local(NIGHT, 20, 40)
    busy = {"lamp_on": False, "lamp_w": 0.3, "footfall": 30}
    if sent == "as it happened":
        s.minutes(start, end, khi_kor_0001=lambda t: busy)
    else:
        s.run([s.reading(node, t, **(busy if node == n1 else {}))
               for t in range(int(start), int(end) + 1, 60) for node in s.nodes])
    [ticket] = s.tickets()
    assert (ticket["priority"], ticket["sla_due"] - ticket["opened_at"]) == (1, 24 * 3600)
    if sent == "at once":  # opened at priority 2 before the batch was scored, then raised
        raised = ticket["history"][-1]
        assert raised["actor"] == "sensor" and raised["to_status"] == "open"
        assert "priority 2 → 1" in raised["note"] and "score" in raised["note"]


def test_in_a_small_area_one_dark_lamp_is_a_lamp_fault_not_a_power_cut(db_url):
    s = Street(db_url, nodes=2)
    s.minutes(local(NIGHT, 22), local(NIGHT, 22, 10), khi_kor_0001=dark_from(local(NIGHT, 22)))
    assert s.outcome() == ({("lamp_out", "khi-kor-0001", "active")},
                           {("lamp_out", "khi-kor-0001", "open", 2)})


def test_lamps_that_switch_on_late_at_dusk_are_not_a_fault(db_url):
    s = Street(db_url)
    sunset = s.rules.sun.times(24.83, 67.13, local(NIGHT, 20)).set
    # every photocell switches on 15 minutes after sunset
    late = {n.replace("-", "_"): dark_from(0, sunset + 900) for n in s.nodes}
    s.minutes(sunset - 1800, sunset + 3600, **late)
    assert s.outcome() == (set(), set())


def test_a_tamper_event_is_an_immediate_committee_alert(db_url):
    s = Street(db_url)
    s.minutes(local(NIGHT, 22), local(NIGHT, 22, 5))
    s.event("khi-kor-0003", local(NIGHT, 22, 5, ) + 20, "tamper")
    assert s.outcome() == ({("tamper", "khi-kor-0003", "active")}, set())
    assert kinds(s) == [("k5-committee", "alert_opened")]


def test_an_offline_node_by_its_last_will_is_a_technician_alert(db_url):
    s = Street(db_url)
    s.minutes(local(NIGHT, 22), local(NIGHT, 22, 5))
    s.status("khi-kor-0004", "offline", local(NIGHT, 22, 5) + 30)
    t = local(NIGHT, 22, 6)
    while t <= local(NIGHT, 22, 20):
        s.minutes(t, t, silent=("khi-kor-0004",))
        s.tick(t + 30)
        t += 60
    [alert] = s.alerts()
    assert (alert["rule"], alert["node"]) == ("node_offline", "khi-kor-0004")
    assert alert["started_at"] == pytest.approx(local(NIGHT, 22, 5) + 30, abs=2)
    assert s.tickets() == []
    assert kinds(s) == [("technicians", "alert_opened")]
    # back: the alert clears after the hysteresis window
    s.status("khi-kor-0004", "online", t + 10, session=2)
    s.minutes(t, t + 900)
    assert s.alerts()[0]["state"] == "cleared"


def test_a_hub_that_could_not_hear_does_not_call_its_nodes_silent(db_url):
    s = Street(db_url)
    s.minutes(local(NIGHT, 22), local(NIGHT, 22, 5))
    s.rules.mark_deaf(local(NIGHT, 22, 30))  # disconnected from the broker until 22:30
    s.tick(local(NIGHT, 22, 32), listening=True)
    assert s.outcome() == (set(), set())
    s.tick(local(NIGHT, 22, 34), listening=True)  # three intervals after it could hear
    assert {a["rule"] for a in s.alerts()} == {"area_power_cut"}  # the whole street is quiet


def test_a_tick_the_database_refused_still_finds_the_silent_node_next_time(db_url, monkeypatch):
    """The tick looks only at the nodes whose silence is due; one whose judgement was
    rolled back is due again, not forgotten."""
    s = Street(db_url)
    quiet = s.nodes[4]
    s.minutes(local(NIGHT, 22), local(NIGHT, 22, 5))
    s.minutes(local(NIGHT, 22, 6), local(NIGHT, 22, 9), silent=(quiet,))
    finish = s.rules._finish

    def refused(tx):
        if quiet in tx.nodes:
            raise OperationalError("UPDATE rule_state", {}, Exception("server closed"))
        finish(tx)

    monkeypatch.setattr(s.rules, "_finish", refused)
    with pytest.raises(OperationalError):
        s.tick(local(NIGHT, 22, 9) + 30)
    monkeypatch.setattr(s.rules, "_finish", finish)
    t = local(NIGHT, 22, 10)
    while t <= local(NIGHT, 22, 30):
        s.minutes(t, t, silent=(quiet,))
        s.tick(t + 30)
        t += 60
    assert s.outcome() == ({("node_offline", quiet, "active")}, set())


def test_an_idle_tick_writes_nothing(db_url):
    """Every write would make other writers' read-then-write transactions (`roshni
    provision`, the API) start over on SQLite; once a second adds up."""
    s = Street(db_url)
    s.minutes(local(NIGHT, 22), local(NIGHT, 22, 5))

    def rows():
        with s.db.connect() as conn:
            return conn.execute(select(RuleState.__table__)).all()

    before = rows()
    for k in range(5):
        s.tick(local(NIGHT, 22, 5) + 10 + k)
    assert rows() == before


def test_lamp_counters_burning_hours_switch_ons_and_energy(db_url):
    s = Street(db_url)
    t0 = local(NIGHT, 22)

    def lamp(t):  # off 22:10-22:20, meter counting 1 Wh a minute while on
        on = not (t0 + 600 <= t < t0 + 1200)
        return {"lamp_on": on, "energy_wh": 1000.0 + min(t - t0, 600) / 60
                + max(0, t - t0 - 1200) / 60}

    s.minutes(t0, t0 + 1800, khi_kor_0001=lamp)
    stats = s.stats("khi-kor-0001")
    assert stats["burning_s"] == 60 + 9 * 60 + 11 * 60  # first reading counts its interval
    assert stats["switch_on_count"] == 1
    assert stats["energy_wh"] == pytest.approx(20.0)


def test_people_cannot_verify_and_get_told_what_is_allowed(db_url):
    s = Street(db_url)
    s.minutes(local(NIGHT, 22), local(NIGHT, 22, 10), khi_kor_0001=dark_from(local(NIGHT, 22)))
    [ticket] = s.tickets()
    with pytest.raises(tickets.InvalidTransition, match="only the sensor verifies"):
        s.transition(ticket["id"], "verified")
    s.transition(ticket["id"], "fixed")
    with pytest.raises(tickets.InvalidTransition, match="the sensor decides"):
        s.transition(ticket["id"], "in_progress")
    assert [h["to_status"] for h in s.tickets()[0]["history"]] == ["open", "fixed"]
