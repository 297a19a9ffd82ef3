"""People passing a PIR, and how long someone was in front of it.

A PIR stays high, or re-triggers, while a person lingers. So a rising edge that comes
within `refractory_s` of the last motion seen is the same person, not a new one. Times are
taken on the injected clock, so a simulated night at 600x counts the way a real one does.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from gpiozero import MotionSensor

from node.clock import Clock
from node.sensors.base import Sensor, SensorError

STARTUP_TIMEOUT_S = 2.0


@dataclass(frozen=True, slots=True)
class FootfallCount:
    people: int
    presence_s: float


class FootfallCounter(Sensor):
    name = "footfall"

    def __init__(self, pin: int, *, clock: Clock, refractory_s: float = 10.0,
                 pin_factory=None) -> None:
        super().__init__()
        if refractory_s < 0:
            raise ValueError("refractory_s must not be negative")
        self.refractory_s = refractory_s
        self._clock = clock
        self._lock = threading.Lock()
        self._people = 0
        self._presence_s = 0.0
        self._present_since: float | None = None
        self._last_seen: float | None = None
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

    @property
    def present(self) -> bool:
        """Someone is in front of the PIR, as far as this counter has been told."""
        with self._lock:
            return self._present_since is not None

    def read(self, now: float | None = None, *, reset: bool = False) -> FootfallCount:
        """People and presence seconds since the last reset, up to `now` (clock time).

        With `reset=True` the interval ends at `now` and a new one starts, atomically, so
        nobody who walks past during the call is lost or counted twice.
        """
        self._check_open()
        now = self._clock.now() if now is None else now
        with self._lock:
            presence = self._presence_s
            if self._present_since is not None:
                presence += max(0.0, now - self._present_since)
            count = FootfallCount(self._people, presence)
            if reset:
                self._people = 0
                self._presence_s = 0.0
                if self._present_since is not None:
                    self._present_since = now
        return count

    def _motion_started(self) -> None:
        now = self._clock.now()
        with self._lock:
            if self._last_seen is None or now - self._last_seen >= self.refractory_s:
                self._people += 1
            self._present_since = now
            self._last_seen = now

    def _motion_ended(self) -> None:
        now = self._clock.now()
        with self._lock:
            if self._present_since is not None:
                self._presence_s += max(0.0, now - self._present_since)
            self._present_since = None
            self._last_seen = now

    def _close(self) -> None:
        self._pir.close()

    def _describe(self) -> str:
        return f"PIR {self._pir.pin} refractory_s={self.refractory_s}"
