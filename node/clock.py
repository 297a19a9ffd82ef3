"""Time for the node agent, injected so simulation can run a night in minutes.

`RealClock` is wall time. `SimClock` starts at a chosen epoch and runs `speed` times
faster than real time; readings carry its time, so the hub sees event time.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """UTC epoch seconds."""

    def wait(self, seconds: float, stop: threading.Event) -> bool:
        """Wait `seconds` of this clock's time; True if `stop` was set meanwhile."""


class RealClock:
    def now(self) -> float:
        return time.time()

    def wait(self, seconds: float, stop: threading.Event) -> bool:
        return stop.wait(max(0.0, seconds))

    def __repr__(self) -> str:
        return "RealClock()"


class SimClock:
    def __init__(self, start: float, speed: float = 1.0, *, wall0: float | None = None) -> None:
        """`start` at wall time `wall0` (default: now). Simulated nodes started one after
        another share one street clock by being given the same `start` and `wall0`."""
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.start = start
        self.speed = speed
        self._m0 = time.monotonic() - (0.0 if wall0 is None else time.time() - wall0)

    def now(self) -> float:
        return self.start + (time.monotonic() - self._m0) * self.speed

    def wait(self, seconds: float, stop: threading.Event) -> bool:
        return stop.wait(max(0.0, seconds) / self.speed)

    def __repr__(self) -> str:
        return f"SimClock(start={self.start}, speed={self.speed})"
