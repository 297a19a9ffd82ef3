"""A rule's condition over time: raise after the dwell, clear only after the condition has
been gone for the hysteresis window, and a flap inside the window keeps the same alert."""

from __future__ import annotations

from hub.rules.hysteresis import Action, step
from hub.rules.state import Timer


def run(timer: Timer, conds: list[bool | None], *, dwell: float = 600,
        clear_after: float = 600) -> list[Action]:
    """One condition per minute; RAISE records an alert like the engine does."""
    out = []
    for minute, cond in enumerate(conds):
        a = step(timer, cond, minute * 60.0, dwell=dwell, clear_after=clear_after)
        if a is Action.RAISE:
            timer.alert_id = 1
        elif a is Action.CLEAR:
            timer.alert_id, timer.absent_since = None, None
        out.append(a)
    return out


def test_raises_once_when_the_condition_has_held_for_the_dwell():
    actions = run(Timer(), [True] * 15)
    assert actions.index(Action.RAISE) == 10 and actions.count(Action.RAISE) == 1


def test_an_interruption_restarts_the_dwell():
    actions = run(Timer(), [True] * 9 + [False] + [True] * 9)
    assert Action.RAISE not in actions


def test_not_applicable_restarts_the_dwell_too():
    actions = run(Timer(), [True] * 9 + [None] + [True] * 9)
    assert Action.RAISE not in actions


def test_clears_only_after_the_window_and_ends_when_the_condition_went():
    timer = Timer()
    actions = run(timer, [True] * 11 + [False] * 10)
    assert actions[-1] is Action.NONE and timer.absent_since == 11 * 60
    assert step(timer, False, 21 * 60.0, dwell=600, clear_after=600) is Action.CLEAR


def test_a_flap_inside_the_window_keeps_the_same_alert():
    timer = Timer()
    flapping = [True] * 11 + ([False] * 5 + [True] * 5) * 6
    actions = run(timer, flapping)
    assert actions.count(Action.RAISE) == 1 and Action.CLEAR not in actions
    assert timer.alert_id == 1


def test_blocked_holds_the_alert_back_and_not_before_restarts_the_count():
    timer = Timer()
    for minute in range(30):  # an area power cut 0-20 min
        a = step(timer, True, minute * 60.0, dwell=600, clear_after=600,
                 blocked=minute < 20, not_before=20 * 60.0)
        assert a is Action.NONE or minute == 30
    assert step(timer, True, 30 * 60.0, dwell=600, clear_after=600,
                not_before=20 * 60.0) is Action.RAISE


def test_since_dates_a_condition_that_began_earlier():
    timer = Timer()
    assert step(timer, True, 900.0, dwell=300, clear_after=0, since=100.0) is Action.RAISE
    assert timer.since == 100.0
