"""What every Roshni sensor shares: one error family, `close()`, context management."""

from __future__ import annotations

from typing import Self


class SensorError(Exception):
    """Base of every sensor error."""


class SensorReadError(SensorError, OSError):
    """One reading could not be taken (no answer, bad CRC, unreadable file, …).

    The caller counts it and leaves the field out of this interval; the next read may work.
    """


class Sensor:
    """One physical sensor. Subclasses own their devices and release them in `_close`."""

    name = "sensor"

    def __init__(self) -> None:
        self._closed = False

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Release the pins or port; safe to call twice."""
        if not self._closed:
            self._closed = True
            self._close()

    def _close(self) -> None:
        pass

    def _check_open(self) -> None:
        if self._closed:
            raise SensorError(f"{self!r} is closed")

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else self._describe()
        return f"<{type(self).__name__} {state}>"

    def _describe(self) -> str:
        return "open"
