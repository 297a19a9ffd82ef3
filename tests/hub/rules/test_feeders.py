"""Feeder power cuts (DESIGN.md §6): the lamps on one electricity feeder going dark or
offline together are one incident, wherever their areas' boundaries run, and no lamp of
the feeder gets a repair ticket while it lasts. Event-time readings, as in test_engine."""

from __future__ import annotations

from tests.hub.rules.street import AREA, AREA_2, NIGHT, Street, local

FEEDER = "KE Korangi 12"  # as a technician types it; kept as the slug
FEEDER_ID = "ke-korangi-12"
DARK = {"lamp_on": False, "lamp_w": 0.3}
CUT0, CUT1 = local(NIGHT, 20), local(NIGHT, 22)


def battery(t):
    """A node with a battery during the cut: online, its lamp dark, no mains."""
    return {"lamp_on": False, "lamp_w": 0.0, "mains_v": 0.0} if CUT0 <= t < CUT1 else {}


def stays_dark(t):
    """A lamp on the feeder that does not come back with the power."""
    return {**battery(t), **DARK} if t >= CUT0 else {}


def fails_at(t0):
    return lambda t: DARK if t >= t0 else {}


def kinds(street: Street) -> list[tuple[str, str]]:
    return [(sub, kind) for sub, kind, _ in street.outbox()]


# Korangi 5: nodes 1-5, Korangi 6: nodes 6-10. The feeder supplies 3, 4, 5 in Korangi 5
# and 6, 7 in Korangi 6 (three in five of Korangi 5: an area cut too, were the feeder not
# known).
ACROSS = [(AREA, None), (AREA, None), (AREA, FEEDER), (AREA, FEEDER), (AREA, FEEDER),
          (AREA_2, FEEDER), (AREA_2, FEEDER), (AREA_2, None), (AREA_2, None), (AREA_2, None)]


def night_of_the_feeder_cut(s: Street, until: float, restart_at: tuple[float, ...] = ()
                            ) -> None:
    """19:30 all well; 20:00-22:00 the feeder is shed: node 6 (no battery) drops off with
    its last will, the others stay online, dark; node 9 (not on the feeder) fails at 21:00;
    at 22:00 power returns and node 7 stays dark. The hub restarts at `restart_at`."""
    n6 = s.nodes[5]
    lamps = {"khi_kor_0003": battery, "khi_kor_0004": battery, "khi_kor_0005": battery,
             "khi_kor_0007": stays_dark, "khi_kor_0009": fails_at(local(NIGHT, 21))}
    s.minutes(local(NIGHT, 19, 30), CUT0 - 60)
    s.status(n6, "offline", CUT0 + 20)
    t = CUT0
    while t <= until:
        if t in restart_at:
            s.start()
        if t == CUT1:
            s.status(n6, "online", CUT1 + 5, session=2)
        s.minutes(t, t, silent=(n6,) if t < CUT1 else (), **lamps)
        s.tick(t + 30)
        t += 60


def test_a_feeder_cut_across_two_areas_is_one_incident_and_a_lamp_still_dark_after_it_gets_its_ticket(  # noqa: E501
        db_url):
    s = Street(db_url, nodes=10, places=ACROSS)
    n7, n9 = s.nodes[6], s.nodes[8]
    night_of_the_feeder_cut(s, CUT1 - 60)
    # one incident; the lamp off the feeder that failed meanwhile has its own ticket
    assert s.outcome() == ({("area_power_cut", None, "active"), ("lamp_out", n9, "active")},
                           {("lamp_out", n9, "open", 2)})
    [cut] = s.alerts(rule="area_power_cut")
    # filed under the area most of the feeder's lamps are in, naming the feeder and both
    assert (cut["started_at"], cut["district"], cut["area"]) == (CUT0, "korangi", "korangi-5")
    assert (cut["detail"]["feeder"], cut["detail"]["areas"]) == (FEEDER_ID,
                                                                ["korangi-5", "korangi-6"])
    told = [n for sub, kind, n in s.outbox() if n["body"].get("rule") == "area_power_cut"]
    assert [(n["area"], n["body"]["feeder"]) for n in told] == [("korangi-5", FEEDER_ID)]
    assert FEEDER_ID in told[0]["subject"] and "Korangi 6" in told[0]["subject"]

    night_of_the_feeder_cut(s, local(NIGHT, 22, 30))
    alerts, tickets_ = s.outcome()
    assert alerts == {("area_power_cut", None, "cleared"), ("lamp_out", n7, "active"),
                      ("lamp_out", n9, "active")}
    assert tickets_ == {("lamp_out", n7, "open", 2), ("lamp_out", n9, "open", 2)}
    [lamp_ticket] = s.tickets(node=n7)
    assert lamp_ticket["opened_at"] == CUT1 + 600  # its dwell counted from the end of the cut
    assert lamp_ticket["area"] == "korangi-6"
    assert [a["ended_at"] for a in s.alerts(rule="area_power_cut")] == [CUT1]
    assert s.alerts(rule="node_offline") == []  # node 6 was part of the cut, not a fault
    assert kinds(s) == [("k5-committee", "alert_opened"),  # the feeder cut
                        ("k6-committee", "alert_opened"), ("korangi-crew", "ticket_opened"),
                        ("k6-committee", "alert_opened"), ("korangi-crew", "ticket_opened")]


# The feeder supplies 4, 5 in Korangi 5 and 6, 7 in Korangi 6: two in five of each area.
MINORITY = [(AREA, None), (AREA, None), (AREA, None), (AREA, FEEDER), (AREA, FEEDER),
            (AREA_2, FEEDER), (AREA_2, FEEDER), (AREA_2, None), (AREA_2, None), (AREA_2, None)]


def test_a_feeder_cut_that_is_a_minority_of_each_area_still_counts(databases):
    def dark(t):  # nodes that measure the lamp only, not the mains: just dark
        return DARK if CUT0 <= t < CUT1 else {}

    on_feeder = {f"khi_kor_{i:04d}": dark for i in (4, 5, 6, 7)}

    def shed(s: Street) -> None:
        t = CUT0 - 30 * 60
        while t < CUT1:
            s.minutes(t, t, **on_feeder)
            s.tick(t + 30)
            t += 60

    known = Street(databases(), nodes=10, places=MINORITY)
    shed(known)
    assert known.outcome() == ({("area_power_cut", None, "active")}, set())
    [cut] = known.alerts()
    assert (cut["detail"]["feeder"], cut["started_at"]) == (FEEDER_ID, CUT0)
    assert cut["area"] == "korangi-5"  # two and two: the first area by id

    # The same night where nobody recorded the feeder: four lamps dark for two hours,
    # 40 % of each area, look like four lamp faults.
    unknown = Street(databases(), nodes=10,
                     places=[(area, None) for area, _ in MINORITY])
    shed(unknown)
    assert {(fault, node) for fault, node, _, _ in unknown.outcome()[1]} == {
        ("lamp_out", n) for n in unknown.nodes[3:7]}


def test_a_hub_restarted_during_a_feeder_cut_and_after_it_reaches_the_same_outcome(databases):
    def seen(s: Street):
        return ([(a["rule"], a["node"], a["state"], a["started_at"], a["ended_at"])
                 for a in s.alerts()],
                sorted((t["fault"], t["node"], t["status"], t["opened_at"])
                       for t in s.tickets()), kinds(s))

    straight = Street(databases(), nodes=10, places=ACROSS)
    night_of_the_feeder_cut(straight, local(NIGHT, 22, 30))
    restarted = Street(databases(), nodes=10, places=ACROSS)
    # mid-cut; just after the power came back (node 7's dwell half-elapsed, the cut's
    # alert waiting out its hysteresis)
    night_of_the_feeder_cut(restarted, local(NIGHT, 22, 30),
                            restart_at=(local(NIGHT, 21), local(NIGHT, 22, 5)))
    assert seen(restarted) == seen(straight)
    assert ("lamp_out", straight.nodes[6], "open", CUT1 + 600) in seen(straight)[1]
