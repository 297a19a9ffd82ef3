"""One rule's condition over time: when it has held long enough to raise an alert, and
when it has been gone long enough to clear it (DESIGN.md §6).

The hysteresis is in the clearing: an alert clears only after its condition has been
absent for `clear_after` seconds; if the condition returns meanwhile, the same alert
simply goes on. A lamp that flaps every few minutes therefore keeps one alert open
instead of opening, clearing and re-opening one each minute.

`step` is pure bookkeeping on a `Timer`; the caller opens or clears the alert it asks for
and records the alert's id on the timer.
"""

from __future__ import annotations

import enum

from hub.rules.state import Timer


class Action(enum.Enum):
    NONE = "none"
    RAISE = "raise"  # open an alert (the condition held for the dwell time)
    CLEAR = "clear"  # clear the open alert (absent for clear_after); ended at absent_since


def step(timer: Timer, cond: bool | None, t: float, *, dwell: float, clear_after: float,
         since: float | None = None, not_before: float | None = None,
         blocked: bool = False) -> Action:
    """Advance `timer` to event time `t` where the condition is `cond`.

    cond None: the rule does not apply at `t` (a lamp by day, a reading without the
    field): both timers restart, since "held for 10 minutes" and "gone for 30 minutes"
    mean without interruption. `since` dates a condition that began before `t` (a node
    silent since its last reading). `not_before` makes the dwell count from no earlier
    than then (the end of an area power cut); `blocked` holds the alert back altogether
    (during one)."""
    if cond is None:
        timer.since = None
        timer.absent_since = None
        return Action.NONE
    if cond:
        timer.absent_since = None
        if timer.since is None:
            timer.since = t if since is None else min(since, t)
        if timer.alert_id is None and not blocked:
            start = timer.since if not_before is None else max(timer.since, not_before)
            if t - start >= dwell:
                return Action.RAISE
        return Action.NONE
    timer.since = None
    if timer.alert_id is None:
        return Action.NONE
    if timer.absent_since is None:
        timer.absent_since = t
    if t - timer.absent_since >= clear_after:
        return Action.CLEAR
    return Action.NONE
