"""Detection judges a controlled lamp against its commanded `level` (DESIGN.md §6, §11):
dimmed is not low power, switched off by the program is not out, and a lamp that does not
follow its command is a control fault. The rules engine in process over a simulated night,
as in tests/hub/rules."""

from __future__ import annotations

from tests.hub.rules.street import NIGHT, Street, local

PART_NIGHT_OFF = local(NIGHT, 23, 0)


def dimmed(t):  # 30 %: 60 W × (0.1 + 0.9 × 0.3) by the linear driver model
    return {"level": 30, "lamp_w": 22.0}


def part_night(t):
    return {"level": 100} if t < PART_NIGHT_OFF else {"level": 0, "lamp_on": False,
                                                        "lamp_w": 0.0}


def overridden(t):
    return {"level": 100, "lamp_w": 58.0}


def dark_commanded_on(t):
    return {"level": 100} if t < local(NIGHT, 22, 30) else {"level": 100, "lamp_on": False,
                                                             "lamp_w": 0.2}


def does_not_dim(t):
    return {"level": 30, "lamp_w": 58.0}


def burns_when_off(t):
    return {"level": 0, "lamp_on": True, "lamp_w": 58.0}


def test_dimmed_part_night_and_overridden_lamps_are_fine_and_disobedient_ones_are_control_faults(
        db_url):
    s = Street(db_url, nodes=6)
    s.minutes(local(NIGHT, 21, 30), local(NIGHT, 24, 30), khi_kor_0001=dimmed,
              khi_kor_0002=part_night, khi_kor_0003=overridden,
              khi_kor_0004=dark_commanded_on, khi_kor_0005=does_not_dim,
              khi_kor_0006=burns_when_off)
    alerts, tickets = s.outcome()
    assert alerts == {("lamp_out", "khi-kor-0004", "active"),
                      ("control_fault", "khi-kor-0005", "active"),
                      ("control_fault", "khi-kor-0006", "active")}
    # below lamp out (priority 2), once per lamp however long it goes on
    assert tickets == {("lamp_out", "khi-kor-0004", "open", 2),
                       ("control_fault", "khi-kor-0005", "open", 3),
                       ("control_fault", "khi-kor-0006", "open", 3)}
    told = [(sub, kind, n["body"].get("rule")) for sub, kind, n in s.outbox()
            if kind == "alert_opened"]
    assert sorted(told) == [("k5-committee", "alert_opened", "control_fault")] * 2 + [
        ("k5-committee", "alert_opened", "lamp_out")]


def test_a_whole_area_switched_off_by_its_part_night_program_is_no_power_cut(db_url):
    s = Street(db_url)
    s.minutes(local(NIGHT, 22, 30), local(NIGHT, 24, 0),
              **{n.replace("-", "_"): part_night for n in s.nodes})
    assert s.outcome() == (set(), set())


def test_a_lamp_dark_by_program_still_counts_as_dark_for_the_unsafe_spot_score(db_url):
    from sqlalchemy import select

    from hub.models import SpotScore
    from hub.pipeline import Batch
    from hub.spots import SpotScorer, SpotSettings

    s = Street(db_url, nodes=1)
    scorer = SpotScorer(SpotSettings())
    batch = Batch(stored=[s.reading(s.nodes[0], local(NIGHT, 23, m), level=0, lamp_on=False,
                                    lamp_w=0.0, footfall=4) for m in range(10, 20)])
    with s.db.begin() as conn:
        scorer.evaluate(conn, batch)
    with s.db.connect() as conn:
        minutes, exposure = conn.execute(select(SpotScore.dark_minutes,
                                                SpotScore.exposure)).one()
    assert (minutes, exposure) == (10.0, 40.0)


def test_a_lamp_commanded_on_by_day_is_neither_a_day_burner_nor_a_fault_when_dark(db_url):
    """An override at noon (a lamp without a photocell burns as told) and a program that
    starts before sunset (the photocell in series keeps the lamp dark until dusk)."""
    s = Street(db_url, nodes=2)
    noon = {"level": 100, "lamp_on": True, "lamp_w": 58.0}  # longer than a day burner's dwell
    s.minutes(local(NIGHT, 12, 0), local(NIGHT, 12, 45), khi_kor_0001=lambda t: noon,
              khi_kor_0002=lambda t: {"level": 0, "lamp_on": False, "lamp_w": 0.0})
    s.minutes(local(NIGHT, 17, 45), local(NIGHT, 18, 10),  # longer than a control fault's
              khi_kor_0001=lambda t: {"level": 0, "lamp_on": False, "lamp_w": 0.0},
              khi_kor_0002=lambda t: {"level": 100, "lamp_on": False, "lamp_w": 0.0})
    assert s.outcome() == (set(), set())


def test_a_lamp_switched_on_and_off_by_presence_mode_is_not_flickering(db_url):
    """Presence mode with floor 0: on while people pass, off when they have gone. A lamp
    flickering under a steady command still is."""
    s = Street(db_url, nodes=2)

    def presence(t):  # somebody passes every other minute
        on = int(t // 60) % 2 == 0
        return {"level": 100 if on else 0, "level_avg": 50.0, "lamp_on": on,
                "lamp_w": 58.0 if on else 0.0}

    def flickers(t):
        on = int(t // 60) % 2 == 0
        return {"level": 100, "level_avg": 100.0, "lamp_on": on, "lamp_w": 58.0 if on else 0.0}

    s.minutes(local(NIGHT, 21, 0), local(NIGHT, 21, 30), khi_kor_0001=presence,
              khi_kor_0002=flickers)
    alerts, _ = s.outcome()
    assert {(rule, node) for rule, node, _ in alerts} == {("flicker", "khi-kor-0002")}
