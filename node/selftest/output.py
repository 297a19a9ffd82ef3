"""Checklist item for the lamp output (DESIGN.md §11): the relay switches the lamp, and it
is wired fail-safe, so that a node that stops leaves the lamp burning at night.

Needs no one at the pole: the node switches the lamp off and on itself and watches it
with its own lamp sensor. By day the photocell keeps the lamp off whatever the relay
does, so the item can only be checked after sunset.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from node.hardware import Hardware
from node.selftest.checks import Check, failed, passed, skipped
from node.sensors import SensorError

NAME, TITLE = "lamp_output", "relay switches the lamp"
REMEDY = ("The lamp's supply must run through the relay's normally-closed contact, with the "
          "relay module's input on GPIO{pin} (firmware-config/README.md, \"Lamp output\").")


def output_switches(hw: Hardware, *, wait_s: float, poll_s: float = 0.2,
                    now: Callable[[], float] = time.time) -> Check | None:
    """None when the node has no lamp output (the item does not apply). `now`: the
    hardware's clock."""
    out = hw.sensors.output
    if out is None:
        return None
    if out.relay is None:
        return skipped(NAME, TITLE, "no relay on this node (it only dims)")
    remedy = REMEDY.format(pin=out.spec.relay_pin)

    def burning() -> bool | None:
        return hw.sample(now()).get("lamp_on")

    def within(wanted: bool) -> bool:
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            if burning() is wanted:
                return True
            time.sleep(poll_s)
        return False

    try:
        out.set(100, now())  # at rest: the state of a stopped node
        at_rest = burning()
        if at_rest is None:
            return skipped(NAME, TITLE, "no lamp sensor to watch the lamp with")
        out.set(0, now())
        if not at_rest:
            if within(True):
                return failed(NAME, TITLE, "the lamp burns only with the relay energised: it "
                              "is on the normally-open contact, so a stopped node would leave "
                              "the street dark", remedy)
            return skipped(NAME, TITLE, "the lamp is off with the relay at rest (by day the "
                           "photocell keeps it off): run the self-test again after sunset")
        if not within(False):
            return failed(NAME, TITLE, f"the lamp still burned {wait_s:.0f} s after the relay "
                          "was energised", remedy)
        out.set(100, now())
        if not within(True):
            return failed(NAME, TITLE, "the lamp did not come back on with the relay at rest",
                          remedy)
    except (SensorError, OSError) as err:
        return failed(NAME, TITLE, f"cannot watch the lamp: {err}", remedy)
    finally:
        out.set(100, now())
    return passed(NAME, TITLE, f"off with GPIO{out.spec.relay_pin} energised, on again at rest "
                  "(fail-safe)")
