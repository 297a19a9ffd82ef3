"""People passing a PIR, and how long someone was in front of it.

A PIR stays high, or re-triggers, while a person lingers. So a rising edge that comes
within `refractory_s` of the last motion seen is the same person, not a new one. Times are
taken on the injected clock, so a simulated night at 600x counts the way a real one does.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from gpiozero import MotionSensor

from node.clock import Clock
from node.sensors.base import Sensor, SensorError
from node.sensors.presence import FootfallCount, PresenceTally

STARTUP_TIMEOUT_S = 2.0

__all__ = ["FootfallCount", "FootfallCounter"]


class FootfallCounter(Sensor):
    name = "footfall"

    def __init__(self, pin: int, *, clock: Clock, refractory_s: float = 10.0,
                 pin_factory=None) -> None:
        super().__init__()
        self._tally = PresenceTally(refractory_s=refractory_s)
        self.refractory_s = refractory_s
        self._clock = clock
        self._pir = MotionSensor(pin, pin_factory=pin_factory)
        self._pir.when_motion = self._motion_started
        self._pir.when_no_motion = self._motion_ended
        self._await_first_sample()

    def _await_first_sample(self) -> None:
        # gpiozero fires no callback for the state its first sample finds (there was no
        # edge), so a person already in front of the PIR would never be seen to arrive
        # or leave. Wait for that sample and start from what it found.
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while not self._pir.wait_for_no_motion(0.01):
            if self._pir.wait_for_motion(0):
                self._motion_started()
                return
            if time.monotonic() > deadline:
                raise SensorError(f"PIR on {self._pir.pin} gave no sample")

    def watch(self, listener: Callable[[float, bool], None] | None) -> None:
        """Tell `listener(t, present)` of every arrival and departure (clock time)."""
        self._tally.watch(listener)

    @property
    def present(self) -> bool:
        """Someone is in front of the PIR, as far as this counter has been told."""
        return self._tally.present

    def read(self, now: float | None = None, *, reset: bool = False) -> FootfallCount:
        """People and presence seconds since the last reset, up to `now` (clock time);
        see `PresenceTally.read`."""
        self._check_open()
        return self._tally.read(self._clock.now() if now is None else now, reset=reset)

    def _motion_started(self) -> None:
        self._tally.observe(self._clock.now(), True)

    def _motion_ended(self) -> None:
        self._tally.observe(self._clock.now(), False)

    def _close(self) -> None:
        self._pir.close()

    def _describe(self) -> str:
        return f"PIR {self._pir.pin} refractory_s={self.refractory_s}"
