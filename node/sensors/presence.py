"""People and presence seconds from "someone is there" / "nobody" observations.

Shared by the PIR (edges) and the radar (frames): a sensor says what it saw and when, on
the injected clock; this turns it into the reading's `footfall` and `presence_s`. Someone
seen again within `refractory_s` of the last sighting is the same person: a PIR
re-triggers and a radar keeps reporting while one person lingers.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FootfallCount:
    people: int
    presence_s: float


class PresenceTally:
    def __init__(self, *, refractory_s: float) -> None:
        if refractory_s < 0:
            raise ValueError("refractory_s must not be negative")
        self.refractory_s = refractory_s
        self._lock = threading.Lock()
        self._people = 0
        self._presence_s = 0.0
        self._present_since: float | None = None
        self._last_seen: float | None = None
        self._listener: Callable[[float, bool], None] | None = None

    def watch(self, listener: Callable[[float, bool], None] | None) -> None:
        """Call `listener(t, present)` at every arrival and departure (the lamp control's
        presence mode), from the sensor's thread."""
        self._listener = listener

    @property
    def present(self) -> bool:
        with self._lock:
            return self._present_since is not None

    def observe(self, t: float, present: bool) -> None:
        """The sensor saw someone (or nobody) at clock time `t`."""
        with self._lock:
            changed = present != (self._present_since is not None)
            if present:
                if self._present_since is None:
                    if self._last_seen is None or t - self._last_seen >= self.refractory_s:
                        self._people += 1
                    self._present_since = t
                self._last_seen = t
            elif self._present_since is not None:
                self._presence_s += max(0.0, t - self._present_since)
                self._present_since = None
                self._last_seen = t
        if changed and (listener := self._listener) is not None:
            listener(t, present)

    def read(self, now: float, *, reset: bool = False) -> FootfallCount:
        """People and presence seconds since the last reset, up to `now`.

        With `reset=True` the interval ends at `now` and a new one starts, atomically, so
        nobody who walks past during the call is lost or counted twice.
        """
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
