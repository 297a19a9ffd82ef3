"""The status LED on the node's box: blinks on the hub's `identify` command."""

from __future__ import annotations

from gpiozero import LED

BLINK_S = 0.25


class StatusLed:
    name = "status_led"

    def __init__(self, pin: int, *, active_high: bool = True, pin_factory=None) -> None:
        self.pin = pin
        self._led = LED(pin, active_high=active_high, initial_value=False,
                        pin_factory=pin_factory)

    def blink(self, seconds: float) -> None:
        """Blink for `seconds` in the background, then stay off."""
        cycles = max(1, round(seconds / (2 * BLINK_S)))
        self._led.blink(on_time=BLINK_S, off_time=BLINK_S, n=cycles, background=True)

    @property
    def is_lit(self) -> bool:
        return bool(self._led.is_lit)

    def close(self) -> None:
        self._led.close()

    def __repr__(self) -> str:
        return f"<StatusLed GPIO{self.pin}>"
