"""The lamp's control output: a relay (on/off) and a PWM dimming signal (DESIGN.md §11).

Fail-safe wiring (firmware-config/README.md): the relay's coil is energised to switch the
lamp OFF, and the PWM pin dims by pulling the driver's dim wire down through an
open-collector stage. So a Pi that dies, or an agent that stops and releases its pins,
leaves the lamp at full light: at night a stopped node burns its lamp, it never darkens
the street.

`level` is what the lamp gets, 0-100 %: a relay-only output can only give 0 or 100, and a
driver cannot dim below its `min_dim`. Readings report that level at sample time and its
time-weighted mean over the interval.
"""

from __future__ import annotations

import threading
from typing import Any

from gpiozero import OutputDevice, PWMOutputDevice

from node.profile import Output
from protocol.structs import dump

REST_LEVEL = 100  # what the lamp does with the outputs released


class LampOutput:
    def __init__(self, spec: Output, *, now: float, pin_factory=None) -> None:
        self.spec = spec
        self._lock = threading.Lock()
        self.relay: OutputDevice | None = None
        self.dimmer: PWMOutputDevice | None = None
        try:
            if spec.relay_pin is not None:
                self.relay = OutputDevice(spec.relay_pin, active_high=True,
                                          initial_value=False, pin_factory=pin_factory)
            if spec.pwm_pin is not None:
                self.dimmer = PWMOutputDevice(spec.pwm_pin, active_high=True, initial_value=0,
                                              frequency=spec.pwm_hz, pin_factory=pin_factory)
        except BaseException:
            self.close()
            raise
        self._level = REST_LEVEL
        self._since = now
        self._interval_start = now
        self._level_seconds = 0.0
        self.changes = 0  # how often the lamp's level changed (for the benchmark)

    @property
    def level(self) -> int:
        return self._level

    def achievable(self, level: int) -> int:
        """The level this output can give for a wanted `level`."""
        if level <= 0:
            if self.relay is not None or self.spec.driver == "0-10V":
                return 0  # a 0-10 V driver switches off at 0 V
            return self.spec.min_dim
        if self.dimmer is None:
            return 100
        return max(level, self.spec.min_dim)

    def set(self, wanted: int, now: float) -> int:
        """Drive the pins for `wanted` %; returns the level the lamp gets."""
        level = self.achievable(wanted)
        with self._lock:
            if level == self._level:
                return level
            self._account(now)
            if self.dimmer is not None:
                # Full light is the dimmer at rest; a switched-off lamp keeps it there too.
                self.dimmer.value = 0.0 if level in (0, 100) else 1 - level / 100
            if self.relay is not None:
                self.relay.value = level == 0
            elif level == 0 and self.dimmer is not None:
                self.dimmer.value = 1.0
            self._level = level
            self.changes += 1
        return level

    def interval(self, now: float) -> dict[str, Any]:
        """Reading fields `level` and `level_avg` for the interval ending at `now`; starts
        the next interval."""
        with self._lock:
            self._account(now)
            span = now - self._interval_start
            avg = self._level_seconds / span if span > 0 else float(self._level)
            self._interval_start = now
            self._level_seconds = 0.0
            return {"level": self._level, "level_avg": round(min(100.0, max(0.0, avg)), 1)}

    def _account(self, now: float) -> None:
        if now > self._since:
            self._level_seconds += self._level * (now - max(self._since, self._interval_start))
            self._since = now

    def close(self) -> None:
        # Closing releases the pins: the relay drops out and the dim wire floats, so the
        # lamp goes to full light, exactly as when the Pi dies.
        for device in (self.dimmer, self.relay):
            if device is not None:
                device.close()

    def __repr__(self) -> str:
        return f"<LampOutput level={self._level} {dump(self.spec, exclude_none=True)}>"
