"""Enclosure tamper switch (gpiozero `Button`).

The usual fitting is a plunger microswitch held pressed by the closed lid, so opening the
lid *releases* it; `tampered_when="pressed"` suits a switch wired the other way round.
An opening between two readings is latched, so a thief who closes the lid again before
the next interval still shows up.
"""

from __future__ import annotations

import threading
from typing import Literal

from gpiozero import Button

from node.sensors.base import Sensor


class TamperSwitch(Sensor):
    name = "tamper"

    def __init__(self, pin: int, *, tampered_when: Literal["released", "pressed"] = "released",
                 pin_factory=None) -> None:
        super().__init__()
        if tampered_when not in ("released", "pressed"):
            raise ValueError("tampered_when must be 'released' or 'pressed'")
        self.tampered_when = tampered_when
        self._lock = threading.Lock()
        self._latched = False
        # Button's hold thread notices close() only after hold_time; no hold events are
        # used here, so keep it short rather than gpiozero's 1 s.
        self._button = Button(pin, pull_up=True, hold_time=0.05, pin_factory=pin_factory)
        if tampered_when == "released":
            self._button.when_released = self._tampered
        else:
            self._button.when_pressed = self._tampered

    @property
    def open_now(self) -> bool:
        self._check_open()
        return self._button.is_pressed == (self.tampered_when == "pressed")

    def read(self, *, reset: bool = False) -> bool:
        """True if the enclosure is open now or was opened since the last reset."""
        open_now = self.open_now
        with self._lock:
            tampered = self._latched or open_now
            if reset:
                self._latched = False
        return tampered

    def _tampered(self) -> None:
        with self._lock:
            self._latched = True

    def _close(self) -> None:
        self._button.close()

    def _describe(self) -> str:
        return f"switch {self._button.pin} tampered_when={self.tampered_when}"
